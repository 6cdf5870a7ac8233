package fieldhash

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/wardenhq/warden/collector/keyring"
	"github.com/wardenhq/warden/processors/fieldhash/fieldpath"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

type spec struct {
	path fieldpath.Path
	f    Field
	cfg  string // config key, for errors
}

type fieldProcessor struct {
	cfg    *Config
	logger *zap.Logger
	id     component.ID
	ks     vault.KeyStore

	// Single-key attribute fields by key (looked up while ranging a
	// record's attributes once); deeper paths and body paths in deep.
	rec, res, scope map[string]*spec
	deep            []*spec

	mu      sync.Mutex
	tenants map[string]*tenantState

	rerouted   atomic.Int64 // records moved to schema.InvalidTenant
	warnedBad  sync.Map     // pseudonym of an invalid tenant -> struct{} (warn once each)
	warnedBadN atomic.Int64
}

// tenantState holds the pseudonymizers of one tenant's current (and,
// during an overlap window, previous) key version and a bounded cache of
// recent pseudonyms: identities repeat on nearly every record.
type tenantState struct {
	cur, prev *vault.Pseudonymizer
	mu        sync.Mutex
	cache     map[cacheKey]string
}

type cacheKey struct {
	spec *spec
	in   string
}

func newProcessor(cfg *Config, set processor.Settings) *fieldProcessor {
	p := &fieldProcessor{cfg: cfg, logger: set.Logger, id: set.ID, rec: map[string]*spec{}, res: map[string]*spec{}, scope: map[string]*spec{}, tenants: map[string]*tenantState{}}
	fields := cfg.Fields
	cfgKey := func(i int) string { return fmt.Sprintf("fields[%d]", i) }
	if cfg.DefaultFields {
		// Explicit fields override defaults on the same path.
		explicit := map[string]bool{}
		for _, f := range cfg.Fields {
			if pp, err := fieldpath.Parse(f.Path); err == nil {
				explicit[pp.String()] = true
			}
		}
		for _, f := range DefaultFieldList() {
			pp, _ := fieldpath.Parse(f.Path)
			if !explicit[pp.String()] {
				fields = append(fields, f)
			}
		}
	}
	for i, f := range fields {
		pp, err := fieldpath.Parse(f.Path)
		if err != nil {
			continue // rejected by Validate
		}
		if f.Mode == "" {
			f.Mode = ModeValue
		}
		key := "default_fields " + pp.String()
		if i < len(cfg.Fields) {
			key = cfgKey(i) + ".path"
		}
		s := &spec{path: pp, f: f, cfg: key}
		switch {
		case len(pp.Keys) == 1 && pp.Context == fieldpath.Record:
			p.rec[pp.Keys[0]] = s
		case len(pp.Keys) == 1 && pp.Context == fieldpath.Resource:
			p.res[pp.Keys[0]] = s
		case len(pp.Keys) == 1 && pp.Context == fieldpath.Scope:
			p.scope[pp.Keys[0]] = s
		default:
			p.deep = append(p.deep, s)
		}
	}
	return p
}

func (p *fieldProcessor) allSpecs() []*spec {
	var out []*spec
	for _, m := range []map[string]*spec{p.rec, p.res, p.scope} {
		for _, s := range m {
			out = append(out, s)
		}
	}
	return append(out, p.deep...)
}

func (p *fieldProcessor) start(_ context.Context, host component.Host) error {
	ks, cl, err := keyring.Find(host, p.cfg.Keyring)
	if err != nil {
		return fmt.Errorf("%s: keyring: %w", p.id, err)
	}
	p.ks = ks
	if cl != nil {
		for _, s := range p.allSpecs() {
			if err := cl.Claim(s.path.String(), "hashed", fmt.Sprintf("processors::%s::%s", p.id, s.cfg)); err != nil {
				return err
			}
		}
	}
	// Fail at start-up, not on the first record, if the default tenant's
	// key cannot be had (missing file, bad size, loose permissions).
	if _, err := p.tenant(schema.DefaultTenant); err != nil {
		p.logger.Warn("default tenant key not available", zap.Error(err))
	}
	return nil
}

