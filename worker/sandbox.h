/*
 * sandbox.h — the worker's lock-down, in two steps.
 *
 * sandbox_base() runs right after exec, before any order is read: no new
 * privileges, not dumpable, rlimits, and the system-call filter.
 * sandbox_connection() runs once the broker has said where to connect and
 * before any byte goes to the network: the file-system and network rules
 * (Landlock) that depend on the connection's own files and ports.
 */
#ifndef TUSK_SANDBOX_H
#define TUSK_SANDBOX_H

struct tusk_config;
struct tusk_error;

int sandbox_base(struct tusk_error *e);
int sandbox_connection(const struct tusk_config *cfg, struct tusk_error *e);
/* Say in the log what was applied (once the log reaches the broker). */
void sandbox_log_applied(void);
/* Apply the same sandbox and prove each denial; exit status 0 when all hold. */
int sandbox_selftest(int argc, char **argv);

#endif
