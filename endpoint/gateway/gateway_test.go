package gateway_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/endpoint/gateway/inspect"
	"github.com/wardenhq/warden/internal/stubmodel"
)

const (
	ssn  = "536-22-8817"
	card = "4539 1488 0343 6467"
)

// A PEM private key the dlp library recognises (whole block, real base64).
var privateKey = "-----BEGIN RSA PRIVATE KEY-----\n" +
	"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" +
	"VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n" +
	"LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo\n" +
	"-----END RSA PRIVATE KEY-----\n"

// captureSink keeps every event. A non-streamed answer reaches the client
// just before its event is sealed and emitted, so readers first wait (up to
// half a second: a call parked for review stays in flight) for the calls in
// flight on a server wrapped with serve, and last polls briefly for a first
// event on servers it does not wrap.
type captureSink struct {
	mu       sync.Mutex
	evs      []*gateway.CallEvent
	inflight atomic.Int64
}

func (c *captureSink) serve(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.inflight.Add(1)
		defer c.inflight.Add(-1)
		h.ServeHTTP(w, r)
	})
}

func (c *captureSink) Emit(ev *gateway.CallEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := *ev
	cp.Messages = append([]gateway.Message(nil), ev.Messages...)
	c.evs = append(c.evs, &cp)
}

func (c *captureSink) all() []*gateway.CallEvent {
	for deadline := time.Now().Add(500 * time.Millisecond); c.inflight.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*gateway.CallEvent(nil), c.evs...)
}

func (c *captureSink) last(t *testing.T) *gateway.CallEvent {
	t.Helper()
	evs := c.all()
	for deadline := time.Now().Add(5 * time.Second); len(evs) == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		evs = c.all()
	}
	if len(evs) == 0 {
		t.Fatal("no event was emitted")
	}
	return evs[len(evs)-1]
}

type env struct {
	stub *stubmodel.Server
	gw   *gateway.Gateway
	srv  *httptest.Server
	sink *captureSink
	cfg  *gateway.Config
}

type envOpt struct {
	stub    stubmodel.Options
	yaml    string // extra config lines
	decider gateway.Decider
	budgets *gateway.Budgets
	reviews *gateway.Reviews
	dept    string
	user    string
}

