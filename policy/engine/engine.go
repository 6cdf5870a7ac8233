// Package engine evaluates Warden's OPA policy bundles for the collector's
// policy processor and the LLM gateway. It is free of collector types.
//
// A bundle (a directory or an OPA bundle file, .tar.gz) is compiled into a
// prepared query once; reloads swap it atomically, and a bundle that fails to
// load, compile or produce a valid decision leaves the previous one active
// (the failure is logged and counted). Decisions are cached on exactly the
// input paths the bundle reads, so events that differ only in fields the
// policy ignores (finding positions, session ids, ...) share one evaluation.
package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/wardenhq/warden/policy"
)

// Decisions. Error is never produced by a bundle: it marks an event whose
// evaluation failed (kept and alerted, never treated as allowed).
const (
	Allow  = "allow"
	Redact = "redact"
	Drop   = "drop"
	Review = "review"
	Alert  = "alert"
	Block  = "block"
	Error  = "error"
)

var validDecisions = map[string]bool{Allow: true, Redact: true, Drop: true, Review: true, Alert: true, Block: true}

// Decision is one evaluated decision.
type Decision struct {
	Decision    string   `json:"decision"`     // allow|redact|drop|review|alert|block, or error
	RuleIDs     []string `json:"rule_ids"`     // stable ids of the rules that fired, sorted
	Reasons     []string `json:"reasons"`      // human-readable, never matched text
	RedactTypes []string `json:"redact_types"` // finding types to replace with placeholders
	Alert       bool     `json:"alert"`        // the bundle asks for the event to be flagged
	DecisionID  string   `json:"decision_id"`  // unique per evaluation (UUIDv7), also on cache hits
	Revision    string   `json:"revision"`     // bundle revision that decided
	Cached      bool     `json:"cached"`       // served from the decision cache
}

// Options configure an Engine.
type Options struct {
	// Path is a bundle directory or bundle file (.tar.gz). Empty: FS.
	Path string
	// FS is the bundle used when Path is empty; nil means Warden's default
	// bundle (policy.DefaultBundle).
	FS fs.FS
	// Query is the decision rule; default policy.Query.
	Query string
	// ReloadInterval polls Path for changes; 0 disables polling.
	ReloadInterval time.Duration
	// CacheSize bounds the decision cache (entries); 0 means 4096, negative
	// disables caching.
	CacheSize int
	// Name labels log lines ("active", "shadow").
	Name   string
	Logger *slog.Logger
}

// Stats are cumulative counters.
type Stats struct {
	Evaluations, CacheHits, CacheMisses, Errors uint64
	Reloads, ReloadFailures                     uint64
	Revision                                    string
	LastReloadError                             string
	CacheEnabled                                bool
}

// HitRate is hits / (hits + misses), 0 when nothing was looked up.
func (s Stats) HitRate() float64 {
	if n := s.CacheHits + s.CacheMisses; n > 0 {
		return float64(s.CacheHits) / float64(n)
	}
	return 0
}

// Engine evaluates one bundle (with reloads). Safe for concurrent use.
type Engine struct {
	opts Options
	log  *slog.Logger
	cur  atomic.Pointer[state]

	reloadMu    sync.Mutex
	fingerprint string
	lastErr     atomic.Pointer[string]

	evals, hits, misses, errs, reloads, reloadFails atomic.Uint64

	started  atomic.Bool
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

type state struct {
	pq        rego.PreparedEvalQuery
	revision  string
	paths     [][]string
	whole     bool
	cache     *lru.Cache[string, verdict]
	cacheNote string
}

type verdict struct {
	decision                      string
	ruleIDs, reasons, redactTypes []string
	alert                         bool
}

// New loads the bundle; it fails when the initial bundle does not load (there
// is no previous one to keep).
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Query == "" {
		opts.Query = policy.Query
	}
	if opts.Path == "" && opts.FS == nil {
		opts.FS = policy.DefaultBundle()
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 4096
	}
	if opts.Name == "" {
		opts.Name = "active"
	}
	e := &Engine{opts: opts, log: opts.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.log = e.log.With("bundle", opts.Name)
	fp, _ := e.currentFingerprint()
	st, err := e.load(ctx)
	if err != nil {
		return nil, err
	}
	e.fingerprint = fp
	e.cur.Store(st)
	e.log.Info("policy bundle loaded", "revision", st.revision, "source", e.source(), "cache", st.cacheNote)
	return e, nil
}

func (e *Engine) source() string {
	if e.opts.Path != "" {
		return e.opts.Path
	}
	return "embedded default bundle"
}

// Start polls the bundle path for changes until Close. Calling it again
// does nothing.
func (e *Engine) Start() {
	if !e.started.CompareAndSwap(false, true) {
		return
	}
	if e.opts.Path == "" || e.opts.ReloadInterval <= 0 {
		close(e.done)
		return
	}
	go func() {
		defer close(e.done)
		t := time.NewTicker(e.opts.ReloadInterval)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
				e.ReloadIfChanged(context.Background())
			}
		}
	}()
}

