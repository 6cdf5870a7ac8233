package policy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/wardenhq/warden/dlp"
	"github.com/wardenhq/warden/policy/engine"
	"github.com/wardenhq/warden/schema"
)

// Attributes this processor writes besides the canonical columns
// (warden.decision, warden.rule_ids, warden.decision_id,
// warden.policy_revision, warden.dlp_findings, warden.redaction_count).
const (
	AttrReasons        = schema.AttrPrefix + "policy_reasons"         // Str, "; "-joined
	AttrAlert          = schema.AttrPrefix + "policy_alert"           // Bool, set when flagged
	AttrError          = schema.AttrPrefix + "policy_error"           // Str, why evaluation failed
	AttrShadowDecision = schema.AttrPrefix + "shadow_decision"        // Str
	AttrShadowRuleIDs  = schema.AttrPrefix + "shadow_rule_ids"        // Str, ","-joined
	AttrShadowRevision = schema.AttrPrefix + "shadow_policy_revision" // Str
	// AttrDLPConfidence (Map type -> "low|medium|high") may accompany
	// warden.dlp_findings on records whose content was sealed at the edge.
	AttrDLPConfidence = schema.AttrPrefix + "dlp_confidence"
)

var (
	attrDecision       = schema.Attr("decision")
	attrRuleIDs        = schema.Attr("rule_ids")
	attrDecisionID     = schema.Attr("decision_id")
	attrRevision       = schema.Attr("policy_revision")
	attrFindings       = schema.Attr("dlp_findings")
	attrRedactionCount = schema.Attr("redaction_count")
)

type policyProcessor struct {
	cfg     *Config
	logger  *zap.Logger
	set     engine.Set
	scanner *dlp.Scanner

	signal                                     string // "logs" or "traces": each pipeline has its own engines
	records, dropped, errs, alerts, redactions metric.Int64Counter
	reg                                        metric.Registration
}

func newProcessor(ctx context.Context, cfg *Config, set processor.Settings, signal string) (*policyProcessor, error) {
	p := &policyProcessor{cfg: cfg, logger: set.Logger, signal: signal}
	slogger := newSlog(set.Logger)
	active, err := engine.New(ctx, engine.Options{
		Path: cfg.Bundle, ReloadInterval: cfg.ReloadInterval, CacheSize: cfg.CacheSize,
		Name: "active", Logger: slogger,
	})
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	p.set.Active = active
	if cfg.ShadowBundle != "" {
		shadow, err := engine.New(ctx, engine.Options{
			Path: cfg.ShadowBundle, ReloadInterval: cfg.ReloadInterval, CacheSize: cfg.CacheSize,
			Name: "shadow", Logger: slogger,
		})
		if err != nil {
			return nil, fmt.Errorf("shadow_bundle: %w", err)
		}
		p.set.Shadow = shadow
	}
	if cfg.ScanMessages {
		if p.scanner, err = dlp.New(); err != nil {
			return nil, fmt.Errorf("dlp: %w", err)
		}
	}
	if err := p.initMetrics(set.TelemetrySettings); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *policyProcessor) initMetrics(ts component.TelemetrySettings) error {
	m := ts.MeterProvider.Meter("github.com/wardenhq/warden/processors/policy")
	var err, e error
	p.records, e = m.Int64Counter("warden_policy_records", metric.WithDescription("Records judged, by decision."), metric.WithUnit("{record}"))
	err = errors.Join(err, e)
	p.dropped, e = m.Int64Counter("warden_policy_dropped", metric.WithDescription("Records removed by a drop decision."), metric.WithUnit("{record}"))
	err = errors.Join(err, e)
	p.errs, e = m.Int64Counter("warden_policy_errors", metric.WithDescription("Records whose policy evaluation failed (kept, decision=error)."), metric.WithUnit("{record}"))
	err = errors.Join(err, e)
	p.alerts, e = m.Int64Counter("warden_policy_alerts", metric.WithDescription("Records flagged for review or alert."), metric.WithUnit("{record}"))
	err = errors.Join(err, e)
	p.redactions, e = m.Int64Counter("warden_policy_redactions", metric.WithDescription("Findings replaced by placeholders."), metric.WithUnit("{finding}"))
	err = errors.Join(err, e)
	hitRate, e := m.Float64ObservableGauge("warden_policy_cache_hit_ratio", metric.WithDescription("Decision cache hits / lookups since start."), metric.WithUnit("1"))
	err = errors.Join(err, e)
	hits, e := m.Int64ObservableCounter("warden_policy_cache_hits", metric.WithUnit("{lookup}"))
	err = errors.Join(err, e)
	misses, e := m.Int64ObservableCounter("warden_policy_cache_misses", metric.WithUnit("{lookup}"))
	err = errors.Join(err, e)
	reloadFails, e := m.Int64ObservableCounter("warden_policy_bundle_reload_failures", metric.WithDescription("Bundle reloads rejected (previous bundle kept)."), metric.WithUnit("{reload}"))
	err = errors.Join(err, e)
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	p.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, eng := range []*engine.Engine{p.set.Active, p.set.Shadow} {
			if eng == nil {
				continue
			}
			s := eng.Stats()
			attrs := metric.WithAttributes(attribute.String("signal", p.signal), attribute.String("bundle", bundleName(eng, p.set)), attribute.String("revision", s.Revision))
			o.ObserveFloat64(hitRate, s.HitRate(), attrs)
			o.ObserveInt64(hits, int64(s.CacheHits), attrs)
			o.ObserveInt64(misses, int64(s.CacheMisses), attrs)
			o.ObserveInt64(reloadFails, int64(s.ReloadFailures), attrs)
		}
		return nil
	}, hitRate, hits, misses, reloadFails)
	return err
}

