package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestRedactedBodyKeepsNumbers: the redacted request is re-encoded; its
// numbers (small ints, floats, and integers beyond 2^53 that a float64
// would round) reach the provider with their values unchanged, and escapes
// in the prompt survive.
func TestRedactedBodyKeepsNumbers(t *testing.T) {
	e := newEnv(t, envOpt{})
	a := apis[2] // chat completions
	for _, seed := range []string{"42", "12345678901234567891", "-9007199254740993"} {
		t.Run(seed, func(t *testing.T) {
			prompt := "line one\n\"quoted\" \\ tab\t SSN " + ssn + " <b>&</b> é"
			body := fmt.Sprintf(`{"model":"gpt-5.1","max_tokens":1000,"temperature":0.7,"top_p":1e-3,"seed":%s,"messages":[{"role":"user","content":%q}]}`, seed, prompt)
			if !strings.Contains(a.path(false), "chat/completions") {
				t.Fatalf("apis[2] is %s", a.path(false))
			}
			resp, out := e.call(t, a, "warden-local", body, false)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, out)
			}
			reqs := e.stub.Requests()
			up := reqs[len(reqs)-1].Body
			if bytes.Contains(up, []byte(ssn)) || !bytes.Contains(up, []byte("[REDACTED_US_SSN_1]")) {
				t.Fatalf("not redacted: %s", up)
			}
			dec := json.NewDecoder(bytes.NewReader(up))
			dec.UseNumber()
			var got map[string]any
			if err := dec.Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got["seed"].(json.Number).String() != seed {
				t.Fatalf("seed %v reached the provider as %v", seed, got["seed"])
			}
			if got["max_tokens"].(json.Number).String() != "1000" || got["temperature"].(json.Number).String() != "0.7" {
				t.Fatalf("numbers changed: %s", up)
			}
			if f, _ := got["top_p"].(json.Number).Float64(); f != 1e-3 {
				t.Fatalf("top_p %v", got["top_p"])
			}
			msg := got["messages"].([]any)[0].(map[string]any)["content"].(string)
			if want := strings.Replace(prompt, ssn, "[REDACTED_US_SSN_1]", 1); msg != want {
				t.Fatalf("prompt %q, want %q", msg, want)
			}
		})
	}
}

// TestWholeResponseHasLength: a non-streamed answer carries its length, so
// the client has all of it before the gateway seals and emits the event
// (a chunked answer's last chunk would wait for that).
func TestWholeResponseHasLength(t *testing.T) {
	e := newEnv(t, envOpt{})
	for _, a := range apis {
		t.Run(a.name, func(t *testing.T) {
			resp, out := e.call(t, a, "warden-local", a.body("hello", "ok", false), false)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, out)
			}
			if resp.ContentLength != int64(len(out)) || len(resp.TransferEncoding) != 0 {
				t.Fatalf("content-length %d (body %d), transfer-encoding %v", resp.ContentLength, len(out), resp.TransferEncoding)
			}
		})
	}
}
