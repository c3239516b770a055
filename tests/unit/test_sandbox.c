/*
 * test_sandbox.c — the worker sandbox's decisions (worker/sandbox-policy.c,
 * linked in by the Makefile): the Landlock fallback for every ABI from 0
 * (no Landlock) to 7 and beyond, the ABI choice, the rights' names, and a
 * connection's plan (port, files, resolution) for direct, Unix-socket and
 * SSH configurations. The kernel side is proven by the integration tests
 * (tusk-worker --sandbox-selftest at the native and at forced lower ABIs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "sandbox-policy.h"
#include "util.h"

#define FS_ABI1 ((1ULL << 13) - 1)
#define READS (LL_FS_READ_FILE | LL_FS_READ_DIR)

/* Expected: the fs rights each ABI knows. */
static uint64_t
fs_known(int abi)
{
	uint64_t fs = FS_ABI1;
	if (abi >= 2)
		fs |= LL_FS_REFER;
	if (abi >= 3)
		fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LL_FS_IOCTL_DEV;
	return fs;
}

static void
abi0_means_no_landlock(void **state)
{
	struct ll_rights r;
	(void)state;
	memset(&r, 0xff, sizeof r);
	sandbox_ll_rights(0, &r);
	assert_int_equal(r.abi, 0);
	assert_int_equal(r.fs_base, 0);
	assert_int_equal(r.fs_conn, 0);
	assert_int_equal(r.net_base | r.net_conn | r.scoped, 0);
	assert_int_equal(r.attr_size, 0);
	sandbox_ll_rights(-1, &r);
	assert_int_equal(r.abi, 0);
}

static void
every_abi_splits_its_rights(void **state)
{
	(void)state;
	for (int abi = 1; abi <= 7; abi++) {
		struct ll_rights r;
		sandbox_ll_rights(abi, &r);
		assert_int_equal(r.abi, abi);
		/* the two layers cover exactly the rights this ABI knows */
		assert_int_equal(r.fs_base | r.fs_conn, fs_known(abi));
		assert_int_equal(r.fs_base & r.fs_conn, 0);
		assert_int_equal(r.fs_conn, READS);
		/* the base layer forbids writing and executing */
		assert_true(r.fs_base & LL_FS_WRITE_FILE);
		assert_true(r.fs_base & LL_FS_MAKE_REG);
		assert_true(r.fs_base & LL_FS_REMOVE_FILE);
		assert_true(r.fs_base & LL_FS_EXECUTE);
		assert_int_equal(!!(r.fs_base & LL_FS_REFER), abi >= 2);
		assert_int_equal(!!(r.fs_base & LL_FS_TRUNCATE), abi >= 3);
		assert_int_equal(!!(r.fs_base & LL_FS_IOCTL_DEV), abi >= 5);
		/* network rules from ABI 4, scopes from ABI 6 */
		assert_int_equal(r.net_base, abi >= 4 ? LL_NET_BIND_TCP : 0);
		assert_int_equal(r.net_conn, abi >= 4 ? LL_NET_CONNECT_TCP : 0);
		assert_int_equal(r.scoped, abi >= 6 ? (LL_SCOPE_SIGNAL | LL_SCOPE_ABSTRACT_UNIX) : 0);
		/* the attr size older kernels accept: fs only before ABI 4 */
		size_t want = abi >= 6 ? 24 : abi >= 4 ? 16 : 8;
		assert_int_equal(r.attr_size, want);
	}
}

static void
newer_abi_is_used_as_the_newest_known(void **state)
{
	struct ll_rights r7, r9;
	(void)state;
	sandbox_ll_rights(7, &r7);
	sandbox_ll_rights(9, &r9);
	assert_int_equal(r9.abi, 7);
	assert_memory_equal(&r7, &r9, sizeof r7);
}

static void
abi_pick_takes_the_lower(void **state)
{
	(void)state;
	assert_int_equal(sandbox_ll_abi_pick(7, -1), 7);
	assert_int_equal(sandbox_ll_abi_pick(2, -1), 2);	/* Debian 12's kernel */
	assert_int_equal(sandbox_ll_abi_pick(7, 2), 2);	/* forced lower */
	assert_int_equal(sandbox_ll_abi_pick(2, 5), 2);	/* never above the kernel */
	assert_int_equal(sandbox_ll_abi_pick(7, 0), 0);	/* forced off */
	assert_int_equal(sandbox_ll_abi_pick(-38, -1), 0);	/* ENOSYS: no Landlock */
	assert_int_equal(sandbox_ll_abi_pick(-95, 3), 0);	/* EOPNOTSUPP: disabled */
	assert_int_equal(sandbox_ll_abi_pick(12, -1), LL_ABI_KNOWN);
}

