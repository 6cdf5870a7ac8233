package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// TestDedupSharedSystemPromptTableBytes: 100 sessions that share a 50 KB
// system prompt (each with its own short user prompt) store the system
// prompt once per tenant: prompt_blocks grows by O(unique content), measured
// on the table's bytes and on its rows.
func TestDedupSharedSystemPromptTableBytes(t *testing.T) {
	skipShort(t)
	keyDir, _ := initKeys(t)
	c := startPrivacyCollector(t, keyDir, true)
	bytesOf := func() int64 {
		out := c.MustSQL("SELECT sum(length(ciphertext)) FROM prompt_blocks FINAL")
		n, _ := strconv.ParseInt(out, 10, 64)
		return n
	}
	before := bytesOf()

	system := strings.Repeat("You are a careful coding agent working in a regulated bank. ", 50<<10/61)
	ctx := context.Background()
	for _, tenant := range []string{"dedup-a", "dedup-b"} {
		exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(c.HTTP), otlploghttp.WithInsecure())
		if err != nil {
			t.Fatal(err)
		}
		lp := sdklog.NewLoggerProvider(sdklog.WithResource(res(tenant, "semconv-app")), sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
		l := lp.Logger("dedup")
		for s := 0; s < 100; s++ {
			emit(l, time.Now(), "", attribute.String("event.name", "gen_ai.client.inference.operation.details"),
				attribute.String("gen_ai.provider.name", "openai"), attribute.String("gen_ai.request.model", "gpt-4o"),
				attribute.String("session.id", fmt.Sprintf("s-%d", s)),
				attribute.String("gen_ai.system_instructions", system),
				attribute.String("gen_ai.input.messages", fmt.Sprintf(`[{"role":"user","parts":[{"type":"text","content":"session %d: fix the flaky test"}]}]`, s)))
		}
		if err := lp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	WaitFor(t, 90*time.Second, "200 events", func() (bool, string) {
		out, err := c.SQL("SELECT count() FROM events WHERE tenant IN ('dedup-a', 'dedup-b')")
		return out == "200", fmt.Sprint(out, err)
	})
	// The system prompt's block: once per tenant, referenced by every event.
	big := c.MustSQL(fmt.Sprintf("SELECT tenant, count() FROM prompt_blocks FINAL WHERE length = %d GROUP BY tenant ORDER BY tenant", len(system)))
	if big != "dedup-a\t1\ndedup-b\t1" {
		t.Fatalf("50 KB system prompt blocks per tenant:\n%s", big)
	}
	refs := c.MustSQL("SELECT uniqExact(prompt_ref[1]), count() FROM events WHERE tenant = 'dedup-a'")
	if refs != "1\t100" {
		t.Fatalf("dedup-a events should all reference one system block first: %s", refs)
	}
	growth := bytesOf() - before
	unique := int64(2*len(system) + 200*200) // two system prompts + 200 short prompts (generous)
	t.Logf("prompt_blocks ciphertext grew by %d bytes for 200 sessions sharing a %d-byte system prompt (%d bytes if every session stored it)", growth, len(system), 200*len(system))
	if growth <= int64(2*len(system)) || growth > unique {
		t.Fatalf("growth %d bytes, want O(unique content) in (%d, %d]", growth, 2*len(system), unique)
	}
	// Table bytes on disk (no codecs): the same bound plus part overhead.
	disk := c.MustSQL("SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND table = 'prompt_blocks'")
	t.Logf("prompt_blocks bytes on disk: %s", disk)
	if n, _ := strconv.ParseInt(disk, 10, 64); n == 0 || n > 4*unique {
		t.Fatalf("prompt_blocks on disk %s bytes, want <= %d", disk, 4*unique)
	}
}