func bundleName(e *engine.Engine, s engine.Set) string {
	if e == s.Shadow {
		return "shadow"
	}
	return "active"
}

func (p *policyProcessor) start(context.Context, component.Host) error {
	p.set.Active.Start()
	if p.set.Shadow != nil {
		p.set.Shadow.Start()
	}
	return nil
}

func (p *policyProcessor) shutdown(context.Context) error {
	p.set.Active.Close()
	if p.set.Shadow != nil {
		p.set.Shadow.Close()
	}
	if p.reg != nil {
		return p.reg.Unregister()
	}
	return nil
}

func (p *policyProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource().Attributes()
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sls.At(j).LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				return p.judge(ctx, lr.Attributes(), res)
			})
		}
	}
	if ld.LogRecordCount() == 0 {
		return ld, processorhelper.ErrSkipProcessingData
	}
	return ld, nil
}

func (p *policyProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sss.At(j).Spans().RemoveIf(func(s ptrace.Span) bool {
				return p.judge(ctx, s.Attributes(), res)
			})
		}
	}
	if td.SpanCount() == 0 {
		return td, processorhelper.ErrSkipProcessingData
	}
	return td, nil
}

// scanned is one message's findings.
type scanned struct {
	index    int
	findings []dlp.Finding
}

