package gateway

import (
	"bytes"
	"fmt"
	json "github.com/goccy/go-json"
	"net/http"
	"strings"
)

// The three provider APIs differ in paths, JSON shapes, usage blocks, SSE
// events and error formats; everything else in the gateway is shared. An
// apiKind captures one API's differences as data plus small functions, so
// the call pipeline in gateway.go never switches on the provider.

type apiKind struct {
	provider string // anthropic | openai | gemini
	endpoint string // messages | responses | chat_completions | generate_content
	// roots are the top-level request keys holding message content.
	roots []string
	// count: a token-counting call. It carries the prompt (so it is
	// inspected and redacted like any call) but generates nothing and is
	// not budgeted.
	count bool
}

var (
	apiAnthropic = &apiKind{provider: "anthropic", endpoint: "messages", roots: []string{"system", "messages"}}
	apiResponses = &apiKind{provider: "openai", endpoint: "responses", roots: []string{"instructions", "input"}}
	apiChat      = &apiKind{provider: "openai", endpoint: "chat_completions", roots: []string{"messages"}}
	apiGemini    = &apiKind{provider: "gemini", endpoint: "generate_content", roots: []string{"systemInstruction", "contents"}}

	apiAnthropicCount = &apiKind{provider: "anthropic", endpoint: "count_tokens", roots: apiAnthropic.roots, count: true}
	apiGeminiCount    = &apiKind{provider: "gemini", endpoint: "count_tokens", roots: []string{"systemInstruction", "contents", "generateContentRequest"}, count: true}
)

// usageAPI is the API whose usage/stream shapes a kind shares.
func (a *apiKind) base() *apiKind {
	switch a {
	case apiAnthropicCount:
		return apiAnthropic
	case apiGeminiCount:
		return apiGemini
	}
	return a
}

// route maps a request path to its API. Gemini carries the model and the
// streaming flag in the path: /v1beta/models/{model}:streamGenerateContent.
func route(r *http.Request) (api *apiKind, model string, stream bool, ok bool) {
	p := r.URL.Path
	switch p {
	case "/v1/messages":
		return apiAnthropic, "", false, true
	case "/v1/responses":
		return apiResponses, "", false, true
	case "/v1/chat/completions":
		return apiChat, "", false, true
	case "/v1/messages/count_tokens":
		return apiAnthropicCount, "", false, true
	}
	if i := strings.LastIndex(p, "/models/"); i >= 0 && strings.HasPrefix(p, "/v1") {
		rest := p[i+len("/models/"):]
		if m, op, found := strings.Cut(rest, ":"); found && m != "" {
			switch op {
			case "generateContent":
				return apiGemini, m, false, true
			case "streamGenerateContent":
				return apiGemini, m, true, true
			case "countTokens":
				return apiGeminiCount, m, false, true
			}
		}
	}
	return nil, "", false, false
}

// apiFromPathPrefix guesses the API of a request that did not route, so
// even "not found" goes back in a format the agent understands.
func apiFromPathPrefix(r *http.Request) *apiKind {
	switch {
	case r.Header.Get("x-api-key") != "", r.Header.Get("anthropic-version") != "":
		return apiAnthropic
	case strings.HasPrefix(r.URL.Path, "/v1beta/"), r.Header.Get("x-goog-api-key") != "":
		return apiGemini
	}
	return apiChat
}

