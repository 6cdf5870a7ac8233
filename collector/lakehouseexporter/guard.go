package lakehouseexporter

import (
	"context"
	"slices"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wardenhq/warden/processors/fieldhash/fieldpath"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

// The exporterhelper persists a request in the sending queue before the
// push function sees it. Records that still carry prompt text in
// warden.messages (a pipeline without promptcrypt), or raw identities in
// the pseudonym attributes or the well-known identity attributes (a
// pipeline without fieldhash), would put them into the queue files. The
// guards below remove both in ConsumeLogs / ConsumeTraces / ConsumeMetrics,
// before the queue, so the queue never holds them and never pays to
// persist what the exporter would discard anyway.

type logsGuard struct {
	exporter.Logs
	e *lakehouseExporter
}

func (g logsGuard) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (g logsGuard) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				g.e.stripMessages(lrs.At(k).Attributes())
				g.e.scrubIdentities(lrs.At(k).Attributes())
			}
		}
		g.e.scrubIdentities(rls.At(i).Resource().Attributes())
	}
	g.e.flushRawIDs(ctx)
	return g.Logs.ConsumeLogs(ctx, ld)
}

type tracesGuard struct {
	exporter.Traces
	e *lakehouseExporter
}

func (g tracesGuard) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (g tracesGuard) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				g.e.stripMessages(sp.Attributes())
				g.e.scrubIdentities(sp.Attributes())
				for e := 0; e < sp.Events().Len(); e++ {
					g.e.scrubIdentities(sp.Events().At(e).Attributes())
				}
			}
		}
		g.e.scrubIdentities(rss.At(i).Resource().Attributes())
	}
	g.e.flushRawIDs(ctx)
	return g.Traces.ConsumeTraces(ctx, td)
}

type metricsGuard struct {
	exporter.Metrics
	e *lakehouseExporter
}

func (g metricsGuard) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (g metricsGuard) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				fieldpath.ForEachPointAttributes(ms.At(k), g.e.scrubIdentities)
			}
		}
		g.e.scrubIdentities(rms.At(i).Resource().Attributes())
	}
	g.e.flushRawIDs(ctx)
	return g.Metrics.ConsumeMetrics(ctx, md)
}

var pseudonymAttrs = []string{schema.Attr("user_pseudonym"), schema.Attr("device_pseudonym"), schema.Attr("path_pseudonym")}

// flushRawIDs brings the raw-identifiers metric up to the counter (once per
// batch: a metric update per blanked value cost more than the check).
func (e *lakehouseExporter) flushRawIDs(ctx context.Context) {
	e.rawMu.Lock()
	defer e.rawMu.Unlock()
	if cur := e.rawIDsBlanked.Load(); cur > e.rawIDsReported {
		e.mRawIDs.Add(ctx, cur-e.rawIDsReported)
		e.rawIDsReported = cur
	}
}

// scrubIdentities blanks, in place, every pseudonym attribute and
// well-known identity attribute of m that does not hold a keyed pseudonym
// (see attrValue).
func (e *lakehouseExporter) scrubIdentities(m pcommon.Map) {
	m.Range(func(k string, v pcommon.Value) bool {
		if e.scrub[k] && e.isRaw(v.AsString()) {
			v.SetStr("")
		}
		return true
	})
}

// stripMessages removes warden.messages from one record's attributes,
// counting it as discarded.
func (e *lakehouseExporter) stripMessages(attrs pcommon.Map) {
	if v, ok := attrs.Get(schema.AttrMessages); ok {
		e.discardMessages(v)
		attrs.Remove(schema.AttrMessages)
	}
}

// guardPseudonyms blanks any pseudonym column that does not hold a keyed
// pseudonym. genai puts the raw identifier into warden.user_pseudonym /
// device_pseudonym / path_pseudonym for fieldhash to replace; in a pipeline
// without fieldhash (or with a field left out of its config) the raw id
// would otherwise be stored. The value is never logged.
func (e *lakehouseExporter) guardPseudonyms(cols ...*string) {
	for _, c := range cols {
		if e.isRaw(*c) {
			*c = ""
		}
	}
}

// identityAttrs are the identity attributes this exporter blanks when raw:
// schema.IdentityAttributes minus the config's keep_raw_attributes.
func identityAttrs(keep []string) map[string]bool {
	m := map[string]bool{}
	for _, k := range schema.IdentityAttributes {
		if !slices.Contains(keep, k) {
			m[k] = true
		}
	}
	return m
}

// attrValue is the value stored for attribute k: a well-known identity
// attribute (schema.IdentityAttributes) that does not hold a keyed
// pseudonym is blanked like a pseudonym column, so a pipeline without
// fieldhash never stores a raw user id, e-mail or host name.
func (e *lakehouseExporter) attrValue(k string, v pcommon.Value) string {
	s := v.AsString()
	if !e.identity[k] || !e.isRaw(s) {
		return s
	}
	return ""
}

// isRaw reports (and counts, and warns once about) a non-empty value that
// is not a keyed pseudonym.
func (e *lakehouseExporter) isRaw(s string) bool {
	if s == "" || vault.HasPseudonymPrefix(s) {
		return false
	}
	e.rawIDsBlanked.Add(1) // the metric follows in flushRawIDs, once per batch
	e.warnRawIDs.Do(func() {
		e.log.Warn("lakehouse: an identity attribute or pseudonym column held a value that is not a keyed pseudonym (no fieldhash in the pipeline?): blanked, never stored")
	})
	return true
}
