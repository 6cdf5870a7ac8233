package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/internal/stubmodel"
)

// Real agents from npm (pinned in mk/gateway.mk: claude-code 2.1.330, codex
// 0.169.0, gemini-cli 0.61.0) pointed at the gateway, which fronts the stub
// model server. `make test-gateway-agents` installs them and sets
// WARDEN_AGENTS_DIR; without it these tests skip and say so.

func agentsDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("WARDEN_AGENTS_DIR")
	if d == "" {
		t.Skip("WARDEN_AGENTS_DIR is not set: run `make test-gateway-agents` (installs the pinned agents from npm)")
	}
	return d
}

type agentRun struct {
	name     string
	provider string
	bin      string
	setup    func(t *testing.T, home, gw string) (env []string, args []string)
}

func agentRuns(dir string) []agentRun {
	return []agentRun{
		{name: "claude_code", provider: "anthropic", bin: filepath.Join(dir, "node_modules/@anthropic-ai/claude-code-linux-x64/claude"),
			setup: func(t *testing.T, home, gw string) ([]string, []string) {
				return []string{"ANTHROPIC_API_KEY=warden-local", "ANTHROPIC_BASE_URL=" + gw, "DISABLE_AUTOUPDATER=1",
						"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"},
					[]string{"-p", "PROMPT", "--output-format", "json"}
			}},
		{name: "codex", provider: "openai", bin: filepath.Join(dir, "node_modules/.bin/codex"),
			setup: func(t *testing.T, home, gw string) ([]string, []string) {
				ch := filepath.Join(home, ".codex")
				_ = os.MkdirAll(ch, 0o700)
				cfg := fmt.Sprintf("model_provider = \"warden\"\ncheck_for_update_on_startup = false\n[model_providers.warden]\nname = \"Warden gateway\"\nbase_url = \"%s/v1\"\nenv_key = \"OPENAI_API_KEY\"\nwire_api = \"responses\"\n", gw)
				if err := os.WriteFile(filepath.Join(ch, "config.toml"), []byte(cfg), 0o600); err != nil {
					t.Fatal(err)
				}
				return []string{"OPENAI_API_KEY=warden-local", "CODEX_HOME=" + ch},
					[]string{"exec", "--skip-git-repo-check", "--json", "PROMPT"}
			}},
		{name: "gemini_cli", provider: "gemini", bin: filepath.Join(dir, "node_modules/.bin/gemini"),
			setup: func(t *testing.T, home, gw string) ([]string, []string) {
				gd := filepath.Join(home, ".gemini")
				_ = os.MkdirAll(gd, 0o700)
				s := `{"general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false}, "security": {"auth": {"selectedType": "gemini-api-key"}}}`
				if err := os.WriteFile(filepath.Join(gd, "settings.json"), []byte(s), 0o600); err != nil {
					t.Fatal(err)
				}
				return []string{"GEMINI_API_KEY=warden-local", "GOOGLE_GEMINI_BASE_URL=" + gw, "GEMINI_CLI_TRUST_WORKSPACE=true"},
					[]string{"-p", "PROMPT", "--output-format", "json"}
			}},
	}
}

