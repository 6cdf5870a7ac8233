package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/loader"

	"github.com/wardenhq/warden/dlp"
	"github.com/wardenhq/warden/policy"
)

func ptr[T any](v T) *T { return &v }

// modelCall is a typical collector event; findings are added per test.
func modelCall(class string, findings ...Finding) *Input {
	return &Input{
		Context:        ContextCollector,
		Direction:      "request",
		Event:          EventFacts{Kind: "model_call", Source: "claude_code", Tenant: "default"},
		Identity:       Identity{User: "u1:aa", Department: "engineering", Agent: "claude-code"},
		Device:         Device{ID: "d1:bb", Authenticated: ptr(true)},
		Model:          Model{Provider: "anthropic", Name: "claude-opus-5-5"},
		Destination:    Destination{Host: "api.anthropic.com", Port: 443},
		Classification: class,
		Findings:       findings,
	}
}

func ssn(start int) Finding {
	return Finding{Type: "us_ssn", Confidence: "high", Message: 0, Start: start, End: start + 11}
}

// logBuf is a concurrency-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func newLogger() (*slog.Logger, *logBuf) {
	lb := &logBuf{}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

func defaultEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

func manifestRevision(t testing.TB) string {
	t.Helper()
	b, err := loader.NewFileLoader().WithFS(policy.DefaultBundle()).AsBundle(".")
	if err != nil {
		t.Fatal(err)
	}
	return b.Manifest.Revision
}

func TestDefaultBundleDecisions(t *testing.T) {
	e := defaultEngine(t, Options{})
	rev := manifestRevision(t)
	if rev == "" || e.Revision() != rev {
		t.Fatalf("revision %q, manifest says %q", e.Revision(), rev)
	}

	high, err := e.Evaluate(context.Background(), modelCall("HIGH", ssn(10)))
	if err != nil {
		t.Fatal(err)
	}
	if high.Decision != Review || !slices.Contains(high.RuleIDs, "warden.dlp.pii_high_classification") || high.Revision != rev || high.DecisionID == "" {
		t.Fatalf("HIGH+SSN: %+v", high)
	}

	low, err := e.Evaluate(context.Background(), modelCall("LOW", ssn(10)))
	if err != nil {
		t.Fatal(err)
	}
	if low.Decision != Redact || !slices.Equal(low.RedactTypes, []string{"us_ssn"}) || !slices.Equal(low.RuleIDs, []string{"warden.dlp.pii_redact"}) {
		t.Fatalf("LOW+SSN: %+v", low)
	}
	if low.DecisionID == high.DecisionID {
		t.Fatal("decision ids must be unique")
	}

	gw := modelCall("HIGH", ssn(0))
	gw.Context = ContextGateway
	d, err := e.Evaluate(context.Background(), gw)
	if err != nil || d.Decision != Block {
		t.Fatalf("gateway HIGH+SSN: %+v %v", d, err)
	}

	clean, err := e.Evaluate(context.Background(), modelCall(""))
	if err != nil || clean.Decision != Allow || len(clean.RuleIDs) != 0 {
		t.Fatalf("clean: %+v %v", clean, err)
	}
}

func TestDefaultBundleCacheKeyIgnoresPositions(t *testing.T) {
	st := defaultEngine(t, Options{}).cur.Load()
	if st.whole || st.cache == nil {
		t.Fatalf("default bundle must be cacheable on paths: whole=%v note=%s", st.whole, st.cacheNote)
	}
	var keys []string
	for _, p := range st.paths {
		keys = append(keys, strings.Join(p, "."))
	}
	t.Logf("cache key paths: %v", keys)
	for _, want := range []string{"classification", "context", "dlp.counts", "dlp.max_confidence", "event.kind", "model.name"} {
		if !slices.Contains(keys, want) {
			t.Errorf("cache key paths %v lack %s", keys, want)
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "findings") || strings.HasPrefix(k, "identity.user") || strings.HasPrefix(k, "device.id") {
			t.Errorf("cache key path %s: the default bundle never reads it", k)
		}
	}
}