// Close stops polling (safe without Start, and more than once).
func (e *Engine) Close() {
	e.stopOnce.Do(func() { close(e.stop) })
	if e.started.Load() {
		<-e.done
	}
}

// ReloadIfChanged reloads when the bundle's files changed since the last
// attempt. It reports whether a new bundle became active.
func (e *Engine) ReloadIfChanged(ctx context.Context) bool {
	fp, err := e.currentFingerprint()
	e.reloadMu.Lock()
	changed := err != nil || fp != e.fingerprint
	e.reloadMu.Unlock()
	if !changed {
		return false
	}
	return e.reload(ctx, fp) == nil
}

// Reload loads the bundle now. On failure the previous bundle stays active,
// the reason is logged and returned.
func (e *Engine) Reload(ctx context.Context) error {
	fp, _ := e.currentFingerprint()
	return e.reload(ctx, fp)
}

func (e *Engine) reload(ctx context.Context, fp string) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	e.fingerprint = fp // a broken bundle is retried once it changes again
	prev := e.cur.Load()
	st, err := e.load(ctx)
	if err != nil {
		e.reloadFails.Add(1)
		msg := err.Error()
		e.lastErr.Store(&msg)
		e.log.Error("policy bundle rejected; previous bundle stays active",
			"source", e.source(), "active_revision", prev.revision, "error", msg)
		return err
	}
	e.cur.Store(st)
	e.reloads.Add(1)
	e.lastErr.Store(nil)
	e.log.Info("policy bundle reloaded", "revision", st.revision, "previous_revision", prev.revision, "cache", st.cacheNote)
	return nil
}

// currentFingerprint summarises the bundle files' names, sizes and
// modification times (no content is read on a poll).
func (e *Engine) currentFingerprint() (string, error) {
	if e.opts.Path == "" {
		return "embedded", nil
	}
	h := sha256.New()
	err := filepath.WalkDir(e.opts.Path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", p, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func excludeTests(_ string, info fs.FileInfo, _ int) bool {
	return !info.IsDir() && strings.HasSuffix(info.Name(), "_test.rego")
}

func (e *Engine) readBundle() (*bundle.Bundle, error) {
	l := loader.NewFileLoader().WithFilter(excludeTests)
	path := e.opts.Path
	if path == "" {
		l = l.WithFS(e.opts.FS)
		path = "."
	} else if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("policy bundle %s: %w", path, err)
	}
	b, err := l.AsBundle(path)
	if err != nil {
		return nil, err
	}
	if len(b.Modules) == 0 {
		return nil, fmt.Errorf("policy bundle %s: no .rego modules", e.source())
	}
	return b, nil
}

