/*
 * sandbox.c - the daemon confined to what it does: Landlock to the folders it
 * reads and writes, a seccomp filter (libseccomp) to the system calls it
 * makes. Applied once, after the privilege drop (serve.c) and before the
 * first thread starts. Neither can be undone, and both hold for every
 * thread created afterwards. What is allowed and why is in
 * docs/architecture.md ("Confinement"); server.sandbox = false turns both off.
 *
 * Landlock is used through its system calls: Debian 12 has no library for
 * it, and its header stops at ABI 2, so later rights are defined here. The
 * running kernel says which ABI it speaks, and the rights it does not know
 * are left out (a ruleset naming them would be refused).
 */
#include "main/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

/* ---- Landlock ---- */

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)	/* ABI 5 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)	/* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/*
 * The kernel's struct landlock_ruleset_attr as of ABI 6 (Debian 12's header
 * has only the first member). An older kernel takes it as long as the
 * members it does not know are zero, and they are: only an ABI that has
 * them gets them set.
 */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/*
 * Where files are written: created, renamed between folders of the same
 * tree (REFER: incoming/ -> queue/, tmp/ -> new/), removed. Nothing is
 * executed anywhere.
 */
#define LL_WRITE (LL_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | \
	LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)
/*
 * The folder entrances (the maildrop in the spool, pickup.dir) take a file
 * by renaming it before looking at it (src/drop/take.c), whatever its
 * writer made: a link, a FIFO, a socket, a device node. Renaming one into
 * taken/ counts as making one of its type there, so those rights are
 * given too; the filter refuses the calls that would really make them
 * (symlink, mknod). bind() does make a socket file: the control socket,
 * <spool.dir>/control (src/control).
 */
#define LL_ENTRANCE (LL_WRITE | LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_MAKE_FIFO | \
	LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK)
/* the rights a rule on a file (not a folder) may carry */
#define LL_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

int
sandbox_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

/* The filesystem rights that ABI abi knows. */
static uint64_t
ll_fs_rights(int abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1: EXECUTE to MAKE_SYM */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/*
 * Allows access beneath path (a folder), or to path (a file: only the
 * rights a file can have). A path that is missing or that this user cannot
 * reach is skipped: nothing would be read there anyway. 0, or -1 after
 * logging why.
 */
static int
ll_allow(int ruleset, const char *path, uint64_t access, uint64_t handled)
{
	struct landlock_path_beneath_attr pb = { 0 };
	struct stat st;
	int fd, ret = -1;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == EACCES || errno == ENOTDIR) {
			log_debug("sandbox: %s skipped: %s", path, strerror(errno));
			return 0;
		}
		log_err("sandbox: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_err("sandbox: %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode))
		access &= LL_FILE_RIGHTS;
	pb.allowed_access = access & handled;
	pb.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1) {
		log_err("sandbox: Landlock rule for %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

/* The folder that holds path ("." for a bare name), into out of size bytes. */
static const char *
parent_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);

	if (n == 0 || n >= size)
		return n == 0 ? "." : NULL;
	memcpy(out, path, n);
	out[n] = '\0';
	return out;
}

/*
 * A file read again later (a certificate at SIGHUP): its folder, and the
 * folder of what it links to. Renewal tools write a new file beside the old
 * one and rename it over, or switch a link to it (certbot's live/ links to
 * archive/), so a rule on the file itself would miss the renewed one.
 */
static int
ll_allow_file_folder(int ruleset, const char *path, uint64_t handled)
{
	char dir[PATH_MAX], *real;
	const char *p;
	int ret = 0;

	if ((p = parent_of(path, dir, sizeof(dir))) != NULL)
		ret = ll_allow(ruleset, p, LL_READ, handled);
	if (ret == 0 && (real = realpath(path, NULL)) != NULL) {
		if ((p = parent_of(real, dir, sizeof(dir))) != NULL && strcmp(real, path) != 0)
			ret = ll_allow(ruleset, p, LL_READ, handled);
		free(real);
	}
	return ret;
}

/*
 * What the daemon reads after start without the configuration naming it:
 * user and group names (maildrop file owners), resolv.conf, hosts,
 * nsswitch.conf, localtime and OpenSSL's configuration and trust store in
 * /etc; NSS modules (loaded on first use), time zones, OpenSSL's providers
 * and iconv's modules (GMime) in /usr; /dev/urandom (c-ares reads its
 * query ids there); the process's own /proc entries (stack bounds,
 * descriptor counts, the sanitizers' memory maps).
 */
static const char *const ll_system_read[] = {
	"/etc", "/usr", "/dev/urandom", "/proc/self",
	/* its own program file, wherever it is: backtraces and sanitizer reports read it */
	"/proc/self/exe",
};

