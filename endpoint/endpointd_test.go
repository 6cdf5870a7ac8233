package endpoint_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardenhq/warden/endpoint/daemon"
	"github.com/wardenhq/warden/endpoint/launch"
	"github.com/wardenhq/warden/schema"
)

// runClient is the unprivileged `warden run` side (test binary re-exec).
func runClient(args []string) {
	r, err := daemon.Client(args[0], daemon.Request{Profile: args[1], Project: args[2], Argv: args[3:]})
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(3)
	}
	b, _ := json.Marshal(r)
	fmt.Fprintln(os.Stderr, string(b))
	os.Exit(0)
}

func TestEndpointdRunsUnprivilegedCallerSandboxed(t *testing.T) {
	needRoot(t)
	h := newHarness(t)
	profDir := filepath.Join(h.base, "profiles")
	keys := filepath.Join(h.base, "keys")
	os.MkdirAll(profDir, 0o755)
	os.MkdirAll(keys, 0o700)
	sum := fileSum(t, h.escapee)
	os.WriteFile(filepath.Join(profDir, "escapee.yaml"), []byte(fmt.Sprintf("name: escapee\nextends: generic\nfs:\n  exec: [%s]\napproved_binaries:\n  - sha256: %s\n", h.bin, sum)), 0o644)
	// A caller-supplied profile outside the admin directory must be refused.
	evil := filepath.Join(h.project, "wide-open.yaml")
	os.WriteFile(evil, []byte(fmt.Sprintf("name: evil\nextends: generic\nfs:\n  write: [/]\napproved_binaries:\n  - sha256: %s\n", sum)), 0o644)
	sink := &memSink{}
	srv := &daemon.Server{ProfileDir: profDir, Base: launch.Config{KeysDir: keys, Sink: sink, Stage2: []string{h.escapee, "-warden-stage2"}}, Logf: t.Logf}
	sock := filepath.Join(h.base, "endpointd.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx, sock)
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	client := func(profile string) (stdout, stderr string) {
		cmd := exec.Command(h.escapee, "-warden-client", sock, profile, h.project, h.escapee, "-warden-whoami")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var eb strings.Builder
		cmd.Stderr = &eb
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("client: %v\n%s", err, eb.String())
		}
		return string(out), eb.String()
	}
	out, errOut := client(filepath.Join(profDir, "escapee.yaml"))
	var r daemon.Reply
	if err := json.Unmarshal([]byte(strings.TrimSpace(errOut)), &r); err != nil {
		t.Fatalf("reply %q: %v", errOut, err)
	}
	if r.Error != "" || r.ExitCode != 0 || strings.TrimSpace(out) != "65534" {
		t.Fatalf("reply %+v, agent printed euid %q (want 65534: the caller, never root)", r, out)
	}
	var started bool
	for _, e := range sink.all() {
		if e.Name == schema.EndpointEventAgentLifecycle && e.SessionID == r.SessionID && e.Attrs[schema.EndpointAttrPhase] == schema.PhaseStart {
			started = true
		}
	}
	if !started {
		t.Error("no lifecycle start event for the endpointd session")
	}
	_, errOut = client(evil)
	if !strings.Contains(errOut, "unprivileged callers may use shipped profiles or files in") {
		t.Errorf("caller-supplied profile not refused: %s", errOut)
	}
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	out, err := exec.Command("sha256sum", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}