// clientKey is the API key the agent presented, in its API's place.
func clientKey(api *apiKind, r *http.Request) string {
	if k := r.Header.Get("x-api-key"); k != "" {
		return k
	}
	if k := r.Header.Get("x-goog-api-key"); k != "" {
		return k
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	if api.base() == apiGemini {
		return r.URL.Query().Get("key")
	}
	return ""
}

// setUpstreamAuth replaces whatever the agent sent with the provider
// credential the gateway holds.
func setUpstreamAuth(api *apiKind, h http.Header, key string) {
	h.Del("x-api-key")
	h.Del("x-goog-api-key")
	h.Del("Authorization")
	if key == "" {
		return
	}
	switch api.provider {
	case "anthropic":
		h.Set("x-api-key", key)
	case "openai":
		h.Set("Authorization", "Bearer "+key)
	case "gemini":
		h.Set("x-goog-api-key", key)
	}
}

// ---- requests ----

// textRef points at one string inside a decoded JSON document so the
// gateway can scan it and, if policy says so, replace it in place.
type textRef struct {
	m    map[string]any // parent object, or
	s    []any          // parent array
	key  string
	idx  int
	part string // schema.Part*
	role string
}

func (t textRef) get() string {
	if t.m != nil {
		s, _ := t.m[t.key].(string)
		return s
	}
	s, _ := t.s[t.idx].(string)
	return s
}

func (t textRef) set(v string) {
	if t.m != nil {
		t.m[t.key] = v
	} else {
		t.s[t.idx] = v
	}
}

// skipKeys hold identifiers, enums and binary payloads, not content.
var skipKeys = map[string]bool{
	"type": true, "role": true, "id": true, "tool_use_id": true, "call_id": true, "model": true,
	"signature": true, "media_type": true, "mimeType": true, "mime_type": true, "data": true,
	"cache_control": true, "status": true, "name": true, "index": true, "encrypted_content": true,
	"image_url": true, "fileUri": true, "file_id": true, "thoughtSignature": true, "format": true,
}

func walkText(v any, part, role string, out []textRef) []textRef {
	switch x := v.(type) {
	case map[string]any:
		part, role = classify(x, part, role)
		for k, c := range x {
			if skipKeys[k] {
				continue
			}
			p := part
			switch k {
			case "functionCall", "tool_calls", "function_call":
				p = "tool_input"
			case "functionResponse":
				p = "tool_output"
			}
			if s, ok := c.(string); ok {
				if s != "" {
					out = append(out, textRef{m: x, key: k, part: p, role: role})
				}
				continue
			}
			out = walkText(c, p, role, out)
		}
	case []any:
		for i, c := range x {
			if s, ok := c.(string); ok {
				if s != "" {
					out = append(out, textRef{s: x, idx: i, part: part, role: role})
				}
				continue
			}
			out = walkText(c, part, role, out)
		}
	}
	return out
}

// classify derives the message part of an object from its role or type.
func classify(m map[string]any, part, role string) (string, string) {
	if r, ok := m["role"].(string); ok {
		role = r
		switch r {
		case "system", "developer":
			part = "system"
		case "tool", "function":
			part = "tool_output"
		case "assistant", "model":
			part = "response"
		case "user":
			part = "prompt"
		}
	}
	if t, ok := m["type"].(string); ok {
		switch t {
		case "tool_result", "function_call_output", "custom_tool_call_output", "mcp_call_output":
			part = "tool_output"
		case "tool_use", "function_call", "custom_tool_call", "server_tool_use":
			part = "tool_input"
		}
	}
	return part, role
}

func numberField(m map[string]any, keys ...string) int64 {
	for _, k := range keys {
		switch n := m[k].(type) {
		case json.Number:
			if v, err := n.Int64(); err == nil && v > 0 {
				return v
			}
		case float64:
			if n > 0 {
				return int64(n)
			}
		}
	}
	return 0
}

// ---- usage ----

// Usage is a call's token usage in canonical (OTel GenAI) terms: Input
// counts all input tokens, cached ones included.
type Usage struct {
	Input, Output, CacheRead, CacheWrite, Reasoning int64
	Seen                                            bool
}

func num(v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return i
	case float64:
		return int64(n)
	}
	return 0
}

func obj(v any, path ...string) map[string]any {
	m, _ := v.(map[string]any)
	for _, k := range path {
		if m == nil {
			return nil
		}
		m, _ = m[k].(map[string]any)
	}
	return m
}

