package endpoint

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/sys/unix"

	"github.com/wardenhq/warden/endpoint/ebpf"
	"github.com/wardenhq/warden/endpoint/sandbox"
	"github.com/wardenhq/warden/schema"
)

// Pseudonymizer is the narrow part of vault.Pseudonymizer the endpoint
// needs: keyed, versioned pseudonyms of paths and identifiers. Path with
// keepStructure works segment by segment behind a fixed prefix (Path("")),
// so Path(dir+"/"+base) == Path(dir+"/") + Path(base)[len(Path("")):]; the
// converter composes cached directory pseudonyms on that (tested against
// vault.Pseudonymizer).
type Pseudonymizer interface {
	Path(s string, keepStructure bool) string
	Value(s string) string
}

var sysNames = func() map[uint32]string {
	m := map[uint32]string{}
	for name, nr := range arch.X86_64.SyscallNames {
		m[uint32(nr)] = name
	}
	return m
}()

func sysNr(name string) uint32 { return uint32(arch.X86_64.SyscallNames[name]) }

// pathArgs are the syscalls whose path argument identifies a file to
// report, with the index of that argument.
var pathArgs = map[string]int{
	"open": 0, "openat": 1, "openat2": 1, "creat": 0,
	"execve": 0, "execveat": 1,
	"mkdir": 0, "mkdirat": 1, "unlink": 0, "unlinkat": 1, "rmdir": 0,
	"rename": 0, "renameat": 1, "renameat2": 1, "link": 0, "linkat": 1,
	"symlink": 1, "truncate": 0, "chmod": 0, "fchmodat": 1, "chown": 0, "fchownat": 1,
	"mknod": 0, "mknodat": 1,
}

// fdChanges are the calls whose success makes an fd number name something
// the converter did not see opened (dup*, fcntl F_DUPFD*; the eBPF program
// reports only those fcntl commands) or changes the cwd.
var fdChanges = []string{"dup", "dup2", "dup3", "fcntl", "chdir", "fchdir"}

var openCalls = map[string]bool{"open": true, "openat": true, "openat2": true, "creat": true}

// WatchList is the syscall watch map loaded into the eBPF programs: opens
// always, the seccomp-denied calls and the other escape-relevant calls when
// they fail.
func WatchList() map[uint32]uint32 {
	w := map[uint32]uint32{}
	for name, idx := range pathArgs {
		f := uint32(ebpf.WatchFail)
		if openCalls[name] {
			f = ebpf.WatchAlways
		}
		if idx == 0 {
			f |= ebpf.WatchPath0
		} else {
			f |= ebpf.WatchPath1
		}
		w[sysNr(name)] = f
	}
	for _, name := range sandbox.DeniedSyscalls {
		w[sysNr(name)] = ebpf.WatchFail
	}
	// Successes that change what an fd or the cwd names, so the
	// converter's tables stay right (see converter.absPath).
	for _, name := range fdChanges {
		w[sysNr(name)] = ebpf.WatchOK
	}
	for _, name := range []string{"socket", "clone", "kill", "tkill", "tgkill", "pidfd_send_signal",
		"connect", "setuid", "setgid", "setresuid", "setresgid", "setreuid", "setregid", "setgroups", "ioctl", "capset"} {
		w[sysNr(name)] = ebpf.WatchFail
	}
	return w
}

// converter turns kernel events into endpoint events. It is used from one
// goroutine.
type converter struct {
	base   Event // identity fields copied into every event
	pseudo Pseudonymizer
	hashes *hashCache
	cgid   uint64
	paths  map[string]string // path -> pseudonym (bounded, reset when full)
	// dirs: directory (with its trailing slash) -> pseudonym; prefixLen is
	// the length of the pseudonymizer's prefix (Path("")).
	dirs      map[string]string
	prefixLen int
	// procs: per process (tgid), what its fds and cwd name, learnt from
	// its own open events (bounded, reset when full).
	procs map[uint32]*procFiles
}

// procFiles is what the converter knows of one process's fd table and
// cwd. An fd is recorded when an open returns it, copied when dup* or
// fcntl(F_DUPFD*) return it (forgotten when the source is unknown) and
// forgotten when the process execs; a close is not seen, but
// a closed number is only reused by another open (recorded again) or by
// an fd that cannot be a directory (socket, pipe, ...), so a successful
// openat relative to it still names the recorded directory. Fds received
// over SCM_RIGHTS are not seen: a number reused that way keeps its old
// name (known limitation; the kernel has no d_path for tracepoints).
type procFiles struct {
	fds map[int32]string
	cwd string
}