static void
fs_names(void **state)
{
	char buf[256];
	(void)state;
	sandbox_ll_fs_names(0, buf, sizeof buf);
	assert_string_equal(buf, "none");
	sandbox_ll_fs_names(READS, buf, sizeof buf);
	assert_string_equal(buf, "read_file,read_dir");
	sandbox_ll_fs_names(LL_FS_EXECUTE | LL_FS_IOCTL_DEV, buf, sizeof buf);
	assert_string_equal(buf, "execute,ioctl_dev");
	sandbox_ll_fs_names(fs_known(7), buf, 12); /* too small: cut at a name */
	assert_string_equal(buf, "execute");
}

static void
needs_resolve(void **state)
{
	(void)state;
	assert_true(sandbox_host_needs_resolve("localhost"));
	assert_true(sandbox_host_needs_resolve("db.example.com"));
	assert_false(sandbox_host_needs_resolve("127.0.0.1"));
	assert_false(sandbox_host_needs_resolve("::1"));
	assert_false(sandbox_host_needs_resolve("fe80::1"));
	assert_false(sandbox_host_needs_resolve("/var/run/postgresql"));
	assert_false(sandbox_host_needs_resolve(""));
	assert_false(sandbox_host_needs_resolve(NULL));
}

/* A config with the fields a plan looks at (strings are borrowed). */
static void
cfg_fill(struct tusk_config *c, const char *host, int port, const char *ssl_mode)
{
	memset(c, 0, sizeof *c);
	c->host = (char *)(uintptr_t)host;
	c->port = port;
	c->ssl_mode = (char *)(uintptr_t)ssl_mode;
}

static void
plan_direct_tcp(void **state)
{
	struct tusk_config c;
	struct sbx_conn_plan p;
	(void)state;
	cfg_fill(&c, "db.example.com", 6543, "verify-full");
	c.ssl_ca_cert = (char *)(uintptr_t)"/home/u/ca.crt";
	c.ssl_client_cert = (char *)(uintptr_t)"/home/u/client.crt";
	c.ssl_client_key = (char *)(uintptr_t)"/home/u/client.key";
	sandbox_conn_plan(&c, &p);
	assert_true(p.tcp);
	assert_int_equal(p.port, 6543);
	assert_true(p.resolve);
	assert_int_equal(p.nfiles, 3);
	assert_string_equal(p.files[0], "/home/u/ca.crt");
	assert_string_equal(p.files[2], "/home/u/client.key");

	cfg_fill(&c, "127.0.0.1", 5432, "disable");
	c.ssl_ca_cert = (char *)(uintptr_t)"/home/u/ca.crt"; /* unused without TLS */
	sandbox_conn_plan(&c, &p);
	assert_true(p.tcp);
	assert_int_equal(p.port, 5432);
	assert_false(p.resolve);
	assert_int_equal(p.nfiles, 0);
}

static void
plan_unix_socket(void **state)
{
	struct tusk_config c;
	struct sbx_conn_plan p;
	(void)state;
	cfg_fill(&c, "/tmp/demo/sock", 5432, "prefer");
	sandbox_conn_plan(&c, &p);
	assert_false(p.tcp);
	assert_int_equal(p.port, 0);
	assert_false(p.resolve);
	assert_int_equal(p.nfiles, 0);
}

static void
plan_ssh_tunnel(void **state)
{
	struct tusk_config c;
	struct tusk_ssh ssh = { 0 };
	struct sbx_conn_plan p;
	(void)state;
	cfg_fill(&c, "127.0.0.1", 5432, "disable");
	ssh.host = (char *)(uintptr_t)"bastion.example.com";
	ssh.port = 2222;
	ssh.auth_type = (char *)(uintptr_t)"key_file";
	ssh.key_path = (char *)(uintptr_t)"/home/u/.ssh/id_ed25519";
	c.ssh = &ssh;
	sandbox_conn_plan(&c, &p);
	assert_true(p.tcp);
	assert_int_equal(p.port, 2222); /* the SSH server, not PostgreSQL */
	assert_true(p.resolve);
	assert_int_equal(p.nfiles, 1);
	assert_string_equal(p.files[0], "/home/u/.ssh/id_ed25519");
	ssh.auth_type = (char *)(uintptr_t)"agent";
	sandbox_conn_plan(&c, &p);
	assert_int_equal(p.nfiles, 0); /* no key file to read */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(abi0_means_no_landlock),
		cmocka_unit_test(every_abi_splits_its_rights),
		cmocka_unit_test(newer_abi_is_used_as_the_newest_known),
		cmocka_unit_test(abi_pick_takes_the_lower),
		cmocka_unit_test(fs_names),
		cmocka_unit_test(needs_resolve),
		cmocka_unit_test(plan_direct_tcp),
		cmocka_unit_test(plan_unix_socket),
		cmocka_unit_test(plan_ssh_tunnel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
