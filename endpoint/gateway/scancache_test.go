package gateway_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/internal/stubmodel"
)

type countingDetector struct {
	gateway.Detector
	bytes atomic.Int64
}

func (c *countingDetector) Scan(s string) []gateway.Finding {
	c.bytes.Add(int64(len(s)))
	return c.Detector.Scan(s)
}

// TestScanCache: a conversation resent with one new turn is scanned only
// for the new text, and cached findings still redact the old turns.
func TestScanCache(t *testing.T) {
	stub, _ := stubmodel.New(stubmodel.Options{})
	defer stub.Close()
	cfg, _ := gateway.ParseConfig(mustYAML(t, stub.URL))
	det, dec := mustDeps(t)
	cd := &countingDetector{Detector: det}
	gw, _ := gateway.New(cfg, gateway.Options{Detector: cd, Decider: dec})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	e := &env{srv: srv}
	history := strings.Repeat("earlier tool output line with SSN "+ssn+" inside. ", 100)
	turn := func(n int) string {
		msgs := []string{fmt.Sprintf(`{"role":"user","content":%q}`, history)}
		for i := 1; i <= n; i++ {
			msgs = append(msgs, fmt.Sprintf(`{"role":"user","content":"short turn %d"}`, i))
		}
		return `{"model":"gpt-5.1","messages":[` + strings.Join(msgs, ",") + `]}`
	}
	e.call(t, apis[2], "warden-local", turn(1), false)
	first := cd.bytes.Load()
	e.call(t, apis[2], "warden-local", turn(2), false)
	second := cd.bytes.Load() - first
	if first < int64(len(history)) || second >= int64(len(history)) {
		t.Fatalf("scanned %d then %d bytes; the %d-byte history should be scanned once", first, second, len(history))
	}
	reqs := stub.Requests()
	if strings.Contains(string(reqs[1].Body), ssn) {
		t.Fatal("cached findings did not redact the resent history")
	}
}