func (p *fieldProcessor) tenant(t string) (*tenantState, error) {
	keys, err := p.ks.TenantKeys(t)
	if err != nil {
		err = fmt.Errorf("fieldhash: keys of tenant %q: %w", t, err)
		if errors.Is(err, vault.ErrInvalidTenant) {
			// Retrying cannot help: the sender gets a non-retryable error.
			err = consumererror.NewPermanent(err)
		}
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.tenants[t]
	prevVer := uint32(0)
	if keys.Previous != nil {
		prevVer = keys.Previous.Version
	}
	stPrev := uint32(0)
	if st != nil && st.prev != nil {
		stPrev = st.prev.Version()
	}
	if st != nil && st.cur.Version() == keys.Current.Version && stPrev == prevVer {
		return st, nil
	}
	cur, err := vault.NewPseudonymizer(keys.Current)
	if err != nil {
		return nil, fmt.Errorf("fieldhash: tenant %q: %w", t, err)
	}
	st = &tenantState{cur: cur, cache: map[cacheKey]string{}}
	if keys.Previous != nil {
		if st.prev, err = vault.NewPseudonymizer(*keys.Previous); err != nil {
			return nil, fmt.Errorf("fieldhash: tenant %q: %w", t, err)
		}
	}
	p.tenants[t] = st
	return st, nil
}

// batchTenants memoizes tenant lookups within one batch.
type batchTenants struct {
	p    *fieldProcessor
	last string
	st   *tenantState
}

func (b *batchTenants) get(t string) (*tenantState, error) {
	if b.st != nil && t == b.last {
		return b.st, nil
	}
	st, err := b.p.tenant(t)
	if err != nil {
		return nil, err
	}
	b.last, b.st = t, st
	return st, nil
}

func pseudonym(ps *vault.Pseudonymizer, f *Field, s string) string {
	switch f.Mode {
	case ModeEmail:
		return ps.Email(s, f.KeepDomain)
	case ModePath:
		return ps.Path(s, f.KeepStructure)
	case ModeIP:
		return ps.IP(s, f.KeepPrefix)
	default:
		return ps.Value(s)
	}
}

func (st *tenantState) current(s *spec, in string, limit int) string {
	if limit == 0 {
		return pseudonym(st.cur, &s.f, in)
	}
	k := cacheKey{s, in}
	st.mu.Lock()
	out, ok := st.cache[k]
	st.mu.Unlock()
	if ok {
		return out
	}
	out = pseudonym(st.cur, &s.f, in)
	st.mu.Lock()
	if len(st.cache) >= limit {
		clear(st.cache) // cheap bound; hot identities refill at once
	}
	st.cache[k] = out
	st.mu.Unlock()
	return out
}

// hashValue replaces v (Str, Int, Double, Bytes, or Slices/Maps of them) by
// its pseudonym(s) under ps (prev) or the tenant's current key.
func (p *fieldProcessor) hashValue(v pcommon.Value, st *tenantState, s *spec, prev bool) {
	var in string
	switch v.Type() {
	case pcommon.ValueTypeStr:
		in = v.Str()
		if in == "" || (!prev && vault.IsPseudonym(in)) {
			return
		}
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble:
		in = v.AsString()
	case pcommon.ValueTypeBytes:
		in = hex.EncodeToString(v.Bytes().AsRaw())
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		for i := 0; i < sl.Len(); i++ {
			p.hashValue(sl.At(i), st, s, prev)
		}
		return
	case pcommon.ValueTypeMap:
		v.Map().Range(func(_ string, e pcommon.Value) bool {
			p.hashValue(e, st, s, prev)
			return true
		})
		return
	default: // Bool, Empty: carry no identity
		return
	}
	if prev {
		v.SetStr(pseudonym(st.prev, &s.f, in))
	} else {
		v.SetStr(st.current(s, in, p.cfg.CacheSize))
	}
}

// apply hashes container[key] and, during an overlap window, writes the
// previous version's pseudonym to container[key+suffix].
func (p *fieldProcessor) apply(container pcommon.Map, key string, v pcommon.Value, st *tenantState, s *spec) {
	if st.prev != nil {
		pv := container.PutEmpty(key + p.cfg.PreviousSuffix)
		v2, _ := container.Get(key) // PutEmpty may move values
		v2.CopyTo(pv)
		p.hashValue(pv, st, s, true)
		v = v2
	}
	p.hashValue(v, st, s, false)
}

func (p *fieldProcessor) applyMap(m pcommon.Map, specs map[string]*spec, st *tenantState) {
	if len(specs) == 0 || m.Len() == 0 {
		return
	}
	var buf [16]string
	hits := buf[:0]
	m.Range(func(k string, _ pcommon.Value) bool {
		if specs[k] != nil {
			hits = append(hits, k)
		}
		return true
	})
	for _, k := range hits {
		if v, ok := m.Get(k); ok {
			p.apply(m, k, v, st, specs[k])
		}
	}
}

func (p *fieldProcessor) applyDeep(ctx fieldpath.Context, m pcommon.Map, st *tenantState) {
	for _, s := range p.deep {
		if s.path.Context != ctx || len(s.path.Keys) == 0 {
			continue
		}
		if v, parent, ok := fieldpath.Lookup(m, s.path.Keys); ok {
			p.apply(parent, s.path.Keys[len(s.path.Keys)-1], v, st, s)
		}
	}
}

func (p *fieldProcessor) resourceTenant(ctx context.Context, res pcommon.Resource) string {
	return fieldpath.ResourceTenant(ctx, res.Attributes(), p.cfg.Tenant.FromAttribute, p.cfg.Tenant.FromAuth, schema.DefaultTenant)
}

// checkTenant returns t when it can have keys. Otherwise the record or
// resource m is rerouted to schema.InvalidTenant: its tenant attribute is
// rewritten (so promptcrypt and the exporter follow) and a pseudonym of the
// bad value is kept under schema.AttrInvalidTenant. The sender's other
// records go on; nothing is refused, nothing is forwarded unhashed.
func (p *fieldProcessor) checkTenant(m pcommon.Map, t string, bt *batchTenants) (string, error) {
	if vault.ValidTenant(t) == nil {
		return t, nil
	}
	st, err := bt.get(schema.InvalidTenant)
	if err != nil {
		return "", err
	}
	ps := st.cur.Value(t)
	m.PutStr(p.cfg.Tenant.FromAttribute, schema.InvalidTenant)
	m.PutStr(schema.AttrInvalidTenant, ps)
	p.rerouted.Add(1)
	if p.warnedBadN.Load() < 100 {
		if _, seen := p.warnedBad.LoadOrStore(ps, struct{}{}); !seen {
			p.warnedBadN.Add(1)
			// The value itself is untrusted record content (it could be
			// anything a sender put there): only its pseudonym, which is
			// also on the stored rows, and its length are logged.
			p.logger.Warn("fieldhash: records name a tenant that can never have keys; rerouted to the invalid-tenant quarantine, pseudonymized there",
				zap.String("tenant_pseudonym", ps), zap.Int("tenant_bytes", len(t)), zap.String("rerouted_to", schema.InvalidTenant),
				zap.String("want", "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"))
		}
	}
	return schema.InvalidTenant, nil
}

func (p *fieldProcessor) recordAttrs(attrs pcommon.Map, rt string, bt *batchTenants) (*tenantState, error) {
	t := fieldpath.RecordTenant(attrs, p.cfg.Tenant.FromAttribute, rt)
	if t != rt { // the record names its own tenant
		var err error
		if t, err = p.checkTenant(attrs, t, bt); err != nil {
			return nil, err
		}
	}
	st, err := bt.get(t)
	if err != nil {
		return nil, err
	}
	p.applyMap(attrs, p.rec, st)
	p.applyDeep(fieldpath.Record, attrs, st)
	return st, nil
}

func (p *fieldProcessor) resourceAndScope(res, scope pcommon.Map, st *tenantState) {
	p.applyMap(res, p.res, st)
	p.applyDeep(fieldpath.Resource, res, st)
	p.applyMap(scope, p.scope, st)
	p.applyDeep(fieldpath.Scope, scope, st)
}

func (p *fieldProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	bt := &batchTenants{p: p}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		rt, err := p.checkTenant(rl.Resource().Attributes(), p.resourceTenant(ctx, rl.Resource()), bt)
		if err != nil {
			return ld, err
		}
		rst, err := bt.get(rt)
		if err != nil {
			return ld, err
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			p.resourceAndScope(pcommon.NewMap(), sl.Scope().Attributes(), rst)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				st, err := p.recordAttrs(lr.Attributes(), rt, bt)
				if err != nil {
					return ld, err
				}
				p.body(lr, st)
			}
		}
		p.resourceAndScope(rl.Resource().Attributes(), pcommon.NewMap(), rst)
	}
	return ld, nil
}

