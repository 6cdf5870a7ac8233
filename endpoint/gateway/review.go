package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Reviews parks calls whose decision is `review` until a reviewer approves
// or denies them (`warden review approve|deny ID` over the admin socket) or
// the timeout denies them. Every step is written to the audit log first.
// Nothing about a parked call's content is kept: the reviewer sees who,
// which model, and the finding counts and rules, never the prompt.
type Reviews struct {
	timeout time.Duration
	audit   *AuditLog
	// Pseudonym turns a user id into what the audit log may hold (raw ids
	// never reach disk); nil leaves the user out of the log.
	Pseudonym func(string) string
	mu        sync.Mutex
	pending   map[string]*parked
}

// ReviewInfo is what a reviewer sees of a parked call.
type ReviewInfo struct {
	ID         string         `json:"id"`
	Created    time.Time      `json:"created"`
	Expires    time.Time      `json:"expires"`
	User       string         `json:"user"`
	Device     string         `json:"device,omitempty"`
	Department string         `json:"department,omitempty"`
	Agent      string         `json:"agent"`
	Provider   string         `json:"provider"`
	Model      string         `json:"model"`
	Findings   map[string]int `json:"findings,omitempty"`
	RuleIDs    []string       `json:"rule_ids,omitempty"`
	DecisionID string         `json:"decision_id,omitempty"`
	Reason     string         `json:"reason,omitempty"`
}

type parked struct {
	info ReviewInfo
	ch   chan verdict
}

type verdict struct {
	approve  bool
	reviewer string
}

// NewReviews creates the review queue.
func NewReviews(timeout time.Duration, audit *AuditLog) *Reviews {
	return &Reviews{timeout: timeout, audit: audit, pending: map[string]*parked{}}
}

func (rv *Reviews) pseud(u string) string {
	if rv.Pseudonym == nil || u == "" {
		return ""
	}
	return rv.Pseudonym(u)
}

// Park waits for a verdict on the call. It returns whether the call was
// approved and by whom.
func (rv *Reviews) Park(ctx context.Context, info ReviewInfo) (bool, string, error) {
	info.ID = "rv_" + randomID()
	info.Created = time.Now().UTC()
	info.Expires = info.Created.Add(rv.timeout)
	p := &parked{info: info, ch: make(chan verdict, 1)}
	if err := rv.audit.Append("review_parked", info.ID, "", map[string]any{"user_pseudonym": rv.pseud(info.User), "model": info.Model,
		"provider": info.Provider, "rule_ids": info.RuleIDs, "decision_id": info.DecisionID, "findings": info.Findings}); err != nil {
		return false, "", err
	}
	rv.mu.Lock()
	rv.pending[info.ID] = p
	rv.mu.Unlock()
	defer func() {
		rv.mu.Lock()
		delete(rv.pending, info.ID)
		rv.mu.Unlock()
	}()
	t := time.NewTimer(rv.timeout)
	defer t.Stop()
	select {
	case v := <-p.ch:
		return v.approve, v.reviewer, nil
	case <-t.C:
		_ = rv.audit.Append("review_timeout", info.ID, "", map[string]any{"timeout_s": rv.timeout.Seconds()})
		return false, "", nil
	case <-ctx.Done():
		_ = rv.audit.Append("review_abandoned", info.ID, "", nil)
		return false, "", ctx.Err()
	}
}

// Decide records a reviewer's verdict (audited first) and releases the call.
func (rv *Reviews) Decide(id string, approve bool, reviewer string) error {
	rv.mu.Lock()
	p := rv.pending[id]
	if p != nil {
		delete(rv.pending, id)
	}
	rv.mu.Unlock()
	if p == nil {
		return fmt.Errorf("no parked call %q (it may have timed out or been decided)", id)
	}
	action := "review_denied"
	if approve {
		action = "review_approved"
	}
	if err := rv.audit.Append(action, id, reviewer, nil); err != nil {
		// Not audited: not decided. The call stays parked (and will time
		// out denied) rather than go ahead unrecorded.
		rv.mu.Lock()
		rv.pending[id] = p
		rv.mu.Unlock()
		return err
	}
	p.ch <- verdict{approve: approve, reviewer: reviewer}
	return nil
}

