package schema_test

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/wardenhq/warden/internal/chdb"
	"github.com/wardenhq/warden/schema"
)

func TestEveryTaggedFieldIsAColumn(t *testing.T) {
	rt := reflect.TypeOf(schema.Event{})
	tagged := 0
	for i := 0; i < rt.NumField(); i++ {
		if tag := rt.Field(i).Tag.Get("ch"); tag != "" {
			tagged++
			name := strings.SplitN(tag, ",", 2)[0]
			if _, ok := schema.EventsTable.Column(name); !ok {
				t.Errorf("field %s (%s) has no column", rt.Field(i).Name, name)
			}
		} else {
			t.Errorf("Event field %s has no ch tag", rt.Field(i).Name)
		}
	}
	if tagged != len(schema.EventsTable.Columns) {
		t.Fatalf("%d tagged fields, %d columns", tagged, len(schema.EventsTable.Columns))
	}
	ts, _ := schema.EventsTable.Column("ts")
	if ts.Type != "DateTime64(6, 'UTC')" || ts.Codec != "Delta(8), ZSTD(1)" || !ts.Key {
		t.Fatalf("ts column parsed wrong: %+v", ts)
	}
	if schema.EventsTable.OrderBy != "(tenant, ts, kind)" && schema.EventsTable.OrderBy != "(tenant, kind, ts)" {
		// key order follows field order in Event
		t.Fatalf("order by %s", schema.EventsTable.OrderBy)
	}
}

func TestBadTagsAreRejected(t *testing.T) {
	type badType struct {
		X int `ch:"x,String"`
	}
	if _, err := schema.DeriveColumns(reflect.TypeOf(badType{})); err == nil || !strings.Contains(err.Error(), "wants Go string") {
		t.Fatalf("want Go type mismatch error, got %v", err)
	}
	type badOpt struct {
		X string `ch:"x,String,sortme"`
	}
	if _, err := schema.DeriveColumns(reflect.TypeOf(badOpt{})); err == nil || !strings.Contains(err.Error(), "unknown tag option") {
		t.Fatalf("want unknown option error, got %v", err)
	}
}

func TestParquetLayoutMatchesColumns(t *testing.T) {
	for _, tb := range schema.Tables() {
		l, err := tb.Parquet()
		if err != nil {
			t.Fatalf("%s: %v", tb.Name, err)
		}
		var names []string
		for _, f := range l.Schema.Fields() {
			names = append(names, f.Name())
		}
		var want []string
		for _, c := range tb.Columns {
			want = append(want, c.Name)
		}
		sort.Strings(want)
		if !reflect.DeepEqual(names, want) {
			t.Fatalf("%s: parquet fields %v, columns %v", tb.Name, names, want)
		}
	}
	l, _ := schema.EventsTable.Parquet()
	f := fieldByName(l.Schema.Fields(), "event_id")
	if f.Type().Length() != 16 || f.Type().LogicalType() != nil && f.Type().LogicalType().String() != "" && strings.Contains(f.Type().LogicalType().String(), "UUID") {
		t.Fatalf("event_id must be FIXED_LEN_BYTE_ARRAY(16) without UUID annotation: %v", f.Type())
	}
}

type named interface{ Name() string }

func fieldByName[F named](fs []F, n string) F {
	for _, f := range fs {
		if f.Name() == n {
			return f
		}
	}
	panic(n)
}

func TestClusterAndNoCodecVariants(t *testing.T) {
	ddl := schema.EventsTable.CreateDDL(schema.RenderOptions{Cluster: "warden", Database: "w"})
	if len(ddl) != 2 {
		t.Fatalf("cluster renders local + distributed, got %d", len(ddl))
	}
	if !strings.Contains(ddl[0], "CREATE TABLE IF NOT EXISTS w.events_local ON CLUSTER warden") ||
		!strings.Contains(ddl[0], "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/events_local', '{replica}')") {
		t.Fatalf("local: %s", ddl[0])
	}
	if !strings.Contains(ddl[1], "ENGINE = Distributed(warden, w, events_local, cityHash64(tenant, session_id))") {
		t.Fatalf("distributed: %s", ddl[1])
	}
	pb := schema.PromptBlocksTable.CreateDDL(schema.RenderOptions{Cluster: "c"})[0]
	if !strings.Contains(pb, "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/prompt_blocks_local', '{replica}', created_at)") {
		t.Fatalf("replacing: %s", pb)
	}
	nc := schema.EventsTable.CreateDDL(schema.RenderOptions{NoCodecs: true})[0]
	if strings.Contains(nc, "ZSTD") || strings.Count(nc, "CODEC(NONE)") != len(schema.EventsTable.Columns) {
		t.Fatalf("no-codec variant: %s", nc)
	}
	ttl := schema.EventsTable.CreateDDL(schema.RenderOptions{RetentionDays: 400})[0]
	if !strings.Contains(ttl, "TTL toDateTime(ts) + INTERVAL 400 DAY DELETE") {
		t.Fatalf("ttl: %s", ttl)
	}
}