func newEnv(t *testing.T, o envOpt) *env {
	t.Helper()
	stub, err := stubmodel.New(o.stub)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stub.Close)
	dept := o.dept
	if dept == "" {
		dept = "engineering"
	}
	user := o.user
	if user == "" {
		user = "alice"
	}
	yml := fmt.Sprintf(`
local_key: warden-local
identity: {user: %s, device: laptop-1, department: %s}
providers:
  anthropic: {base_url: %q, api_key: sk-ant-real}
  openai: {base_url: %q, api_key: sk-openai-real}
  gemini: {base_url: %q, api_key: gemini-real}
dlp: {restore_responses: true}
%s`, user, dept, stub.URL, stub.URL, stub.URL, o.yaml)
	cfg, err := gateway.ParseConfig([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	det, err := inspect.NewDLPDetector()
	if err != nil {
		t.Fatal(err)
	}
	dec := o.decider
	if dec == nil {
		pd, err := gateway.NewPolicyDecider(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		dec = pd
	}
	sink := &captureSink{}
	gw, err := gateway.New(cfg, gateway.Options{Detector: det, Decider: dec, Sink: sink, Budgets: o.budgets, Reviews: o.reviews})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sink.serve(gw))
	t.Cleanup(srv.Close)
	return &env{stub: stub, gw: gw, srv: srv, sink: sink, cfg: cfg}
}

// apiCase builds one API's request with a prompt and a tool result.
type apiCase struct {
	name     string
	provider string
	path     func(stream bool) string
	body     func(prompt, toolOut string, stream bool) string
	auth     func(h http.Header, key string)
}

var apis = []apiCase{
	{name: "anthropic", provider: "anthropic",
		path: func(bool) string { return "/v1/messages" },
		body: func(p, tool string, s bool) string {
			return fmt.Sprintf(`{"model":"claude-opus-5-5","max_tokens":1000,"stream":%v,"system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":%q}]},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Read","input":{"file_path":"/tmp/x"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":%q}]}]}`, s, p, tool)
		},
		auth: func(h http.Header, k string) { h.Set("x-api-key", k); h.Set("anthropic-version", "2023-06-01") }},
	{name: "responses", provider: "openai",
		path: func(bool) string { return "/v1/responses" },
		body: func(p, tool string, s bool) string {
			return fmt.Sprintf(`{"model":"gpt-5.1","stream":%v,"instructions":"be brief","input":[{"role":"user","content":[{"type":"input_text","text":%q}]},{"type":"function_call","call_id":"c1","name":"exec","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":%q}]}`, s, p, tool)
		},
		auth: func(h http.Header, k string) { h.Set("Authorization", "Bearer "+k) }},
	{name: "chat", provider: "openai",
		path: func(bool) string { return "/v1/chat/completions" },
		body: func(p, tool string, s bool) string {
			return fmt.Sprintf(`{"model":"gpt-5.1","stream":%v,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":%q},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"exec","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":%q}]}`, s, p, tool)
		},
		auth: func(h http.Header, k string) { h.Set("Authorization", "Bearer "+k) }},
	{name: "gemini", provider: "gemini",
		path: func(s bool) string {
			if s {
				return "/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse"
			}
			return "/v1beta/models/gemini-3.8-flash:generateContent"
		},
		body: func(p, tool string, s bool) string {
			return fmt.Sprintf(`{"contents":[{"role":"user","parts":[{"text":%q}]},{"role":"model","parts":[{"functionCall":{"name":"read_file","args":{"path":"x"}}}]},{"role":"user","parts":[{"functionResponse":{"name":"read_file","response":{"output":%q}}}]}],"generationConfig":{"maxOutputTokens":1000}}`, p, tool)
		},
		auth: func(h http.Header, k string) { h.Set("x-goog-api-key", k) }},
}

func (e *env) call(t *testing.T, a apiCase, key, body string, stream bool) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+a.path(stream), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "claude-cli/2.1.330 (external, cli)")
	a.auth(req.Header, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// wantTokens is what the stub reports, in canonical terms.
func wantTokens(provider string, u stubmodel.Usage) (in, out int64) {
	return u.CanonicalInput(provider), u.OutputTokens
}

// TestRedactionAllAPIs: an SSN and a card number in the prompt and in a
// tool result are replaced before the stub sees the request, for every API,
// streamed and not; the response reaches the client and the event carries
// the stub's usage.
func TestRedactionAllAPIs(t *testing.T) {
	e := newEnv(t, envOpt{stub: stubmodel.Options{Text: "Noted, thanks. Anything else?"}})
	for _, a := range apis {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", a.name, stream), func(t *testing.T) {
				before := len(e.stub.Requests())
				prompt := "My SSN is " + ssn + " and my card is " + card + ", please file the form."
				tool := "Employee record: Bob, SSN " + ssn + ", started 2021."
				resp, body := e.call(t, a, "warden-local", a.body(prompt, tool, stream), stream)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				reqs := e.stub.Requests()
				if len(reqs) != before+1 {
					t.Fatalf("stub saw %d new requests, want 1", len(reqs)-before)
				}
				up := reqs[len(reqs)-1]
				for _, secret := range []string{ssn, card, "sk-ant-real-not"} {
					if bytes.Contains(up.Body, []byte(secret)) {
						t.Fatalf("upstream body still holds %q: %s", secret, up.Body)
					}
				}
				if !bytes.Contains(up.Body, []byte("[REDACTED_US_SSN_1]")) || !bytes.Contains(up.Body, []byte("[REDACTED_CREDIT_CARD_1]")) {
					t.Fatalf("upstream body lacks typed placeholders: %s", up.Body)
				}
				// The provider credential replaced the agent's dummy key.
				if k := up.Header.Get("x-api-key") + up.Header.Get("Authorization") + up.Header.Get("x-goog-api-key"); strings.Contains(k, "warden-local") || !strings.Contains(k, "real") {
					t.Fatalf("upstream auth headers: %q", k)
				}
				if !strings.Contains(body, "Noted") && !strings.Contains(body, "Not") {
					t.Fatalf("response text missing: %s", body)
				}
				ev := e.sink.last(t)
				in, out := wantTokens(a.provider, e.stub.Usage())
				if ev.Usage.Input != in || ev.Usage.Output != out {
					t.Fatalf("event tokens %d/%d, stub reported %d/%d", ev.Usage.Input, ev.Usage.Output, in, out)
				}
				if ev.Usage.CacheRead != e.stub.Usage().CacheReadTokens {
					t.Fatalf("cache read %d, want %d", ev.Usage.CacheRead, e.stub.Usage().CacheReadTokens)
				}
				if ev.Redactions != 3 || ev.Findings["us_ssn"] != 2 || ev.Findings["credit_card"] != 1 {
					t.Fatalf("redactions %d findings %v", ev.Redactions, ev.Findings)
				}
				if ev.Decision.Action != gateway.ActionRedact || ev.Decision.DecisionID == "" || ev.Decision.Revision == "" {
					t.Fatalf("decision %+v", ev.Decision)
				}
				if ev.BytesScanned == 0 || ev.BytesForwarded == 0 {
					t.Fatalf("coverage scanned=%d forwarded=%d", ev.BytesScanned, ev.BytesForwarded)
				}
				if stream && ev.TTFTMS <= 0 {
					t.Fatalf("no TTFT on a stream")
				}
			})
		}
	}
}