// judge decides one record and applies the decision; it reports whether the
// record must be removed.
func (p *policyProcessor) judge(ctx context.Context, attrs, res pcommon.Map) (remove bool) {
	in := p.input(attrs, res)

	// DLP over the cleartext messages, in memory only.
	msgs, hasMsgs := attrs.Get(schema.AttrMessages)
	var perMsg []scanned
	if hasMsgs && msgs.Type() == pcommon.ValueTypeSlice && p.scanner != nil {
		sl := msgs.Slice()
		var roles []string
		for i := 0; i < sl.Len(); i++ {
			m := sl.At(i)
			if m.Type() != pcommon.ValueTypeMap {
				continue
			}
			mm := m.Map()
			roles = append(roles, str(mm, "role")+"/"+str(mm, "part"))
			text, ok := mm.Get("text")
			if !ok || text.Type() != pcommon.ValueTypeStr {
				continue
			}
			fs := p.scanner.ScanString(text.Str())
			if len(fs) == 0 {
				continue
			}
			perMsg = append(perMsg, scanned{index: i, findings: fs})
			in.Findings = append(in.Findings, engine.FromDLP(i, fs)...)
		}
		in.Direction = direction(roles)
	}

	d, shadow, err := p.set.Evaluate(ctx, &in)
	counts, _ := in.Summary()
	writeCounts(attrs, counts)

	attrs.PutStr(attrDecision, d.Decision)
	putStrSlice(attrs, attrRuleIDs, d.RuleIDs)
	attrs.PutStr(attrDecisionID, d.DecisionID)
	attrs.PutStr(attrRevision, d.Revision)
	if len(d.Reasons) > 0 {
		attrs.PutStr(AttrReasons, strings.Join(d.Reasons, "; "))
	}
	if shadow != nil {
		attrs.PutStr(AttrShadowDecision, shadow.Decision)
		attrs.PutStr(AttrShadowRuleIDs, strings.Join(shadow.RuleIDs, ","))
		attrs.PutStr(AttrShadowRevision, shadow.Revision)
	}
	decAttr := metric.WithAttributes(attribute.String("decision", d.Decision))
	p.records.Add(ctx, 1, decAttr)

	if err != nil {
		// Kept, marked and alerted: never dropped, never passed as allowed.
		attrs.PutStr(AttrError, err.Error())
		attrs.PutBool(AttrAlert, true)
		p.errs.Add(ctx, 1)
		p.alerts.Add(ctx, 1, decAttr)
		p.logger.Error("policy evaluation failed; record kept with decision=error",
			zap.String("decision_id", d.DecisionID), zap.String("policy_revision", d.Revision),
			zap.String("kind", in.Event.Kind), zap.Error(err))
		return false
	}

	switch d.Decision {
	case engine.Drop:
		p.logger.Info("record dropped by policy", zap.String("decision_id", d.DecisionID),
			zap.Strings("rule_ids", d.RuleIDs), zap.String("policy_revision", d.Revision), zap.String("on_drop", p.cfg.OnDrop))
		if p.cfg.OnDrop == OnDropRemove {
			p.dropped.Add(ctx, 1)
			return true
		}
		attrs.Remove(schema.AttrMessages)
		return false
	case engine.Block:
		// A block reaching the collector (bundle's collector_block_action
		// set to "block"): the content must not be kept, the row is.
		attrs.Remove(schema.AttrMessages)
	}

	if d.Decision != engine.Block && (d.Decision == engine.Redact || len(d.RedactTypes) > 0) && len(perMsg) > 0 {
		n := p.redact(msgs.Slice(), perMsg, d)
		attrs.PutInt(attrRedactionCount, int64(n))
		p.redactions.Add(ctx, int64(n))
	}
	if d.Alert || d.Decision == engine.Review || d.Decision == engine.Alert || d.Decision == engine.Block {
		attrs.PutBool(AttrAlert, true)
		p.alerts.Add(ctx, 1, decAttr)
		p.logger.Warn("record flagged by policy", zap.String("decision", d.Decision),
			zap.String("decision_id", d.DecisionID), zap.Strings("rule_ids", d.RuleIDs),
			zap.String("policy_revision", d.Revision))
	}
	return false
}

// redact replaces, in place, the findings the decision names (all of them
// when it names none) with typed placeholders; one redactor per record keeps
// placeholders consistent across the record's messages.
func (p *policyProcessor) redact(sl pcommon.Slice, perMsg []scanned, d engine.Decision) int {
	want := map[string]bool{}
	for _, t := range d.RedactTypes {
		want[t] = true
	}
	r := dlp.NewRedactor()
	n := 0
	for _, sm := range perMsg {
		var sel []dlp.Finding
		for _, f := range sm.findings {
			if len(want) == 0 || want[f.Type] {
				sel = append(sel, f)
			}
		}
		if len(sel) == 0 {
			continue
		}
		mm := sl.At(sm.index).Map()
		text, _ := mm.Get("text")
		mm.PutStr("text", r.RedactString(text.Str(), sel))
		n += len(sel)
	}
	return n
}