func TestCacheHitsAndMisses(t *testing.T) {
	e := defaultEngine(t, Options{})
	ctx := context.Background()
	first, _ := e.Evaluate(ctx, modelCall("LOW", ssn(3)))
	// Same decision inputs, different positions, user and device: a hit.
	other := modelCall("LOW", ssn(400))
	other.Identity.User, other.Device.ID = "u2:cc", "d2:dd"
	second, _ := e.Evaluate(ctx, other)
	if first.Cached || !second.Cached {
		t.Fatalf("cached flags: first %v second %v", first.Cached, second.Cached)
	}
	if second.Decision != first.Decision || !slices.Equal(second.RuleIDs, first.RuleIDs) || second.DecisionID == first.DecisionID {
		t.Fatalf("cached decision differs: %+v vs %+v", first, second)
	}
	// A change the bundle reads: a miss with a different decision.
	third, _ := e.Evaluate(ctx, modelCall("HIGH", ssn(3)))
	if third.Cached || third.Decision != Review {
		t.Fatalf("HIGH must miss the LOW entry: %+v", third)
	}
	// Two SSNs instead of one changes dlp.counts: a miss.
	fourth, _ := e.Evaluate(ctx, modelCall("LOW", ssn(3), ssn(40)))
	if fourth.Cached {
		t.Fatal("different counts must miss")
	}
	s := e.Stats()
	if s.CacheHits != 1 || s.CacheMisses != 3 || s.HitRate() != 0.25 {
		t.Fatalf("stats %+v hit rate %v", s, s.HitRate())
	}

	off := defaultEngine(t, Options{CacheSize: -1})
	off.Evaluate(ctx, modelCall("LOW", ssn(3)))
	d, _ := off.Evaluate(ctx, modelCall("LOW", ssn(3)))
	if d.Cached || off.Stats().CacheEnabled {
		t.Fatal("a disabled cache must not serve hits")
	}
}