// load reads, compiles, prepares and probes a bundle.
func (e *Engine) load(ctx context.Context) (*state, error) {
	b, err := e.readBundle()
	if err != nil {
		return nil, err
	}
	mods := make(map[string]*ast.Module, len(b.Modules))
	for _, m := range b.Modules {
		mods[m.Path] = m.Parsed
	}
	comp := ast.NewCompiler()
	if comp.Compile(mods); comp.Failed() {
		return nil, fmt.Errorf("policy bundle %s: %w", e.source(), comp.Errors)
	}
	paths, whole, nondet := inputPaths(comp.Modules)

	// The bundle's data goes into a store that keeps AST values: the default
	// store converts every document read (data.warden.config) back into AST
	// on every evaluation, a large share of an uncached decision.
	opts := []func(*rego.Rego){
		rego.Query(e.opts.Query),
		rego.Store(inmem.NewFromObjectWithOpts(b.Data, inmem.OptReturnASTValuesOnRead(true))),
		rego.StrictBuiltinErrors(true),
	}
	for _, m := range b.Modules {
		opts = append(opts, rego.ParsedModule(m.Parsed))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy bundle %s: %w", e.source(), err)
	}
	st := &state{pq: pq, revision: revisionOf(b), paths: paths, whole: whole}
	switch {
	case e.opts.CacheSize < 0:
		st.cacheNote = "disabled by configuration"
	case nondet != "":
		st.cacheNote = "disabled: the bundle calls non-deterministic builtin " + nondet
	default:
		st.cache, _ = lru.New[string, verdict](e.opts.CacheSize)
		if whole {
			st.cacheNote = "keyed on the whole input (the bundle reads `input` itself)"
		} else {
			ks := make([]string, len(paths))
			for i, p := range paths {
				ks[i] = "input." + strings.Join(p, ".")
			}
			st.cacheNote = "keyed on " + strings.Join(ks, ", ")
		}
	}
	// Probe: a bundle must decide an empty event of each context, else it is
	// broken even if it compiles (wrong query, wrong result shape).
	for _, c := range []string{ContextCollector, ContextGateway} {
		in := Input{Context: c}
		if _, err := st.eval(ctx, in.Document()); err != nil {
			return nil, fmt.Errorf("policy bundle %s: probe evaluation (%s): %w", e.source(), c, err)
		}
	}
	return st, nil
}

// revisionOf is the manifest revision, or a content hash when the bundle
// has none (so a row still names the exact policy that judged it).
func revisionOf(b *bundle.Bundle) string {
	if r := b.Manifest.Revision; r != "" {
		return r
	}
	h := sha256.New()
	paths := make([]string, 0, len(b.Modules))
	raw := map[string][]byte{}
	for _, m := range b.Modules {
		paths = append(paths, m.Path)
		raw[m.Path] = m.Raw
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(raw[p]))
		h.Write(raw[p])
	}
	d, _ := json.Marshal(b.Data) // map keys are sorted by encoding/json
	h.Write(d)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

func (st *state) eval(ctx context.Context, doc map[string]any) (verdict, error) {
	// Converted here rather than by rego.EvalInput, which round-trips the
	// input through JSON first (most of an uncached evaluation's cost).
	in, err := ast.InterfaceToValue(doc)
	if err != nil {
		return verdict{}, fmt.Errorf("input document: %w", err)
	}
	rs, err := st.pq.Eval(ctx, rego.EvalParsedInput(in))
	if err != nil {
		return verdict{}, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return verdict{}, errors.New("decision is undefined")
	}
	return parseVerdict(rs[0].Expressions[0].Value)
}

func parseVerdict(v any) (verdict, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return verdict{}, fmt.Errorf("decision is %T, want an object", v)
	}
	var out verdict
	d, _ := m["decision"].(string)
	if !validDecisions[d] {
		return verdict{}, fmt.Errorf("decision.decision is %q, want one of allow, redact, drop, review, alert, block", m["decision"])
	}
	out.decision = d
	var err error
	if out.ruleIDs, err = strList(m, "rule_ids"); err != nil {
		return verdict{}, err
	}
	if out.reasons, err = strList(m, "reasons"); err != nil {
		return verdict{}, err
	}
	if out.redactTypes, err = strList(m, "redact_types"); err != nil {
		return verdict{}, err
	}
	if a, ok := m["alert"]; ok {
		if out.alert, ok = a.(bool); !ok {
			return verdict{}, fmt.Errorf("decision.alert is %T, want a boolean", a)
		}
	}
	if d != Allow && len(out.ruleIDs) == 0 {
		return verdict{}, fmt.Errorf("decision %q names no rule_ids", d)
	}
	return out, nil
}

