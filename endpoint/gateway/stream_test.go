package gateway_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/internal/stubmodel"
)

// TestStreamEventsNotHeldBack: the gateway writes events the upstream has
// already sent in one flush, but never keeps a written event back while it
// waits for the next one: with the stub pausing between chunks, each text
// chunk reaches the client a pause before the next.
func TestStreamEventsNotHeldBack(t *testing.T) {
	const pause = 150 * time.Millisecond
	e := newEnv(t, envOpt{stub: stubmodel.Options{Text: "Here is a short summary.", ChunkSize: 8, ChunkDelay: pause}})
	body := `{"model":"gpt-5.1","stream":true,"messages":[{"role":"user","content":"summarise"}]}`
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer warden-local")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var at []time.Time
	var got strings.Builder
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if i := strings.Index(line, `"content":"`); i >= 0 && !strings.Contains(line, `"content":""`) {
			at = append(at, time.Now())
			got.WriteString(line[i+len(`"content":"`) : i+len(`"content":"`)+strings.IndexByte(line[i+len(`"content":"`):], '"')])
		}
		if err != nil {
			break
		}
	}
	if got.String() != "Here is a short summary." || len(at) < 3 {
		t.Fatalf("streamed text %q in %d events", got.String(), len(at))
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < pause/2 {
			t.Fatalf("text events %d and %d arrived %v apart: the first was held until the next was sent", i-1, i, gap)
		}
	}
}

// TestRestoreSplitPlaceholder: a placeholder the model streams across
// several events ("SSN [", "REDAC", "TED_U", ...) is restored: its start
// moves on with the stream until the placeholder is whole, for every API.
func TestRestoreSplitPlaceholder(t *testing.T) {
	e := newEnv(t, envOpt{stub: stubmodel.Options{Text: "Filed for SSN [REDACTED_US_SSN_1]. Done [x] ok [", ChunkSize: 5}})
	for _, a := range apis {
		t.Run(a.name, func(t *testing.T) {
			resp, body := e.call(t, a, "warden-local", a.body("SSN "+ssn, "none", true), true)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if !strings.Contains(body, ssn) || strings.Contains(body, "REDAC") || strings.Contains(body, "TED_U") {
				t.Fatalf("placeholder not restored across events:\n%s", body)
			}
			// Text that only looked like a placeholder's start ("[x]", a
			// trailing "[") is delivered unchanged.
			if !strings.Contains(body, "x]") {
				t.Fatalf("text lost:\n%s", body)
			}
		})
	}
	// The text as the client assembles it (Chat Completions deltas).
	chat := apis[2]
	_, body := e.call(t, chat, "warden-local", chat.body("SSN "+ssn, "none", true), true)
	var got strings.Builder
	for _, line := range strings.Split(body, "\n") {
		var ev struct {
			Choices []struct {
				Delta struct{ Content string }
			}
		}
		if !strings.HasPrefix(line, "data: {") || json.Unmarshal([]byte(line[len("data: "):]), &ev) != nil {
			continue
		}
		for _, c := range ev.Choices {
			got.WriteString(c.Delta.Content)
		}
	}
	if want := "Filed for SSN " + ssn + ". Done [x] ok ["; got.String() != want {
		t.Fatalf("client assembled %q, want %q", got.String(), want)
	}
}

// TestClientHangsUpAfterLastEvent: an agent that closes the connection as
// soon as it has the provider's last event (Codex does, after
// response.completed) cancels the upstream read before its EOF; the call
// still counts as ok with the stub's usage, for every API.
func TestClientHangsUpAfterLastEvent(t *testing.T) {
	e := newEnv(t, envOpt{stub: stubmodel.Options{Text: "Done.", ChunkSize: 64, ChunkDelay: 100 * time.Millisecond}})
	last := map[string]string{"anthropic": "message_stop", "responses": "response.completed", "chat": "[DONE]", "gemini": `"finishReason"`}
	for _, a := range apis {
		t.Run(a.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+a.path(true), strings.NewReader(a.body("hello", "none", true)))
			req.Header.Set("Content-Type", "application/json")
			a.auth(req.Header, "warden-local")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(resp.Body)
			for {
				line, err := br.ReadString('\n')
				if strings.Contains(line, last[a.name]) {
					break
				}
				if err != nil {
					t.Fatalf("no %s in the stream", last[a.name])
				}
			}
			resp.Body.Close() // hang up while the stub still holds the stream open
			ev := e.sink.last(t)
			if ev.Status != "ok" || !ev.Usage.Seen {
				t.Fatalf("status %q (usage seen %v) after the client hung up at the last event", ev.Status, ev.Usage.Seen)
			}
		})
	}
}
