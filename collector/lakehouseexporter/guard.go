package lakehouseexporter

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

// The exporterhelper persists a request in the sending queue before the
// push function sees it. Records that still carry prompt text in
// warden.messages (a pipeline without promptcrypt) would put that cleartext
// into the queue files. The guards below remove it in ConsumeLogs /
// ConsumeTraces, before the queue, so the queue never holds cleartext and
// never pays to persist text that the exporter would discard anyway.

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
			}
		}
	}
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
				g.e.stripMessages(spans.At(k).Attributes())
			}
		}
	}
	return g.Traces.ConsumeTraces(ctx, td)
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
		if *c == "" || vault.HasPseudonymPrefix(*c) {
			continue
		}
		*c = ""
		e.rawIDsBlanked.Add(1)
		e.mRawIDs.Add(nil2ctx(), 1)
		e.warnRawIDs.Do(func() {
			e.log.Warn("lakehouse: an identity attribute or pseudonym column held a value that is not a keyed pseudonym (no fieldhash in the pipeline?): blanked, never stored")
		})
	}
}

var identityAttrs = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range schema.IdentityAttributes {
		m[k] = true
	}
	return m
}()

// attrValue is the value stored for attribute k: a well-known identity
// attribute (schema.IdentityAttributes) that does not hold a keyed
// pseudonym is blanked like a pseudonym column, so a pipeline without
// fieldhash never stores a raw user id, e-mail or host name.
func (e *lakehouseExporter) attrValue(k string, v pcommon.Value) string {
	s := v.AsString()
	if s == "" || !identityAttrs[k] || vault.HasPseudonymPrefix(s) {
		return s
	}
	e.rawIDsBlanked.Add(1)
	e.mRawIDs.Add(nil2ctx(), 1)
	e.warnRawIDs.Do(func() {
		e.log.Warn("lakehouse: an identity attribute or pseudonym column held a value that is not a keyed pseudonym (no fieldhash in the pipeline?): blanked, never stored")
	})
	return ""
}
