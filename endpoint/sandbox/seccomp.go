package sandbox

import (
	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/sys/unix"
)

// DeniedSyscalls are refused with EPERM inside the sandbox: kernel attack
// surface and ways around the other layers (namespaces would regain
// capabilities, ptrace/process_vm_* reach other processes, bpf/perf would
// blind or bypass telemetry, io_uring bypasses per-syscall telemetry, mount
// and friends would change what Landlock sees, keyctl reaches the user's
// keyrings).
var DeniedSyscalls = []string{
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
	"fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
	"bpf", "perf_event_open", "userfaultfd",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"keyctl", "add_key", "request_key",
	"unshare", "setns",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"iopl", "ioperm", "swapon", "swapoff", "reboot", "acct", "syslog",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"quotactl", "name_to_handle_at", "open_by_handle_at", "lookup_dcookie",
	"fanotify_init", "vhangup", "uselib",
}

// ipprotoMPTCP is IPPROTO_MPTCP: MPTCP sockets are not covered by
// Landlock's TCP rules, so they are refused outright.
const ipprotoMPTCP = 262

// namespaceFlags are the clone(2) flags that create namespaces.
var namespaceFlags = []uint64{
	unix.CLONE_NEWUSER, unix.CLONE_NEWNS, unix.CLONE_NEWNET, unix.CLONE_NEWPID,
	unix.CLONE_NEWUTS, unix.CLONE_NEWIPC, unix.CLONE_NEWCGROUP, unix.CLONE_NEWTIME,
}

// Filter is the sandbox's seccomp filter (default allow, deny list).
func Filter() seccomp.Filter {
	var cond []seccomp.NameWithConditions
	// socket(AF_PACKET, ...), raw IPv4/IPv6 sockets and MPTCP.
	cond = append(cond,
		seccomp.NameWithConditions{Name: "socket", Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.Equal, Value: unix.AF_PACKET}}},
		seccomp.NameWithConditions{Name: "socket", Conditions: []seccomp.Condition{{Argument: 2, Operation: seccomp.Equal, Value: ipprotoMPTCP}}},
		// Terminal input injection into the parent's terminal.
		seccomp.NameWithConditions{Name: "ioctl", Conditions: []seccomp.Condition{{Argument: 1, Operation: seccomp.Equal, Value: unix.TIOCSTI}}},
	)
	// Raw sockets: seccomp cannot mask, so match the type with every
	// combination of the two flags the kernel accepts there.
	for _, fam := range []uint64{unix.AF_INET, unix.AF_INET6} {
		for _, fl := range []uint64{0, unix.SOCK_CLOEXEC, unix.SOCK_NONBLOCK, unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK} {
			cond = append(cond, seccomp.NameWithConditions{Name: "socket", Conditions: []seccomp.Condition{
				{Argument: 0, Operation: seccomp.Equal, Value: fam},
				{Argument: 1, Operation: seccomp.Equal, Value: unix.SOCK_RAW | fl},
			}})
		}
	}
	// BitsSet means "any of these bits": one condition per flag.
	for _, f := range namespaceFlags {
		cond = append(cond, seccomp.NameWithConditions{Name: "clone", Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.BitsSet, Value: f}}})
	}
	return seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls: []seccomp.SyscallGroup{
				{Action: seccomp.ActionErrno, Names: DeniedSyscalls, NamesWithCondtions: cond},
				// clone3 passes its flags in memory seccomp cannot read:
				// ENOSYS makes libc fall back to clone(2), which is checked.
				{Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS), Names: []string{"clone3"}},
			},
		},
	}
}