// TestRestorePlaceholders: a response that echoes a placeholder gets the
// original value back for the user (within this request only).
func TestRestorePlaceholders(t *testing.T) {
	e := newEnv(t, envOpt{stub: stubmodel.Options{Text: "Filed for SSN [REDACTED_US_SSN_1].", ChunkSize: 64}})
	for _, stream := range []bool{false, true} {
		_, body := e.call(t, apis[0], "warden-local", apis[0].body("SSN "+ssn, "none", stream), stream)
		if !strings.Contains(body, "Filed for SSN "+ssn) {
			t.Fatalf("stream=%v: placeholder not restored: %s", stream, body)
		}
	}
	up := e.stub.Requests()
	if bytes.Contains(up[len(up)-1].Body, []byte(ssn)) {
		t.Fatal("upstream saw the SSN")
	}
}

// TestStreamedPrivateKeyCut: a response streaming a private key is cut; the
// client gets its provider's error event and never the key material.
func TestStreamedPrivateKeyCut(t *testing.T) {
	text := "Sure, here is the server key you asked for:\n" + privateKey + "Keep it safe."
	e := newEnv(t, envOpt{stub: stubmodel.Options{Text: text, ChunkSize: 16}})
	for _, a := range apis {
		for _, stream := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/stream=%v", a.name, stream), func(t *testing.T) {
				resp, body := e.call(t, a, "warden-local", a.body("show me the key", "ok", stream), stream)
				for _, frag := range []string{"MIIEowIBAAKCAQEAu1SU1", "BEGIN RSA", "Keep it safe"} {
					if strings.Contains(body, frag) {
						t.Fatalf("client received key material %q:\n%s", frag, body)
					}
				}
				if !strings.Contains(body, "Warden") || !strings.Contains(body, "private_key") {
					t.Fatalf("no clear error:\n%s", body)
				}
				if !stream {
					if resp.StatusCode != refusedStatus(a) {
						t.Fatalf("status %d", resp.StatusCode)
					}
					assertErrorShape(t, a, []byte(body))
				} else {
					if !strings.Contains(body, "Sure, here is") {
						t.Fatalf("text before the key should have streamed: %s", body)
					}
					last := lastSSEData(body)
					assertErrorShape(t, a, last)
				}
				ev := e.sink.last(t)
				if ev.Status != "cut" || ev.Refusal != "response_blocked" {
					t.Fatalf("event status %q refusal %q", ev.Status, ev.Refusal)
				}
			})
		}
	}
}

// lastSSEData is the last event's data, or a bare JSON line (Gemini's
// mid-stream error chunk).
func lastSSEData(body string) []byte {
	var last []byte
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "data: ") {
			last = []byte(strings.TrimPrefix(l, "data: "))
		} else if strings.HasPrefix(l, "{") {
			last = []byte(l)
		}
	}
	return last
}

