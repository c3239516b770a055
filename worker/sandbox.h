/*
 * sandbox.h — the worker's lock-down, in two steps.
 *
 * sandbox_base() runs right after exec, before any order is read: no new
 * privileges, not dumpable, rlimits, the system-call filter, and the first
 * Landlock layer (no change to the file system anywhere, no TCP bind).
 * sandbox_connection() runs once the broker has said where to connect and
 * before any byte goes to the network: the second Landlock layer, which
 * limits reading to the connection's own files (and what name resolution
 * needs) and TCP connect to the server's (or SSH server's) port.
 * docs/sandbox.md explains the choices.
 */
#ifndef TUSK_SANDBOX_H
#define TUSK_SANDBOX_H

#include <stdbool.h>

struct tusk_config;
struct tusk_error;

/* The worker's file-descriptor cap. */
#define SANDBOX_NOFILE 32

struct sandbox_opts {
	int memory_mb;	  /* address-space cap; 0: the default */
	int landlock_abi; /* -1: the kernel's; 0..n: use at most this ABI (selftest) */
};

/* Set before sandbox_base() (the defaults hold otherwise). */
void sandbox_set_options(const struct sandbox_opts *o);
int sandbox_base(struct tusk_error *e);
int sandbox_connection(const struct tusk_config *cfg, struct tusk_error *e);
/* Say in the log what sandbox_base applied (once the log reaches the broker). */
void sandbox_log_applied(void);
/* Is the process locked down (base applied)? */
bool sandbox_locked(void);
/* The Landlock ABI in use (0: none), after sandbox_base(). */
int sandbox_landlock_abi(void);
/* Apply the same sandbox and prove each denial; exit status 0 when all hold. */
int sandbox_selftest(int argc, char **argv);

#endif