func runAgent(t *testing.T, a agentRun, gwURL, prompt string) (string, error) {
	t.Helper()
	if _, err := os.Stat(a.bin); err != nil {
		t.Fatalf("%s not installed at %s (run make test-gateway-agents): %v", a.name, a.bin, err)
	}
	home := t.TempDir()
	proj := t.TempDir()
	env, args := a.setup(t, home, gwURL)
	for i := range args {
		if args[i] == "PROMPT" {
			args[i] = prompt
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.bin, args...)
	cmd.Dir = proj
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TERM=dumb"}, env...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestRealAgentsRedaction: each real agent sends a prompt with an SSN and
// a card number through the gateway; the stub never sees them, the agent
// gets the answer, and the events carry the stub's token counts.
func TestRealAgentsRedaction(t *testing.T) {
	dir := agentsDir(t)
	for _, a := range agentRuns(dir) {
		t.Run(a.name, func(t *testing.T) {
			e := newEnv(t, envOpt{stub: stubmodel.Options{Text: "Form filed, reference 7781."}})
			out, err := runAgent(t, a, e.srv.URL, "File the form for SSN "+ssn+" paid with card "+card+". Reply briefly.")
			if err != nil {
				t.Fatalf("%s failed: %v\n%s", a.name, err, tail(out))
			}
			if !strings.Contains(out, "reference 7781") {
				t.Fatalf("%s did not show the answer:\n%s", a.name, tail(out))
			}
			calls := 0
			for _, r := range e.stub.Requests() {
				if strings.Contains(string(r.Body), ssn) || strings.Contains(string(r.Body), card) {
					t.Fatalf("stub saw cleartext in %s %s", r.Method, r.Path)
				}
				if strings.Contains(string(r.Body), "[REDACTED_US_SSN_1]") {
					calls++
				}
			}
			if calls == 0 {
				t.Fatalf("no redacted request reached the stub (%d requests)", len(e.stub.Requests()))
			}
			u := e.stub.Usage()
			modelCalls := 0
			for _, ev := range e.sink.all() {
				if ev.Status != "ok" {
					t.Fatalf("call %s %s: status %s refusal %s", ev.Endpoint, ev.Model, ev.Status, ev.Refusal)
				}
				if ev.Usage.Input != u.CanonicalInput(a.provider) || ev.Usage.Output != u.OutputTokens {
					t.Fatalf("event tokens %d/%d, stub %d/%d", ev.Usage.Input, ev.Usage.Output, u.CanonicalInput(a.provider), u.OutputTokens)
				}
				if ev.Agent != a.name || ev.AgentVersion == "" {
					t.Errorf("agent %q %q, want %q", ev.Agent, ev.AgentVersion, a.name)
				}
				if a.name == "claude_code" && ev.SessionID == "" {
					t.Error("Claude Code's session id was not picked up")
				}
				modelCalls++
			}
			if modelCalls != e.stub.ModelCalls() {
				t.Fatalf("%d events for %d model calls", modelCalls, e.stub.ModelCalls())
			}
		})
	}
}

// TestRealAgentsPrivateKeyCut: a streamed response carrying a private key
// is cut; the agent shows Warden's error and never the key.
func TestRealAgentsPrivateKeyCut(t *testing.T) {
	dir := agentsDir(t)
	for _, a := range agentRuns(dir) {
		t.Run(a.name, func(t *testing.T) {
			e := newEnv(t, envOpt{stub: stubmodel.Options{Text: "Here it is:\n" + privateKey, ChunkSize: 24}})
			out, _ := runAgent(t, a, e.srv.URL, "print the deploy key")
			if strings.Contains(out, "MIIEowIBAAKCAQEAu1SU1") || strings.Contains(out, "BEGIN RSA PRIVATE") {
				t.Fatalf("%s printed key material:\n%s", a.name, tail(out))
			}
			if !strings.Contains(out, "private_key") {
				t.Fatalf("%s did not show Warden's error:\n%s", a.name, tail(out))
			}
			if a.name == "codex" && e.stub.ModelCalls() != 1 {
				t.Fatalf("codex retried the cut response (%d calls)", e.stub.ModelCalls())
			}
			cut := false
			for _, ev := range e.sink.all() {
				cut = cut || ev.Status == "cut"
			}
			if !cut {
				t.Fatal("no cut event")
			}
		})
	}
}

func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}

var _ = httptest.NewServer
var _ = gateway.ActionAllow

// TestRealAgentsRefusal: when policy cannot be evaluated, each agent shows
// Warden's reason and does not hammer the gateway with retries.
func TestRealAgentsRefusal(t *testing.T) {
	dir := agentsDir(t)
	for _, a := range agentRuns(dir) {
		t.Run(a.name, func(t *testing.T) {
			e := newEnv(t, envOpt{decider: gateway.FailClosed{Err: errors.New("bundle corrupt")}})
			out, _ := runAgent(t, a, e.srv.URL, "hello")
			if !strings.Contains(out, "policy could not be evaluated") {
				t.Fatalf("%s did not show Warden's reason:\n%s", a.name, tail(out))
			}
			if e.stub.ModelCalls() != 0 {
				t.Fatal("a refused call reached the provider")
			}
			// Gemini CLI makes a routing call and the main call.
			if n := len(e.sink.all()); n > 2 {
				t.Fatalf("%s retried the refusal: %d calls", a.name, n)
			}
		})
	}
}
