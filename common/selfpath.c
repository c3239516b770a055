/*
 * selfpath.c — paths relative to the running executable (see selfpath.h).
 */
#include "selfpath.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

char *
selfpath_dir(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	return xstrdup(dirname(self));
}

char *
selfpath_find(const char *const rel[], int mode)
{
	char *dir = selfpath_dir();
	if (dir == NULL)
		return NULL;
	for (size_t i = 0; rel[i]; i++) {
		char *p = xasprintf("%s/%s", dir, rel[i]);
		if (access(p, mode) == 0) {
			free(dir);
			return p;
		}
		free(p);
	}
	free(dir);
	return NULL;
}
