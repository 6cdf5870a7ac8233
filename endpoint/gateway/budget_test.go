package gateway_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/internal/stubmodel"
)

// TestBudgetRace: 100 concurrent calls against a token budget that fits
// exactly 10 → exactly 10 reach the provider (the stub's request log), the
// spent amount never exceeds the limit, the other 90 are refused with a
// clear error, and a restart keeps what was spent.
func TestBudgetRace(t *testing.T) {
	const maxTokens = 1000
	body := `{"model":"claude-opus-5-5","max_tokens":1000,"messages":[{"role":"user","content":"summarise the quarterly numbers please"}]}`
	// The gateway reserves len(body)/2+1 input tokens plus max_tokens; the
	// stub reports exactly that, so settlement neither refunds nor adds and
	// the outcome does not depend on timing.
	estIn := int64(len(body)/2 + 1)
	per := estIn + maxTokens
	limit := 10 * per
	store := filepath.Join(t.TempDir(), "budget.db")
	limits := []gateway.BudgetLimit{{Scope: "user", Match: "*", Period: "month", Tokens: limit}}
	b, err := gateway.OpenBudgets(store, limits)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpt{budgets: b, stub: stubmodel.Options{Usage: &stubmodel.Usage{InputTokens: estIn, OutputTokens: maxTokens}},
		yaml: fmt.Sprintf("budgets: {store: %s, limits: [{scope: user, match: '*', period: month, tokens: %d}]}", store, limit)})

	var wg sync.WaitGroup
	codes := make([]int, 100)
	bodies := make([]string, 100)
	start := make(chan struct{})
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, out := e.call(t, apis[0], "warden-local", body, false)
			codes[i], bodies[i] = resp.StatusCode, out
		}()
	}
	close(start)
	wg.Wait()
	ok, refused := 0, 0
	for i, c := range codes {
		switch c {
		case 200:
			ok++
		case 403:
			refused++
			if !strings.Contains(bodies[i], `budget for user \"alice\" is used up`) || !strings.Contains(bodies[i], `"permission_error"`) {
				t.Fatalf("unclear refusal: %s", bodies[i])
			}
		default:
			t.Fatalf("unexpected status %d: %s", c, bodies[i])
		}
	}
	if ok != 10 || refused != 90 {
		t.Fatalf("ok=%d refused=%d, want 10/90", ok, refused)
	}
	if n := e.stub.ModelCalls(); n != 10 {
		t.Fatalf("stub saw %d model calls, want 10", n)
	}
	spent, _, err := b.Spent("user", "alice", "month", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if spent != limit {
		t.Fatalf("spent %d, limit %d (overspend or leak)", spent, limit)
	}

	// Restart: the spent amount survives and still refuses.
	b.Close()
	b2, err := gateway.OpenBudgets(store, limits)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	spent2, _, _ := b2.Spent("user", "alice", "month", time.Now())
	if spent2 != limit {
		t.Fatalf("after restart spent %d, want %d", spent2, limit)
	}
	e2 := newEnv(t, envOpt{budgets: b2})
	resp, out := e2.call(t, apis[0], "warden-local", body, false)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(out, "used up") {
		t.Fatalf("after restart: %d %s", resp.StatusCode, out)
	}
	if e2.stub.ModelCalls() != 0 {
		t.Fatal("over-budget call reached the provider after restart")
	}
}

// TestBudgetUSDAndSettle: a USD budget is reserved at the estimate and
// settled at the reported usage; an unpriced model under a USD limit fails
// closed.
func TestBudgetUSDAndSettle(t *testing.T) {
	store := filepath.Join(t.TempDir(), "b.db")
	b, err := gateway.OpenBudgets(store, []gateway.BudgetLimit{{Scope: "model", Match: "*", Period: "day", USD: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now()
	r, err := b.Reserve(gateway.BudgetKeys{User: "u", Model: "m"}, 100, 0.6, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reserve(gateway.BudgetKeys{User: "u", Model: "m"}, 100, 0.6, now); err == nil {
		t.Fatal("second reservation should exceed $1")
	}
	if err := b.Settle(r, 40, 0.25); err != nil {
		t.Fatal(err)
	}
	tok, usd, _ := b.Spent("model", "m", "day", now)
	if tok != 40 || usd != 0.25 {
		t.Fatalf("after settle %d tokens $%v", tok, usd)
	}
	if _, err := b.Reserve(gateway.BudgetKeys{User: "u", Model: "m"}, 100, 0.6, now); err != nil {
		t.Fatalf("room after settle: %v", err)
	}
	if _, err := b.Reserve(gateway.BudgetKeys{User: "u", Model: "x"}, 1, -1, now); err == nil || !strings.Contains(err.Error(), "no price") {
		t.Fatalf("unpriced model: %v", err)
	}
}

// TestRateLimit: per-user token bucket refuses the burst's overflow with a
// 429 in the provider's format.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, envOpt{yaml: "rate_limits: {per_user: {per_second: 0.001, burst: 2}}"})
	var codes []int
	for range 4 {
		resp, out := e.call(t, apis[3], "warden-local", apis[3].body("hi", "x", false), false)
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 429 && !strings.Contains(out, "RESOURCE_EXHAUSTED") {
			t.Fatalf("429 not in Gemini format: %s", out)
		}
	}
	if fmt.Sprint(codes) != "[200 200 429 429]" {
		t.Fatalf("codes %v", codes)
	}
}
