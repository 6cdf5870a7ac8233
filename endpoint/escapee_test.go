package endpoint_test

// The escape suite's agent side: the test binary re-executed inside
// `warden run` as the agent ("-warden-escape"), and as stage 2
// ("-warden-stage2"). Each attempt reports whether it was blocked.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// escapeEnv is what the harness tells the escapee (through argv, as JSON).
type escapeEnv struct {
	Home, Project, OtherHome, Outside, TmpBin, SetuidBin string
	DeniedTCP4, DeniedTCP6, AllowedTCP                   string
	DeniedDNS, DeniedUDP, AllowedDNS                     string
	Abstract                                             string
	// SamePortOther4 is the allowlisted port on a different address: only
	// the eBPF allowlist (not Landlock's port rule) can refuse it.
	SamePortOther4, SamePortMapped6 string
}

type attemptResult struct {
	Name    string `json:"name"`
	Blocked bool   `json:"blocked"`
	Err     string `json:"err"`
	Allowed bool   `json:"allowed"` // an action that must succeed
}

func escapeAttempts(e escapeEnv) []attemptResult {
	var out []attemptResult
	try := func(name string, f func() error) {
		err := f()
		r := attemptResult{Name: name, Blocked: err != nil}
		if err != nil {
			r.Err = err.Error()
		}
		out = append(out, r)
	}
	must := func(name string, f func() error) {
		err := f()
		r := attemptResult{Name: name, Allowed: true, Blocked: err != nil}
		if err != nil {
			r.Err = err.Error()
		}
		out = append(out, r)
	}
	readFile := func(p string) func() error { return func() error { _, err := os.ReadFile(p); return err } }
	sock := func(fam, typ, proto int) func() error {
		return func() error {
			fd, err := unix.Socket(fam, typ, proto)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}
	}
	dial := func(network, addr string) func() error {
		return func() error {
			c, err := net.DialTimeout(network, addr, 2*time.Second)
			if err == nil {
				c.Close()
			}
			return err
		}
	}
	sendto := func(addr string) func() error {
		return func() error {
			ap := net.UDPAddrFromAddrPort(mustAddrPort(addr))
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			sa := &unix.SockaddrInet4{Port: ap.Port}
			copy(sa.Addr[:], ap.IP.To4())
			return unix.Sendto(fd, []byte("x"), 0, sa)
		}
	}

	// Allowed actions in the same run.
	must("allowed_project_write_read", func() error {
		p := filepath.Join(e.Project, "notes.txt")
		if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
			return err
		}
		_, err := os.ReadFile(p)
		return err
	})
	must("allowed_read_etc_passwd", readFile("/etc/passwd"))
	must("allowed_exec_true", func() error { return exec.Command("/bin/true").Run() })
	must("allowed_tcp_connect", dial("tcp", e.AllowedTCP))
	must("allowed_dns_resolver", sendto(e.AllowedDNS))
	must("allowed_tcp_connect_ipv4_mapped", func() error {
		ap := mustAddrPort(e.AllowedTCP)
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Connect(fd, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: netip.AddrFrom16(ap.Addr().As16()).As16()})
	})
	must("allowed_tmp_write", func() error { return os.WriteFile(filepath.Join(os.TempDir(), "warden-escape-ok"), []byte("x"), 0o644) })

	// Escapes.
	try("read_ssh_key", readFile(filepath.Join(e.Home, ".ssh/id_ed25519")))
	try("read_etc_shadow", readFile("/etc/shadow"))
	try("read_other_home", readFile(filepath.Join(e.OtherHome, "secret.txt")))
	try("write_outside_project", func() error { return os.WriteFile(filepath.Join(e.Outside, "dropped"), []byte("x"), 0o644) })
	try("write_home_dotfile", func() error { return os.WriteFile(filepath.Join(e.Home, ".bashrc"), []byte("evil"), 0o644) })
	try("symlink_to_ssh_key", func() error {
		l := filepath.Join(e.Project, "innocent-link")
		if err := os.Symlink(filepath.Join(e.Home, ".ssh/id_ed25519"), l); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		_, err := os.ReadFile(l)
		return err
	})
	try("hardlink_ssh_key", func() error {
		return os.Link(filepath.Join(e.Home, ".ssh/id_ed25519"), filepath.Join(e.Project, "hl"))
	})
	try("connect_ipv4_not_allowlisted", dial("tcp", e.DeniedTCP4))
	try("connect_ipv6_not_allowlisted", dial("tcp6", e.DeniedTCP6))
	try("connect_allowed_port_other_ipv4", dial("tcp4", e.SamePortOther4))
	try("connect_ipv4_mapped_ipv6", func() error {
		// A dual-stack socket reaching an IPv4 address through ::ffff:a.b.c.d.
		ap := mustAddrPort(e.SamePortMapped6)
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Connect(fd, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()})
	})
	try("udp_dns_unapproved_resolver", dial("udp", e.DeniedDNS))
	try("udp_sendto_not_allowlisted", sendto(e.DeniedUDP))
	try("mptcp_socket", sock(unix.AF_INET, unix.SOCK_STREAM, 262))
	try("raw_socket", sock(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP))
	try("packet_socket", sock(unix.AF_PACKET, unix.SOCK_RAW, 0))
	try("ptrace_sibling", func() error {
		c := exec.Command("/bin/sleep", "5")
		if err := c.Start(); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		defer func() { c.Process.Kill(); c.Wait() }()
		return unix.PtraceAttach(c.Process.Pid)
	})
	try("mount_tmpfs", func() error { return unix.Mount("none", e.Project, "tmpfs", 0, "") })
	try("bpf_prog_load", func() error {
		_, _, en := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, 0, 0)
		if en != 0 {
			return en
		}
		return nil
	})
	try("exec_from_tmp", func() error { return exec.Command(e.TmpBin).Run() })
	try("exec_from_project", func() error {
		p := filepath.Join(e.Project, "run.sh")
		if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		return exec.Command(p).Run()
	})
	try("setuid_binary", func() error {
		out, err := exec.Command(e.SetuidBin, "-warden-whoami").Output()
		if err != nil {
			return err
		}
		if euid, _ := strconv.Atoi(strings.TrimSpace(string(out))); euid != 0 {
			return fmt.Errorf("ran without privilege: euid %d", euid)
		}
		return nil // euid 0: escaped
	})
	try("escape_cgroup_procs", func() error {
		root := "/sys/fs/cgroup/unified"
		if _, err := os.Stat(root + "/cgroup.procs"); err != nil {
			root = "/sys/fs/cgroup"
		}
		return os.WriteFile(root+"/cgroup.procs", []byte(strconv.Itoa(os.Getpid())), 0)
	})
	try("kill_warden", func() error { return unix.Kill(os.Getppid(), unix.SIGKILL) })
	try("unshare_user_namespace", func() error { return unix.Unshare(unix.CLONE_NEWUSER) })
	try("clone_new_user_namespace", func() error {
		r, _, en := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.CLONE_NEWUSER|uintptr(syscall.SIGCHLD)), 0, 0, 0, 0, 0)
		if en != 0 {
			return en
		}
		if r == 0 {
			unix.RawSyscall(unix.SYS_EXIT, 0, 0, 0)
		}
		return nil
	})
	try("keyctl_session_keyring", func() error {
		_, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_SESSION_KEYRING, false)
		return err
	})
	try("perf_event_open", func() error {
		attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_CPU_CLOCK}
		attr.Size = uint32(unsafe.Sizeof(attr))
		fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, 0)
		if err == nil {
			unix.Close(fd)
		}
		return err
	})
	try("userfaultfd", func() error {
		_, _, en := unix.Syscall(unix.SYS_USERFAULTFD, 0, 0, 0)
		if en != 0 {
			return en
		}
		return nil
	})
	try("io_uring_setup", func() error {
		var params [120]byte
		_, _, en := unix.Syscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&params[0])), 0)
		if en != 0 {
			return en
		}
		return nil
	})
	try("kexec_load", func() error {
		_, _, en := unix.Syscall6(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0, 0, 0)
		if en != 0 {
			return en
		}
		return nil
	})
	try("tiocsti_inject", func() error {
		c := byte('x')
		_, _, en := unix.Syscall(unix.SYS_IOCTL, 0, unix.TIOCSTI, uintptr(unsafe.Pointer(&c)))
		if en != 0 {
			return en
		}
		return nil
	})
	try("abstract_unix_socket_outside", func() error {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Connect(fd, &unix.SockaddrUnix{Name: "@" + e.Abstract})
	})
	return out
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// runEscapee is the agent-side main.
func runEscapee(arg string) {
	var e escapeEnv
	if err := json.Unmarshal([]byte(arg), &e); err != nil {
		fmt.Fprintln(os.Stderr, "escapee:", err)
		os.Exit(3)
	}
	res := escapeAttempts(e)
	_ = json.NewEncoder(os.Stdout).Encode(res)
	os.Exit(0)
}
