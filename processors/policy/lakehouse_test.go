package policy

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/wardenhq/warden/collector/lakehouseexporter"
	"github.com/wardenhq/warden/collector/lakehousestore"
	"github.com/wardenhq/warden/internal/chdb"
	"github.com/wardenhq/warden/schema"
)

type lakeHost struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h lakeHost) GetExtensions() map[component.ID]component.Component { return h.ext }

// TestDecisionColumnsReachClickHouse runs real records through the policy
// processor into the real lakehouse exporter (embedded ClickHouse, Parquet)
// and reads the decision columns back.
func TestDecisionColumnsReachClickHouse(t *testing.T) {
	lib := chdb.LibPath("")
	if !filepath.IsAbs(lib) {
		lib, _ = filepath.Abs(filepath.Join("..", "..", lib))
	}
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("WARDEN_REQUIRE_CHDB") != "" {
			t.Fatalf("libchdb.so required at %s", lib)
		}
		t.Skipf("libchdb.so not at %s (make deps-chdb)", lib)
	}
	ctx := context.Background()
	dataDir := t.TempDir()
	sf := lakehousestore.NewFactory()
	scfg := sf.CreateDefaultConfig().(*lakehousestore.Config)
	scfg.DataDir = dataDir
	scfg.ClickHouse.LibPath = lib
	scfg.SQL.Endpoint = ""
	scfg.NoCodecs = true // bytes on disk = bytes written, for the canary scan
	ext, err := sf.Create(ctx, extensiontest.NewNopSettings(sf.Type()), scfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	defer ext.Shutdown(ctx)
	store, err := ext.(lakehousestore.Provider).Store()
	if err != nil {
		t.Fatal(err)
	}
	host := lakeHost{ext: map[component.ID]component.Component{component.MustNewID("lakehouse"): ext}}

	ef := lakehouseexporter.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*lakehouseexporter.Config)
	ecfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	exp, err := ef.CreateLogs(ctx, exportertest.NewNopSettings(ef.Type()), ecfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(ctx, host); err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)

	shadowDir := bundleDir(t, "candidate-ch", map[string]any{"collector_block_action": "drop"})
	cfg := createDefaultConfig().(*Config)
	cfg.ReloadInterval = 0
	cfg.ShadowBundle = shadowDir
	set, _, _ := settings(t)
	proc, err := NewFactory().CreateLogs(ctx, set, cfg, exp)
	if err != nil {
		t.Fatal(err)
	}
	proc.Start(ctx, host)
	defer proc.Shutdown(ctx)

	ld := logsOf(rec{class: "HIGH", text: promptText}, rec{class: "LOW", text: promptText}, rec{class: "LOW", text: "no secrets here"})
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i, tag := range []string{"high", "low", "clean"} {
		lrs.At(i).Attributes().PutStr(schema.AttrTenant, "tpol")
		lrs.At(i).Attributes().PutStr(schema.Attr("event_name"), tag)
	}
	if err := proc.ConsumeLogs(ctx, ld); err != nil {
		t.Fatal(err)
	}
	if err := store.Roll(); err != nil {
		t.Fatal(err)
	}
	q := func(sql string) string {
		t.Helper()
		out, err := lakehousestore.TestQuery(store, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return strings.Trim(string(out), "\n")
	}
	rev := defaultRevision(t)
	got := q("SELECT event_name, decision, arrayStringConcat(rule_ids, ','), policy_revision, length(decision_id) = 36, " +
		"dlp_findings['us_ssn'], redaction_count, attributes['warden.shadow_decision'], attributes['warden.shadow_policy_revision'] " +
		"FROM events WHERE tenant = 'tpol' ORDER BY event_name")
	want := strings.Join([]string{
		"clean\tallow\t\t" + rev + "\t1\t0\t0\tallow\tcandidate-ch",
		"high\treview\twarden.dlp.high_confidence_sensitive,warden.dlp.pii_high_classification\t" + rev + "\t1\t1\t0\tdrop\tcandidate-ch",
		"low\tredact\twarden.dlp.pii_redact\t" + rev + "\t1\t1\t1\tredact\tcandidate-ch",
	}, "\n")
	if got != want {
		t.Fatalf("clickhouse rows:\n%s\nwant:\n%s", got, want)
	}
	if r := q("SELECT attributes['warden.policy_reasons'] FROM events WHERE tenant = 'tpol' AND event_name = 'low'"); r != "us_ssn redacted (LOW-classified data)" {
		t.Fatalf("reasons: %q", r)
	}
	// The same in the Parquet lake.
	glob := filepath.Join(dataDir, "lake", "events", "tenant=tpol", "*", "*.parquet")
	if lk := q("SELECT count(), countIf(decision = 'review'), countIf(decision = 'redact') FROM file('" + glob + "', Parquet)"); lk != "3\t1\t1" {
		t.Fatalf("lake: %q", lk)
	}
	// The SSN never reaches disk.
	filepath.Walk(dataDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(canarySSN)) {
			t.Errorf("canary SSN found in %s", p)
		}
		return nil
	})
}