// writeBundle copies the default bundle into dir and applies edits
// (relative path -> new content).
func writeBundle(t testing.TB, dir string, edits map[string]string) {
	t.Helper()
	if err := os.CopyFS(dir, policy.DefaultBundle()); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	for p, c := range edits {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func editedConfig(t testing.TB, key string, value any) string {
	t.Helper()
	raw, err := os.ReadFile("../bundle/warden/config/data.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = value
	out, _ := json.Marshal(m)
	return string(out)
}

func manifest(rev string) string {
	return `{"revision": "` + rev + `", "roots": ["warden"]}`
}

var bumps atomic.Int64

// bump makes sure a rewrite within the same clock tick is still seen.
func bump(t testing.TB, dir string) {
	t.Helper()
	future := time.Now().Add(time.Duration(bumps.Add(1)) * time.Hour) // strictly increasing
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error { return os.Chtimes(p, future, future) })
}

func TestReloadAndBrokenBundleKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	writeBundle(t, dir, nil)
	log, logs := newLogger()
	e := defaultEngine(t, Options{Path: dir, Logger: log})
	ctx := context.Background()
	if e.ReloadIfChanged(ctx) {
		t.Fatal("nothing changed, nothing to reload")
	}
	d, _ := e.Evaluate(ctx, modelCall("HIGH", ssn(1)))
	if d.Decision != Review {
		t.Fatalf("before: %+v", d)
	}

	// A valid change: HIGH+SSN now drops in the collector.
	writeBundle(t, dir, map[string]string{
		".manifest":               manifest("test-r2"),
		"warden/config/data.json": editedConfig(t, "collector_block_action", "drop"),
	})
	bump(t, dir)
	if !e.ReloadIfChanged(ctx) {
		t.Fatalf("changed bundle not reloaded; logs:\n%s", logs)
	}
	d, _ = e.Evaluate(ctx, modelCall("HIGH", ssn(1)))
	if d.Decision != Drop || d.Revision != "test-r2" || d.Cached {
		t.Fatalf("after reload: %+v", d)
	}

	// A broken change: a syntax error. The previous bundle stays active.
	writeBundle(t, dir, map[string]string{
		".manifest":        manifest("test-r3-broken"),
		"warden/main.rego": "package warden.main\n\ndecision := {\n",
	})
	bump(t, dir)
	if e.ReloadIfChanged(ctx) {
		t.Fatal("a broken bundle must not become active")
	}
	d, _ = e.Evaluate(ctx, modelCall("HIGH", ssn(1)))
	if d.Decision != Drop || d.Revision != "test-r2" {
		t.Fatalf("previous bundle must stay active: %+v", d)
	}
	s := e.Stats()
	if s.ReloadFailures != 1 || s.Reloads != 1 || !strings.Contains(s.LastReloadError, "main.rego") {
		t.Fatalf("stats %+v", s)
	}
	out := logs.String()
	if !strings.Contains(out, "policy bundle rejected; previous bundle stays active") ||
		!strings.Contains(out, "active_revision=test-r2") || !strings.Contains(out, "rego_parse_error") {
		t.Fatalf("log does not say why:\n%s", out)
	}
	// Not retried until it changes again.
	if e.ReloadIfChanged(ctx) || e.Stats().ReloadFailures != 1 {
		t.Fatal("an unchanged broken bundle must not be retried")
	}
}

func TestPollingReload(t *testing.T) {
	dir := t.TempDir()
	writeBundle(t, dir, nil)
	e := defaultEngine(t, Options{Path: dir, ReloadInterval: 20 * time.Millisecond})
	e.Start()
	writeBundle(t, dir, map[string]string{".manifest": manifest("polled")})
	bump(t, dir)
	deadline := time.Now().Add(5 * time.Second)
	for e.Revision() != "polled" {
		if time.Now().After(deadline) {
			t.Fatalf("poller did not pick up the new revision; still %s", e.Revision())
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.Close()
}

func TestBundleFile(t *testing.T) {
	b, err := loader.NewFileLoader().WithFilter(excludeTests).WithFS(policy.DefaultBundle()).AsBundle(".")
	if err != nil {
		t.Fatal(err)
	}
	b.Manifest.Revision = "tarball-1"
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(*b); err != nil {
		t.Fatal(err)
	}
	if _, err := gzip.NewReader(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("bundle writer output is not gzip: %v", err)
	}
	path := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	e := defaultEngine(t, Options{Path: path})
	d, err := e.Evaluate(context.Background(), modelCall("LOW", ssn(0)))
	if err != nil || d.Decision != Redact || d.Revision != "tarball-1" {
		t.Fatalf("tarball bundle: %+v %v", d, err)
	}
}

func TestInvalidBundlesRejected(t *testing.T) {
	cases := map[string]struct{ rego, want string }{
		"syntax":       {"package warden.main\n\ndecision := {", "rego_parse_error"},
		"undefined":    {"package warden.main\n\nother := 1\n", "decision is undefined"},
		"bad decision": {"package warden.main\n\ndecision := {\"decision\": \"maybe\"}\n", `"maybe"`},
		"no rule ids":  {"package warden.main\n\ndecision := {\"decision\": \"block\"}\n", "names no rule_ids"},
		"bad alert":    {"package warden.main\n\ndecision := {\"decision\": \"allow\", \"alert\": \"yes\"}\n", "decision.alert"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "p.rego"), []byte(c.rego), 0o644)
			_, err := New(context.Background(), Options{Path: dir})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want error containing %q, got %v", c.want, err)
			}
		})
	}
	if _, err := New(context.Background(), Options{Path: filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing path: %v", err)
	}
}

