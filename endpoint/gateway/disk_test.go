package gateway_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wardenhq/warden/endpoint/gateway"
)

// TestNoCleartextOnDisk: after calls that carry a canary prompt, an SSN and
// a canary user id through budgets and a review, no file the gateway wrote
// (budget store, audit log) holds any of them.
func TestNoCleartextOnDisk(t *testing.T) {
	dir := t.TempDir()
	const user = "canary-user-7781@example.com"
	const promptCanary = "canary-prompt-quokka-3391"
	store := filepath.Join(dir, "budget.db")
	b, err := gateway.OpenBudgets(store, []gateway.BudgetLimit{{Scope: "user", Match: "*", Period: "month", Tokens: 1 << 40},
		{Scope: "department", Match: "*", Period: "day", Tokens: 1 << 40}})
	if err != nil {
		t.Fatal(err)
	}
	audit, err := gateway.OpenAuditLog(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	rv := gateway.NewReviews(200*time.Millisecond, audit)
	rv.Pseudonym = func(s string) string { return fmt.Sprintf("ps-%x", len(s)) }
	e := newEnv(t, envOpt{budgets: b, reviews: rv, user: user, dept: "security"})
	for _, a := range apis {
		e.call(t, a, "warden-local", a.body(promptCanary+" SSN "+ssn, "tool "+promptCanary, false), false)
	}
	e2 := newEnv(t, envOpt{budgets: b, user: user})
	for _, a := range apis {
		resp, body := e2.call(t, a, "warden-local", a.body(promptCanary+" SSN "+ssn, "x", true), true)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", a.name, resp.StatusCode, body)
		}
	}
	if tok, _, _ := b.Spent("user", user, "month", time.Now()); tok == 0 {
		t.Fatal("nothing was charged")
	}
	b.Close()
	audit.Close()
	n := 0
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(p)
		n++
		for _, c := range []string{user, "canary-user", promptCanary, ssn} {
			if bytes.Contains(data, []byte(c)) {
				t.Errorf("%s holds %q", p, c)
			}
		}
		return nil
	})
	if n < 2 {
		t.Fatalf("scanned %d files", n)
	}
}
