package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/e2e"
	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/internal/stubmodel"
	"github.com/wardenhq/warden/vault"
)

// TestGatewayToLakehouse: gateway events go over OTLP into the real
// collector (otelcol-warden's embedded pipeline: genai, fieldhash, policy,
// promptcrypt, lakehouse) and land in ClickHouse with the stub's token
// counts, the decision, a pseudonymised user and sealed prompt blocks; no
// file under the collector's data dir holds the prompt, the SSN or the
// user id.
func TestGatewayToLakehouse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a collector process (-short)")
	}
	e2e.ChDBLib(t) // skips with the reason when libchdb.so is absent
	c := e2e.NewCollector(t, e2e.ConfigFile(t, "1s"))
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	ks, err := vault.OpenLocalStore(filepath.Join(c.DataDir, "keys"), vault.LocalOptions{AutoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := gateway.NewOTLPSink(context.Background(), "http://"+c.HTTP, gateway.NewSealer(ks), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Shutdown(context.Background())
	stub, _ := stubmodel.New(stubmodel.Options{Text: "reply-canary-2207 noted"})
	defer stub.Close()
	const user = "lake-user-canary-5150"
	const canary = "lake-prompt-canary-8841"
	cfg, err := gateway.ParseConfig([]byte(fmt.Sprintf(`
local_key: warden-local
identity: {user: %s, device: laptop-lake, department: engineering, tenant: gwlake}
providers:
  anthropic: {base_url: %q, api_key: a}
  openai: {base_url: %q, api_key: b}
  gemini: {base_url: %q, api_key: c}
`, user, stub.URL, stub.URL, stub.URL)))
	if err != nil {
		t.Fatal(err)
	}
	det, dec := mustDeps(t)
	gw, _ := gateway.New(cfg, gateway.Options{Detector: det, Decider: dec, Sink: sink})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	e := &env{srv: srv}
	for _, a := range apis {
		resp, body := e.call(t, a, "warden-local", a.body(canary+" SSN "+ssn, "tool "+canary, true), true)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", a.name, resp.StatusCode, body)
		}
	}
	if err := sink.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	q := "SELECT count() FROM events WHERE tenant = 'gwlake' AND source = 'warden_gateway'"
	e2e.WaitFor(t, 90*time.Second, "gateway events in ClickHouse", func() (bool, string) {
		out, err := c.SQL(q)
		return err == nil && out == "4", out + fmt.Sprint(err)
	})
	rows := c.MustSQL("SELECT provider, kind, input_tokens, output_tokens, cache_read_tokens, decision, redaction_count, length(prompt_ref), user_pseudonym, decision_id != '', policy_revision != '' FROM events WHERE tenant = 'gwlake' AND source = 'warden_gateway' ORDER BY provider, event_id")
	u := stub.Usage()
	for _, line := range strings.Split(rows, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 11 {
			t.Fatalf("row %q", line)
		}
		in, _ := strconv.ParseInt(f[2], 10, 64)
		out, _ := strconv.ParseInt(f[3], 10, 64)
		cr, _ := strconv.ParseInt(f[4], 10, 64)
		if f[1] != "model_call" || in != u.CanonicalInput(f[0]) || out != u.OutputTokens || cr != u.CacheReadTokens {
			t.Fatalf("row %q: want kind model_call, tokens %d/%d/%d", line, u.CanonicalInput(f[0]), u.OutputTokens, u.CacheReadTokens)
		}
		if f[5] != "redact" || f[6] != "1" || f[7] == "0" || f[9] != "1" || f[10] != "1" {
			t.Fatalf("row %q: decision/redaction/prompt_ref/decision id", line)
		}
		if f[8] == "" || f[8] == user {
			t.Fatalf("user_pseudonym %q: not pseudonymised", f[8])
		}
	}
	// Every prompt_ref of the events names a stored sealed block.
	e2e.WaitFor(t, 60*time.Second, "sealed prompt blocks", func() (bool, string) {
		out, err := c.SQL("SELECT countIf(block_id NOT IN (SELECT block_id FROM prompt_blocks WHERE tenant = 'gwlake')), count() FROM (SELECT arrayJoin(prompt_ref) AS block_id FROM events WHERE tenant = 'gwlake' AND source = 'warden_gateway')")
		return err == nil && strings.HasPrefix(out, "0\t") && out != "0\t0", out + fmt.Sprint(err)
	})
	c.Stop()
	filepath.Walk(c.DataDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, s := range []string{canary, "reply-canary-2207", ssn, user} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
}