// input builds the policy input from the record's canonical attributes,
// falling back to the resource's.
func (p *policyProcessor) input(attrs, res pcommon.Map) engine.Input {
	get := func(k string) string {
		if v := str(attrs, k); v != "" {
			return v
		}
		return str(res, k)
	}
	in := engine.Input{
		Context: engine.ContextCollector,
		Event: engine.EventFacts{
			Kind: get(schema.Attr("kind")), Source: get(schema.Attr("source")), EventName: get(schema.Attr("event_name")),
			Tenant: get(schema.AttrTenant), Status: get(schema.Attr("status")), ToolName: get(schema.Attr("tool_name")),
		},
		Identity: engine.Identity{
			User: get(schema.Attr("user_pseudonym")), Department: get(schema.Attr("department")), Agent: get(schema.Attr("agent")),
		},
		Device:         engine.Device{ID: get(schema.Attr("device_pseudonym"))},
		Model:          engine.Model{Provider: get(schema.Attr("provider")), Name: get(schema.Attr("model"))},
		Destination:    engine.Destination{Host: get(schema.Attr("dest_host"))},
		Classification: get(p.cfg.ClassificationAttribute),
	}
	if v, ok := attrs.Get(schema.Attr("dest_port")); ok && v.Type() == pcommon.ValueTypeInt {
		in.Destination.Port = int(v.Int())
	}
	if b, ok := boolAttr(attrs, p.cfg.DeviceAuthenticatedAttribute); ok {
		in.Device.Authenticated = &b
	} else if b, ok := boolAttr(res, p.cfg.DeviceAuthenticatedAttribute); ok {
		in.Device.Authenticated = &b
	}
	// Findings recorded upstream (content sealed at the edge).
	if v, ok := attrs.Get(attrFindings); ok && v.Type() == pcommon.ValueTypeMap {
		in.RecordedCounts = map[string]int{}
		v.Map().Range(func(k string, c pcommon.Value) bool {
			if c.Type() == pcommon.ValueTypeInt && c.Int() > 0 {
				in.RecordedCounts[k] = int(c.Int())
			}
			return true
		})
	}
	if v, ok := attrs.Get(AttrDLPConfidence); ok && v.Type() == pcommon.ValueTypeMap {
		in.RecordedConfidence = map[string]string{}
		v.Map().Range(func(k string, c pcommon.Value) bool {
			in.RecordedConfidence[k] = strings.ToLower(c.AsString())
			return true
		})
	}
	return in
}

func direction(roles []string) string {
	var req, resp bool
	for _, r := range roles {
		if strings.HasPrefix(r, "assistant/") || strings.HasSuffix(r, "/"+schema.PartResponse) {
			resp = true
		} else {
			req = true
		}
	}
	switch {
	case req && resp:
		return "both"
	case resp:
		return "response"
	case req:
		return "request"
	}
	return ""
}

func writeCounts(attrs pcommon.Map, counts map[string]int) {
	if len(counts) == 0 {
		return
	}
	m := attrs.PutEmptyMap(attrFindings)
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.PutInt(k, int64(counts[k]))
	}
}

func putStrSlice(attrs pcommon.Map, k string, vs []string) {
	s := attrs.PutEmptySlice(k)
	s.EnsureCapacity(len(vs))
	for _, v := range vs {
		s.AppendEmpty().SetStr(v)
	}
}

func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		if v.Type() == pcommon.ValueTypeStr {
			return v.Str()
		}
		return v.AsString()
	}
	return ""
}

func boolAttr(m pcommon.Map, k string) (bool, bool) {
	v, ok := m.Get(k)
	if !ok {
		return false, false
	}
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return v.Bool(), true
	case pcommon.ValueTypeStr:
		switch strings.ToLower(v.Str()) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}
