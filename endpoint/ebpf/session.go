package ebpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Event types (struct event.type in warden.c).
const (
	TypeSyscall = 1
	TypeExec    = 2
	TypeNet     = 3
)

// Net hooks (Event.Nr of TypeNet events).
const (
	HookConnect4 = 4
	HookConnect6 = 6
	HookSendmsg4 = 14
	HookSendmsg6 = 16
)

// Watch flags (map watch, indexed by syscall number).
const (
	WatchAlways = 1 // report every exit (opens)
	WatchFail   = 2 // report failures
	WatchPath0  = 4 // args[0] is a path
	WatchPath1  = 8 // args[1] is a path
	// WatchOK reports successes (no path): the fd and cwd changes that
	// keep the converter's directory tables right (dup*, fcntl F_DUPFD*,
	// chdir, fchdir).
	WatchOK = 16
)

// Allow is one allowlist entry: Port 0 means any port, Proto 0 any protocol.
type Allow struct {
	Addr  netip.Addr
	Port  uint16
	Proto uint8 // unix.IPPROTO_TCP, unix.IPPROTO_UDP or 0
}

// Event is one decoded ring-buffer record.
type Event struct {
	Time  time.Time
	Type  uint32
	PID   uint32
	TID   uint32
	Nr    uint32 // syscall number, or the net hook
	Ret   int64  // syscall result; net: 1 allowed, 0 refused
	Args  [3]uint64
	Addr  netip.Addr // net: destination (IPv4 unmapped)
	Port  uint16
	Proto uint8
	Comm  string
	Path  string
	// Family is the address family of a connect(2) destination.
	Family uint8
}

// Session is the loaded eBPF collection of one `warden run` session.
type Session struct {
	objs   wardenObjects
	links  []link.Link
	reader *ringbuf.Reader
	boot   time.Time // wall time of boot, to convert ktime_get_boot_ns
}

// Open loads the programs for the cgroup at cgroupPath (cgroup v2), fills
// the allowlist and the syscall watch list, and attaches everything. The
// cgroup programs refuse every destination not in allow. With an empty
// watch list the tracepoint programs are not attached (enforcement only).
func Open(cgroupPath string, allow []Allow, watch map[uint32]uint32) (*Session, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("ebpf: memlock: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(cgroupPath, &st); err != nil {
		return nil, fmt.Errorf("ebpf: cgroup %s: %w", cgroupPath, err)
	}
	spec, err := loadWarden()
	if err != nil {
		return nil, fmt.Errorf("ebpf: spec: %w", err)
	}
	if err := spec.Variables["target_cgid"].Set(st.Ino); err != nil {
		return nil, fmt.Errorf("ebpf: target_cgid: %w", err)
	}
	var bprmOff uint32
	if len(watch) > 0 {
		bprmOff = bprmFilenameOffset()
		if err := spec.Variables["bprm_filename_off"].Set(bprmOff); err != nil {
			return nil, fmt.Errorf("ebpf: bprm_filename_off: %w", err)
		}
	}
	if len(watch) == 0 {
		// Enforcement only: egress verdicts alone, so a 1 MiB ring is
		// plenty and start-up skips allocating and mapping 64 MiB.
		spec.Maps["events"].MaxEntries = 1 << 20
	}
	s := &Session{boot: bootTime()}
	if err := spec.LoadAndAssign(&s.objs, nil); err != nil {
		return nil, fmt.Errorf("ebpf: load: %w", err)
	}
	fail := func(err error) (*Session, error) { s.Close(); return nil, err }
	for _, a := range allow {
		k := wardenDestKey{Port: a.Port, Proto: a.Proto}
		b := a.Addr.Unmap().As16() // IPv4 as ::ffff:a.b.c.d, as the programs see it
		for i := range 4 {
			k.Addr[i] = binary.NativeEndian.Uint32(b[i*4:])
		}
		if err := s.objs.Allow.Put(&k, uint8(1)); err != nil {
			return fail(fmt.Errorf("ebpf: allow %v: %w", a, err))
		}
	}
	for nr, f := range watch {
		if err := s.objs.Watch.Put(nr, f); err != nil {
			return fail(fmt.Errorf("ebpf: watch %d: %w", nr, err))
		}
	}
	for _, c := range []struct {
		t ebpf.AttachType
		p *ebpf.Program
	}{
		{ebpf.AttachCGroupInet4Connect, s.objs.Connect4},
		{ebpf.AttachCGroupInet6Connect, s.objs.Connect6},
		{ebpf.AttachCGroupUDP4Sendmsg, s.objs.Sendmsg4},
		{ebpf.AttachCGroupUDP6Sendmsg, s.objs.Sendmsg6},
	} {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cgroupPath, Attach: c.t, Program: c.p})
		if err != nil {
			return fail(fmt.Errorf("ebpf: attach %v: %w", c.t, err))
		}
		s.links = append(s.links, l)
	}
	// An empty watch list is enforcement only: no telemetry programs at
	// all (a raw sys_exit program costs every syscall on the machine).
	if len(watch) > 0 {
		if bprmOff != 0 {
			l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exec", Program: s.objs.SchedExecRaw})
			if err != nil {
				return fail(fmt.Errorf("ebpf: raw tracepoint sched_process_exec: %w", err))
			}
			s.links = append(s.links, l)
		} else {
			l, err := link.Tracepoint("sched", "sched_process_exec", s.objs.SchedExec, nil)
			if err != nil {
				return fail(fmt.Errorf("ebpf: tracepoint sched/sched_process_exec: %w (is tracefs mounted?)", err))
			}
			s.links = append(s.links, l)
		}
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sys_exit", Program: s.objs.SysExit})
		if err != nil {
			return fail(fmt.Errorf("ebpf: raw tracepoint sys_exit: %w", err))
		}
		s.links = append(s.links, l)
	}
	r, err := ringbuf.NewReader(s.objs.Events)
	if err != nil {
		return fail(fmt.Errorf("ebpf: ring buffer: %w", err))
	}
	s.reader = r
	return s, nil
}

