package promptcrypt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wardenhq/warden/collector/keyring/keyringtest"
)

// The real agents' captures (processors/genai/testdata/agents, see each
// CAPTURE.txt) all ran the prompt "Summarize notes.txt" over a notes.txt
// holding capturedNotes. With the default source shapes neither may be
// left in clear anywhere in the logs and traces the agents really send:
// Claude Code's span attribute user_prompt and span event tool.output
// content once slipped through a list written from the docs.
const (
	capturedPrompt = "Summarize notes.txt"
	capturedNotes  = "ship the capture script"
)

func TestRealAgentCapturesLeaveNoCleartext(t *testing.T) {
	host, _ := keyringtest.New(t)
	files, _ := filepath.Glob("../genai/testdata/agents/*/*")
	var n int
	for _, path := range files {
		base := filepath.Base(path)
		isJSON := strings.HasSuffix(base, ".json")
		if !isJSON && !strings.HasSuffix(base, ".pb") {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(path)) + "/" + base
		var out []byte
		switch {
		case strings.HasPrefix(base, "logs-"):
			var ld plog.Logs
			if isJSON {
				ld, err = (&plog.JSONUnmarshaler{}).UnmarshalLogs(raw)
			} else {
				ld, err = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(raw)
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			sink := new(consumertest.LogsSink)
			p := newLogs(t, host, createDefaultConfig(), sink)
			if err := p.ConsumeLogs(context.Background(), ld); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out, _ = (&plog.ProtoMarshaler{}).MarshalLogs(sink.AllLogs()[0])
		case strings.HasPrefix(base, "traces-"):
			var td ptrace.Traces
			if isJSON {
				td, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
			} else {
				td, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(raw)
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			sink := new(consumertest.TracesSink)
			p := newTraces(t, host, createDefaultConfig(), sink)
			if err := p.ConsumeTraces(context.Background(), td); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out, _ = (&ptrace.ProtoMarshaler{}).MarshalTraces(sink.AllTraces()[0])
		default:
			continue // metrics carry no content
		}
		n++
		if !bytes.Contains(raw, []byte(capturedPrompt)) && !bytes.Contains(raw, []byte(capturedNotes)) {
			continue
		}
		for _, needle := range []string{capturedPrompt, capturedNotes} {
			if i := bytes.Index(out, []byte(needle)); i >= 0 {
				lo, hi := max(0, i-120), min(len(out), i+len(needle)+40)
				t.Errorf("%s: %q left in clear after sealing: …%q…", name, needle, out[lo:hi])
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d log/trace captures found under ../genai/testdata/agents", n)
	}
}
