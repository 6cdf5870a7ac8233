package endpoint_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wardenhq/warden/endpoint"
	"github.com/wardenhq/warden/endpoint/profile"
	"github.com/wardenhq/warden/endpoint/sandbox"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "-warden-stage2":
			sandbox.Stage2()
		case "-warden-escape":
			runEscapee(os.Args[2])
		case "-warden-whoami":
			fmt.Println(os.Geteuid())
			os.Exit(0)
		case "-warden-client":
			runClient(os.Args[2:])
		case "-warden-busy":
			runBusy(os.Args[2:])
		case "-warden-otlp":
			runOTLPAgent(os.Args[2:])
		}
	}
	os.Exit(m.Run())
}

// memSink collects events (goroutine-safe).
type memSink struct {
	mu  sync.Mutex
	evs []endpoint.Event
}

func (s *memSink) Emit(ev endpoint.Event) { s.mu.Lock(); s.evs = append(s.evs, ev); s.mu.Unlock() }
func (s *memSink) all() []endpoint.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]endpoint.Event(nil), s.evs...)
}

// needRoot skips with the reason when the test cannot set up the sandbox.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups, loads eBPF programs and drops to an agent user (CI runs as root)")
	}
	if _, err := sandbox.Cgroup2Root(); err != nil {
		t.Skipf("no cgroup v2 hierarchy: %v", err)
	}
	if sandbox.LandlockABI() < 4 {
		t.Skipf("Landlock ABI %d < 4", sandbox.LandlockABI())
	}
}

const agentUID = "65534" // nobody

