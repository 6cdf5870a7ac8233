package schema

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Execer runs SQL on ClickHouse (internal/chdb.Conn or a server client).
// Only Warden-generated DDL goes through it: no record data.
type Execer interface {
	Exec(sql string) error
	Query(sql, format string) ([]byte, error)
}

// MigrationStep is one versioned schema change. Up returns statements that
// are idempotent (IF NOT EXISTS, ADD COLUMN IF NOT EXISTS): a crash between
// a step and its bookkeeping row re-runs it harmlessly. Steps never drop or
// rewrite data.
type MigrationStep struct {
	Version uint32
	Name    string
	Up      func(o RenderOptions) []string
}

// Migrations is the ordered list of schema versions.
var Migrations = []MigrationStep{
	{Version: 1, Name: "canonical events v1, side tables, cost rollup", Up: v1},
	{Version: 2, Name: "compact parts below 256 MiB for events and metric_points", Up: v2},
}

// v2 applies CompactPartsSetting to tables created before it (v1 renders
// the current DDL, so new databases already have it; MODIFY SETTING is
// idempotent).
func v2(o RenderOptions) []string {
	var out []string
	for _, t := range []*Table{EventsTable, MetricPointsTable} {
		name, onCluster := t.Name, ""
		if o.Cluster != "" {
			name, onCluster = t.Name+"_local", " ON CLUSTER "+o.Cluster
		}
		out = append(out, fmt.Sprintf("ALTER TABLE %s%s MODIFY SETTING %s", o.qualify(name), onCluster, CompactPartsSetting))
	}
	return out
}

func v1(o RenderOptions) []string {
	var out []string
	for _, t := range Tables() {
		if t.Name == MigrationsTable.Name {
			continue
		}
		out = append(out, t.CreateDDL(o)...)
	}
	return append(out, RollupDDL(o)...)
}

// RollupDDL renders the dashboard rollups: SummingMergeTree tables fed by
// materialized views, so cost dashboards read a few thousand pre-summed
// rows instead of scanning events.
func RollupDDL(o RenderOptions) []string {
	src := o.qualify(EventsTable.Name)
	tbl := "cost_daily"
	onCluster := ""
	engine := "SummingMergeTree"
	if o.Cluster != "" {
		src = o.qualify(EventsTable.Name + "_local")
		tbl = "cost_daily_local"
		onCluster = " ON CLUSTER " + o.Cluster
		engine = "ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/cost_daily_local', '{replica}')"
	}
	codec := func(c string) string {
		if o.NoCodecs {
			return " CODEC(NONE)"
		}
		return c
	}
	out := []string{
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s%s
(
    tenant LowCardinality(String),
    day Date,
    user_pseudonym String,
    department LowCardinality(String),
    agent LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    cost_source LowCardinality(String),
    calls UInt64%s,
    input_tokens UInt64%s,
    output_tokens UInt64%s,
    cache_read_tokens UInt64%s,
    cache_write_tokens UInt64%s,
    cost_usd Float64%s
)
ENGINE = %s
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, day, user_pseudonym, department, agent, provider, model, cost_source)`,
			o.qualify(tbl), onCluster, codec(""), codec(""), codec(""), codec(""), codec(""), codec(""), engine),
		fmt.Sprintf(`CREATE MATERIALIZED VIEW IF NOT EXISTS %s%s TO %s AS
SELECT tenant, toDate(ts) AS day, user_pseudonym, department, agent, provider, model, cost_source,
       count() AS calls, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
       sum(cost_usd) AS cost_usd
FROM %s WHERE kind = 'model_call'
GROUP BY tenant, day, user_pseudonym, department, agent, provider, model, cost_source`,
			o.qualify(tbl+"_mv"), onCluster, o.qualify(tbl), src),
	}
	if o.Cluster != "" {
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s AS %s\nENGINE = Distributed(%s, %s, %s, cityHash64(tenant, user_pseudonym))",
			o.qualify("cost_daily"), onCluster, o.qualify(tbl), o.Cluster, dbExpr(o), tbl))
	}
	return out
}

func dbExpr(o RenderOptions) string {
	if o.Database == "" {
		return "currentDatabase()"
	}
	return o.Database
}

// AppliedVersions reads schema_migrations.
func AppliedVersions(db Execer, o RenderOptions) (map[uint32]bool, error) {
	out, err := db.Query("SELECT DISTINCT version FROM "+o.qualify(MigrationsTable.Name), "TSV")
	if err != nil {
		return nil, err
	}
	got := map[uint32]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		v, err := strconv.ParseUint(line, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("schema_migrations: bad version %q", line)
		}
		got[uint32(v)] = true
	}
	return got, nil
}

// Migrate brings the database to the newest version in steps, applying
// only missing versions, in order. Running it twice is a no-op.
func Migrate(db Execer, o RenderOptions, steps []MigrationStep) (applied []uint32, err error) {
	if o.Database != "" {
		if err := db.Exec("CREATE DATABASE IF NOT EXISTS " + o.Database); err != nil {
			return nil, fmt.Errorf("schema: create database %s: %w", o.Database, err)
		}
	}
	mo := o
	mo.Cluster = "" // bookkeeping is per node in this version
	for _, stmt := range MigrationsTable.CreateDDL(mo) {
		if err := db.Exec(stmt); err != nil {
			return nil, fmt.Errorf("schema: create schema_migrations: %w", err)
		}
	}
	have, err := AppliedVersions(db, o)
	if err != nil {
		return nil, fmt.Errorf("schema: read schema_migrations: %w", err)
	}
	steps = append([]MigrationStep(nil), steps...)
	sort.Slice(steps, func(i, j int) bool { return steps[i].Version < steps[j].Version })
	latest := uint32(0)
	for v := range have {
		latest = max(latest, v)
	}
	if n := len(steps); n > 0 && latest > steps[n-1].Version {
		return nil, fmt.Errorf("schema: database is at version %d, newer than this binary knows (%d): refusing to run an older schema", latest, steps[n-1].Version)
	}
	for _, s := range steps {
		if have[s.Version] {
			continue
		}
		for _, stmt := range s.Up(o) {
			if err := db.Exec(stmt); err != nil {
				return applied, fmt.Errorf("schema: migration %d (%s): %w\n%s", s.Version, s.Name, err, stmt)
			}
		}
		// Version and name are program constants, never record data.
		rec := fmt.Sprintf("INSERT INTO %s (version, name, applied_at) SELECT %d, %s, now64(6)",
			o.qualify(MigrationsTable.Name), s.Version, sqlQuote(s.Name))
		if err := db.Exec(rec); err != nil {
			return applied, fmt.Errorf("schema: record migration %d: %w", s.Version, err)
		}
		applied = append(applied, s.Version)
	}
	return applied, nil
}

func sqlQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// LatestVersion is the newest schema version this binary knows.
func LatestVersion() uint32 { return Migrations[len(Migrations)-1].Version }