// A bundle that fails at evaluation time for some events: the decision is
// "error", never allow, with the revision and an id.
func TestEvaluationErrorIsNotAllow(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte(`package warden.main
import rego.v1
decision := {"decision": "allow"} if input.event.kind != "boom"
decision := {"decision": "allow"} if not input.event.kind
decision := {"decision": "allow"} if input.event.kind == "boom"
decision := {"decision": "block", "rule_ids": ["x"]} if input.event.kind == "boom"
`), 0o644)
	e := defaultEngine(t, Options{Path: dir})
	in := modelCall("")
	in.Event.Kind = "boom"
	d, err := e.Evaluate(context.Background(), in)
	if err == nil || d.Decision != Error || d.DecisionID == "" || d.Revision == "" || !d.Alert || len(d.Reasons) == 0 {
		t.Fatalf("want an error decision, got %+v %v", d, err)
	}
	if !strings.HasPrefix(d.Revision, "sha256:") {
		t.Fatalf("a bundle without manifest revision gets a content hash, got %q", d.Revision)
	}
	if e.Stats().Errors != 1 {
		t.Fatalf("errors not counted: %+v", e.Stats())
	}
	// Errors are never cached.
	if d2, err := e.Evaluate(context.Background(), in); err == nil || d2.Cached {
		t.Fatalf("second evaluation: %+v %v", d2, err)
	}
}

func TestNondeterministicBundleNotCached(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte(`package warden.main
import rego.v1
decision := {"decision": "allow", "at": time.now_ns()}
`), 0o644)
	e := defaultEngine(t, Options{Path: dir})
	st := e.cur.Load()
	if st.cache != nil || !strings.Contains(st.cacheNote, "time.now_ns") {
		t.Fatalf("cache must be off: %s", st.cacheNote)
	}
}

func TestWholeInputKey(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte(`package warden.main
import rego.v1
decision := {"decision": "review", "rule_ids": ["many"]} if count(object.get(input, "findings", [])) > 1
else := {"decision": "allow"}
`), 0o644)
	e := defaultEngine(t, Options{Path: dir})
	if !e.cur.Load().whole {
		t.Fatal("a bundle reading bare input must key on the whole input")
	}
	ctx := context.Background()
	a, _ := e.Evaluate(ctx, modelCall("", ssn(1)))
	b, _ := e.Evaluate(ctx, modelCall("", ssn(1), ssn(20)))
	if a.Decision != Allow || b.Decision != Review || b.Cached {
		t.Fatalf("whole-input key: %+v %+v", a, b)
	}
}

func TestShadowSet(t *testing.T) {
	dir := t.TempDir()
	writeBundle(t, dir, map[string]string{
		".manifest":               manifest("candidate-1"),
		"warden/config/data.json": editedConfig(t, "collector_block_action", "drop"),
	})
	set := Set{Active: defaultEngine(t, Options{}), Shadow: defaultEngine(t, Options{Path: dir, Name: "shadow"})}
	act, sh, err := set.Evaluate(context.Background(), modelCall("HIGH", ssn(2)))
	if err != nil || sh == nil {
		t.Fatal(err)
	}
	if act.Decision != Review || sh.Decision != Drop || sh.Revision != "candidate-1" || act.Revision == sh.Revision {
		t.Fatalf("active %+v shadow %+v", act, sh)
	}
}

func TestSummaryMergesRecorded(t *testing.T) {
	in := modelCall("", ssn(0))
	in.RecordedCounts = map[string]int{"us_ssn": 3, "email": 1}
	in.RecordedConfidence = map[string]string{"email": "medium", "us_ssn": "low"}
	c, mc := in.Summary()
	if c["us_ssn"] != 3 || c["email"] != 1 || mc["us_ssn"] != "high" || mc["email"] != "medium" {
		t.Fatalf("counts %v conf %v", c, mc)
	}
}

