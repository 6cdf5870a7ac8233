// Package lakehousebench holds the Go benchmark of the lakehouse exporter
// path with production settings (codecs on, zstd Parquet): pdata logs ->
// canonical rows -> Native block -> chDB MergeTree insert (dedup token,
// rollup MV, skip indexes) + WAL segment + Parquet column writes.
package lakehousebench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wardenhq/warden/collector/lakehouseexporter"
	"github.com/wardenhq/warden/collector/lakehousestore"
	"github.com/wardenhq/warden/internal/chdb"
	"github.com/wardenhq/warden/schema"
)

type host struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.ext }

func cpu() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// record is a genai-normalized Claude Code api_request as the exporter
// receives it (canonical warden.* attributes plus a few extra ones).
func record(lr plog.LogRecord, n, i int) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)))
	a := lr.Attributes()
	id := [16]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(i), byte(i >> 8)}
	a.PutEmptyBytes("warden.event_id").FromRaw(id[:])
	a.PutStr("warden.tenant", "bench")
	a.PutStr("warden.kind", schema.KindModelCall)
	a.PutStr("warden.source", schema.SourceClaudeCode)
	a.PutStr("warden.event_name", "claude_code.api_request")
	a.PutStr("warden.provider", "anthropic")
	a.PutStr("warden.model", "claude-sonnet-4-5")
	a.PutStr("warden.user_pseudonym", fmt.Sprintf("u%d", i%50))
	a.PutStr("warden.session_id", fmt.Sprintf("s%d", i%200))
	a.PutInt("warden.input_tokens", 1834)
	a.PutInt("warden.output_tokens", 412)
	a.PutInt("warden.cache_read_tokens", 50)
	a.PutDouble("warden.cost_usd", 0.011682)
	a.PutStr("warden.cost_source", schema.CostPriced)
	a.PutDouble("warden.latency_ms", 900)
	a.PutStr("app", "server")
	a.PutStr("terminal.type", "vscode")
}

func BenchmarkExporterLogs(b *testing.B) {
	lib := chdb.LibPath("")
	if !filepath.IsAbs(lib) {
		lib, _ = filepath.Abs(filepath.Join("..", "..", lib))
	}
	if _, err := os.Stat(lib); err != nil {
		b.Skipf("libchdb.so not at %s (make deps-chdb)", lib)
	}
	ctx := context.Background()
	sf := lakehousestore.NewFactory()
	scfg := sf.CreateDefaultConfig().(*lakehousestore.Config)
	scfg.DataDir = b.TempDir()
	scfg.ClickHouse.LibPath = lib
	scfg.SQL.Endpoint = ""
	ext, err := sf.Create(ctx, extensiontest.NewNopSettings(sf.Type()), scfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := ext.Start(ctx, nil); err != nil {
		b.Fatal(err)
	}
	defer ext.Shutdown(ctx)
	h := host{ext: map[component.ID]component.Component{component.MustNewID("lakehouse"): ext}}
	ef := lakehouseexporter.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*lakehouseexporter.Config)
	ecfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]() // the queue is measured by the peer-collector run
	exp, err := ef.CreateLogs(ctx, exportertest.NewNopSettings(ef.Type()), ecfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(ctx, h); err != nil {
		b.Fatal(err)
	}
	defer exp.Shutdown(ctx)
	const per = 32768 // the queue's batch min_size
	mk := func(n int) plog.Logs {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "claude-code")
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < per; i++ {
			record(lrs.AppendEmpty(), n, i)
		}
		return ld
	}
	var setup time.Duration
	c0 := cpu()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		s0 := cpu()
		ld := mk(n)
		setup += cpu() - s0
		b.StartTimer()
		if err := exp.ConsumeLogs(ctx, ld); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// Process CPU (exporter, encoders, chDB's threads incl. merges started
	// in the window) minus building the input; robust to other load.
	b.ReportMetric(float64((cpu()-c0-setup).Nanoseconds())/float64(b.N*per)/1000, "cpu-µs/record")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per)/1000, "wall-µs/record")
}