/*
 * Connecting to a UNIX socket by path (LMTP to /run/dovecot/lmtp, a test's
 * socket in /tmp) is not restricted by Landlock up to ABI 7 (Linux 6.18,
 * checked by connecting under a ruleset that handles every right): the
 * filesystem rights cover creating a socket file (MAKE_SOCK, given only in
 * the entrances, the spool's control socket), not connecting to one. The abstract namespace is scoped
 * (ABI 6) so that the daemon cannot reach the abstract sockets of processes
 * outside the sandbox, nor signal them; it does neither.
 */
static int
landlock_confine(const struct config *cfg, int abi)
{
	struct ll_ruleset_attr attr = { 0 };
	/* the maildrop is <spool.dir>/maildrop (src/drop), so the spool is an entrance too */
	const struct { const char *path; uint64_t access; } rw[] = {
		{ cfg->spool_dir, LL_ENTRANCE },
		{ cfg->mailbox_root, LL_WRITE },
		{ cfg->pickup_dir, LL_ENTRANCE },
	};
	char dir[PATH_MAX];
	const char *p;
	int ruleset, ret = -1;

	attr.handled_access_fs = ll_fs_rights(abi);
	if (abi >= 6)
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
	if ((ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0)) == -1) {
		log_err("sandbox: cannot create a Landlock ruleset: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < NELEM(rw); i++)
		if (rw[i].path[0] != '\0' &&
		    ll_allow(ruleset, rw[i].path, rw[i].access, attr.handled_access_fs) == -1)
			goto out;
	/* its folder: included files, and what an operator keeps beside it */
	if ((p = parent_of(cfg->path, dir, sizeof(dir))) != NULL &&
	    ll_allow(ruleset, p, LL_READ, attr.handled_access_fs) == -1)
		goto out;
	for (size_t i = 0; i < cfg->ncerts; i++)
		if (ll_allow_file_folder(ruleset, cfg->certs[i].chain, attr.handled_access_fs) == -1 ||
		    ll_allow_file_folder(ruleset, cfg->certs[i].key, attr.handled_access_fs) == -1)
			goto out;
	/* policy's list files are read again when they change, often replaced by a rename */
	for (size_t i = 0; i < CONFIG_LIST_N; i++)
		if (cfg->lists[i].file != NULL && cfg->lists[i].file[0] != '\0' &&
		    ll_allow_file_folder(ruleset, cfg->lists[i].file, attr.handled_access_fs) == -1)
			goto out;
	/* the API keys: read again when they change, the file maybe replaced by a rename */
	if (cfg->http_keys_file != NULL && cfg->http_keys_file[0] != '\0' &&
	    ll_allow_file_folder(ruleset, cfg->http_keys_file, attr.handled_access_fs) == -1)
		goto out;
	/* read again at a reload, the file maybe replaced by a rename */
	if (cfg->users_file[0] != '\0' &&
	    ll_allow_file_folder(ruleset, cfg->users_file, attr.handled_access_fs) == -1)
		goto out;
	/* the scheduler reads it once it starts, after the sandbox (the system's is under /etc) */
	if (cfg->out_tls_ca_file[0] != '\0' &&
	    ll_allow(ruleset, cfg->out_tls_ca_file, LL_READ, attr.handled_access_fs) == -1)
		goto out;
	for (size_t i = 0; i < NELEM(ll_system_read); i++)
		if (ll_allow(ruleset, ll_system_read[i], LL_READ, attr.handled_access_fs) == -1)
			goto out;
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) == -1) {
		log_err("sandbox: cannot apply the Landlock ruleset: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	close(ruleset);
	return ret;
}

/* ---- seccomp ---- */

/*
 * The build with AddressSanitizer (make test-san) checks for leaks at exit
 * from a clone of the process that stops the threads with ptrace: it gets
 * those few calls more (SC_IS_ASAN below), and nothing else changes.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SC_IS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SC_IS_ASAN 1
#endif
#endif

/*
 * The system calls the daemon makes once it serves: its own code, glibc,
 * libevent (epoll, eventfd), OpenSSL, c-ares, GMime and GLib, and the NSS
 * modules; found by tracing the end-to-end tests under both builds. Names
 * that this architecture lacks (open on arm64) are skipped. clone, prctl,
 * ioctl, prlimit64 and socket are allowed below with their arguments
 * checked. Anything else fails with EPERM, so an unforeseen path in a
 * library gets an error it can report, not a crash that would repeat at
 * every restart.
 */
static const char *const sc_allowed[] = {
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
	/* threads (clone below), their locks, signals, time (vDSO fallbacks), sleeping */
	"futex", "set_robust_list", "rseq", "sched_yield", "sched_getaffinity", "exit",
	"exit_group", "getpid", "gettid", "tgkill", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "sigaltstack", "restart_syscall", "nanosleep", "clock_nanosleep",
	"clock_gettime", "clock_getres", "gettimeofday", "time",
	/* files: the spool and its group commit, the mailboxes, the folder entrances */
	"openat", "open", "close", "read", "write", "pread64", "pwrite64", "readv", "writev",
	"lseek", "fstat", "newfstatat", "stat", "lstat", "statx", "fstatfs", "statfs", "fsync",
	"fdatasync", "syncfs", "sync_file_range", "rename", "renameat", "renameat2", "unlink",
	"unlinkat", "mkdir", "mkdirat", "rmdir", "getdents64", "fcntl", "flock", "dup", "dup2",
	"dup3", "readlink", "readlinkat", "access", "faccessat", "faccessat2",
	/*
	 * a queue file's commit where the file system cannot rename without
	 * replacing (fsutil.c, rename_noreplace): a hard link, by linkat only
	 */
	"linkat",
	/* the event log cuts a line a crash left half-written */
	"ftruncate",
	/*
	 * the control socket's mode, set between its bind and its listen; a
	 * Maildir's folders' and messages' modes, whatever the umask
	 */
	"chmod", "fchmodat", "fchmod",
	/* the event loop (libevent), the worker queues' wake-ups, the folders' watches */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "eventfd2", "pipe2", "poll",
	"ppoll", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	/*
	 * sockets: SMTP in (libevent's listener calls listen() again as it
	 * starts) and out (bind: outbound.source_address), DNS (c-ares), UNIX
	 * sockets (LMTP, nscd), SO_PEERCRED, the interface list (netlink)
	 */
	"accept", "accept4", "connect", "bind", "listen", "getsockname", "getpeername",
	"getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
	"shutdown", "socketpair",
	/* what libraries ask of the system: ids, host name, memory size (qsort), randomness */
	"getuid", "geteuid", "getgid", "getegid", "uname", "sysinfo", "getrandom",
};

/*
 * Calls that no path of the daemon makes once it serves, and that only a
 * process taken over would: running a program, debugging another, mounts,
 * identities, namespaces, kernel modules. They end the process (SIGSYS, so
 * the kernel's audit log names the call) rather than fail quietly.
 */
static const char *const sc_fatal[] = {
	"execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
	"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsmount",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
	"setfsuid", "setfsgid", "capset", "unshare", "setns", "init_module", "finit_module",
	"delete_module", "kexec_load", "kexec_file_load", "bpf", "perf_event_open", "reboot",
	"swapon", "swapoff", "acct", "personality", "userfaultfd", "keyctl", "add_key",
	"request_key",
};

/* prctl options in use: thread names (GLib) */
static const int sc_prctl_ok[] = {
	PR_SET_NAME, PR_GET_NAME,
#ifdef SC_IS_ASAN
	/*
	 * LeakSanitizer's check at exit: the process is made dumpable again
	 * (setuid made it not) and lets its tracer in, which dies with it
	 */
	PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_SET_PTRACER, PR_SET_PDEATHSIG,
#endif
};

/* ioctl requests in use: bytes waiting on a socket (libevent), isatty (stdio) */
static const unsigned long sc_ioctl_ok[] = { FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, TCGETS };

/* socket families in use: TCP and DNS over IPv4 and IPv6, UNIX sockets */
static const int sc_socket_ok[] = { AF_INET, AF_INET6, AF_UNIX };

/* Adds one rule by system call name; a name unknown to this architecture is skipped. */
static int
sc_add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned nargs,
    const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name), r;

	if (nr == __NR_SCMP_ERROR)
		return 0;
	if ((r = seccomp_rule_add_array(ctx, action, nr, nargs, args)) < 0) {
		log_err("sandbox: seccomp rule for %s: %s", name, strerror(-r));
		return -1;
	}
	return 0;
}

