package endpoint

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/wardenhq/warden/endpoint/ebpf"
	"github.com/wardenhq/warden/schema"
)

// plainPseudo keeps paths readable so the test can compare them.
type plainPseudo struct{}

func (plainPseudo) Path(s string, _ bool) string { return s }
func (plainPseudo) Value(s string) string        { return s }

// TestRelativeOpenResolvedFromEvents: openat(dirfd, relative) is resolved
// from the directory the same process opened as that fd (no /proc lookup:
// the pid here does not exist), fd changes the converter did not see
// opened (dup*, fcntl F_DUPFD* of an unknown fd) and exec forget the fd,
// copies of a known fd name the same directory, and a cwd-relative
// open is resolved against the process's cwd.
func TestRelativeOpenResolvedFromEvents(t *testing.T) {
	pid := uint32(4194000)
	if _, err := os.Stat("/proc/" + strconv.Itoa(int(pid))); err == nil {
		t.Skipf("pid %d exists on this machine; the test needs it absent", pid)
	}
	c := &converter{pseudo: plainPseudo{}, hashes: newHashCache(16, 1<<20)}
	cwdFD := int64(unix.AT_FDCWD)
	atCWD := uint64(cwdFD) // as the register holds it
	open := func(dirfd uint64, path string, ret int64) Event {
		t.Helper()
		evs := c.Convert(ebpf.Event{Type: ebpf.TypeSyscall, PID: pid, Nr: sysNr("openat"), Ret: ret,
			Args: [3]uint64{dirfd, 0, unix.O_RDONLY}, Path: path})
		if len(evs) == 0 || evs[0].Name != schema.EndpointEventFileAccess {
			t.Fatalf("openat(%d, %q): events %+v", int32(dirfd), path, evs)
		}
		return evs[0]
	}
	other := func(name string, ret int64, args ...uint64) {
		var a [3]uint64
		copy(a[:], args)
		if evs := c.Convert(ebpf.Event{Type: ebpf.TypeSyscall, PID: pid, Nr: sysNr(name), Ret: ret, Args: a}); len(evs) != 0 {
			t.Fatalf("%s: unexpected events %+v", name, evs)
		}
	}
	open(atCWD, "/srv/data", 7)
	if got := open(7, "a/b.txt", 8).PathPseudonym; got != "/srv/data/a/b.txt" {
		t.Errorf("openat(7, a/b.txt) = %q, want /srv/data/a/b.txt", got)
	}
	open(7, "sub", 9) // fd 9 is /srv/data/sub
	if got := open(9, "../x", 10).PathPseudonym; got != "/srv/data/x" {
		t.Errorf("openat(9, ../x) = %q, want /srv/data/x", got)
	}
	// A failed open names the path too and records nothing.
	if got := open(9, "nope", -int64(unix.ENOENT)).PathPseudonym; got != "/srv/data/sub/nope" {
		t.Errorf("failed openat(9, nope) = %q", got)
	}
	other("dup2", 7, 3, 7) // fd 7 now names whatever fd 3 was: unknown
	if got := open(7, "c", 11).PathPseudonym; got != "c" {
		t.Errorf("after dup2 onto 7: %q, want the unresolved c (no stale /srv/data/c)", got)
	}
	other("fcntl", 15, 9, unix.F_DUPFD_CLOEXEC) // fd 15 is a copy of 9 (what fts does)
	if got := open(15, "y", 16).PathPseudonym; got != "/srv/data/sub/y" {
		t.Errorf("openat(15, y) after F_DUPFD of 9: %q, want /srv/data/sub/y", got)
	}
	other("fcntl", 9, 3, unix.F_DUPFD_CLOEXEC)
	if got := open(9, "d", 12).PathPseudonym; got != "d" {
		t.Errorf("after F_DUPFD onto 9: %q, want d", got)
	}
	open(atCWD, "/srv/e", 13)
	c.Convert(ebpf.Event{Type: ebpf.TypeExec, PID: pid, Path: "/usr/bin/true"})
	if got := open(13, "f", 14).PathPseudonym; got != "f" {
		t.Errorf("after exec: %q, want f", got)
	}

	// cwd-relative: this process's own cwd, re-read after a chdir event.
	wd, _ := os.Getwd()
	self := uint32(os.Getpid())
	ev := c.Convert(ebpf.Event{Type: ebpf.TypeSyscall, PID: self, Nr: sysNr("openat"), Ret: -int64(unix.ENOENT),
		Args: [3]uint64{atCWD, 0, unix.O_RDONLY}, Path: "rel/file"})
	if got := ev[0].PathPseudonym; got != filepath.Join(wd, "rel/file") {
		t.Errorf("cwd-relative: %q, want %q", got, filepath.Join(wd, "rel/file"))
	}
	c.procs[self].cwd = "/stale"
	c.Convert(ebpf.Event{Type: ebpf.TypeSyscall, PID: self, Nr: sysNr("chdir"), Ret: 0})
	ev = c.Convert(ebpf.Event{Type: ebpf.TypeSyscall, PID: self, Nr: sysNr("openat"), Ret: -int64(unix.ENOENT),
		Args: [3]uint64{atCWD, 0, unix.O_RDONLY}, Path: "rel/file"})
	if got := ev[0].PathPseudonym; got != filepath.Join(wd, "rel/file") {
		t.Errorf("after chdir: %q, want the re-read cwd %q", got, filepath.Join(wd, "rel/file"))
	}
}
