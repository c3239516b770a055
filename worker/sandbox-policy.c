/*
 * sandbox-policy.c — the sandbox's decisions, free of system calls (see
 * sandbox-policy.h): the Landlock fallback by ABI, one connection's plan,
 * and the names the log prints.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "sandbox-policy.h"
#include "util.h"

const char *const sandbox_resolver_files[] = { "/etc/resolv.conf", "/etc/hosts", NULL };

int
sandbox_ll_abi_pick(int kernel_abi, int forced)
{
	int abi = kernel_abi < 0 ? 0 : kernel_abi;
	if (abi > LL_ABI_KNOWN)
		abi = LL_ABI_KNOWN;
	if (forced >= 0 && forced < abi)
		abi = forced;
	return abi;
}

void
sandbox_ll_rights(int abi, struct ll_rights *r)
{
	memset(r, 0, sizeof *r);
	if (abi <= 0)
		return;
	if (abi > LL_ABI_KNOWN)
		abi = LL_ABI_KNOWN;
	r->abi = abi;
	uint64_t fs = (LL_FS_MAKE_SYM << 1) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
	if (abi >= 2)
		fs |= LL_FS_REFER;
	if (abi >= 3)
		fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LL_FS_IOCTL_DEV;
	r->fs_conn = LL_FS_READ_FILE | LL_FS_READ_DIR;
	r->fs_base = fs & ~r->fs_conn;
	r->attr_size = sizeof(uint64_t); /* handled_access_fs only */
	if (abi >= 4) {
		r->net_base = LL_NET_BIND_TCP;
		r->net_conn = LL_NET_CONNECT_TCP;
		r->attr_size = 2 * sizeof(uint64_t); /* + handled_access_net */
	}
	if (abi >= 6) {
		r->scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		r->attr_size = 3 * sizeof(uint64_t); /* + scoped */
	}
}

void
sandbox_ll_fs_names(uint64_t fs, char *buf, size_t len)
{
	static const char *const names[] = {
		"execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file",
		"make_char", "make_dir", "make_reg", "make_sock", "make_fifo", "make_block",
		"make_sym", "refer", "truncate", "ioctl_dev",
	};
	size_t n = 0;
	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < nitems(names); i++) {
		if (!(fs & (1ULL << i)))
			continue;
		int w = snprintf(buf + n, len - n, "%s%s", n ? "," : "", names[i]);
		if (w < 0 || (size_t)w >= len - n) {
			buf[n] = '\0'; /* no half names */
			return;
		}
		n += (size_t)w;
	}
	if (n == 0)
		snprintf(buf, len, "none");
}

bool
sandbox_host_needs_resolve(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	if (host == NULL || *host == '\0' || host[0] == '/')
		return false;
	return inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1;
}

/* Add a readable file to the plan (ignoring empty ones and overflow). */
static void
plan_add_file(struct sbx_conn_plan *p, const char *path)
{
	if (path == NULL || *path == '\0' || p->nfiles >= SBX_MAX_FILES)
		return;
	p->files[p->nfiles++] = path;
}

void
sandbox_conn_plan(const struct tusk_config *cfg, struct sbx_conn_plan *p)
{
	memset(p, 0, sizeof *p);
	if (cfg->ssh) {
		/* through a tunnel: the only TCP peer is the SSH server */
		p->tcp = true;
		p->port = cfg->ssh->port;
		p->resolve = sandbox_host_needs_resolve(cfg->ssh->host);
		if (cfg->ssh->auth_type && strcmp(cfg->ssh->auth_type, "key_file") == 0)
			plan_add_file(p, cfg->ssh->key_path);
	} else {
		p->tcp = cfg->host == NULL || cfg->host[0] != '/';
		p->port = p->tcp ? cfg->port : 0;
		p->resolve = sandbox_host_needs_resolve(cfg->host);
	}
	if (cfg->ssl_mode == NULL || strcmp(cfg->ssl_mode, "disable") != 0) {
		plan_add_file(p, cfg->ssl_ca_cert);
		plan_add_file(p, cfg->ssl_client_cert);
		plan_add_file(p, cfg->ssl_client_key);
	}
}
