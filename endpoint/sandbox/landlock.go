package sandbox

import (
	"fmt"
	"os"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

const (
	fsRead  = ll.AccessFSReadFile | ll.AccessFSReadDir
	fsExec  = fsRead | ll.AccessFSExecute
	fsWrite = fsRead | ll.AccessFSWriteFile | ll.AccessFSRemoveDir | ll.AccessFSRemoveFile |
		ll.AccessFSMakeDir | ll.AccessFSMakeReg | ll.AccessFSMakeSock | ll.AccessFSMakeFifo |
		ll.AccessFSMakeSym | ll.AccessFSRefer | ll.AccessFSTruncate | ll.AccessFSIoctlDev
	// Rights that apply to a regular file (the kernel rejects directory
	// rights on a file rule).
	fsFileRights = ll.AccessFSExecute | ll.AccessFSWriteFile | ll.AccessFSReadFile | ll.AccessFSTruncate | ll.AccessFSIoctlDev

	fsHandled = fsWrite | ll.AccessFSExecute | ll.AccessFSMakeChar | ll.AccessFSMakeBlock
)

// applyLandlock restricts the calling process (all threads) to the plan's
// paths, TCP connect ports and IPC scope. Best effort below ABI 6 (the
// rules the kernel cannot express are dropped), but never below ABI 1.
func applyLandlock(p *Plan) error {
	cfg, err := landlock.NewConfig(
		landlock.AccessFSSet(fsHandled),
		landlock.AccessNetSet(ll.AccessNetConnectTCP),
		landlock.ScopedSet(ll.ScopeSignal|ll.ScopeAbstractUnixSocket),
	)
	if err != nil {
		return err
	}
	var rules []landlock.Rule
	add := func(rights landlock.AccessFSSet, paths []string) {
		for _, path := range paths {
			st, err := os.Stat(path)
			if err != nil {
				continue // missing (or unreachable for this user): nothing to allow
			}
			r := rights
			if !st.IsDir() {
				r &= fsFileRights
			}
			rules = append(rules, landlock.PathAccess(r, path))
		}
	}
	add(fsRead, p.Read)
	add(fsExec, p.Exec)
	add(fsWrite, p.Write)
	for _, port := range p.TCPPorts {
		rules = append(rules, landlock.ConnectTCP(port))
	}
	if err := cfg.BestEffort().Restrict(rules...); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	return nil
}

// LandlockABI is the kernel's Landlock ABI version (0: unsupported).
func LandlockABI() int {
	v, err := ll.LandlockGetABIVersion()
	if err != nil {
		return 0
	}
	return v
}
