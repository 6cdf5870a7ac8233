//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// eBPF programs of `warden run`, one collection loaded per session:
//   - cgroup/connect4, connect6, sendmsg4, sendmsg6: the egress allowlist.
//     Attached to the session's cgroup, so they only ever see the agent.
//   - raw_tracepoint/sys_exit: syscall telemetry for tasks of the session
//     cgroup (target_cgid): open/openat/openat2/creat always
//     (flags, path, result), the watched syscalls (execve, ptrace, mount,
//     bpf, socket, unshare, kill, ...) when they fail, which is how seccomp
//     and Landlock denials become events.
//   - raw_tracepoint/sched_process_exec (or, when the kernel's BTF does not
//     give linux_binprm's layout, tracepoint/sched/sched_process_exec):
//     successful execs.
// Everything goes to user space through one ring buffer; a per-CPU counter
// records events lost because the ring buffer was full.
// BPF LSM and fentry are not available on the target kernels, so nothing
// here denies file access: that is Landlock's job.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PATH_MAX_LEN 256

enum ev_type { EV_SYSCALL = 1, EV_EXEC = 2, EV_NET = 3 };

// watch flags, indexed by syscall number (map watch).
#define W_ALWAYS 1    // emit on every exit (opens)
#define W_FAIL 2      // emit when the call fails
#define W_PATH0 4     // args[0] is a user path
#define W_PATH1 8     // args[1] is a user path
#define W_OK 16       // emit when the call succeeds (fd and cwd changes:
                      // dup*, fcntl(F_DUPFD*), chdir, fchdir), no path

struct event {
	__u64 ts;
	__u32 type;
	__u32 pid;  // thread group id
	__u32 tid;
	__u32 nr;   // syscall number (EV_SYSCALL) or hook (EV_NET: 4, 6, 14, 16)
	__s64 ret;  // syscall result; EV_NET: 1 allowed, 0 denied
	__u64 args[3];
	__u32 addr[4];  // EV_NET: destination, IPv4 as ::ffff:a.b.c.d
	__u16 port;     // host order
	__u8 proto;     // IPPROTO_TCP/UDP
	__u8 pad;
	__u32 ppid;
	char comm[16];
	char path[PATH_MAX_LEN];
};

struct dest_key {
	__u32 addr[4];
	__u16 port;  // 0: any port
	__u8 proto;  // 0: any protocol
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 26); // 64 MiB: bursts of ~180k events
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct dest_key);
	__type(value, __u8);
} allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u32);
} watch SEC(".maps");

// lost[0]: ring buffer full; lost[1]: events emitted.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

// Keep the types in BTF so bpf2go emits Go types for them.
const struct event *unused_event __attribute__((unused));
const struct dest_key *unused_dest_key __attribute__((unused));

// Set at load time: the session cgroup (v2 id).
volatile const __u64 target_cgid = 0;

static __always_inline void count(__u32 i) {
	__u64 *c = bpf_map_lookup_elem(&counters, &i);
	if (c)
		__sync_fetch_and_add(c, 1);
}

static __always_inline struct event *reserve(__u32 type) {
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(0);
		return 0;
	}
	count(1);
	__u64 id = bpf_get_current_pid_tgid();
	e->ts = bpf_ktime_get_boot_ns();
	e->type = type;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->nr = 0;
	e->ret = 0;
	e->args[0] = e->args[1] = e->args[2] = 0;
	e->addr[0] = e->addr[1] = e->addr[2] = e->addr[3] = 0;
	e->port = 0;
	e->proto = 0;
	e->pad = 0;
	e->ppid = 0;
	e->path[0] = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline int in_session(void) {
	return bpf_get_current_cgroup_id() == target_cgid;
}

// x86_64 struct pt_regs offsets (arch/x86/include/asm/ptrace.h).
#define REGS_DX 96
#define REGS_SI 104
#define REGS_DI 112
#define REGS_ORIG_AX 120

static __always_inline __u64 reg(void *regs, int off) {
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), regs + off);
	return v;
}

// Wake the reader at once when this much is pending (see sys_exit).
#define WAKE_BYTES (256 * 1024)