/*
 * An argument the kernel takes as an int (an option, a family, a request):
 * only its low 32 bits say anything, whatever a caller left above them.
 */
static struct scmp_arg_cmp
sc_int_is(unsigned arg, uint32_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu,
		.datum_b = v };
}

static int
seccomp_confine(int is_logged)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	struct scmp_arg_cmp arg;
	int r, ret = -1;

	if (ctx == NULL) {
		log_err("sandbox: cannot create a seccomp filter");
		return -1;
	}
	/* every thread, should a library have started one already */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		log_err("sandbox: seccomp TSYNC: %s", strerror(-r));
		goto out;
	}
	/*
	 * At log level debug, each refused call is written to the kernel's log
	 * too (audit type 1326), clone3's included (one per thread started); the
	 * fatal ones always are.
	 */
	if (is_logged)
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	for (size_t i = 0; i < NELEM(sc_allowed); i++)
		if (sc_add(ctx, SCMP_ACT_ALLOW, sc_allowed[i], 0, NULL) == -1)
			goto out;
	for (size_t i = 0; i < NELEM(sc_fatal); i++) {
#ifdef SC_IS_ASAN
		/* LeakSanitizer stops the threads with ptrace from a clone at exit */
		if (strcmp(sc_fatal[i], "ptrace") == 0)
			continue;
#endif
		if (sc_add(ctx, SCMP_ACT_KILL_PROCESS, sc_fatal[i], 0, NULL) == -1)
			goto out;
	}