// mergeUsage folds a usage block (from a response or one stream event)
// into u. Streams report usage in pieces (Anthropic: input at
// message_start, output at message_delta) or cumulatively (Gemini), so a
// later non-zero value replaces an earlier one.
func mergeUsage(api *apiKind, u *Usage, blk map[string]any) {
	if blk == nil {
		return
	}
	set := func(dst *int64, v int64) {
		if v > 0 {
			*dst = v
		}
	}
	u.Seen = true
	switch api.base() {
	case apiAnthropic:
		in, cr, cw := num(blk["input_tokens"]), num(blk["cache_read_input_tokens"]), num(blk["cache_creation_input_tokens"])
		if in+cr+cw > 0 {
			u.Input = in + cr + cw
		}
		set(&u.CacheRead, cr)
		set(&u.CacheWrite, cw)
		set(&u.Output, num(blk["output_tokens"]))
	case apiResponses:
		set(&u.Input, num(blk["input_tokens"]))
		set(&u.Output, num(blk["output_tokens"]))
		set(&u.CacheRead, num(obj(blk, "input_tokens_details")["cached_tokens"]))
		set(&u.Reasoning, num(obj(blk, "output_tokens_details")["reasoning_tokens"]))
	case apiChat:
		set(&u.Input, num(blk["prompt_tokens"]))
		set(&u.Output, num(blk["completion_tokens"]))
		set(&u.CacheRead, num(obj(blk, "prompt_tokens_details")["cached_tokens"]))
		set(&u.Reasoning, num(obj(blk, "completion_tokens_details")["reasoning_tokens"]))
	case apiGemini:
		set(&u.Input, num(blk["promptTokenCount"]))
		set(&u.Output, num(blk["candidatesTokenCount"]))
		set(&u.CacheRead, num(blk["cachedContentTokenCount"]))
		set(&u.Reasoning, num(blk["thoughtsTokenCount"]))
	}
}

// usageBlock finds the usage object in a whole response or one stream
// event's data.
func usageBlock(api *apiKind, doc map[string]any) map[string]any {
	switch api.base() {
	case apiAnthropic:
		if u := obj(doc, "usage"); u != nil {
			return u
		}
		return obj(doc, "message", "usage")
	case apiResponses:
		if u := obj(doc, "usage"); u != nil {
			return u
		}
		return obj(doc, "response", "usage")
	case apiChat:
		return obj(doc, "usage")
	default:
		return obj(doc, "usageMetadata")
	}
}

// ---- stream events ----

// eventTexts returns pointers to the generated text of one stream event
// (text deltas and tool-call argument deltas), the part a stream scanner
// must see before the event may be forwarded.
func eventTexts(api *apiKind, doc map[string]any) []textRef {
	var out []textRef
	add := func(m map[string]any, k string) {
		if s, ok := m[k].(string); ok && s != "" {
			out = append(out, textRef{m: m, key: k, part: "response"})
		}
	}
	switch api.base() {
	case apiAnthropic:
		if d := obj(doc, "delta"); d != nil {
			add(d, "text")
			add(d, "partial_json")
			add(d, "thinking")
		}
		if cb := obj(doc, "content_block"); cb != nil {
			add(cb, "text")
		}
	case apiResponses:
		t, _ := doc["type"].(string)
		if strings.HasSuffix(t, ".delta") {
			add(doc, "delta")
		}
	case apiChat:
		ch, _ := doc["choices"].([]any)
		for _, c := range ch {
			d := obj(c, "delta")
			if d == nil {
				continue
			}
			add(d, "content")
			add(d, "reasoning_content")
			tc, _ := d["tool_calls"].([]any)
			for _, t := range tc {
				if f := obj(t, "function"); f != nil {
					add(f, "arguments")
				}
			}
		}
	case apiGemini:
		cands, _ := doc["candidates"].([]any)
		for _, c := range cands {
			parts, _ := obj(c, "content")["parts"].([]any)
			for _, p := range parts {
				pm, _ := p.(map[string]any)
				if pm == nil {
					continue
				}
				add(pm, "text")
				if fc := obj(pm, "functionCall"); fc != nil {
					out = walkText(fc["args"], "response", "", out)
				}
			}
		}
	}
	return out
}