// assertErrorShape checks the provider's own error format.
func assertErrorShape(t *testing.T, a apiCase, b []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("error is not JSON: %s", b)
	}
	switch a.name {
	case "anthropic":
		if m["type"] != "error" || m["error"].(map[string]any)["message"] == nil {
			t.Fatalf("not an Anthropic error: %s", b)
		}
	case "gemini":
		er := m["error"].(map[string]any)
		if er["status"] == nil || er["message"] == nil {
			t.Fatalf("not a Gemini error: %s", b)
		}
	case "responses":
		if m["type"] == "response.failed" {
			if m["response"].(map[string]any)["error"].(map[string]any)["message"] == nil {
				t.Fatalf("bad response.failed: %s", b)
			}
			return
		}
		fallthrough
	default:
		if m["error"].(map[string]any)["message"] == nil {
			t.Fatalf("not an OpenAI error: %s", b)
		}
	}
}

// TestToolCallsPassThrough: a streamed tool call reaches the client intact.
func TestToolCallsPassThrough(t *testing.T) {
	e := newEnv(t, envOpt{stub: stubmodel.Options{ToolUse: &stubmodel.ToolUse{Name: "Read", Input: `{"file_path":"/etc/hosts"}`}}})
	for _, a := range apis {
		for _, stream := range []bool{false, true} {
			// A fresh conversation (no tool result) so the stub answers with a tool call.
			var body string
			switch a.name {
			case "anthropic":
				body = fmt.Sprintf(`{"model":"claude-opus-5-5","max_tokens":100,"stream":%v,"messages":[{"role":"user","content":"read hosts"}]}`, stream)
			case "responses":
				body = fmt.Sprintf(`{"model":"gpt-5.1","stream":%v,"input":"read hosts"}`, stream)
			case "chat":
				continue // the stub answers chat with text only
			case "gemini":
				body = `{"contents":[{"role":"user","parts":[{"text":"read hosts"}]}]}`
			}
			resp, out := e.call(t, a, "warden-local", body, stream)
			if resp.StatusCode != 200 || !strings.Contains(out, "/etc/hosts") || !strings.Contains(out, "Read") {
				t.Fatalf("%s stream=%v: tool call lost (%d): %s", a.name, stream, resp.StatusCode, out)
			}
		}
	}
}

// TestFailClosed: policy that cannot be evaluated refuses every call with a
// clear error, in the provider's format, and nothing reaches the provider.
func TestFailClosed(t *testing.T) {
	_, err := gateway.NewPolicyDecider(context.Background(), writeCorruptBundle(t))
	if err == nil || !strings.Contains(err.Error(), "policy.bundle") {
		t.Fatalf("corrupt bundle: err = %v", err)
	}
	e := newEnv(t, envOpt{decider: gateway.FailClosed{Err: err}})
	for _, a := range apis {
		resp, body := e.call(t, a, "warden-local", a.body("hello", "ok", false), false)
		if resp.StatusCode != refusedStatus(a) || !strings.Contains(body, "policy could not be evaluated") || !strings.Contains(body, "fails closed") {
			t.Fatalf("%s: %d %s", a.name, resp.StatusCode, body)
		}
		assertErrorShape(t, a, []byte(body))
	}
	if n := e.stub.ModelCalls(); n != 0 {
		t.Fatalf("stub saw %d calls with policy down", n)
	}

	// A bundle that loads (it decides the engine's probes) but cannot
	// decide this model: the real engine's evaluation error refuses the
	// call.
	dir := t.TempDir()
	if err := writeFile(dir+"/main.rego", "package warden.main\n\nimport rego.v1\n\ndecision := {\"decision\": \"allow\"} if not input.model.name == \"claude-opus-5-5\"\n"); err != nil {
		t.Fatal(err)
	}
	pd, err := gateway.NewPolicyDecider(context.Background(), dir)
	if err != nil {
		t.Fatalf("bundle should load: %v", err)
	}
	e2 := newEnv(t, envOpt{decider: pd})
	resp, body := e2.call(t, apis[0], "warden-local", apis[0].body("hello", "ok", true), true)
	if resp.StatusCode != 403 || !strings.Contains(body, "undefined") || !strings.Contains(body, "fails closed") {
		t.Fatalf("undecidable policy: %d %s", resp.StatusCode, body)
	}
	if e2.stub.ModelCalls() != 0 {
		t.Fatal("an undecided call reached the provider")
	}
	if ev := e2.sink.last(t); ev.Refusal != "policy_unavailable" || ev.Decision.Action != gateway.ActionBlock {
		t.Fatalf("event %+v", ev.Decision)
	}
}

