package promptcrypt

import (
	"context"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wardenhq/warden/processors/fieldhash/fieldpath"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

func text(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString() // Slice/Map as JSON, numbers as text
}

// extract moves every piece of content out of attrs into msgs.
func (s *sealer) extract(attrs pcommon.Map, msgs []vault.Message) []vault.Message {
	if v, ok := attrs.Get(schema.AttrMessages); ok {
		if v.Type() == pcommon.ValueTypeSlice {
			sl := v.Slice()
			for i := 0; i < sl.Len(); i++ {
				e := sl.At(i)
				if e.Type() != pcommon.ValueTypeMap {
					if t := text(e); t != "" {
						msgs = append(msgs, vault.Message{Role: "user", Part: schema.PartOther, Text: t})
					}
					continue
				}
				m := e.Map()
				t := ""
				if tv, ok := m.Get("text"); ok {
					t = text(tv)
				}
				if t == "" {
					continue
				}
				msgs = append(msgs, vault.Message{Role: str(m, "role"), Part: str(m, "part"), Text: t})
			}
		} else if t := text(v); t != "" {
			msgs = append(msgs, vault.Message{Role: "user", Part: schema.PartOther, Text: t})
		}
		attrs.Remove(schema.AttrMessages)
	}
	if len(s.rec) > 0 && attrs.Len() > 0 {
		var buf [8]string
		hits := buf[:0]
		attrs.Range(func(k string, _ pcommon.Value) bool {
			if _, ok := s.rec[k]; ok {
				hits = append(hits, k)
			}
			return true
		})
		for _, k := range hits {
			v, _ := attrs.Get(k)
			if t := text(v); t != "" {
				sh := s.rec[k]
				msgs = append(msgs, vault.Message{Role: sh.role, Part: sh.part, Text: t})
			}
			attrs.Remove(k)
		}
	}
	for _, d := range s.deep {
		if d.path.Context != fieldpath.Record {
			continue
		}
		msgs = s.takeDeep(attrs, d, msgs)
	}
	return msgs
}

func (s *sealer) takeDeep(root pcommon.Map, d attrSpec, msgs []vault.Message) []vault.Message {
	v, parent, ok := fieldpath.Lookup(root, d.path.Keys)
	if !ok {
		return msgs
	}
	if t := text(v); t != "" {
		msgs = append(msgs, vault.Message{Role: d.sh.role, Part: d.sh.part, Text: t})
	}
	parent.Remove(d.path.Keys[len(d.path.Keys)-1])
	return msgs
}

// extractResource moves resource content out, leaving the attribute in
// place (its value is replaced by the block reference once sealed).
func (s *sealer) extractResource(res pcommon.Map) (keys []string, msgs []vault.Message) {
	for k, sh := range s.res {
		if v, ok := res.Get(k); ok {
			if t := text(v); t != "" {
				keys = append(keys, k)
				msgs = append(msgs, vault.Message{Role: sh.role, Part: sh.part, Text: t})
			}
		}
	}
	for _, d := range s.deep {
		if d.path.Context != fieldpath.Resource {
			continue
		}
		if v, _, ok := fieldpath.Lookup(res, d.path.Keys); ok {
			if t := text(v); t != "" {
				// Deep resource paths are removed outright (no ref slot).
				keys = append(keys, "")
				msgs = append(msgs, vault.Message{Role: d.sh.role, Part: d.sh.part, Text: t})
				_, parent, _ := fieldpath.Lookup(res, d.path.Keys)
				parent.Remove(d.path.Keys[len(d.path.Keys)-1])
			}
		}
	}
	return keys, msgs
}

// resourceContent seals a resource's content on its first record: the
// record's prompt_ref starts with the resource's blocks and the resource
// attribute becomes "sealed:<block id>".
type resourceContent struct {
	keys []string
	msgs []vault.Message
	res  pcommon.Map
}

func (rc *resourceContent) takeInto(msgs []vault.Message) ([]vault.Message, int) {
	if len(rc.msgs) == 0 {
		return msgs, 0
	}
	n := len(rc.msgs)
	out := append(append(make([]vault.Message, 0, n+len(msgs)), rc.msgs...), msgs...)
	rc.msgs = nil
	return out, n
}

func (rc *resourceContent) finish(attrs pcommon.Map, n int) {
	if n == 0 {
		return
	}
	ref, _ := attrs.Get(schema.Attr("prompt_ref"))
	for i := 0; i < n && i < ref.Slice().Len(); i++ {
		if rc.keys[i] != "" {
			rc.res.PutStr(rc.keys[i], "sealed:"+ref.Slice().At(i).Str())
		}
	}
}

// unsealed is what must never pass: resource content of a resource whose
// records were all empty (there is nothing to carry its blocks) is dropped
// from the resource rather than forwarded in clear.
func (rc *resourceContent) dropLeftover() {
	if len(rc.msgs) == 0 {
		return
	}
	for _, k := range rc.keys {
		if k != "" {
			rc.res.Remove(k)
		}
	}
}

func (s *sealer) resourceTenant(ctx context.Context, res pcommon.Map) string {
	return fieldpath.ResourceTenant(ctx, res, s.cfg.Tenant.FromAttribute, s.cfg.Tenant.FromAuth, schema.DefaultTenant)
}

type logsProcessor struct {
	*sealer
	next    consumer.Logs
	release sync.Once
}

func (p *logsProcessor) Start(ctx context.Context, host component.Host) error {
	return p.start(ctx, host)
}
func (p *logsProcessor) Shutdown(context.Context) error {
	p.release.Do(func() { releaseSealer(p.sealer) })
	return nil
}
func (p *logsProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func isGenAIEvent(lr plog.LogRecord) bool {
	if strings.HasPrefix(lr.EventName(), "gen_ai.") {
		return true
	}
	if v, ok := lr.Attributes().Get("event.name"); ok && strings.HasPrefix(v.Str(), "gen_ai.") {
		return true
	}
	return false
}

func (p *logsProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return p.consume(func(b *batch) error { return p.sealLogs(ctx, ld, b) }, func() error { return p.next.ConsumeLogs(ctx, ld) })
}

// consume seals, then hands on; if either fails, what the batch emitted
// is forgotten so a retry emits it again.
func (s *sealer) consume(seal func(*batch) error, next func() error) error {
	b := &batch{}
	err := seal(b)
	if err == nil {
		err = next()
	}
	if err != nil {
		s.forget(b.sent, b.keys)
	}
	return err
}

func (p *logsProcessor) sealLogs(ctx context.Context, ld plog.Logs, b *batch) error {
	rls := ld.ResourceLogs()
	var msgs []vault.Message
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource().Attributes()
		rt := p.resourceTenant(ctx, res)
		rk, rm := p.extractResource(res)
		rc := &resourceContent{keys: rk, msgs: rm, res: res}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				attrs := lr.Attributes()
				msgs = p.extract(attrs, msgs[:0])
				msgs = p.extractBody(lr, msgs)
				var n int
				msgs, n = rc.takeInto(msgs)
				if err := p.sealMessages(attrs, fieldpath.RecordTenant(attrs, p.cfg.Tenant.FromAttribute, rt), msgs, b); err != nil {
					return err
				}
				rc.finish(attrs, n)
			}
		}
		rc.dropLeftover()
	}
	return nil
}

