package genai

import (
	"encoding/hex"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wardenhq/warden/schema"
)

// NormalizeTraces normalizes every span in place: kind "span" (a span
// repeats what the authoritative log event reports, so it never carries
// token or cost columns), identity, trace/span ids, and prompt-like content
// of the span and its events moved into warden.messages. With span_calls, an
// OTel GenAI span with usage from a source without its own call events is
// the model_call.
func (n *Normalizer) NormalizeTraces(td ptrace.Traces) {
	var ri resInfo
	var v view
	d := xxhash.New()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		n.prepareResource(rs.Resource(), &ri)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				n.normalizeSpan(spans.At(k), ss.Scope().Name(), k, &ri, &v, d)
			}
		}
	}
}

func (n *Normalizer) normalizeSpan(sp ptrace.Span, scope string, idx int, ri *resInfo, v *view, d *xxhash.Digest) {
	n.Stats.Records.Add(1)
	attrs := sp.Attributes()
	v.reset()
	v.scan(attrs)
	var p problems
	source := v.str(kWardenSource)
	if source == "" {
		source = ri.source
	}
	if source == "" {
		source = sourceOfName(sp.Name(), scope)
	}
	if source == "" {
		if v.has[kOperation] || v.has[kProviderHint] {
			source = schema.SourceOTelGenAI
		} else {
			source = schema.SourceUnknown
		}
	}
	haveID := false
	if v.has[kWardenEventID] {
		if val := v.vals[kWardenEventID]; val.Type() == pcommon.ValueTypeBytes && val.Bytes().Len() == 16 {
			haveID = true
		}
	}
	var id [16]byte
	if !haveID {
		d.Reset()
		d.WriteString(scope)
		writeUint(d, uint64(idx))
		writeUint(d, ri.hash)
		tid, sid := sp.TraceID(), sp.SpanID()
		d.Write(tid[:])
		d.Write(sid[:])
		d.WriteString(sp.Name())
		writeUint(d, uint64(sp.StartTimestamp()))
		writeUint(d, uint64(sp.EndTimestamp()))
		hashMap(d, attrs)
		id = eventID(uint64(sp.StartTimestamp()), d.Sum64())
	}
	f := facts{kind: schema.KindSpan, source: source, eventName: sp.Name()}
	if k := v.str(kWardenKind); k != "" {
		f.kind = k
	} else if n.spanCalls && source == schema.SourceOTelGenAI && (v.has[kSemInput] || v.has[kSemOutput]) {
		f.kind, f.callStyle = schema.KindModelCall, styleSemconv
		n.callFacts(&f, v, &p)
		if !f.haveLatency && sp.EndTimestamp() > sp.StartTimestamp() {
			f.latency, f.haveLatency = float64(sp.EndTimestamp()-sp.StartTimestamp())/1e6, true
		}
	}

	n.resolve(&f, v, ri)

	// Content of the span and of its events (Claude Code's tool.output
	// event carries file content) goes into the span's messages.
	events := sp.Events()
	var pbuf [4]pending
	pend := pbuf[:0]
	if ri.argsPending {
		pend = append(pend, pending{roleUser, schema.PartPrompt, splitNone, ri.commandArgs})
		ri.argsPending = false
	}
	if v.contentN > 0 {
		pend = takeContent(attrs, pend, sp.Name())
	}
	for e := 0; e < events.Len(); e++ {
		pend = takeContent(events.At(e).Attributes(), pend, events.At(e).Name())
	}
	if !haveID {
		attrs.PutEmptyBytes(aEventID).FromRaw(id[:])
	}
	n.putCommon(attrs, &f, v, ri)
	if tid := sp.TraceID(); !tid.IsEmpty() {
		attrs.PutStr(aTraceID, hex.EncodeToString(tid[:]))
	}
	if sid := sp.SpanID(); !sid.IsEmpty() {
		attrs.PutStr(aSpanID, hex.EncodeToString(sid[:]))
	}
	n.putCallFacts(attrs, &f, uint64(sp.StartTimestamp()), &p)
	n.putMessages(attrs, pend, &p)
	if p.any() {
		n.Stats.Problems.Add(1)
		attrs.PutStr(AttrProblem, string(p.b))
	}
}

