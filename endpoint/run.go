package endpoint

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wardenhq/warden/endpoint/ebpf"
	"github.com/wardenhq/warden/endpoint/profile"
	"github.com/wardenhq/warden/endpoint/sandbox"
	"github.com/wardenhq/warden/schema"
)

// Options configure one `warden run` session.
type Options struct {
	Profile *profile.Profile
	Argv    []string // agent command; Argv[0] is looked up in PATH
	User    string   // agent user (name or uid); required, never root
	// Home overrides the agent user's home directory (service accounts
	// without one, tests); ~ in the profile expands to it.
	Home    string
	Project string // project directory (default: current directory)
	// Env is added to the agent's environment after Warden's own wiring
	// (KEY=VALUE).
	Env          []string
	AgentVersion string
	SessionID    string // default: a new random id
	DeviceID     string // raw device id (default /etc/machine-id); pseudonymized
	Pseudonyms   Pseudonymizer
	Sink         Sink
	// OTLPEndpoint is the local OTLP/HTTP endpoint the agent's own telemetry
	// is pointed at (base URL), empty to leave the agent's OTLP settings
	// alone.
	OTLPEndpoint string
	// Stage2 overrides the stage 2 command (tests).
	Stage2 []string
	Stdin  *os.File
	Stdout *os.File
	Stderr *os.File
	// Interactive: this process owns the terminal (the CLI): ^C/^\ go to the
	// agent, and SIGTERM/SIGHUP sent to Warden are forwarded to it. Off in
	// endpointd, which serves many sessions.
	Interactive bool
	// Telemetry turns the tracepoint programs' events into endpoint events
	// (the egress allowlist is enforced regardless).
	Telemetry bool
	// SensorNice, when > 0, lowers the CPU priority of every thread of
	// this process to that nice value once the agent has started (the
	// agent keeps its own): under CPU contention the agent runs first and
	// the sensor catches up from the ring buffer (64 MiB, plus a 64 k-event
	// queue; losses are counted and reported). Only for a process that
	// serves one session (the CLI): threads created later inherit it, and
	// an agent launched afterwards would too.
	SensorNice int
}

// Result is how a session ended.
type Result struct {
	SessionID string
	ExitCode  int
	Signal    syscall.Signal // non-zero when the agent was killed by a signal
	Emitted   uint64         // kernel events emitted
	Lost      uint64         // kernel events lost (ring buffer full)
	Events    uint64         // endpoint events handed to the sink
	StartupMS float64        // from Run to the agent's execve
}

// ErrNotApproved is returned when the agent binary is not on the profile's
// approved list.
var ErrNotApproved = errors.New("agent binary not approved")