// EnsureTracefs mounts tracefs at /sys/kernel/tracing when it is missing
// (tracepoint attachment looks event ids up there).
func EnsureTracefs() error {
	if _, err := os.Stat("/sys/kernel/tracing/events"); err == nil {
		return nil
	}
	if _, err := os.Stat("/sys/kernel/debug/tracing/events"); err == nil {
		return nil
	}
	if err := unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
		return fmt.Errorf("ebpf: mount tracefs: %w", err)
	}
	return nil
}

// ErrClosed is returned by Read after Close.
var ErrClosed = ringbuf.ErrClosed

// ErrFlushed is returned by Read once the samples pending at Flush were read.
var ErrFlushed = ringbuf.ErrFlushed

// Flush makes a blocked Read return: pending samples first, then ErrFlushed.
func (s *Session) Flush() error { return s.reader.Flush() }

// SetDeadline makes a blocked Read return os.ErrDeadlineExceeded at t.
func (s *Session) SetDeadline(t time.Time) { s.reader.SetDeadline(t) }

// Read blocks for the next event.
func (s *Session) Read() (Event, error) {
	rec, err := s.reader.Read()
	if err != nil {
		return Event{}, err
	}
	raw, err := decode(rec.RawSample)
	if err != nil {
		return Event{}, err
	}
	e := Event{
		Time: s.boot.Add(time.Duration(raw.Ts)),
		Type: raw.Type, PID: raw.Pid, TID: raw.Tid, Nr: raw.Nr, Ret: raw.Ret, Args: raw.Args,
		Port: raw.Port, Proto: raw.Proto,
		Comm: cstr(raw.Comm[:]), Path: cstr(raw.Path[:]),
	}
	if raw.Type == TypeNet || raw.Pad != 0 {
		e.Family = raw.Pad
		var b [16]byte
		for i := range 4 {
			binary.NativeEndian.PutUint32(b[i*4:], raw.Addr[i])
		}
		e.Addr = netip.AddrFrom16(b).Unmap()
	}
	return e, nil
}

// Counters returns events emitted and events lost (ring buffer full),
// summed over CPUs.
func (s *Session) Counters() (emitted, lost uint64, err error) {
	var vals []uint64
	if err = s.objs.Counters.Lookup(uint32(0), &vals); err != nil {
		return
	}
	for _, v := range vals {
		lost += v
	}
	if err = s.objs.Counters.Lookup(uint32(1), &vals); err != nil {
		return
	}
	for _, v := range vals {
		emitted += v
	}
	return
}