func (c *converter) proc(pid uint32) *procFiles {
	p := c.procs[pid]
	if p == nil {
		if c.procs == nil || len(c.procs) >= 4096 {
			c.procs = make(map[uint32]*procFiles, 64)
		}
		p = &procFiles{fds: make(map[int32]string, 16)}
		c.procs[pid] = p
	}
	return p
}

// pathPseudonym caches pseudonyms: agents open the same files over and
// over, and each costs one HMAC per path segment. A path not seen yet is
// composed from its directory's cached pseudonym and one HMAC of its last
// segment (Pseudonymizer.Path is segment by segment), so a walk costs one
// HMAC per file, not one per segment.
func (c *converter) pathPseudonym(p string) string {
	if ps, ok := c.paths[p]; ok {
		return ps
	}
	if c.paths == nil || len(c.paths) >= 1<<16 {
		c.paths = make(map[string]string, 1024)
	}
	var ps string
	if i := strings.LastIndexByte(p, '/'); i > 0 && i < len(p)-1 {
		dir, base := p[:i+1], p[i+1:] // dir keeps its slash: its last segment is not the file's
		dps, ok := c.dirs[dir]
		if !ok {
			if c.dirs == nil || len(c.dirs) >= 1<<14 {
				c.dirs = make(map[string]string, 256)
				c.prefixLen = len(c.pseudo.Path("", true))
			}
			dps = c.pseudo.Path(dir, true)
			c.dirs[dir] = dps
		}
		ps = dps + c.pseudo.Path(base, true)[c.prefixLen:]
	} else {
		ps = c.pseudo.Path(p, true)
	}
	c.paths[p] = ps
	return ps
}

func (c *converter) event(name string, k ebpf.Event) Event {
	ev := newEvent(name, k.Time)
	ev.Agent, ev.AgentVersion, ev.SessionID = c.base.Agent, c.base.AgentVersion, c.base.SessionID
	ev.UserPseudonym, ev.DevicePseudonym = c.base.UserPseudonym, c.base.DevicePseudonym
	ev.Attrs[schema.EndpointAttrPID] = int64(k.PID)
	ev.Attrs[schema.EndpointAttrComm] = k.Comm
	ev.Attrs[schema.EndpointAttrCgroupID] = int64(c.cgid)
	return ev
}

// violation derives the policy_violation event that accompanies a denial.
func violation(ev Event, rule, detail string) Event {
	v := ev
	v.Name, v.Kind = schema.EndpointEventPolicyViolation, schema.KindPolicyViolation
	v.Denied = true
	v.RuleIDs = []string{rule}
	v.Attrs = make(map[string]any, len(ev.Attrs)+1)
	for k, x := range ev.Attrs {
		v.Attrs[k] = x
	}
	v.Attrs[schema.EndpointAttrDetail] = detail
	return v
}

// Convert returns the endpoint events for one kernel event (zero, one, or
// an event plus its policy_violation).
func (c *converter) Convert(k ebpf.Event) []Event {
	switch k.Type {
	case ebpf.TypeExec:
		delete(c.procs, k.PID) // close-on-exec fds are gone; the rest is re-learnt
		ev := c.event(schema.EndpointEventExec, k)
		ev.AccessMode = schema.AccessExec
		ev.PathPseudonym = c.pathPseudonym(k.Path)
		if st, err := os.Stat(k.Path); err == nil && st.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
			// no_new_privs already stripped the privilege; the attempt
			// still counts.
			return []Event{ev, violation(ev, schema.EndpointRuleFSExec, "set-id binary executed without privilege (no_new_privs)")}
		}
		return []Event{ev}
	case ebpf.TypeNet:
		ev := c.event(schema.EndpointEventNetConnect, k)
		ev.DestHost = k.Addr.String()
		ev.DestPort = k.Port
		ev.Denied = k.Ret == 0
		fam := "ipv4"
		if k.Nr == ebpf.HookConnect6 || k.Nr == ebpf.HookSendmsg6 {
			fam = "ipv6"
		}
		ev.Attrs[schema.EndpointAttrFamily] = fam
		ev.Attrs[schema.EndpointAttrProtocol] = protoName(k.Proto)
		if !ev.Denied {
			return []Event{ev}
		}
		rule := schema.EndpointRuleNetEgress
		if k.Port == 53 {
			rule = schema.EndpointRuleNetDNS
		}
		return []Event{ev, violation(ev, rule, "destination not on the allowlist")}
	case ebpf.TypeSyscall:
		return c.syscall(k)
	}
	return nil
}

func protoName(p uint8) string {
	switch p {
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	}
	return "other"
}