// Run runs one sandboxed agent session to completion. It needs root (or
// the privileged set-up done by endpointd).
func Run(ctx context.Context, o Options) (Result, error) {
	t0 := time.Now()
	// WARDEN_RUN_TIMING=1 prints how long each set-up phase took.
	timing := os.Getenv("WARDEN_RUN_TIMING") == "1"
	last := t0
	mark := func(phase string) {
		if timing {
			fmt.Fprintf(os.Stderr, "warden run: %-8s %6.1f ms\n", phase, float64(time.Since(last).Microseconds())/1000)
			last = time.Now()
		}
	}
	res := Result{SessionID: o.SessionID}
	if res.SessionID == "" {
		res.SessionID = NewSessionID()
	}
	if o.Profile == nil || len(o.Argv) == 0 || o.Sink == nil || o.Pseudonyms == nil {
		return res, errors.New("endpoint: profile, command, sink and pseudonymizer are required")
	}
	u, err := LookupUser(o.User)
	if err != nil {
		return res, err
	}
	if o.Home != "" {
		u.HomeDir = o.Home
	}
	project := o.Project
	if project == "" {
		project, _ = os.Getwd()
	}
	project, _ = filepath.Abs(project)
	base := Event{
		Agent: o.Profile.Agent, AgentVersion: o.AgentVersion, SessionID: res.SessionID,
		UserPseudonym:   o.Pseudonyms.Value(u.Username),
		DevicePseudonym: o.Pseudonyms.Value(deviceID(o.DeviceID)),
	}
	var events atomic.Uint64
	emit := func(ev Event) { // called from the event pump and from here
		events.Add(1)
		o.Sink.Emit(ev)
	}
	lifecycle := func(phase string) Event {
		ev := newEvent(schema.EndpointEventAgentLifecycle, time.Now())
		ev.Agent, ev.AgentVersion, ev.SessionID = base.Agent, base.AgentVersion, base.SessionID
		ev.UserPseudonym, ev.DevicePseudonym = base.UserPseudonym, base.DevicePseudonym
		ev.Attrs[schema.EndpointAttrPhase] = phase
		return ev
	}

	// 1. The agent binary: resolved, hashed, approved.
	bin, err := exec.LookPath(o.Argv[0])
	if err != nil {
		return res, fmt.Errorf("endpoint: agent %q: %w", o.Argv[0], err)
	}
	if bin, err = filepath.Abs(bin); err == nil {
		bin, err = filepath.EvalSymlinks(bin)
	}
	if err != nil {
		return res, fmt.Errorf("endpoint: agent %q: %w", o.Argv[0], err)
	}
	sum, err := fileSHA256(bin)
	if err != nil {
		return res, fmt.Errorf("endpoint: agent %s: %w", bin, err)
	}
	if base.AgentVersion == "" {
		base.AgentVersion = packageVersion(bin)
	}
	mark("binary")
	binPseudo := o.Pseudonyms.Path(bin, true)
	if !o.Profile.Approved(sum) {
		ev := lifecycle(schema.PhaseRefused)
		ev.PathPseudonym, ev.ContentSHA256, ev.Denied = binPseudo, sum, true
		ev.Attrs[schema.EndpointAttrBinarySHA] = sum
		emit(ev)
		emit(violation(ev, schema.EndpointRuleBinary, "agent binary not on the approved list"))
		res.Events = events.Load()
		return res, fmt.Errorf("%w: %s (sha256 %s) is not on the approved_binaries list of profile %q; "+
			"if this build is trusted, add it:\napproved_binaries:\n  - name: %s\n    sha256: %s",
			ErrNotApproved, bin, sum, o.Profile.Name, filepath.Base(bin), sum)
	}

	// 2. The plan: paths split around the denied ones.
	vars := profile.Vars{Home: u.HomeDir, Project: project, TmpDir: "/tmp"}
	deny := vars.ExpandAll(o.Profile.FS.Deny)
	if err := sandbox.Conflicts("project", []string{project}, deny); err != nil {
		return res, fmt.Errorf("endpoint: %w", err)
	}
	plan := &sandbox.Plan{
		Argv:  append([]string{bin}, o.Argv[1:]...),
		Dir:   project,
		UID:   u.UID,
		GID:   u.GID,
		Read:  sandbox.Carve(vars.ExpandAll(o.Profile.FS.Read), deny),
		Write: sandbox.Carve(vars.ExpandAll(o.Profile.FS.Write), deny),
		Exec:  sandbox.Carve(append(vars.ExpandAll(o.Profile.FS.Exec), bin), deny),
	}
	plan.Groups = u.Groups
	allow, ports, err := Destinations(o.Profile)
	if err != nil {
		return res, err
	}
	plan.TCPPorts = ports
	plan.Env = agentEnv(u, project, base, o)
	mark("plan")

	// 3. Cgroup and eBPF (fail closed: no allowlist, no agent).
	mem, _ := profile.ParseBytes(o.Profile.Limits.Memory)
	cg, err := sandbox.NewCgroup("s-"+res.SessionID, sandbox.Limits{MemoryBytes: mem, Pids: o.Profile.Limits.Pids})
	if err != nil {
		return res, err
	}
	defer func() {
		t := time.Now()
		cg.Remove()
		if timing {
			fmt.Fprintf(os.Stderr, "warden run: %-8s %6.1f ms\n", "rmcgroup", float64(time.Since(t).Microseconds())/1000)
		}
	}()
	if err := ebpf.EnsureTracefs(); err != nil {
		return res, err
	}
	watch := WatchList()
	if !o.Telemetry {
		watch = nil // enforcement only: the kernel emits egress verdicts alone
	}
	mark("cgroup")
	bpf, err := ebpf.Open(cg.Path, allow, watch)
	mark("ebpf")
	if err != nil {
		return res, err
	}
	defer func() {
		t := time.Now()
		_ = bpf.Close()
		if timing {
			fmt.Fprintf(os.Stderr, "warden run: %-8s %6.1f ms\n", "unload", float64(time.Since(t).Microseconds())/1000)
		}
	}()
	// 64 k hash-cache entries (~10 MB): a project, its dependencies and
	// toolchain fit, so files read again are not re-read and re-hashed.
	conv := &converter{base: base, pseudo: o.Pseudonyms, hashes: newHashCache(1<<16, o.Profile.HashMaxBytes()), cgid: cg.ID}
	// The reader drains the ring buffer into memory as fast as it can; the
	// converter (pseudonyms, content hashes) works behind it, so bursts
	// wait in the channel instead of overflowing the kernel buffer.
	pumpDone := make(chan struct{})
	kernel := make(chan ebpf.Event, 1<<16)
	var stopping atomic.Bool
	go func() {
		// Deadline reads from this goroutine only (the reader's deadline
		// cannot be moved while a Read blocks): when stopping, read until
		// the ring buffer is empty, then return.
		defer close(kernel)
		for {
			bpf.SetDeadline(time.Now().Add(100 * time.Millisecond))
			k, err := bpf.Read()
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					if stopping.Load() {
						return
					}
					continue
				}
				if errors.Is(err, ebpf.ErrClosed) || errors.Is(err, ebpf.ErrFlushed) {
					return
				}
				continue
			}
			if !o.Telemetry && k.Type != ebpf.TypeNet {
				continue
			}
			kernel <- k
		}
	}()
	go func() {
		defer close(pumpDone)
		for k := range kernel {
			for _, ev := range conv.Convert(k) {
				emit(ev)
			}
		}
	}()

	// 4. Launch.
	l := &sandbox.Launcher{Stage2: o.Stage2, Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr}
	if o.Interactive {
		signal.Ignore(syscall.SIGINT, syscall.SIGQUIT) // the terminal's ^C goes to the agent
		defer signal.Reset(syscall.SIGINT, syscall.SIGQUIT)
	}
	cmd, err := l.Start(plan, cg)
	if err != nil {
		return res, err
	}
	res.StartupMS = float64(time.Since(t0).Microseconds()) / 1000
	mark("launch")
	if o.SensorNice > 0 {
		reniceSelf(o.SensorNice)
	}
	start := lifecycle(schema.PhaseStart)
	start.PathPseudonym, start.ContentSHA256 = binPseudo, sum
	start.Attrs[schema.EndpointAttrBinarySHA] = sum
	start.Attrs[schema.EndpointAttrPID] = int64(cmd.Process.Pid)
	start.Attrs[schema.EndpointAttrCgroupID] = int64(cg.ID)
	start.Attrs[schema.EndpointAttrDetail] = "limits: " + strings.Join(cg.Limits, ", ")
	emit(start)

	term := make(chan os.Signal, 1)
	if o.Interactive {
		signal.Notify(term, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(term)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	var werr error
loop:
	for {
		select {
		case werr = <-waitErr:
			break loop
		case s := <-term:
			_ = cmd.Process.Signal(s)
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case werr = <-waitErr:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				werr = <-waitErr
			}
			break loop
		}
	}
	mark("agent")
	end := lifecycle(schema.PhaseStop)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Signaled():
			res.Signal = ws.Signal()
			res.ExitCode = 128 + int(ws.Signal())
			end.Attrs[schema.EndpointAttrPhase] = schema.PhaseCrash
			end.Attrs[schema.EndpointAttrSignal] = int64(ws.Signal())
		default:
			res.ExitCode = ws.ExitStatus()
		}
	} else if werr != nil {
		res.ExitCode = 125
	}
	end.ExitCode = int32(res.ExitCode)
	end.PathPseudonym, end.ContentSHA256 = binPseudo, sum

	// 5. Leftover processes go; the ring buffer is drained (at full
	// priority: nobody is waiting for the CPU any more).
	cg.Kill()
	if o.SensorNice > 0 {
		reniceSelf(0)
	}
	stopping.Store(true)
	_ = bpf.Flush() // wakes the reader: it drains what is pending, then stops
	<-pumpDone
	mark("drain")
	if runs, total := bpf.SysExitStats(); timing && runs > 0 {
		fmt.Fprintf(os.Stderr, "warden run: sys_exit program ran %d times, %v in total (%.0f ns each; kernel.bpf_stats_enabled)\n",
			runs, total, float64(total.Nanoseconds())/float64(runs))
	}
	res.Emitted, res.Lost, _ = bpf.Counters()
	end.Attrs[schema.EndpointAttrLostEvents] = int64(res.Lost)
	emit(end)
	res.Events = events.Load()
	return res, nil
}