func writeCorruptBundle(t *testing.T) string {
	dir := t.TempDir()
	if err := writeFile(dir+"/main.rego", "package warden.main\n\ndecision := {\"decision\": \"allow\"  # unterminated\n"); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestUnknownModelAndDestination: the default bundle refuses an unapproved
// model and an unapproved endpoint, with the rule and a remediation.
func TestUnknownModelAndDestination(t *testing.T) {
	e := newEnv(t, envOpt{})
	resp, body := e.call(t, apis[2], "warden-local", `{"model":"llama-evil-1","messages":[{"role":"user","content":"hi"}]}`, false)
	if resp.StatusCode != 400 || !strings.Contains(body, "warden.model.not_approved") || !strings.Contains(body, "approved model") {
		t.Fatalf("unknown model: %d %s", resp.StatusCode, body)
	}
	if e.stub.ModelCalls() != 0 {
		t.Fatal("unknown model reached the provider")
	}
	// A provider configured at an unapproved host.
	stub, _ := stubmodel.New(stubmodel.Options{})
	defer stub.Close()
	cfg, err := gateway.ParseConfig([]byte(fmt.Sprintf("identity: {user: a, device: d}\nproviders:\n  anthropic: {base_url: %q}\n",
		strings.Replace(stub.URL, "127.0.0.1", "127.0.0.9", 1))))
	if err != nil {
		t.Fatal(err)
	}
	det, _ := inspect.NewDLPDetector()
	pd, _ := gateway.NewPolicyDecider(context.Background(), "")
	gw, _ := gateway.New(cfg, gateway.Options{Detector: det, Decider: pd})
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/messages", strings.NewReader(`{"model":"claude-opus-5-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)))
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "warden.model.endpoint_not_approved") {
		t.Fatalf("unknown destination: %d %s", rec.Code, rec.Body.String())
	}
	if stub.ModelCalls() != 0 {
		t.Fatal("unapproved destination was called")
	}
}