func (c *converter) syscall(k ebpf.Event) []Event {
	name := sysNames[k.Nr]
	errno := syscall.Errno(0)
	if k.Ret < 0 {
		errno = syscall.Errno(-k.Ret)
	}
	refused := errno == syscall.EACCES || errno == syscall.EPERM
	if errno == syscall.EXDEV && (name == "link" || name == "linkat" || strings.HasPrefix(name, "rename")) {
		refused = true // Landlock refuses cross-hierarchy links/renames with EXDEV
	}
	switch name {
	case "dup", "dup2", "dup3", "fcntl":
		// The new fd names what the old one (args[0]) names.
		if k.Ret >= 0 {
			if p := c.procs[k.PID]; p != nil {
				if dir, ok := p.fds[int32(k.Args[0])]; ok {
					p.fds[int32(k.Ret)] = dir
				} else {
					delete(p.fds, int32(k.Ret))
				}
			}
		}
		return nil
	case "chdir", "fchdir":
		if k.Ret >= 0 {
			if p := c.procs[k.PID]; p != nil {
				p.cwd = ""
			}
		}
		return nil
	}
	if _, ok := pathArgs[name]; ok {
		path := c.absPath(k, name)
		ev := c.event(schema.EndpointEventFileAccess, k)
		ev.Attrs[schema.EndpointAttrSyscall] = name
		ev.PathPseudonym = c.pathPseudonym(path)
		if errno != 0 {
			ev.Attrs[schema.EndpointAttrErrno] = int64(errno)
		}
		var rule string
		switch {
		case openCalls[name]:
			flags := openFlags(name, k)
			if k.Ret >= 0 {
				p := c.proc(k.PID)
				if len(p.fds) >= 1<<16 {
					clear(p.fds)
				}
				if filepath.IsAbs(path) {
					p.fds[int32(k.Ret)] = path
				} else {
					delete(p.fds, int32(k.Ret))
				}
			}
			ev.Attrs[schema.EndpointAttrOpenFlags] = int64(flags)
			ev.AccessMode = accessMode(flags)
			rule = schema.EndpointRuleFSRead
			if ev.AccessMode != schema.AccessRead {
				rule = schema.EndpointRuleFSWrite
			}
			if errno == 0 && ev.AccessMode == schema.AccessRead && flags&unix.O_DIRECTORY == 0 {
				ev.ContentSHA256 = c.hashes.Sum(path)
			}
		case name == "execve" || name == "execveat":
			ev.Name, ev.Kind = schema.EndpointEventExec, schema.KindExec
			ev.AccessMode = schema.AccessExec
			rule = schema.EndpointRuleFSExec
		default:
			ev.AccessMode = schema.AccessWrite
			rule = schema.EndpointRuleFSWrite
		}
		if !refused {
			if errno != 0 && !openCalls[name] {
				return nil // ordinary failures of non-open calls are noise
			}
			return []Event{ev}
		}
		ev.Denied = true
		return []Event{ev, violation(ev, rule, name+" refused: "+errno.Error())}
	}
	if !refused {
		return nil
	}
	ev := c.event(schema.EndpointEventPolicyViolation, k)
	ev.Denied = true
	ev.Attrs[schema.EndpointAttrSyscall] = name
	ev.Attrs[schema.EndpointAttrErrno] = int64(errno)
	rule, detail := schema.EndpointRuleSyscall, name+" refused"
	switch name {
	case "socket":
		detail = fmt.Sprintf("socket(family=%d, type=%d, protocol=%d) refused", k.Args[0], k.Args[1]&0xf, k.Args[2])
	case "kill", "tkill", "tgkill", "pidfd_send_signal":
		detail = fmt.Sprintf("%s(pid=%d) refused: signal outside the sandbox", name, int32(k.Args[0]))
	case "connect":
		switch k.Family {
		case unix.AF_INET, unix.AF_INET6:
			if errno != syscall.EACCES {
				return nil // EPERM: the cgroup program refused and reported it
			}
			// Landlock refused the TCP port before the cgroup hook ran.
			n := c.event(schema.EndpointEventNetConnect, k)
			n.DestHost, n.DestPort, n.Denied = k.Addr.String(), k.Port, true
			n.Attrs[schema.EndpointAttrProtocol] = "tcp"
			return []Event{n, violation(n, schema.EndpointRuleNetEgress, "TCP port not allowed (Landlock)")}
		case unix.AF_UNIX:
			detail = "connect to a UNIX socket outside the sandbox refused"
		default:
			return nil
		}
	case "ioctl":
		if k.Args[1] != unix.TIOCSTI {
			return nil // EPERM from a device ioctl: not an escape attempt
		}
		detail = "ioctl(TIOCSTI) refused: terminal input injection"
	case "clone":
		detail = fmt.Sprintf("clone(flags=%#x) refused: namespaces", k.Args[0])
	}
	ev.RuleIDs = []string{rule}
	ev.Attrs[schema.EndpointAttrDetail] = detail
	return []Event{ev}
}