// raw_tracepoint/sys_exit sees every syscall exit, including the ones
// seccomp refused (those never reach sys_enter), with the saved user
// registers, so the arguments are still there: one program, no per-task
// state.
SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx) {
	if (!in_session())
		return 0;
	void *regs = (void *)ctx->args[0];
	long ret = (long)ctx->args[1];
	__u32 nr = (__u32)reg(regs, REGS_ORIG_AX);
	__u32 *w = bpf_map_lookup_elem(&watch, &nr);
	if (!w)
		return 0;
	__u32 flags = *w;
	if (!((flags & W_ALWAYS) || ((flags & W_FAIL) && ret < 0) || ((flags & W_OK) && ret >= 0)))
		return 0;
	if (nr == 72 /* fcntl */ && (flags & W_OK) && ret >= 0) {
		// Only the commands that make a new fd.
		__u64 cmd = reg(regs, REGS_SI);
		if (cmd != 0 /* F_DUPFD */ && cmd != 1030 /* F_DUPFD_CLOEXEC */)
			return 0;
	}
	struct event *e = reserve(EV_SYSCALL);
	if (!e)
		return 0;
	e->nr = nr;
	e->ret = ret;
	e->args[0] = reg(regs, REGS_DI);
	e->args[1] = reg(regs, REGS_SI);
	e->args[2] = reg(regs, REGS_DX);
	if (nr == 42 /* connect */) {
		// The destination, so Landlock's refusals (before the cgroup
		// hook) and UNIX sockets can be reported: family in pad.
		__u16 fam = 0;
		bpf_probe_read_user(&fam, sizeof(fam), (const void *)e->args[1]);
		e->pad = (__u8)fam;
		__u16 port = 0;
		bpf_probe_read_user(&port, sizeof(port), (const void *)(e->args[1] + 2));
		e->port = bpf_ntohs(port);
		if (fam == 2) {
			e->addr[2] = bpf_htonl(0xffff);
			bpf_probe_read_user(&e->addr[3], 4, (const void *)(e->args[1] + 4));
		} else if (fam == 10) {
			bpf_probe_read_user(e->addr, 16, (const void *)(e->args[1] + 8));
		}
	} else if (nr == 437 /* openat2 */) {
		// open_how.flags lives in user memory.
		__u64 fl = 0;
		bpf_probe_read_user(&fl, sizeof(fl), (const void *)e->args[2]);
		e->args[2] = fl;
	}
	// The path is read on exit from the caller's memory. A racing thread
	// could change it; this is telemetry, enforcement is Landlock's.
	if (flags & W_PATH0)
		bpf_probe_read_user_str(e->path, sizeof(e->path), (const void *)e->args[0]);
	else if (flags & W_PATH1)
		bpf_probe_read_user_str(e->path, sizeof(e->path), (const void *)e->args[1]);
	// Successful opens (and fd changes) are the bulk: their wake-ups are batched (the
	// reader polls, and is woken once WAKE_BYTES are pending); a wake-up
	// per event cost a context switch on both sides. Denials and failures
	// of the other watched calls wake the reader at once.
	__u64 wf = 0;
	if ((flags & (W_ALWAYS | W_OK)) && ret >= 0 && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < WAKE_BYTES)
		wf = BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, wf);
	return 0;
}

struct sched_exec_ctx {
	__u64 common;
	__u32 filename_loc;
	__s32 pid;
	__s32 old_pid;
};

SEC("tracepoint/sched/sched_process_exec")
int sched_exec(struct sched_exec_ctx *ctx) {
	if (!in_session())
		return 0;
	struct event *e = reserve(EV_EXEC);
	if (!e)
		return 0;
	__u32 off = ctx->filename_loc & 0xFFFF;
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), (void *)ctx + off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

// Offset of linux_binprm.filename, from the kernel's BTF (set at load
// time; 0: unknown, the perf tracepoint above is used instead).
volatile const __u32 bprm_filename_off = 0;

// raw_tracepoint/sched_process_exec(p, old_pid, bprm): the same event as
// sched_exec, without a perf event: detaching a perf tracepoint waits for
// a grace period (~80 ms at the end of every session), a raw one does not.
SEC("raw_tracepoint/sched_process_exec")
int sched_exec_raw(struct bpf_raw_tracepoint_args *ctx) {
	if (!in_session() || bprm_filename_off == 0)
		return 0;
	struct event *e = reserve(EV_EXEC);
	if (!e)
		return 0;
	const char *fn = 0;
	bpf_probe_read_kernel(&fn, sizeof(fn), (void *)ctx->args[2] + bprm_filename_off);
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), fn);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline int allowed(__u32 a0, __u32 a1, __u32 a2, __u32 a3, __u16 port, __u8 proto) {
	struct dest_key k = {};
	k.addr[0] = a0; k.addr[1] = a1; k.addr[2] = a2; k.addr[3] = a3;
	k.port = port;
	k.proto = proto;
	if (bpf_map_lookup_elem(&allow, &k))
		return 1;
	k.proto = 0;
	if (bpf_map_lookup_elem(&allow, &k))
		return 1;
	k.port = 0;
	if (bpf_map_lookup_elem(&allow, &k))
		return 1;
	return 0;
}

static __always_inline int verdict(struct bpf_sock_addr *ctx, int v6, __u32 hook, int report_allowed) {
	__u32 a0, a1, a2, a3;
	if (v6) {
		a0 = ctx->user_ip6[0]; a1 = ctx->user_ip6[1];
		a2 = ctx->user_ip6[2]; a3 = ctx->user_ip6[3];
	} else {
		a0 = 0; a1 = 0; a2 = bpf_htonl(0xffff); a3 = ctx->user_ip4;
	}
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	__u8 proto = (__u8)ctx->protocol;
	int ok = allowed(a0, a1, a2, a3, port, proto);
	if (!ok || report_allowed) {
		struct event *e = reserve(EV_NET);
		if (e) {
			e->nr = hook;
			e->ret = ok;
			e->addr[0] = a0; e->addr[1] = a1; e->addr[2] = a2; e->addr[3] = a3;
			e->port = port;
			e->proto = proto;
			bpf_ringbuf_submit(e, 0);
		}
	}
	return ok;
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx) { return verdict(ctx, 0, 4, 1); }

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx) { return verdict(ctx, 1, 6, 1); }

// Datagrams: only refusals are reported (allowed DNS traffic would flood).
SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx) { return verdict(ctx, 0, 14, 0); }

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx) { return verdict(ctx, 1, 16, 0); }
