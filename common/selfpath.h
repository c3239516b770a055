/*
 * selfpath.h — find Tusk's other programs and files relative to the running
 * executable, so that no install prefix is compiled in.
 *
 * The same relative places serve the build tree (everything in build/bin,
 * the web UI in build/web) and an installation under any PREFIX:
 *   PREFIX/bin/{tusk,tuskctl,tuskd}
 *   PREFIX/libexec/tusk/{tusk-worker,tusk-ui}
 *   PREFIX/share/tusk/web/
 * (docs/packaging.md).
 */
#ifndef TUSK_SELFPATH_H
#define TUSK_SELFPATH_H

/* The directory of the running executable (allocated), or NULL. */
char *selfpath_dir(void);

/* The first DIR/rel[i] (DIR: the executable's directory; rel ends with NULL)
 * that access(2) allows with `mode`, as an allocated path; NULL if none. */
char *selfpath_find(const char *const rel[], int mode);

#endif