#ifdef SC_IS_ASAN
	/*
	 * the tracer is a process: it checks that its parent lives, lists the
	 * threads (/proc/PID/task, with the older getdents), attaches to them,
	 * and is waited for
	 */
	if (sc_add(ctx, SCMP_ACT_ALLOW, "ptrace", 0, NULL) == -1 ||
	    sc_add(ctx, SCMP_ACT_ALLOW, "clone", 0, NULL) == -1 ||
	    sc_add(ctx, SCMP_ACT_ALLOW, "getppid", 0, NULL) == -1 ||
	    sc_add(ctx, SCMP_ACT_ALLOW, "getdents", 0, NULL) == -1 ||
	    sc_add(ctx, SCMP_ACT_ALLOW, "wait4", 0, NULL) == -1)
		goto out;
#else
	/* threads, never a new process (fork, posix_spawn) */
	arg = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	if (sc_add(ctx, SCMP_ACT_ALLOW, "clone", 1, &arg) == -1)
		goto out;
#endif
	for (size_t i = 0; i < NELEM(sc_prctl_ok); i++) {
		arg = sc_int_is(0, (uint32_t)sc_prctl_ok[i]);
		if (sc_add(ctx, SCMP_ACT_ALLOW, "prctl", 1, &arg) == -1)
			goto out;
	}
	/*
	 * clone3 passes its flags in memory, which a filter cannot read: ENOSYS
	 * makes glibc fall back to clone, whose flags are checked above.
	 */
	if (sc_add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL) == -1)
		goto out;
	for (size_t i = 0; i < NELEM(sc_ioctl_ok); i++) {
		arg = sc_int_is(1, (uint32_t)sc_ioctl_ok[i]);
		if (sc_add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &arg) == -1)
			goto out;
	}
	/* limits may be read (getrlimit), no longer raised: that was done before the drop */
	arg = (struct scmp_arg_cmp){ .arg = 2, .op = SCMP_CMP_EQ, .datum_a = 0, .datum_b = 0 };
	if (sc_add(ctx, SCMP_ACT_ALLOW, "prlimit64", 1, &arg) == -1 ||
	    sc_add(ctx, SCMP_ACT_ALLOW, "getrlimit", 0, NULL) == -1)
		goto out;
	for (size_t i = 0; i < NELEM(sc_socket_ok); i++) {
		arg = sc_int_is(0, (uint32_t)sc_socket_ok[i]);
		if (sc_add(ctx, SCMP_ACT_ALLOW, "socket", 1, &arg) == -1)
			goto out;
	}
	/* and routing netlink alone: the interface list (getifaddrs, sched/myself.c) */
	if (sc_add(ctx, SCMP_ACT_ALLOW, "socket", 2, (struct scmp_arg_cmp[]){
	    sc_int_is(0, AF_NETLINK), sc_int_is(2, NETLINK_ROUTE) }) == -1)
		goto out;
	if ((r = seccomp_load(ctx)) < 0) {
		log_err("sandbox: cannot load the seccomp filter: %s", strerror(-r));
		goto out;
	}
	ret = 0;
out:
	seccomp_release(ctx);
	return ret;
}

int
sandbox_apply(const struct config *cfg)
{
	int abi = sandbox_landlock_abi();

	/* both need it from an unprivileged process; the drop has set it when started as root */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_err("sandbox: cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	/*
	 * ABI 1 refuses every rename between two folders (there is no REFER
	 * right to grant), and the spool lives by renames: no Landlock then.
	 */
	if (abi == 0)
		log_info("sandbox: this kernel has no Landlock: files are not confined");
	else if (abi == 1)
		log_info("sandbox: Landlock ABI 1 cannot allow renames between folders: files are "
		    "not confined");
	else if (landlock_confine(cfg, abi) == -1)
		return -1;
	/* last: the Landlock calls above are not in the filter */
	if (seccomp_confine(cfg->log_level == LOG_DEBUG) == -1)
		return -1;
	if (abi >= 2)
		log_info("sandbox: system calls filtered; files confined (Landlock ABI %d) to %s, %s%s%s",
		    abi, cfg->spool_dir, cfg->mailbox_root, cfg->pickup_dir[0] ? ", " : "",
		    cfg->pickup_dir);
	else
		log_info("sandbox: system calls filtered");
	return 0;
}
