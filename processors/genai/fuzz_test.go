package genai

import (
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// FuzzNormalize feeds arbitrary OTLP request bodies (protobuf; seeded with
// the real agents' captures) through the normalizer. It must never panic,
// never drop a record, and give every record an event id (every point a
// point id).
func FuzzNormalize(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "agents", "*", "*.pb"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	m := &plog.ProtoMarshaler{}
	if b, err := m.MarshalLogs(benchRecord()); err == nil {
		f.Add(b)
	}
	n := testNormalizer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		lr := plogotlp.NewExportRequest()
		if lr.UnmarshalProto(data) == nil {
			ld := lr.Logs()
			before := ld.LogRecordCount()
			n.NormalizeLogs(ld)
			if ld.LogRecordCount() != before {
				t.Fatalf("records %d -> %d", before, ld.LogRecordCount())
			}
			rls := ld.ResourceLogs()
			for i := 0; i < rls.Len(); i++ {
				for j := 0; j < rls.At(i).ScopeLogs().Len(); j++ {
					lrs := rls.At(i).ScopeLogs().At(j).LogRecords()
					for k := 0; k < lrs.Len(); k++ {
						if _, ok := lrs.At(k).Attributes().Get(aKind); !ok {
							t.Fatal("record without kind")
						}
						if _, ok := lrs.At(k).Attributes().Get(aEventID); !ok {
							t.Fatal("record without event id")
						}
					}
				}
			}
		}
		tr := ptraceotlp.NewExportRequest()
		if tr.UnmarshalProto(data) == nil {
			td := tr.Traces()
			before := td.SpanCount()
			n.NormalizeTraces(td)
			if td.SpanCount() != before {
				t.Fatalf("spans %d -> %d", before, td.SpanCount())
			}
		}
		mr := pmetricotlp.NewExportRequest()
		if mr.UnmarshalProto(data) == nil {
			md := mr.Metrics()
			before := md.DataPointCount()
			n.NormalizeMetrics(md)
			if md.DataPointCount() != before {
				t.Fatalf("points %d -> %d", before, md.DataPointCount())
			}
		}
	})
}