// Close detaches and unloads everything.
func (s *Session) Close() error {
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	// Each detach may wait for an RCU grace period (tens of ms for the
	// sys_exit tracepoint); closed together, the waits overlap.
	lerrs := make([]error, len(s.links))
	var wg sync.WaitGroup
	for i, l := range s.links {
		wg.Go(func() { lerrs[i] = l.Close() })
	}
	wg.Wait()
	errs = append(errs, lerrs...)
	errs = append(errs, s.objs.Close())
	return errors.Join(errs...)
}

// decode reads struct event by offset: binary.Read's reflection was a
// tenth of the sensor's CPU on file-heavy workloads.
func decode(b []byte) (*wardenEvent, error) {
	const size = int(unsafe.Sizeof(wardenEvent{}))
	if len(b) < size {
		return nil, fmt.Errorf("ebpf: short event (%d < %d bytes)", len(b), size)
	}
	ne := binary.NativeEndian
	r := &wardenEvent{
		Ts: ne.Uint64(b[0:]), Type: ne.Uint32(b[8:]), Pid: ne.Uint32(b[12:]), Tid: ne.Uint32(b[16:]),
		Nr: ne.Uint32(b[20:]), Ret: int64(ne.Uint64(b[24:])),
		Port: ne.Uint16(b[72:]), Proto: b[74], Pad: b[75], Ppid: ne.Uint32(b[76:]),
	}
	for i := range 3 {
		r.Args[i] = ne.Uint64(b[32+8*i:])
	}
	for i := range 4 {
		r.Addr[i] = ne.Uint32(b[56+4*i:])
	}
	for i := range r.Comm {
		r.Comm[i] = int8(b[80+i])
	}
	for i := range r.Path {
		if b[96+i] == 0 {
			break
		}
		r.Path[i] = int8(b[96+i])
	}
	return r, nil
}

func cstr(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

// bootTime is the wall-clock time of boot as CLOCK_BOOTTIME sees it.
func bootTime() time.Time {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return time.Now().Add(-time.Duration(ts.Nano()))
}

// The offsets in decode follow struct event in warden.c; a layout change
// there must fail the build here.
var _ = [1]struct{}{}[unsafe.Offsetof(wardenEvent{}.Path)-96]
var _ = [1]struct{}{}[unsafe.Offsetof(wardenEvent{}.Ppid)-76]
var _ = [1]struct{}{}[unsafe.Sizeof(wardenEvent{})-352]

// bprmOffsetCache keeps linux_binprm.filename's offset per kernel build:
// parsing the kernel's BTF for it takes ~50 ms, once per boot is enough.
const bprmOffsetCache = "/run/warden/bprm-filename-offset"

// bprmFilenameOffset is the offset of linux_binprm.filename in this
// kernel, from its BTF (cached per kernel build in /run), or 0 when
// unknown (then the perf tracepoint reports execs).
func bprmFilenameOffset() uint32 {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	build := unix.ByteSliceToString(uts.Release[:]) + " " + unix.ByteSliceToString(uts.Version[:])
	if b, err := os.ReadFile(bprmOffsetCache); err == nil {
		if k, v, ok := strings.Cut(strings.TrimSpace(string(b)), "\n"); ok && k == build {
			if n, err := strconv.ParseUint(v, 10, 32); err == nil && n > 0 && n < 4096 {
				return uint32(n)
			}
		}
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return 0
	}
	var bp *btf.Struct
	if err := spec.TypeByName("linux_binprm", &bp); err != nil {
		return 0
	}
	for _, m := range bp.Members {
		if m.Name != "filename" {
			continue
		}
		if p, ok := btf.UnderlyingType(m.Type).(*btf.Pointer); !ok || m.BitfieldSize != 0 || p == nil {
			return 0
		}
		off := uint32(m.Offset.Bytes())
		if os.MkdirAll(filepath.Dir(bprmOffsetCache), 0o700) == nil {
			tmp := bprmOffsetCache + ".tmp"
			if os.WriteFile(tmp, []byte(build+"\n"+strconv.FormatUint(uint64(off), 10)+"\n"), 0o600) == nil {
				_ = os.Rename(tmp, bprmOffsetCache)
			}
		}
		return off
	}
	return 0
}

// SysExitStats is the run count and total run time of the sys_exit
// program (both zero unless kernel.bpf_stats_enabled=1): the per-syscall
// cost the telemetry adds in the callers' context.
func (s *Session) SysExitStats() (runs uint64, total time.Duration) {
	st, err := s.objs.SysExit.Stats()
	if err != nil {
		return 0, 0
	}
	return st.RunCount, st.Runtime
}