// responseTexts returns every generated string of a whole (non-streamed)
// response.
func responseTexts(api *apiKind, doc map[string]any) []textRef {
	var roots []any
	switch api.base() {
	case apiAnthropic:
		roots = append(roots, doc["content"])
	case apiResponses:
		roots = append(roots, doc["output"])
	case apiChat:
		roots = append(roots, doc["choices"])
	case apiGemini:
		roots = append(roots, doc["candidates"])
	}
	var out []textRef
	for _, r := range roots {
		out = walkText(r, "response", "", out)
	}
	return out
}

// ---- errors in the provider's own format ----

// wardenError is a refusal shown to the agent's user.
type wardenError struct {
	status int
	code   string // machine-readable reason: policy_blocked, budget_exceeded, ...
	msg    string
}

func (e *wardenError) Error() string { return e.msg }

func errf(status int, code, format string, a ...any) *wardenError {
	return &wardenError{status: status, code: code, msg: "Warden: " + fmt.Sprintf(format, a...)}
}

func anthropicErrType(status int) string {
	switch status {
	case 400, 413:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 429:
		return "rate_limit_error"
	}
	return "api_error"
}

func geminiStatus(status int) string {
	switch status {
	case 400, 413:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	return "INTERNAL"
}

// errorBody is the provider's JSON error object for e.
func errorBody(api *apiKind, e *wardenError) map[string]any {
	switch api.base() {
	case apiAnthropic:
		return map[string]any{"type": "error", "error": map[string]any{"type": anthropicErrType(e.status), "message": e.msg}}
	case apiGemini:
		return map[string]any{"error": map[string]any{"code": e.status, "message": e.msg, "status": geminiStatus(e.status)}}
	default:
		typ := "invalid_request_error"
		if e.status >= 500 {
			typ = "server_error"
		}
		return map[string]any{"error": map[string]any{"message": e.msg, "type": typ, "param": nil, "code": e.code}}
	}
}

// wireStatus is the HTTP status a refusal is sent with. OpenAI clients
// (Codex) retry a 403 as if it were transient, while OpenAI itself
// answers a refused request (content policy, invalid prompt) with 400,
// which they show at once; so a Warden refusal goes to OpenAI APIs as 400.
// Anthropic and Gemini clients stop on 403 (Claude Code retries some 400s
// with other settings).
func wireStatus(api *apiKind, status int) int {
	if api.base().provider == "openai" && status == http.StatusForbidden {
		return http.StatusBadRequest
	}
	return status
}

// writeError answers a request that has not started streaming.
func writeError(w http.ResponseWriter, api *apiKind, e *wardenError) {
	b, _ := json.Marshal(errorBody(api, e))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Warden-Refusal", e.code)
	w.WriteHeader(wireStatus(api, e.status))
	_, _ = w.Write(b)
}

// streamErrorEvent is the SSE event that ends a stream with e, as each
// provider signals a mid-stream failure.
func streamErrorEvent(api *apiKind, e *wardenError, seq int64) []byte {
	var name string
	var data any = errorBody(api, e)
	switch api.base() {
	case apiAnthropic:
		name = "error"
	case apiResponses:
		name = "response.failed"
		// Codex retries a failed response unless its error code says
		// retrying cannot help; "invalid_prompt" is the code that makes it
		// stop and show the message (a policy cut is just as final).
		// Warden's own reason stays in warden_code.
		data = map[string]any{"type": "response.failed", "sequence_number": seq, "response": map[string]any{
			"object": "response", "status": "failed",
			"error": map[string]any{"code": "invalid_prompt", "message": e.msg, "warden_code": e.code}}}
	}
	b, _ := json.Marshal(data)
	if api.base() == apiGemini {
		// Gemini reports a mid-stream failure as a bare JSON error object
		// in its own chunk (no "data:" line); Google's SDKs parse each
		// chunk for it and raise the error with its message.
		return append(b, '\n')
	}
	var buf bytes.Buffer
	if name != "" {
		buf.WriteString("event: " + name + "\n")
	}
	buf.WriteString("data: ")
	buf.Write(b)
	buf.WriteString("\n\n")
	return buf.Bytes()
}