// Destinations resolves the profile's allowed destinations and DNS
// resolvers into the eBPF allowlist and the Landlock TCP port list.
func Destinations(p *profile.Profile) ([]ebpf.Allow, []uint16, error) {
	var allow []ebpf.Allow
	portSet := map[uint16]bool{}
	for i, s := range p.Net.Allow {
		d, err := profile.ParseDest(s)
		if err != nil {
			return nil, nil, fmt.Errorf("net.allow[%d]: %w", i, err)
		}
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(d.Host); err == nil {
			addrs = []netip.Addr{a}
		} else {
			ips, err := net.LookupIP(d.Host)
			if err != nil {
				return nil, nil, fmt.Errorf("net.allow[%d]: %q: %w", i, s, err)
			}
			for _, ip := range ips {
				if a, ok := netip.AddrFromSlice(ip); ok {
					addrs = append(addrs, a.Unmap())
				}
			}
		}
		for _, a := range addrs {
			switch d.Proto {
			case "tcp":
				allow = append(allow, ebpf.Allow{Addr: a, Port: d.Port, Proto: unix.IPPROTO_TCP})
			case "udp":
				allow = append(allow, ebpf.Allow{Addr: a, Port: d.Port, Proto: unix.IPPROTO_UDP})
			default:
				allow = append(allow, ebpf.Allow{Addr: a, Port: d.Port})
			}
		}
		if d.Proto != "udp" {
			portSet[d.Port] = true
		}
	}
	dns := p.Net.DNS
	if len(dns) == 0 {
		dns = resolvConf()
	}
	for _, s := range dns {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		allow = append(allow, ebpf.Allow{Addr: a.Unmap(), Port: 53})
		portSet[53] = true
	}
	var ports []uint16
	for p := range portSet {
		ports = append(ports, p)
	}
	return allow, ports, nil
}