// List returns the parked calls, oldest first.
func (rv *Reviews) List() []ReviewInfo {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	out := make([]ReviewInfo, 0, len(rv.pending))
	for _, p := range rv.pending {
		out = append(out, p.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// park runs a review decision for a call.
func (g *Gateway) park(ctx context.Context, ev *CallEvent, in PolicyInput, dec PolicyDecision) *wardenError {
	if g.o.Reviews == nil {
		return errf(http.StatusForbidden, "review_unavailable", "policy requires a review of this call but no review queue is configured; the gateway fails closed")
	}
	ok, reviewer, err := g.o.Reviews.Park(ctx, ReviewInfo{User: in.User, Device: in.Device, Department: in.Department,
		Agent: in.Agent, Provider: in.Provider, Model: in.Model, Findings: in.Findings, RuleIDs: dec.RuleIDs,
		DecisionID: dec.DecisionID, Reason: dec.Reason})
	if err != nil {
		return errf(http.StatusForbidden, "review_failed", "the review could not be recorded (%v); the gateway fails closed", err)
	}
	if !ok {
		if reviewer == "" {
			return errf(http.StatusForbidden, "review_timeout", "this call needed a reviewer's approval and none came in time (%s); it was denied. Ask a reviewer to watch `warden review list` and retry", g.cfg.Review.Timeout)
		}
		return errf(http.StatusForbidden, "review_denied", "a reviewer (%s) denied this call. %s", reviewer, dec.Remediation)
	}
	if ev.Decision.Action == ActionReview {
		ev.Decision.RuleIDs = append(ev.Decision.RuleIDs, "review_approved_by:"+reviewer)
	}
	return nil
}

// ---- audit log ----

// AuditLog is an append-only, hash-chained JSON-lines file: each entry
// carries the SHA-256 of the previous line, so a removed or edited entry
// breaks the chain. It never holds prompt text.
type AuditLog struct {
	mu   sync.Mutex
	f    *os.File
	prev string
}

// OpenAuditLog opens (creating, mode 0600) the log at path for appending
// and resumes its hash chain.
func OpenAuditLog(path string) (*AuditLog, error) {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("gateway audit log: %w", err)
	}
	prev := ""
	if lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n"); len(b) > 0 {
		s := sha256.Sum256([]byte(lines[len(lines)-1]))
		prev = hex.EncodeToString(s[:])
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("gateway audit log: %w", err)
	}
	return &AuditLog{f: f, prev: prev}, nil
}

// Append writes one entry and syncs it to disk.
func (a *AuditLog) Append(action, id, actor string, detail map[string]any) error {
	if a == nil {
		return errors.New("no audit log configured")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	line, err := json.Marshal(map[string]any{"ts": time.Now().UTC().Format(time.RFC3339Nano), "action": action,
		"review_id": id, "actor": actor, "detail": detail, "prev": a.prev})
	if err != nil {
		return err
	}
	if _, err := a.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("gateway audit log: %w", err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("gateway audit log: %w", err)
	}
	s := sha256.Sum256(line)
	a.prev = hex.EncodeToString(s[:])
	return nil
}

// Close closes the log.
func (a *AuditLog) Close() error { return a.f.Close() }

// ---- admin socket ----

type peerKey struct{}

// AdminHandler serves the review API: GET /v1/reviews, POST
// /v1/reviews/{id}/approve|deny. The reviewer is the unix user on the
// other end of the socket (SO_PEERCRED), not something the client claims.
func (rv *Reviews) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/reviews", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rv.List())
	})
	decide := func(approve bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			reviewer, _ := r.Context().Value(peerKey{}).(string)
			if reviewer == "" {
				reviewer = "unknown"
			}
			if err := rv.Decide(r.PathValue("id"), approve, reviewer); err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}
	mux.HandleFunc("POST /v1/reviews/{id}/approve", decide(true))
	mux.HandleFunc("POST /v1/reviews/{id}/deny", decide(false))
	return mux
}

// ServeAdmin serves AdminHandler on a unix socket (mode 0660) until ctx
// ends.
func (rv *Reviews) ServeAdmin(ctx context.Context, socket string) error {
	_ = os.Remove(socket)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return fmt.Errorf("gateway admin socket: %w", err)
	}
	_ = os.Chmod(socket, 0o660)
	srv := &http.Server{Handler: rv.AdminHandler(), ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, peerKey{}, peerUser(c))
		}}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func peerUser(c net.Conn) string {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ""
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ""
	}
	var cred *syscall.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, _ = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if cred == nil {
		return ""
	}
	uid := strconv.Itoa(int(cred.Uid))
	if u, err := user.LookupId(uid); err == nil {
		return u.Username + "(uid " + uid + ")"
	}
	return "uid " + uid
}

// AdminClient talks to a gateway's admin socket (warden review).
func AdminClient(socket string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}}}
}