func openFlags(name string, k ebpf.Event) int {
	switch name {
	case "open":
		return int(k.Args[1])
	case "openat":
		return int(k.Args[2])
	case "creat":
		return unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC
	}
	// openat2: the eBPF program read open_how.flags into args[2].
	return int(k.Args[2])
}

func accessMode(flags int) string {
	switch {
	case flags&unix.O_ACCMODE == unix.O_RDWR:
		return schema.AccessReadWrite
	case flags&unix.O_ACCMODE == unix.O_WRONLY, flags&(unix.O_CREAT|unix.O_TRUNC) != 0:
		return schema.AccessWrite
	}
	return schema.AccessRead
}

// absPath makes the reported path absolute: relative paths are resolved
// against the caller's directory fd or cwd, as learnt from the caller's
// own earlier events (procFiles), else read from /proc while the process
// still exists (a readlink per open was a fifth of the sensor's CPU on a
// file walk, and by then the fd may already be closed or reused).
func (c *converter) absPath(k ebpf.Event, name string) string {
	p := k.Path
	if filepath.IsAbs(p) || p == "" {
		return filepath.Clean(p)
	}
	pf := c.proc(k.PID)
	if idx := pathArgs[name]; idx == 1 && int32(k.Args[0]) != unix.AT_FDCWD {
		fd := int32(k.Args[0])
		dir, ok := pf.fds[fd]
		if !ok {
			var err error
			dir, err = os.Readlink("/proc/" + strconv.Itoa(int(k.PID)) + "/fd/" + strconv.Itoa(int(fd)))
			if err != nil || !filepath.IsAbs(dir) {
				return p
			}
			pf.fds[fd] = dir
		}
		return filepath.Join(dir, p)
	}
	if pf.cwd == "" {
		dir, err := os.Readlink("/proc/" + strconv.Itoa(int(k.PID)) + "/cwd")
		if err != nil || !filepath.IsAbs(dir) {
			return p
		}
		pf.cwd = dir
	}
	return filepath.Join(pf.cwd, p)
}

// hashCache hashes files that were read, keyed by device, inode, size and
// mtime, so a file read a thousand times is hashed once; bounded in
// entries and in the size of file it will hash.
type hashCache struct {
	mu      sync.Mutex
	max     int
	maxSize int64
	ll      *list.List
	m       map[hashKey]*list.Element
}

type hashKey struct {
	dev, ino   uint64
	size, mtim int64
}

type hashEntry struct {
	k   hashKey
	sum string
}

func newHashCache(entries int, maxSize int64) *hashCache {
	return &hashCache{max: entries, maxSize: maxSize, ll: list.New(), m: map[hashKey]*list.Element{}}
}

var hashBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Sum returns the hex sha256 of the regular file at path, or "" when it is
// not a regular file, too large or gone.
func (h *hashCache) Sum(path string) string {
	// One stat decides a cache hit; the file is only opened on a miss.
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size > h.maxSize {
		return ""
	}
	k := hashKey{dev: st.Dev, ino: st.Ino, size: st.Size, mtim: st.Mtim.Nano()}
	h.mu.Lock()
	if e, ok := h.m[k]; ok {
		h.ll.MoveToFront(e)
		s := e.Value.(*hashEntry).sum
		h.mu.Unlock()
		return s
	}
	h.mu.Unlock()
	// Raw open/read/close into a reused buffer: os.Open adds an fstat and
	// a cleanup, io.Copy a 32 KiB allocation, and the read to EOF one more
	// syscall — per opened file, which is what a file walk is made of. The
	// stat'd size is hashed (it is part of the cache key).
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	bp := hashBufs.Get().(*[]byte)
	defer hashBufs.Put(bp)
	buf := *bp
	d := sha256.New()
	for left := st.Size; left > 0; {
		n, err := unix.Read(fd, buf[:min(int64(len(buf)), left)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return ""
		}
		if n == 0 {
			break // shrank since the stat
		}
		d.Write(buf[:n])
		left -= int64(n)
	}
	sum := hex.EncodeToString(d.Sum(nil))
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.m[k]; !ok {
		h.m[k] = h.ll.PushFront(&hashEntry{k: k, sum: sum})
		for h.ll.Len() > h.max {
			old := h.ll.Back()
			h.ll.Remove(old)
			delete(h.m, old.Value.(*hashEntry).k)
		}
	}
	return sum
}