func resolvConf() []string {
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "nameserver" {
			out = append(out, fs[1])
		}
	}
	return out
}

// User is the resolved agent user.
type User struct {
	Username string
	UID, GID int
	Groups   []int
	HomeDir  string
}

// LookupUser resolves a user name or numeric uid; root is refused.
func LookupUser(name string) (User, error) {
	if name == "" {
		return User{}, errors.New("endpoint: no agent user: pass --user NAME (or run through sudo so SUDO_USER is set)")
	}
	var u *user.User
	var err error
	if _, aerr := strconv.Atoi(name); aerr == nil {
		u, err = user.LookupId(name)
		if err != nil {
			// A bare uid with no passwd entry (tests, containers).
			uid, _ := strconv.Atoi(name)
			if uid == 0 {
				return User{}, errors.New("endpoint: the agent never runs as root")
			}
			return User{Username: name, UID: uid, GID: uid, HomeDir: "/nonexistent"}, nil
		}
	} else {
		u, err = user.Lookup(name)
	}
	if err != nil {
		return User{}, fmt.Errorf("endpoint: user %q: %w", name, err)
	}
	out := User{Username: u.Username, HomeDir: u.HomeDir}
	out.UID, _ = strconv.Atoi(u.Uid)
	out.GID, _ = strconv.Atoi(u.Gid)
	if out.UID == 0 || out.GID == 0 {
		return User{}, errors.New("endpoint: the agent never runs as root: pass --user NAME of an unprivileged user")
	}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.Atoi(g); err == nil && n != 0 {
				out.Groups = append(out.Groups, n)
			}
		}
	}
	return out, nil
}

// agentEnv builds the agent's environment from scratch: nothing of the
// invoking (possibly root) environment leaks in except the terminal type
// and locale.
func agentEnv(u User, project string, id Event, o Options) []string {
	session := id.SessionID
	env := []string{
		"HOME=" + u.HomeDir,
		"USER=" + u.Username,
		"LOGNAME=" + u.Username,
		"PATH=" + filepath.Join(u.HomeDir, ".local/bin") + ":/usr/local/bin:/usr/bin:/bin",
		"PWD=" + project,
		"TMPDIR=/tmp",
		"WARDEN_SESSION_ID=" + session,
	}
	for _, k := range []string{"TERM", "LANG", "LC_ALL", "COLORTERM"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, AgentWiring(o.Profile.Gateway, o.OTLPEndpoint, id)...)
	return append(env, o.Env...)
}

