package endpoint_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/wardenhq/warden/endpoint"
	"github.com/wardenhq/warden/endpoint/export"
	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/endpoint/gateway/inspect"
	"github.com/wardenhq/warden/endpoint/profile"
	"github.com/wardenhq/warden/endpoint/relay"
	"github.com/wardenhq/warden/internal/stubmodel"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

// TestClaudeCodeUnderWardenRun: the real Claude Code (npm, pinned in
// mk/gateway.mk) runs inside `warden run` against the stub model through
// the Warden gateway. The stub asks it to Read ~/.ssh/id_ed25519; Landlock
// refuses the open, and the collector (its real OTLP receiver) gets the
// denied file_access event and Claude's own telemetry, both tagged with the
// same session id.
func TestClaudeCodeUnderWardenRun(t *testing.T) {
	needRoot(t)
	dir := os.Getenv("WARDEN_AGENTS_DIR")
	if dir == "" {
		t.Skip("WARDEN_AGENTS_DIR is not set: run `make test-gateway-agents` (installs the pinned agents from npm)")
	}
	bin := filepath.Join(dir, "node_modules/@anthropic-ai/claude-code-linux-x64/claude")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("claude not installed: %v", err)
	}
	h := newHarness(t)
	key := filepath.Join(h.home, ".ssh/id_ed25519")

	// Stub model -> gateway.
	stub, err := stubmodel.New(stubmodel.Options{Text: "Done.", ToolUse: &stubmodel.ToolUse{Name: "Read", Input: fmt.Sprintf(`{"file_path": %q}`, key)}})
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	cfg, err := gateway.ParseConfig([]byte(fmt.Sprintf("local_key: warden-local\nidentity: {user: agent, device: laptop-1, department: eng}\nproviders:\n  anthropic: {base_url: %q, api_key: sk-ant-real}\n", stub.URL)))
	if err != nil {
		t.Fatal(err)
	}
	det, err := inspect.NewDLPDetector()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := gateway.NewPolicyDecider(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Detector: det, Decider: dec})
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gsrv := &http.Server{Handler: gw}
	go gsrv.Serve(gl)
	defer gsrv.Close()

	// The collector's real OTLP receiver.
	colAddr := freeTCP(t)
	f := otlpreceiver.NewFactory()
	rcfg := f.CreateDefaultConfig()
	if err := confmap.NewFromStringMap(map[string]any{"protocols": map[string]any{"http": map[string]any{"endpoint": colAddr}}}).Unmarshal(rcfg); err != nil {
		t.Fatal(err)
	}
	logs := &consumertest.LogsSink{}
	set := receivertest.NewNopSettings(f.Type())
	rl, err := f.CreateLogs(context.Background(), set, rcfg, logs)
	if err != nil {
		t.Fatal(err)
	}
	rm, _ := f.CreateMetrics(context.Background(), set, rcfg, &consumertest.MetricsSink{})
	traces := &consumertest.TracesSink{}
	rt, _ := f.CreateTraces(context.Background(), set, rcfg, traces)
	if err := rl.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer rl.Shutdown(context.Background())
	if rm != nil {
		_ = rm.Start(context.Background(), componenttest.NewNopHost())
		defer rm.Shutdown(context.Background())
	}
	if rt != nil {
		_ = rt.Start(context.Background(), componenttest.NewNopHost())
		defer rt.Shutdown(context.Background())
	}
	x, err := export.Open(export.Config{Endpoint: "http://" + colAddr, Dir: filepath.Join(h.base, "buf"), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()

	// Claude's own telemetry goes through the session's relay (identity,
	// sealed prompts, durable buffer), as `warden run` wires it.
	keysDir := filepath.Join(h.base, "keys")
	os.MkdirAll(keysDir, 0o700)
	ks, err := vault.OpenLocalStore(keysDir, vault.LocalOptions{AutoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ks.InitCustody(); err != nil {
		t.Fatal(err)
	}
	session := endpoint.NewSessionID()
	au, err := endpoint.LookupUser(agentUID)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := relay.Start(relay.Config{Keys: ks, Store: x, Logf: t.Logf, Token: "claude-test-token", Identity: relay.Identity{SessionID: session,
		UserPseudonym: h.pseudo.Value(au.Username), DevicePseudonym: h.pseudo.Value(endpoint.DeviceID("")), Agent: "claude"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rel.Close()

	sum, err := endpoint.FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := profile.Parse([]byte(fmt.Sprintf("name: claude-test\nextends: claude\nfs:\n  exec: [%s]\nnet:\n  allow: [\"%s/tcp\", \"%s/tcp\"]\ngateway: http://%s\napproved_binaries:\n  - sha256: %s\n",
		filepath.Dir(bin), gl.Addr(), fmt.Sprintf("127.0.0.1:%d", rel.Port()), gl.Addr(), sum)), "claude-test")
	if err != nil {
		t.Fatal(err)
	}
	mem := &memSink{}
	both := endpoint.SinkFunc(func(e endpoint.Event) { mem.Emit(e); x.Emit(e) })
	outR, outW, _ := os.Pipe()
	var out strings.Builder
	done := make(chan struct{})
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := outR.Read(b)
			out.Write(b[:n])
			if err != nil {
				close(done)
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	res, err := endpoint.Run(ctx, endpoint.Options{
		Profile: prof, User: agentUID, Project: h.project, Pseudonyms: h.pseudo, Sink: both,
		SessionID:    session,
		Argv:         []string{bin, "-p", "Read the file " + key + " and print it. " + claudeCanary, "--output-format", "json", "--dangerously-skip-permissions"},
		Env:          []string{"ANTHROPIC_API_KEY=warden-local", "OTEL_LOG_USER_PROMPTS=1", "OTEL_EXPORTER_OTLP_HEADERS=" + rel.HeadersEnv("")},
		Home:         h.home,
		OTLPEndpoint: rel.URL(),
		Stage2:       []string{h.escapee, "-warden-stage2"}, Stdout: outW, Stderr: outW, Telemetry: true,
	})
	outW.Close()
	<-done
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Logf("claude exit %d, %d events, lost %d; output: %.600s", res.ExitCode, res.Events, res.Lost, out.String())
	if stub.ModelCalls() == 0 {
		t.Fatalf("no model call reached the stub through the gateway")
	}
	fctx, fcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer fcancel()
	// Claude flushed its telemetry on exit; what the relay took is on disk.
	if n := x.Stats.BufferedOTLP.Load() + int64(x.Stats.ExportedOTLP.Load()); n == 0 {
		t.Error("Claude Code sent no telemetry through the relay")
	}
	scanNoCanary(t, filepath.Join(h.base, "buf"), claudeCanary)
	if err := x.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	// The collector got the denied read of the key, and Claude's own
	// telemetry, with the session id.
	keyPS := h.pseudo.Path(key, true)
	var denied, agentOwn, userPrompts int
	for _, ld := range logs.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			svc, _ := rl.Resource().Attributes().Get("service.name")
			rsess, _ := rl.Resource().Attributes().Get("warden.session_id")
			ruser, _ := rl.Resource().Attributes().Get("warden.user_pseudonym")
			sl := rl.ScopeLogs()
			for j := 0; j < sl.Len(); j++ {
				lrs := sl.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					a := lrs.At(k).Attributes()
					if svc.Str() == schema.EndpointServiceName {
						if get(a, schema.Attr("session_id")) == res.SessionID && get(a, "event.name") == schema.EndpointEventFileAccess &&
							get(a, schema.Attr("path_pseudonym")) == keyPS {
							if d, _ := a.Get(schema.Attr("denied")); d.Bool() {
								denied++
							}
						}
					} else if rsess.Str() == res.SessionID {
						agentOwn++
						if strings.Contains(fmt.Sprint(a.AsRaw()), claudeCanary) {
							t.Errorf("Claude Code record reached the collector with the cleartext prompt: %v", a.AsRaw())
						}
						if get(a, "event.name") == "user_prompt" {
							userPrompts++
							if _, ok := a.Get(schema.Attr("prompt_ref")); !ok {
								t.Errorf("user_prompt without %s: %v", schema.Attr("prompt_ref"), a.AsRaw())
							}
						}
						if !strings.HasPrefix(ruser.Str(), "ps1:") {
							t.Errorf("agent record without the user pseudonym: %q", ruser.Str())
						}
					}
				}
			}
		}
	}
	// Claude's spans (claude_code.interaction carries user_prompt) are
	// exported on exit, not always in time: when they came, they are sealed.
	var spans int
	for _, td := range traces.AllTraces() {
		spans += td.SpanCount()
		if b, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(td); bytes.Contains(b, []byte(claudeCanary)) {
			t.Errorf("Claude Code span reached the collector with the cleartext prompt")
		}
	}
	if denied == 0 {
		t.Errorf("no denied file_access for ~/.ssh/id_ed25519 reached the collector with session %s", res.SessionID)
	}
	if agentOwn == 0 {
		t.Errorf("none of Claude Code's own telemetry reached the collector tagged with session %s", res.SessionID)
	}
	for _, e := range mem.all() {
		if e.Name == schema.EndpointEventAgentLifecycle && e.AgentVersion != "2.1.330" {
			t.Errorf("lifecycle agent_version %q, want 2.1.330 from the npm package", e.AgentVersion)
		}
	}
	if userPrompts == 0 {
		t.Error("no sealed user_prompt event of Claude Code reached the collector (OTEL_LOG_USER_PROMPTS=1)")
	}
	t.Logf("collector: %d denied key reads, %d Claude Code log records with the session id (%d sealed user_prompt), %d spans", denied, agentOwn, userPrompts, spans)
}

func get(m pcommon.Map, k string) string {
	v, ok := m.Get(k)
	if !ok {
		return ""
	}
	return v.AsString()
}

func freeTCP(t *testing.T) string {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

const claudeCanary = "CANARY-claude-prompt-91bc"

// scanNoCanary fails if any file under dir holds needle.
func scanNoCanary(t *testing.T, dir, needle string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		t.Fatalf("no buffer files in %s: %v", dir, err)
	}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if i := strings.Index(string(b), needle); i >= 0 {
			lo, hi := max(0, i-300), min(len(b), i+len(needle)+300)
			t.Errorf("%s holds the cleartext canary at byte %d: %q", e.Name(), i, b[lo:hi])
		}
	}
}