func TestFromDLPWithRealScanner(t *testing.T) {
	sc, err := dlp.New()
	if err != nil {
		t.Fatal(err)
	}
	text := "ssn 536-22-8145 and key AKIAZ7Q3XK2MD5RTWN4P"
	fs := FromDLP(2, sc.ScanString(text))
	var ssnF *Finding
	for i := range fs {
		if fs[i].Type == "us_ssn" {
			ssnF = &fs[i]
		}
	}
	if ssnF == nil || ssnF.Message != 2 || text[ssnF.Start:ssnF.End] != "536-22-8145" || confRank[ssnF.Confidence] == 0 {
		t.Fatalf("findings %+v", fs)
	}
	// The input document never carries the value.
	in := modelCall("LOW", fs...)
	b, _ := json.Marshal(in.Document())
	if strings.Contains(string(b), "536-22-8145") || strings.Contains(string(b), "AKIAZ7Q3XK2MD5RTWN4P") {
		t.Fatalf("input document leaks a value: %s", b)
	}
}

// appendKey (no document) must give exactly the key the document walk
// gives, for every path shape: flat fields, sections, deep and missing paths.
func TestAppendKeyMatchesDocumentKey(t *testing.T) {
	paths := [][]string{
		{"version"}, {"context"}, {"direction"}, {"classification"}, {"nope"},
		{"event"}, {"event", "kind"}, {"event", "tool_name"}, {"event", "kind", "deeper"}, {"event", "unknown"},
		{"identity", "user"}, {"identity", "department"}, {"device", "authenticated"}, {"device", "id"}, {"device"},
		{"model", "name"}, {"destination", "port"}, {"destination", "host"},
		{"dlp"}, {"dlp", "counts"}, {"dlp", "max_confidence"}, {"dlp", "counts", "us_ssn"}, {"dlp", "total"}, {"dlp", "types"},
		{"findings"}, {"findings", "0"},
	}
	inputs := []*Input{
		{},
		modelCall("HIGH"),
		modelCall("LOW", ssn(1), ssn(30), Finding{Type: "email", Confidence: "low", Start: 2, End: 9}),
		{Context: ContextGateway, Device: Device{Authenticated: ptr(false)}, Destination: Destination{Port: 8443},
			RecordedCounts: map[string]int{"jwt": 2}, RecordedConfidence: map[string]string{"jwt": "high"}},
	}
	for i, in := range inputs {
		for _, p := range paths {
			want := cacheKey(in.Document(), [][]string{p}, false, nil)
			got := in.appendKey(nil, [][]string{p})
			if !bytes.Equal(got, want) {
				t.Errorf("input %d path %v: key %q, document key %q", i, p, got, want)
			}
		}
		all := cacheKey(in.Document(), paths, false, nil)
		if got := in.appendKey(nil, paths); !bytes.Equal(got, all) {
			t.Errorf("input %d all paths differ", i)
		}
	}
}

func TestCloseWithoutStartDoesNotHang(t *testing.T) {
	dir := t.TempDir()
	writeBundle(t, dir, nil)
	e, err := New(context.Background(), Options{Path: dir, ReloadInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { e.Close(); e.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close without Start hung")
	}
}

// Reloads swap the bundle while evaluations run (run with -race).
func TestConcurrentEvaluateAndReload(t *testing.T) {
	dir := t.TempDir()
	writeBundle(t, dir, nil)
	e := defaultEngine(t, Options{Path: dir})
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				d, err := e.Evaluate(ctx, modelCall([]string{"LOW", "HIGH"}[i%2], ssn(w)))
				if err != nil || (d.Decision != Redact && d.Decision != Review && d.Decision != Drop) {
					t.Errorf("decision %+v %v", d, err)
					return
				}
			}
		}(w)
	}
	for i := 0; i < 5; i++ {
		writeBundle(t, dir, map[string]string{".manifest": manifest("r" + string(rune('a'+i)))})
		bump(t, dir)
		if !e.ReloadIfChanged(ctx) {
			t.Errorf("reload %d failed", i)
		}
	}
	close(stop)
	wg.Wait()
	if e.Revision() != "re" {
		t.Fatalf("revision %s", e.Revision())
	}
}