// AgentWiring is the environment that points an agent's model calls at
// the Warden gateway and its own OTLP telemetry at the endpoint (see
// /work/shared/AGENT-TELEMETRY.md for each agent's knobs).
//
// The agent's own records get the session id and the user and device
// pseudonyms as resource attributes (the same values as the endpoint's
// events), so the collector joins them without a relay.
func AgentWiring(gateway, otlp string, id Event) []string {
	var env []string
	if gateway != "" {
		g := strings.TrimSuffix(gateway, "/")
		env = append(env,
			"ANTHROPIC_BASE_URL="+g,
			"OPENAI_BASE_URL="+g+"/v1",
			"GOOGLE_GEMINI_BASE_URL="+g,
			"GEMINI_API_BASE_URL="+g,
			"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
			"DISABLE_AUTOUPDATER=1",
		)
	}
	if otlp != "" {
		env = append(env,
			"CLAUDE_CODE_ENABLE_TELEMETRY=1",
			"CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1",
			"GEMINI_TELEMETRY_ENABLED=true",
			"GEMINI_TELEMETRY_TARGET=local",
			"GEMINI_TELEMETRY_OTLP_ENDPOINT="+otlp,
			"GEMINI_TELEMETRY_OTLP_PROTOCOL=http",
			"OTEL_METRICS_EXPORTER=otlp",
			"OTEL_LOGS_EXPORTER=otlp",
			"OTEL_TRACES_EXPORTER=otlp",
			"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
			"OTEL_EXPORTER_OTLP_ENDPOINT="+otlp,
			"OTEL_METRIC_EXPORT_INTERVAL=5000",
			"OTEL_LOGS_EXPORT_INTERVAL=1000",
			"OTEL_TRACES_EXPORT_INTERVAL=1000",
			"OTEL_METRICS_INCLUDE_SESSION_ID=true",
			"OTEL_RESOURCE_ATTRIBUTES="+resourceAttrs(id),
		)
	}
	return env
}

func resourceAttrs(id Event) string {
	// key=value,... ; the values (hex ids, "ps1:v1:..." pseudonyms, agent
	// names) need no percent-encoding, and any that would is left out.
	var kv []string
	for _, p := range [][2]string{{"session_id", id.SessionID}, {"user_pseudonym", id.UserPseudonym},
		{"device_pseudonym", id.DevicePseudonym}, {"agent", id.Agent}} {
		if p[1] != "" && !strings.ContainsAny(p[1], ",=% \"\\") {
			kv = append(kv, "warden."+p[0]+"="+p[1])
		}
	}
	return strings.Join(kv, ",")
}

// NewSessionID returns a random 128-bit session id (hex).
func NewSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DeviceID is the raw device id Run pseudonymizes: s when set, else
// /etc/machine-id, else the host name.
func DeviceID(s string) string { return deviceID(s) }

func deviceID(s string) string {
	if s != "" {
		return s
	}
	if b, err := os.ReadFile("/etc/machine-id"); err == nil {
		return strings.TrimSpace(string(b))
	}
	h, _ := os.Hostname()
	return h
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// packageVersion reads the version of an npm-installed agent from the
// package.json beside (or up to two levels above) its binary; it never
// runs the binary.
func packageVersion(bin string) string {
	dir := filepath.Dir(bin)
	for i := 0; i < 3; i++ {
		if b, err := os.ReadFile(filepath.Join(dir, "package.json")); err == nil {
			var pj struct {
				Version string `json:"version"`
			}
			if json.Unmarshal(b, &pj) == nil && pj.Version != "" && len(pj.Version) < 64 {
				return pj.Version
			}
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

// FileSHA256 is the sha256 (hex) of a file: what approved_binaries lists.
func FileSHA256(path string) (string, error) { return fileSHA256(path) }

// reniceSelf sets the nice value of every thread of this process (Linux
// nice values are per thread; new threads inherit their creator's).
func reniceSelf(nice int) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			_ = unix.Setpriority(unix.PRIO_PROCESS, tid, nice)
		}
	}
}