// NormalizeMetrics annotates every data point for the metric_points table:
// point_id (deterministic), tenant, source, identity and model. Values are
// untouched: metrics never become model_call rows.
func (n *Normalizer) NormalizeMetrics(md pmetric.Metrics) {
	var ri resInfo
	var v view
	d := xxhash.New()
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		n.prepareResource(rm.Resource(), &ri)
		ri.argsPending = false // metric points carry no messages; the argv is dropped from the resource
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				each := func(idx int, attrs pcommon.Map, start, ts pcommon.Timestamp) {
					n.annotatePoint(m.Name(), sm.Scope().Name(), idx, attrs, start, ts, &ri, &v, d)
				}
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					dps := m.Gauge().DataPoints()
					for x := 0; x < dps.Len(); x++ {
						each(x, dps.At(x).Attributes(), dps.At(x).StartTimestamp(), dps.At(x).Timestamp())
					}
				case pmetric.MetricTypeSum:
					dps := m.Sum().DataPoints()
					for x := 0; x < dps.Len(); x++ {
						each(x, dps.At(x).Attributes(), dps.At(x).StartTimestamp(), dps.At(x).Timestamp())
					}
				case pmetric.MetricTypeHistogram:
					dps := m.Histogram().DataPoints()
					for x := 0; x < dps.Len(); x++ {
						each(x, dps.At(x).Attributes(), dps.At(x).StartTimestamp(), dps.At(x).Timestamp())
					}
				case pmetric.MetricTypeExponentialHistogram:
					dps := m.ExponentialHistogram().DataPoints()
					for x := 0; x < dps.Len(); x++ {
						each(x, dps.At(x).Attributes(), dps.At(x).StartTimestamp(), dps.At(x).Timestamp())
					}
				case pmetric.MetricTypeSummary:
					dps := m.Summary().DataPoints()
					for x := 0; x < dps.Len(); x++ {
						each(x, dps.At(x).Attributes(), dps.At(x).StartTimestamp(), dps.At(x).Timestamp())
					}
				}
			}
		}
	}
}

func (n *Normalizer) annotatePoint(name, scope string, idx int, attrs pcommon.Map, start, ts pcommon.Timestamp, ri *resInfo, v *view, d *xxhash.Digest) {
	n.Stats.Records.Add(1)
	v.reset()
	v.scan(attrs)
	var p problems
	f := facts{kind: ""}
	n.resolve(&f, v, ri)
	if v.contentN > 0 {
		// Prompt-like content has no place in metric_points: drop the text,
		// keep the point, and say so.
		attrs.RemoveIf(func(k string, _ pcommon.Value) bool { return isContent(codeOf(k)) })
		p.add("attributes", "prompt-like content removed from a metric data point")
	}
	source := ri.source
	if source == "" {
		source = sourceOfName(name, scope)
	}
	if source == "" {
		source = schema.SourceUnknown
	}
	d.Reset()
	d.WriteString(name)
	d.WriteString(scope)
	writeUint(d, uint64(idx))
	writeUint(d, ri.hash)
	writeUint(d, uint64(start))
	writeUint(d, uint64(ts))
	hashMap(d, attrs)
	id := eventID(uint64(ts), d.Sum64())
	attrs.PutEmptyBytes(aPointID).FromRaw(id[:])
	f.source = source
	// Tenant and identity as on events; kind and event name do not apply
	// to data points.
	n.putIdentity(attrs, &f, v, ri)
	if f.plainModel != "" {
		attrs.PutStr(aModel, f.plainModel)
	}
	if p.any() {
		n.Stats.Problems.Add(1)
		attrs.PutStr(AttrProblem, string(p.b))
	}
}
