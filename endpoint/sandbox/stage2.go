package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/sys/unix"
)

// planFD is the inherited descriptor stage 2 reads its Plan from.
const planFD = 3

// Stage2 is the re-executed helper: it reads the Plan, drops to the agent
// user, sets no_new_privs, applies Landlock and seccomp and execs the agent.
// It never returns: on failure it prints why and exits 125.
func Stage2() {
	runtime.LockOSThread()
	die := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "warden: sandbox: "+format+"\n", a...)
		os.Exit(125)
	}
	f := os.NewFile(planFD, "plan")
	var p Plan
	if err := json.NewDecoder(f).Decode(&p); err != nil {
		die("reading plan: %v", err)
	}
	f.Close()
	if p.UID == 0 || p.GID == 0 {
		die("refusing to run the agent as root (uid %d gid %d)", p.UID, p.GID)
	}
	if len(p.Argv) == 0 {
		die("empty command")
	}
	// Drop privileges on every thread (Go's syscall.Set* are all-threads).
	if err := syscall.Setgroups(p.Groups); err != nil {
		die("setgroups: %v", err)
	}
	if err := syscall.Setresgid(p.GID, p.GID, p.GID); err != nil {
		die("setresgid: %v", err)
	}
	if err := syscall.Setresuid(p.UID, p.UID, p.UID); err != nil {
		die("setresuid: %v", err)
	}
	if os.Geteuid() == 0 || os.Getuid() == 0 {
		die("still root after dropping privileges")
	}
	// The credential change cleared the parent-death signal: set it again so
	// the agent dies with its warden.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		die("no_new_privs: %v", err)
	}
	if p.Dir != "" {
		if err := os.Chdir(p.Dir); err != nil {
			die("chdir %s: %v", p.Dir, err)
		}
	}
	if err := applyLandlock(&p); err != nil {
		die("%v", err)
	}
	if err := seccomp.LoadFilter(Filter()); err != nil {
		die("seccomp: %v", err)
	}
	err := syscall.Exec(p.Argv[0], p.Argv, p.Env)
	die("exec %s: %v", p.Argv[0], err)
}
