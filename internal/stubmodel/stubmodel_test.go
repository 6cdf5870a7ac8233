package stubmodel

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// sseData returns the JSON payloads of an SSE stream, in order.
func sseData(t *testing.T, r io.Reader) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "data: ") || line == "data: [DONE]" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line[6:]), &m); err != nil {
			t.Fatalf("bad SSE data %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: status %d", url, resp.StatusCode)
	}
	return resp
}

func num(m map[string]any, path ...string) float64 {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return -1
		}
		v = mm[p]
	}
	f, ok := v.(float64)
	if !ok {
		return -1
	}
	return f
}

func TestAnthropicStreamingUsageAndText(t *testing.T) {
	s, err := New(Options{Text: "-----BEGIN PRIVATE KEY-----abc", ChunkSize: 5,
		Usage: &Usage{InputTokens: 7, OutputTokens: 3, CacheReadTokens: 11, CacheWriteTokens: 13, CacheWrite1hTokens: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp := post(t, s.URL+"/v1/messages?beta=true", `{"model":"claude-opus-5-5","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.Header.Get("request-id") == "" {
		t.Error("no request-id header")
	}
	evs := sseData(t, resp.Body)
	var text strings.Builder
	var final map[string]any
	for _, e := range evs {
		switch e["type"] {
		case "content_block_delta":
			text.WriteString(e["delta"].(map[string]any)["text"].(string))
		case "message_delta":
			final = e["usage"].(map[string]any)
		}
	}
	if text.String() != "-----BEGIN PRIVATE KEY-----abc" {
		t.Errorf("text = %q", text.String())
	}
	if evs[0]["type"] != "message_start" || evs[len(evs)-1]["type"] != "message_stop" {
		t.Errorf("stream framing: first %v last %v", evs[0]["type"], evs[len(evs)-1]["type"])
	}
	if num(final, "input_tokens") != 7 || num(final, "output_tokens") != 3 || num(final, "cache_read_input_tokens") != 11 ||
		num(final, "cache_creation_input_tokens") != 15 || num(final, "cache_creation", "ephemeral_1h_input_tokens") != 2 {
		t.Errorf("usage = %v", final)
	}
	if got := (Usage{InputTokens: 7, CacheReadTokens: 11, CacheWriteTokens: 13, CacheWrite1hTokens: 2}).CanonicalInput("anthropic"); got != 33 {
		t.Errorf("canonical input = %d", got)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/v1/messages" || reqs[0].Query != "beta=true" || !strings.Contains(string(reqs[0].Body), `"hi"`) {
		t.Errorf("request log = %+v", reqs)
	}
}

func TestAnthropicToolUseThenText(t *testing.T) {
	s, _ := New(Options{ToolUse: &ToolUse{Name: "Read", Input: `{"file_path":"/tmp/x"}`}})
	defer s.Close()
	var m map[string]any
	json.NewDecoder(post(t, s.URL+"/v1/messages", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`).Body).Decode(&m)
	c := m["content"].([]any)[0].(map[string]any)
	if c["type"] != "tool_use" || c["name"] != "Read" || c["input"].(map[string]any)["file_path"] != "/tmp/x" || m["stop_reason"] != "tool_use" {
		t.Errorf("first answer = %v", m)
	}
	json.NewDecoder(post(t, s.URL+"/v1/messages", `{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x"}]}]}`).Body).Decode(&m)
	if m["content"].([]any)[0].(map[string]any)["text"] != "OK." {
		t.Errorf("second answer = %v", m)
	}
	if s.ModelCalls() != 2 {
		t.Errorf("model calls = %d", s.ModelCalls())
	}
}

func TestResponsesStreamCompletedUsage(t *testing.T) {
	s, _ := New(Options{Text: "hello world", Usage: &Usage{InputTokens: 100, OutputTokens: 20, CacheReadTokens: 50, ReasoningTokens: 4}})
	defer s.Close()
	evs := sseData(t, post(t, s.URL+"/v1/responses", `{"model":"gpt-6.1-sol","stream":true,"input":[]}`).Body)
	last := evs[len(evs)-1]
	if last["type"] != "response.completed" {
		t.Fatalf("last event %v", last["type"])
	}
	r := last["response"].(map[string]any)
	if num(r, "usage", "input_tokens") != 150 || num(r, "usage", "input_tokens_details", "cached_tokens") != 50 ||
		num(r, "usage", "output_tokens") != 20 || num(r, "usage", "output_tokens_details", "reasoning_tokens") != 4 {
		t.Errorf("usage = %v", r["usage"])
	}
	var text strings.Builder
	for _, e := range evs {
		if e["type"] == "response.output_text.delta" {
			text.WriteString(e["delta"].(string))
		}
	}
	if text.String() != "hello world" {
		t.Errorf("text = %q", text.String())
	}
	resp := post(t, s.URL+"/v1/analytics/codex/turn-costs", `{"turn_ids":["a"]}`)
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "turn_costs") {
		t.Errorf("turn-costs = %s", b)
	}
}

func TestChatCompletionsStreamUsage(t *testing.T) {
	s, _ := New(Options{})
	defer s.Close()
	evs := sseData(t, post(t, s.URL+"/v1/chat/completions", `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`).Body)
	u := evs[len(evs)-1]["usage"].(map[string]any)
	if num(u, "prompt_tokens") != 150 || num(u, "prompt_tokens_details", "cached_tokens") != 50 || num(u, "completion_tokens") != 20 {
		t.Errorf("usage = %v", u)
	}
}

func TestGeminiStreamAndClassifier(t *testing.T) {
	s, _ := New(Options{Text: "abcdefghijkl", ChunkSize: 4})
	defer s.Close()
	evs := sseData(t, post(t, s.URL+"/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse", `{"contents":[]}`).Body)
	if len(evs) != 3 {
		t.Fatalf("%d chunks", len(evs))
	}
	last := evs[2]
	if num(last, "usageMetadata", "promptTokenCount") != 150 || num(last, "usageMetadata", "cachedContentTokenCount") != 50 {
		t.Errorf("usage = %v", last["usageMetadata"])
	}
	var m map[string]any
	json.NewDecoder(post(t, s.URL+"/v1beta/models/gemini-3.5-flash-lite:generateContent",
		`{"contents":[],"generationConfig":{"responseMimeType":"application/json"}}`).Body).Decode(&m)
	txt := m["candidates"].([]any)[0].(map[string]any)["content"].(map[string]any)["parts"].([]any)[0].(map[string]any)["text"].(string)
	var cls map[string]any
	if err := json.Unmarshal([]byte(txt), &cls); err != nil || num(cls, "complexity_score") < 1 {
		t.Errorf("classifier answer %q (%v)", txt, err)
	}
	resp, err := http.Head(s.URL + "/api/hello")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("HEAD /api/hello: %v %v", resp, err)
	}
}