func (p *logsProcessor) extractBody(lr plog.LogRecord, msgs []vault.Message) []vault.Message {
	body := lr.Body()
	for _, d := range p.deep {
		if d.path.Context != fieldpath.Body {
			continue
		}
		if len(d.path.Keys) == 0 {
			if t := text(body); t != "" {
				msgs = append(msgs, vault.Message{Role: d.sh.role, Part: d.sh.part, Text: t})
			}
			body.SetStr("")
			continue
		}
		if body.Type() == pcommon.ValueTypeMap {
			msgs = p.takeDeep(body.Map(), d, msgs)
		}
	}
	// OTel GenAI events carry their message in the body.
	if p.cfg.SourceShapes && body.Type() != pcommon.ValueTypeEmpty && isGenAIEvent(lr) {
		if t := text(body); t != "" {
			role := "user"
			part := schema.PartPrompt
			name := lr.EventName()
			if v, ok := lr.Attributes().Get("event.name"); ok && name == "" {
				name = v.Str()
			}
			switch {
			case strings.Contains(name, "system"):
				role, part = "system", schema.PartSystem
			case strings.Contains(name, "choice") || strings.Contains(name, "assistant"):
				role, part = "assistant", schema.PartResponse
			case strings.Contains(name, "tool"):
				role, part = "tool", schema.PartToolOutput
			}
			msgs = append(msgs, vault.Message{Role: role, Part: part, Text: t})
		}
		body.SetStr("")
	}
	return msgs
}

type tracesProcessor struct {
	*sealer
	next    consumer.Traces
	release sync.Once
}

func (p *tracesProcessor) Start(ctx context.Context, host component.Host) error {
	return p.start(ctx, host)
}
func (p *tracesProcessor) Shutdown(context.Context) error {
	p.release.Do(func() { releaseSealer(p.sealer) })
	return nil
}
func (p *tracesProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (p *tracesProcessor) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return p.consume(func(b *batch) error { return p.sealTraces(ctx, td, b) }, func() error { return p.next.ConsumeTraces(ctx, td) })
}

func (p *tracesProcessor) sealTraces(ctx context.Context, td ptrace.Traces, b *batch) error {
	rss := td.ResourceSpans()
	var msgs []vault.Message
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		rt := p.resourceTenant(ctx, res)
		rk, rm := p.extractResource(res)
		rc := &resourceContent{keys: rk, msgs: rm, res: res}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				attrs := sp.Attributes()
				msgs = p.extract(attrs, msgs[:0])
				// Span events (gen_ai content events) seal into the span.
				evs := sp.Events()
				for e := 0; e < evs.Len(); e++ {
					msgs = p.extract(evs.At(e).Attributes(), msgs)
				}
				var n int
				msgs, n = rc.takeInto(msgs)
				if err := p.sealMessages(attrs, fieldpath.RecordTenant(attrs, p.cfg.Tenant.FromAttribute, rt), msgs, b); err != nil {
					return err
				}
				rc.finish(attrs, n)
			}
		}
		rc.dropLeftover()
	}
	return nil
}
