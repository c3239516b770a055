/*
 * sandbox-policy.h — what the worker's sandbox applies, decided without
 * touching the kernel: which Landlock rights a given ABI knows and which
 * layer handles them, what one connection may read and reach, and the
 * words the log uses for them. sandbox-linux.c applies the decisions;
 * tests/unit/test_sandbox.c checks them for every ABI.
 *
 * The Landlock constants are our own: Debian 12's linux-libc-dev headers
 * only know ABI 2, and the kernel we run on may know 7 or more.
 */
#ifndef TUSK_SANDBOX_POLICY_H
#define TUSK_SANDBOX_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tusk_config;

/* File-system rights (ABI 1: bits 0-12; 2: REFER; 3: TRUNCATE; 5: IOCTL_DEV). */
#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)
#define LL_FS_TRUNCATE (1ULL << 14)
#define LL_FS_IOCTL_DEV (1ULL << 15)
/* Rights a rule on a regular file (not a directory) may carry. */
#define LL_FS_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | \
	LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
/* Network rights (ABI 4). */
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
/* Scopes (ABI 6). */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)
/* The newest ABI whose rights we know; a newer kernel is used as this one. */
#define LL_ABI_KNOWN 7

/*
 * The rights one ABI lets us handle, split over the two layers:
 * the base layer (right after exec) denies every change to the file system
 * and TCP bind, and scopes signals and abstract Unix sockets to the worker;
 * the connection layer (once the broker said where to connect) limits
 * reading to the connection's files and TCP connect to its port.
 */
struct ll_rights {
	int abi;		/* the ABI used; 0: no Landlock */
	uint64_t fs_base;	/* every fs right but reading */
	uint64_t fs_conn;	/* READ_FILE | READ_DIR */
	uint64_t net_base;	/* BIND_TCP (ABI >= 4) */
	uint64_t net_conn;	/* CONNECT_TCP (ABI >= 4) */
	uint64_t scoped;	/* ABI >= 6 */
	size_t attr_size;	/* ruleset attr size kernels of this ABI accept */
};

/* The ABI to use: the kernel's (negative: none), or a lower forced one. */
int sandbox_ll_abi_pick(int kernel_abi, int forced);
/* The rights an ABI supports, per layer (abi <= 0: none at all). */
void sandbox_ll_rights(int abi, struct ll_rights *r);
/* Names of fs rights, comma-separated ("none" for 0), into buf. */
void sandbox_ll_fs_names(uint64_t fs, char *buf, size_t len);

#define SBX_MAX_FILES 8

/* What one connection's worker may read and reach once locked down. */
struct sbx_conn_plan {
	bool tcp;		/* false: a Unix socket, no TCP connect at all */
	int port;		/* the one TCP port connect() may reach */
	bool resolve;		/* the host is a name: resolver files are readable */
	const char *files[SBX_MAX_FILES]; /* readable files (borrowed from cfg) */
	size_t nfiles;
};

/* Does this host need name resolution (not an IP literal, not a socket dir)? */
bool sandbox_host_needs_resolve(const char *host);
/* The plan for cfg: the server's (or the SSH server's) port, its files. */
void sandbox_conn_plan(const struct tusk_config *cfg, struct sbx_conn_plan *p);

/* The files name resolution reads (evdns: resolv.conf and hosts). */
extern const char *const sandbox_resolver_files[];

#endif