// TestAuth: local mode accepts only the local key; central mode maps device
// tokens to identities and refuses anything else.
func TestAuth(t *testing.T) {
	e := newEnv(t, envOpt{})
	resp, body := e.call(t, apis[0], "sk-ant-someone-elses", apis[0].body("hi", "x", false), false)
	if resp.StatusCode != 401 || !strings.Contains(body, "local_key") {
		t.Fatalf("wrong local key: %d %s", resp.StatusCode, body)
	}
	stub, _ := stubmodel.New(stubmodel.Options{})
	defer stub.Close()
	cfg, err := gateway.ParseConfig([]byte(fmt.Sprintf(`mode: central
devices:
  - {token_sha256: %s, user: bob, device: bob-mac, department: engineering}
providers:
  anthropic: {base_url: %q, api_key: real}
`, gateway.HashToken("dev-token-bob"), stub.URL)))
	if err != nil {
		t.Fatal(err)
	}
	det, _ := inspect.NewDLPDetector()
	pd, _ := gateway.NewPolicyDecider(context.Background(), "")
	sink := &captureSink{}
	gw, _ := gateway.New(cfg, gateway.Options{Detector: det, Decider: pd, Sink: sink})
	for _, tc := range []struct {
		key  string
		code int
	}{{"dev-token-bob", 200}, {"warden-local", 401}, {"", 401}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(`{"model":"claude-opus-5-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("x-api-key", tc.key)
		gw.ServeHTTP(rec, req)
		if rec.Code != tc.code {
			t.Fatalf("key %q: %d %s", tc.key, rec.Code, rec.Body.String())
		}
	}
	if ev := sink.all()[0]; ev.Identity.User != "bob" || ev.Identity.Device != "bob-mac" {
		t.Fatalf("identity %+v", ev.Identity)
	}
	if stub.ModelCalls() != 1 {
		t.Fatalf("stub calls %d", stub.ModelCalls())
	}
}

// TestConfigErrorsNameTheKey.
func TestConfigErrorsNameTheKey(t *testing.T) {
	for yml, key := range map[string]string{
		"providers: {anthropic: {base_url: ftp://x}}":                                                                         "providers.anthropic.base_url",
		"providers: {mistral: {base_url: http://x}}":                                                                          "providers.mistral",
		"mode: edge\nproviders: {openai: {base_url: http://x}}":                                                               "mode",
		"providers: {openai: {base_url: http://x}}\nbudgets: {limits: [{scope: user, match: '*', tokens: 5}]}":                "budgets.store",
		"providers: {openai: {base_url: http://x}}\nbudgets: {store: /tmp/x, limits: [{scope: team, match: '*', tokens: 5}]}": "budgets.limits[0].scope",
		"providers: {openai: {base_url: http://x}}\nrate_limits: {per_user: {per_second: 0, burst: 1}}":                       "rate_limits.per_user",
		"providers: {openai: {base_url: http://x}}\nbogus_key: 1":                                                             "bogus_key",
		"mode: central\nproviders: {openai: {base_url: http://x}}":                                                            "devices",
		"providers: {openai: {base_url: http://x, api_key_env: WARDEN_TEST_UNSET_ENV}}":                                       "providers.openai.api_key_env",
	} {
		_, err := gateway.ParseConfig([]byte(yml))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: err = %v, want it to name %s", yml, err, key)
		}
	}
}

// TestNotFoundInProviderFormat: an unknown path is refused in a format the
// agent understands.
func TestNotFoundInProviderFormat(t *testing.T) {
	e := newEnv(t, envOpt{})
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/models", nil)
	req.Header.Set("x-api-key", "warden-local")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"type":"error"`) || !strings.Contains(string(b), "not a model API") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	_ = time.Second
}

// TestCountTokensInspected: token-counting calls carry the prompt, so they
// are redacted like any other call.
func TestCountTokensInspected(t *testing.T) {
	e := newEnv(t, envOpt{})
	for _, c := range []struct{ path, body, hdr string }{
		{"/v1/messages/count_tokens", `{"model":"claude-opus-5-5","messages":[{"role":"user","content":"SSN ` + ssn + `"}]}`, "x-api-key"},
		{"/v1beta/models/gemini-3.8-flash:countTokens", `{"contents":[{"role":"user","parts":[{"text":"SSN ` + ssn + `"}]}]}`, "x-goog-api-key"},
	} {
		req, _ := http.NewRequest("POST", e.srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set(c.hdr, "warden-local")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "okens") {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, b)
		}
		reqs := e.stub.Requests()
		if last := reqs[len(reqs)-1]; last.Path != c.path || bytes.Contains(last.Body, []byte(ssn)) {
			t.Fatalf("%s: upstream saw %s %s", c.path, last.Path, last.Body)
		}
	}
	// Probes are answered locally.
	resp, _ := http.Head(e.srv.URL + "/api/hello")
	if resp.StatusCode != 200 {
		t.Fatalf("probe: %d", resp.StatusCode)
	}
}

// TestCompressedRequest: a gzip-compressed prompt is decompressed,
// inspected and redacted like any other; the upstream gets plain JSON.
func TestCompressedRequest(t *testing.T) {
	e := newEnv(t, envOpt{})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(apis[1].body("SSN "+ssn, "x", false)))
	zw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/responses", &buf)
	req.Header.Set("Authorization", "Bearer warden-local")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	up := e.stub.Requests()[0]
	if bytes.Contains(up.Body, []byte(ssn)) || !bytes.Contains(up.Body, []byte("[REDACTED_US_SSN_1]")) || up.Header.Get("Content-Encoding") != "" {
		t.Fatalf("upstream got %q %s", up.Header.Get("Content-Encoding"), up.Body)
	}
	req, _ = http.NewRequest("POST", e.srv.URL+"/v1/responses", strings.NewReader("x"))
	req.Header.Set("Authorization", "Bearer warden-local")
	req.Header.Set("Content-Encoding", "br")
	resp, _ = http.DefaultClient.Do(req)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "not supported") {
		t.Fatalf("br: %d %s", resp.StatusCode, b)
	}
}

// refusedStatus: OpenAI APIs get Warden's refusals as 400 (Codex retries
// 403s), the others as 403.
func refusedStatus(a apiCase) int {
	if a.provider == "openai" {
		return 400
	}
	return 403
}