func openChDB(t *testing.T) *chdb.Conn {
	p := chdb.LibPath("")
	if !filepath.IsAbs(p) {
		p, _ = filepath.Abs(filepath.Join("..", p))
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("WARDEN_REQUIRE_CHDB") != "" {
			t.Fatalf("libchdb.so required at %s", p)
		}
		t.Skipf("libchdb.so not at %s (make deps-chdb)", p)
	}
	c, err := chdb.Open(chdb.Options{LibPath: p, Path: filepath.Join(t.TempDir(), "ch")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// One chDB engine per process: the engine tests share it, each in its own
// database.
func TestEngine(t *testing.T) {
	c := openChDB(t)
	t.Run("DDLMatchesStructInEngine", func(t *testing.T) { testDDLInEngine(t, c) })
	t.Run("ArrowMatchesEngine", func(t *testing.T) { testArrowMatchesEngine(t, c) })
	t.Run("MigrationsKeepData", func(t *testing.T) { testMigrations(t, c) })
	t.Run("NoCodecsApplies", func(t *testing.T) {
		o := schema.RenderOptions{Database: "nocodec", NoCodecs: true}
		if _, err := schema.Migrate(c, o, schema.Migrations); err != nil {
			t.Fatal(err)
		}
		out, err := c.Query("SELECT countIf(compression_codec != 'CODEC(NONE)') FROM system.columns WHERE database='nocodec' AND table='events'", "TSV")
		if err != nil || strings.TrimSpace(string(out)) != "0" {
			t.Fatalf("columns with a codec: %q %v", out, err)
		}
	})
}

func testDDLInEngine(t *testing.T, c *chdb.Conn) {
	o := schema.RenderOptions{Database: "ddl"}
	if _, err := schema.Migrate(c, o, schema.Migrations); err != nil {
		t.Fatal(err)
	}
	for _, tb := range schema.Tables() {
		out, err := c.Query("SELECT name, type FROM system.columns WHERE database='ddl' AND table='"+tb.Name+"' ORDER BY position", "TSVRaw")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			got = append(got, l)
		}
		var want []string
		for _, col := range tb.Columns {
			want = append(want, col.Name+"\t"+col.Type)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s in engine:\n%v\nstruct:\n%v", tb.Name, got, want)
		}
	}
	out, _ := c.Query("SELECT count() FROM system.tables WHERE database='ddl' AND name IN ('cost_daily','cost_daily_mv')", "TSV")
	if strings.TrimSpace(string(out)) != "2" {
		t.Fatalf("rollup missing: %q", out)
	}
}

func testMigrations(t *testing.T, c *chdb.Conn) {
	o := schema.RenderOptions{Database: "mig"}
	// Start at v1 as an older binary left it (without the compact-parts
	// setting, which v1 now renders too), then upgrade to the latest.
	applied, err := schema.Migrate(c, o, schema.Migrations[:1])
	if err != nil || len(applied) != 1 {
		t.Fatalf("first start: %v %v", applied, err)
	}
	for _, tbl := range []string{"events", "metric_points"} {
		if err := c.Exec("ALTER TABLE mig." + tbl + " RESET SETTING min_bytes_for_wide_part"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Exec("INSERT INTO mig.events (tenant, kind, ts, input_tokens, cost_usd) SELECT 'a', 'model_call', now64(6), 10, 0.5"); err != nil {
		t.Fatal(err)
	}
	applied, err = schema.Migrate(c, o, schema.Migrations) // upgrade to the latest
	if err != nil || len(applied) != len(schema.Migrations)-1 {
		t.Fatalf("upgrade applied %v %v", applied, err)
	}
	out, _ := c.Query("SELECT count() FROM system.tables WHERE database = 'mig' AND name IN ('events', 'metric_points') AND position(engine_full, '"+schema.CompactPartsSetting+"') > 0", "TSV")
	if strings.TrimSpace(string(out)) != "2" {
		t.Fatalf("compact-parts setting after the upgrade on %q of 2 tables", out)
	}
	applied, err = schema.Migrate(c, o, schema.Migrations) // second start
	if err != nil || len(applied) != 0 {
		t.Fatalf("second start applied %v %v", applied, err)
	}
	next := schema.LatestVersion() + 1
	v2 := append(append([]schema.MigrationStep(nil), schema.Migrations...), schema.MigrationStep{
		Version: next, Name: "test: add a column",
		Up: func(o schema.RenderOptions) []string {
			return []string{"ALTER TABLE mig.events ADD COLUMN IF NOT EXISTS test_v2 String DEFAULT 'x'"}
		},
	})
	applied, err = schema.Migrate(c, o, v2)
	if err != nil || !reflect.DeepEqual(applied, []uint32{next}) {
		t.Fatalf("upgrade: %v %v", applied, err)
	}
	out, err = c.Query("SELECT count(), sum(input_tokens), sum(cost_usd), any(test_v2) FROM mig.events", "TSV")
	if err != nil || strings.TrimSpace(string(out)) != "1\t10\t0.5\tx" {
		t.Fatalf("v1 data after v2: %q %v", out, err)
	}
	out, _ = c.Query("SELECT sum(calls), sum(input_tokens) FROM mig.cost_daily", "TSV")
	if strings.TrimSpace(string(out)) != "1\t10" {
		t.Fatalf("rollup: %q", out)
	}
	// An older binary refuses a newer database rather than mangling it.
	if _, err := schema.Migrate(c, o, schema.Migrations); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("downgrade must be refused: %v", err)
	}
}