func (p *fieldProcessor) body(lr plog.LogRecord, st *tenantState) {
	for _, s := range p.deep {
		if s.path.Context != fieldpath.Body {
			continue
		}
		b := lr.Body()
		if len(s.path.Keys) == 0 {
			if st.prev != nil {
				pv := lr.Attributes().PutEmpty("body" + p.cfg.PreviousSuffix)
				b.CopyTo(pv)
				p.hashValue(pv, st, s, true)
			}
			p.hashValue(b, st, s, false)
			continue
		}
		if b.Type() != pcommon.ValueTypeMap {
			continue
		}
		if v, parent, ok := fieldpath.Lookup(b.Map(), s.path.Keys); ok {
			p.apply(parent, s.path.Keys[len(s.path.Keys)-1], v, st, s)
		}
	}
}

func (p *fieldProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	bt := &batchTenants{p: p}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		rt, err := p.checkTenant(rs.Resource().Attributes(), p.resourceTenant(ctx, rs.Resource()), bt)
		if err != nil {
			return td, err
		}
		rst, err := bt.get(rt)
		if err != nil {
			return td, err
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			p.resourceAndScope(pcommon.NewMap(), ss.Scope().Attributes(), rst)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				st, err := p.recordAttrs(sp.Attributes(), rt, bt)
				if err != nil {
					return td, err
				}
				evs := sp.Events()
				for e := 0; e < evs.Len(); e++ {
					p.applyMap(evs.At(e).Attributes(), p.rec, st)
					p.applyDeep(fieldpath.Record, evs.At(e).Attributes(), st)
				}
				links := sp.Links()
				for l := 0; l < links.Len(); l++ {
					p.applyMap(links.At(l).Attributes(), p.rec, st)
				}
			}
		}
		p.resourceAndScope(rs.Resource().Attributes(), pcommon.NewMap(), rst)
	}
	return td, nil
}

func (p *fieldProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	bt := &batchTenants{p: p}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		rt, err := p.checkTenant(rm.Resource().Attributes(), p.resourceTenant(ctx, rm.Resource()), bt)
		if err != nil {
			return md, err
		}
		rst, err := bt.get(rt)
		if err != nil {
			return md, err
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			p.resourceAndScope(pcommon.NewMap(), sm.Scope().Attributes(), rst)
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				var err error
				fieldpath.ForEachPointAttributes(ms.At(k), func(a pcommon.Map) {
					if err == nil {
						_, err = p.recordAttrs(a, rt, bt)
					}
				})
				if err != nil {
					return md, err
				}
			}
		}
		p.resourceAndScope(rm.Resource().Attributes(), pcommon.NewMap(), rst)
	}
	return md, nil
}