func strList(m map[string]any, k string) ([]string, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("decision.%s is %T, want an array of strings", k, v)
	}
	out := make([]string, len(l))
	for i, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("decision.%s[%d] is %T, want a string", k, i, x)
		}
		out[i] = s
	}
	return out, nil
}

// Evaluate decides one event. On failure it returns a Decision with
// Decision == Error (carrying the revision and a decision id) and the error:
// callers keep and alert such events, never treat them as allowed.
func (e *Engine) Evaluate(ctx context.Context, in *Input) (Decision, error) {
	return e.evaluate(ctx, in, nil)
}

// EvaluateDocument decides a ready-made input document (the JSON shape in
// policy/README.md), e.g. one read from a file by `warden policy eval`.
func (e *Engine) EvaluateDocument(ctx context.Context, doc map[string]any) (Decision, error) {
	return e.evaluateDoc(ctx, doc)
}

func (e *Engine) evaluateDoc(ctx context.Context, doc map[string]any) (Decision, error) {
	return e.evaluate(ctx, nil, &doc)
}

// evaluate decides in (or, when in is nil, *doc). The document is built
// only when it is needed: on a cache miss, or for a whole-input key; doc
// (if not nil) shares it with a second engine (shadow).
func (e *Engine) evaluate(ctx context.Context, in *Input, doc *map[string]any) (Decision, error) {
	if doc == nil {
		doc = new(map[string]any)
	}
	document := func() map[string]any {
		if *doc == nil {
			*doc = in.Document()
		}
		return *doc
	}
	st := e.cur.Load()
	e.evals.Add(1)
	out := Decision{DecisionID: newID(), Revision: st.revision}
	var key string
	if st.cache != nil {
		var kb [256]byte
		if in != nil && !st.whole {
			key = string(in.appendKey(kb[:0], st.paths))
		} else {
			key = string(cacheKey(document(), st.paths, st.whole, kb[:0]))
		}
		if v, ok := st.cache.Get(key); ok {
			e.hits.Add(1)
			fill(&out, v)
			out.Cached = true
			return out, nil
		}
		e.misses.Add(1)
	}
	v, err := st.eval(ctx, document())
	if err != nil {
		e.errs.Add(1)
		out.Decision = Error
		out.Reasons = []string{"policy evaluation failed: " + err.Error()}
		out.Alert = true
		return out, fmt.Errorf("policy evaluation (revision %s): %w", st.revision, err)
	}
	if st.cache != nil {
		st.cache.Add(key, v)
	}
	fill(&out, v)
	return out, nil
}

func fill(d *Decision, v verdict) {
	d.Decision, d.RuleIDs, d.Reasons, d.RedactTypes, d.Alert = v.decision, v.ruleIDs, v.reasons, v.redactTypes, v.alert
}

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// Revision is the active bundle's revision.
func (e *Engine) Revision() string { return e.cur.Load().revision }

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	st := e.cur.Load()
	s := Stats{
		Evaluations: e.evals.Load(), CacheHits: e.hits.Load(), CacheMisses: e.misses.Load(),
		Errors: e.errs.Load(), Reloads: e.reloads.Load(), ReloadFailures: e.reloadFails.Load(),
		Revision: st.revision, CacheEnabled: st.cache != nil,
	}
	if p := e.lastErr.Load(); p != nil {
		s.LastReloadError = *p
	}
	return s
}

// Set is an active engine with an optional shadow (candidate) engine: the
// shadow decides the same input beside the active one and never enforces.
type Set struct {
	Active *Engine
	Shadow *Engine // nil: no shadow
}

// Evaluate returns the active decision and, with a shadow, its decision
// (shadow failures are reported in the shadow decision, not as an error).
func (s Set) Evaluate(ctx context.Context, in *Input) (active Decision, shadow *Decision, err error) {
	var doc map[string]any // built at most once, shared by both engines
	active, err = s.Active.evaluate(ctx, in, &doc)
	if s.Shadow != nil {
		d, _ := s.Shadow.evaluate(ctx, in, &doc)
		shadow = &d
	}
	return active, shadow, err
}