// harness is a throwaway world: an agent home with an SSH key, another
// user's home, a project, listeners, and copies of the test binary.
type harness struct {
	base, home, project, other, outside, bin, escapee, setuid, tmpBin string
	pseudo                                                            *vault.Pseudonymizer
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	base, err := os.MkdirTemp("/var/tmp", "warden-escape-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	h := &harness{base: base}
	h.home = filepath.Join(base, "home")
	h.project = filepath.Join(h.home, "project")
	h.other = filepath.Join(base, "otheruser")
	h.outside = filepath.Join(base, "outside")
	h.bin = filepath.Join(base, "bin")
	for _, d := range []string{h.home, h.project, filepath.Join(h.home, ".ssh"), h.other, h.outside, h.bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(base, 0o755)
	write := func(p, s string, mode os.FileMode) {
		if err := os.WriteFile(p, []byte(s), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(h.home, ".ssh/id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY----- canary-ssh-key", 0o600)
	write(filepath.Join(h.other, "secret.txt"), "canary-other-user", 0o644)
	// The agent user owns its home, project and key, and may write to
	// "outside": only the sandbox stands in the way.
	for _, p := range []string{h.home, h.project, filepath.Join(h.home, ".ssh"), filepath.Join(h.home, ".ssh/id_ed25519"), h.outside} {
		os.Chown(p, 65534, 65534)
	}
	os.Chmod(h.outside, 0o777)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h.escapee = filepath.Join(h.bin, "escapee")
	copyFile(t, self, h.escapee, 0o755)
	h.setuid = filepath.Join(h.bin, "setuid-escapee")
	copyFile(t, self, h.setuid, 0o755)
	if err := os.Chmod(h.setuid, os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	tmpDir, err := os.MkdirTemp("/tmp", "warden-escape-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmpDir) })
	os.Chmod(tmpDir, 0o755)
	h.tmpBin = filepath.Join(tmpDir, "true")
	copyFile(t, "/bin/true", h.tmpBin, 0o755)
	key := make([]byte, vault.HMACKeySize)
	rand.Read(key)
	h.pseudo, err = vault.NewPseudonymizer(vault.HMACKey{Version: 1, Secret: key})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func copyFile(t testing.TB, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

func (h *harness) profile(t testing.TB, extra string) *profile.Profile {
	t.Helper()
	sum, err := endpoint.FileSHA256(h.escapee)
	if err != nil {
		t.Fatal(err)
	}
	y := fmt.Sprintf("name: escape-test\nextends: generic\nfs:\n  exec: [%s]\napproved_binaries:\n  - name: escapee\n    sha256: %s\n%s", h.bin, sum, extra)
	p, err := profile.Parse([]byte(y), "escape-test")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func listen(t *testing.T, network, addr string) string {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

func TestEscapeSuite(t *testing.T) {
	needRoot(t)
	h := newHarness(t)
	allowed := listen(t, "tcp4", "127.0.0.1:0")
	denied4 := listen(t, "tcp4", "127.0.0.2:0")
	denied6 := listen(t, "tcp6", "[::1]:0")
	ap0 := mustAddrPort(allowed)
	other := listen(t, "tcp4", fmt.Sprintf("127.0.0.2:%d", ap0.Port()))
	abstract := "warden-escape-" + filepath.Base(h.base)
	ul, err := net.Listen("unix", "@"+abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	go func() {
		for {
			c, err := ul.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	env := escapeEnv{
		Home: h.home, Project: h.project, OtherHome: h.other, Outside: h.outside,
		TmpBin: h.tmpBin, SetuidBin: h.setuid,
		DeniedTCP4: denied4, DeniedTCP6: denied6, AllowedTCP: allowed,
		DeniedDNS: "127.0.0.3:53", DeniedUDP: "127.0.0.4:9999", AllowedDNS: "127.0.0.54:53",
		Abstract:       abstract,
		SamePortOther4: other, SamePortMapped6: fmt.Sprintf("[::ffff:127.0.0.2]:%d", ap0.Port()),
	}
	arg, _ := json.Marshal(env)
	prof := h.profile(t, fmt.Sprintf("net:\n  allow: [\"%s/tcp\"]\n  dns: [127.0.0.54]\n", allowed))
	prof.FS.Deny = append(prof.FS.Deny, h.other)

	sink := &memSink{}
	var stdout, stderr bytes.Buffer
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	go io.Copy(&stdout, outR)
	go io.Copy(&stderr, errR)
	res, err := endpoint.Run(context.Background(), endpoint.Options{
		Profile: prof, Argv: []string{h.escapee, "-warden-escape", string(arg)},
		User: agentUID, Home: h.home, Project: h.project, Pseudonyms: h.pseudo, Sink: sink,
		Stage2: []string{h.escapee, "-warden-stage2"}, Stdout: outW, Stderr: errW, Telemetry: true,
	})
	outW.Close()
	errW.Close()
	time.Sleep(100 * time.Millisecond)
	if err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, stderr.String())
	}
	if res.ExitCode != 0 {
		t.Fatalf("escapee exit %d\nstderr: %s", res.ExitCode, stderr.String())
	}
	var results []attemptResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("escapee output: %v\n%s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	evs := sink.all()
	ps := func(p string) string { return h.pseudo.Path(p, true) }
	deniedFile := func(p string) func(endpoint.Event) bool {
		return func(e endpoint.Event) bool {
			return e.Name == schema.EndpointEventPolicyViolation && e.Denied && e.PathPseudonym == ps(p)
		}
	}
	deniedNet := func(addr string) func(endpoint.Event) bool {
		ap := mustAddrPort(addr)
		return func(e endpoint.Event) bool {
			return e.Name == schema.EndpointEventPolicyViolation && e.DestHost == ap.Addr().String() && e.DestPort == ap.Port()
		}
	}
	sys := func(name string) func(endpoint.Event) bool {
		return func(e endpoint.Event) bool {
			return e.Name == schema.EndpointEventPolicyViolation && e.Attrs[schema.EndpointAttrSyscall] == name
		}
	}
	cgroupProcs := func(e endpoint.Event) bool {
		return e.Name == schema.EndpointEventPolicyViolation && (e.PathPseudonym == ps("/sys/fs/cgroup/unified/cgroup.procs") || e.PathPseudonym == ps("/sys/fs/cgroup/cgroup.procs"))
	}
	expect := map[string]func(endpoint.Event) bool{
		"read_ssh_key":                 deniedFile(filepath.Join(h.home, ".ssh/id_ed25519")),
		"read_etc_shadow":              deniedFile("/etc/shadow"),
		"read_other_home":              deniedFile(filepath.Join(h.other, "secret.txt")),
		"write_outside_project":        deniedFile(filepath.Join(h.outside, "dropped")),
		"write_home_dotfile":           deniedFile(filepath.Join(h.home, ".bashrc")),
		"symlink_to_ssh_key":           deniedFile(filepath.Join(h.project, "innocent-link")),
		"hardlink_ssh_key":             deniedFile(filepath.Join(h.home, ".ssh/id_ed25519")),
		"connect_ipv4_not_allowlisted": deniedNet(denied4),
		"connect_ipv6_not_allowlisted": deniedNet(denied6),
		"connect_allowed_port_other_ipv4": func(e endpoint.Event) bool {
			return deniedNet(other)(e) && e.Attrs[schema.EndpointAttrFamily] == "ipv4"
		},
		"connect_ipv4_mapped_ipv6": func(e endpoint.Event) bool {
			return deniedNet(other)(e) && e.Attrs[schema.EndpointAttrFamily] == "ipv6"
		},
		"udp_dns_unapproved_resolver": func(e endpoint.Event) bool {
			return deniedNet("127.0.0.3:53")(e) && e.Rule() == schema.EndpointRuleNetDNS
		},
		"udp_sendto_not_allowlisted": deniedNet("127.0.0.4:9999"),
		"mptcp_socket": func(e endpoint.Event) bool {
			return sys("socket")(e) && strings.Contains(fmt.Sprint(e.Attrs[schema.EndpointAttrDetail]), "protocol=262")
		},
		"raw_socket": func(e endpoint.Event) bool {
			return sys("socket")(e) && strings.Contains(fmt.Sprint(e.Attrs[schema.EndpointAttrDetail]), "type=3")
		},
		"packet_socket": func(e endpoint.Event) bool {
			return sys("socket")(e) && strings.Contains(fmt.Sprint(e.Attrs[schema.EndpointAttrDetail]), "family=17")
		},
		"ptrace_sibling":               sys("ptrace"),
		"mount_tmpfs":                  sys("mount"),
		"bpf_prog_load":                sys("bpf"),
		"exec_from_tmp":                deniedFile(h.tmpBin),
		"exec_from_project":            deniedFile(filepath.Join(h.project, "run.sh")),
		"setuid_binary":                deniedFile(h.setuid),
		"escape_cgroup_procs":          cgroupProcs,
		"kill_warden":                  sys("kill"),
		"unshare_user_namespace":       sys("unshare"),
		"clone_new_user_namespace":     sys("clone"),
		"keyctl_session_keyring":       sys("keyctl"),
		"perf_event_open":              sys("perf_event_open"),
		"userfaultfd":                  sys("userfaultfd"),
		"io_uring_setup":               sys("io_uring_setup"),
		"kexec_load":                   sys("kexec_load"),
		"tiocsti_inject":               sys("ioctl"),
		"abstract_unix_socket_outside": sys("connect"),
	}
	escapes := 0
	for _, r := range results {
		if r.Allowed {
			if r.Blocked {
				t.Errorf("allowed action %s failed: %s", r.Name, r.Err)
			}
			continue
		}
		escapes++
		if !r.Blocked {
			t.Errorf("ESCAPE: %s was not blocked", r.Name)
		}
		pred, ok := expect[r.Name]
		if !ok {
			t.Errorf("%s: no expected event defined", r.Name)
			continue
		}
		found := false
		for _, e := range evs {
			if pred(e) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: blocked (%s) but no policy_violation event reported", r.Name, r.Err)
			if testing.Verbose() {
				for _, e := range evs {
					if e.Denied || e.Name == schema.EndpointEventExec {
						t.Logf("  event %s %s %v", e.Name, e.PathPseudonym, e.Attrs)
					}
				}
			}
		} else {
			t.Logf("%-30s blocked (%s), reported", r.Name, r.Err)
		}
	}
	if escapes < 20 {
		t.Errorf("only %d escape attempts ran, want >= 20", escapes)
	}
	// The allowed connection is reported as allowed.
	ap := mustAddrPort(allowed)
	var sawAllowed, sawStart, sawStop bool
	for _, e := range evs {
		if e.Name == schema.EndpointEventNetConnect && !e.Denied && e.DestPort == ap.Port() {
			sawAllowed = true
		}
		if e.Name == schema.EndpointEventAgentLifecycle {
			switch e.Attrs[schema.EndpointAttrPhase] {
			case schema.PhaseStart:
				sawStart = e.ContentSHA256 != "" && e.SessionID == res.SessionID
			case schema.PhaseStop:
				sawStop = e.ExitCode == 0
			}
		}
		if e.SessionID != res.SessionID || e.UserPseudonym == "" || e.DevicePseudonym == "" {
			t.Fatalf("event without session identity: %+v", e)
		}
	}
	if !sawAllowed || !sawStart || !sawStop {
		t.Errorf("allowed connect reported %v, lifecycle start %v stop %v", sawAllowed, sawStart, sawStop)
	}
	// No raw path or canary in any event.
	blob, _ := json.Marshal(evs)
	for _, canary := range []string{"canary", h.home, "id_ed25519", "/etc/shadow"} {
		if bytes.Contains(blob, []byte(canary)) {
			t.Errorf("event stream contains raw %q", canary)
		}
	}
	t.Logf("%d escape attempts, %d events, kernel events emitted %d lost %d", escapes, len(evs), res.Emitted, res.Lost)
	_ = unix.Getpid
}

func TestUnapprovedBinaryRefused(t *testing.T) {
	needRoot(t)
	h := newHarness(t)
	prof := h.profile(t, "")
	sink := &memSink{}
	_, err := endpoint.Run(context.Background(), endpoint.Options{
		Profile: prof, Argv: []string{"/bin/true"}, User: agentUID, Project: h.project,
		Pseudonyms: h.pseudo, Sink: sink, Stage2: []string{h.escapee, "-warden-stage2"},
	})
	if err == nil || !strings.Contains(err.Error(), "not on the approved_binaries list") || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("err = %v, want a refusal naming the sha256", err)
	}
	var refused bool
	for _, e := range sink.all() {
		if e.Name == schema.EndpointEventPolicyViolation && e.Rule() == schema.EndpointRuleBinary {
			refused = true
		}
	}
	if !refused {
		t.Error("refusal not reported as a policy_violation event")
	}
}

func TestRootAgentRefused(t *testing.T) {
	if _, err := endpoint.LookupUser("root"); err == nil {
		t.Fatal("root accepted as agent user")
	}
	if _, err := endpoint.LookupUser("0"); err == nil {
		t.Fatal("uid 0 accepted as agent user")
	}
	if _, err := endpoint.LookupUser(""); err == nil || !strings.Contains(err.Error(), "--user") {
		t.Fatalf("empty user: %v", err)
	}
}

type benchHarness struct {
	*harness
	prof *profile.Profile
}

func newHarnessB(b *testing.B) benchHarness {
	h := newHarness(b)
	return benchHarness{harness: h, prof: h.profile(b, "")}
}

// runBusy is a workload for the ring-buffer benchmark: it opens and
// closes a file n times as fast as it can.
func runBusy(args []string) {
	n, _ := strconv.Atoi(args[0])
	for i := 0; i < n; i++ {
		fd, err := unix.Open("/etc/hostname", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
	}
	os.Exit(0)
}

// BenchmarkRingBuffer measures the kernel-to-event path: a sandboxed agent
// opens a file in a tight loop; reported are kernel events per second
// emitted into the ring buffer, endpoint events per second out of the
// converter, and the ring buffer's lost-event counter.
func BenchmarkRingBuffer(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	t := &testing.T{}
	_ = t
	h := newHarnessB(b)
	const opens = 200000
	var emitted, lost, events uint64
	var secs float64
	for i := 0; i < b.N; i++ {
		var count atomic.Uint64
		sink := endpoint.SinkFunc(func(endpoint.Event) { count.Add(1) })
		start := time.Now()
		res, err := endpoint.Run(context.Background(), endpoint.Options{
			Profile: h.prof, Argv: []string{h.escapee, "-warden-busy", strconv.Itoa(opens)},
			User: agentUID, Project: h.project, Pseudonyms: h.pseudo, Sink: sink,
			Stage2: []string{h.escapee, "-warden-stage2"}, Telemetry: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		secs += time.Since(start).Seconds()
		emitted += res.Emitted
		lost += res.Lost
		events += count.Load()
	}
	b.ReportMetric(float64(emitted)/secs, "kernel-events/s")
	b.ReportMetric(float64(events)/secs, "endpoint-events/s")
	b.ReportMetric(float64(lost)/float64(b.N), "lost/session")
	b.ReportMetric(float64(emitted)/float64(b.N), "kernel-events/session")
}
