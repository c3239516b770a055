/*
 * sandbox-linux.c — the worker's sandbox on Linux (see sandbox.h).
 *
 * This first version applies the process-level protections: no new
 * privileges, not dumpable (no core files, no ptrace by other processes of
 * the user), and no core file limit. Landlock and seccomp come with the
 * isolation work.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"

int
sandbox_base(struct tusk_error *e)
{
	struct rlimit nocore = { 0, 0 };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return terr_set(e, TE_INTERNAL, "PR_SET_NO_NEW_PRIVS failed: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return terr_set(e, TE_INTERNAL, "PR_SET_DUMPABLE failed: %s", strerror(errno));
	if (setrlimit(RLIMIT_CORE, &nocore) < 0)
		return terr_set(e, TE_INTERNAL, "RLIMIT_CORE failed: %s", strerror(errno));
	return 0;
}

int
sandbox_connection(const struct tusk_config *cfg, struct tusk_error *e)
{
	UNUSED(cfg);
	UNUSED(e);
	return 0;
}

void
sandbox_log_applied(void)
{
	log_debug("sandbox: no_new_privs, not dumpable, no core files");
}

int
sandbox_selftest(int argc, char **argv)
{
	UNUSED(argc);
	UNUSED(argv);
	struct tusk_error e = TUSK_ERROR_INIT;
	if (sandbox_base(&e) < 0) {
		printf("FAIL base: %s\n", e.message);
		return 1;
	}
	printf("ok no_new_privs=%d dumpable=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	return 0;
}
