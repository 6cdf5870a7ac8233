package schema

import (
	"reflect"
	"time"
)

var timeZero time.Time

// MetricPoint is one OTLP metric data point: metrics feed this table, never
// extra `events` rows (one model call is one model_call row however many
// ways it is reported).
type MetricPoint struct {
	PointID         [16]byte          `ch:"point_id,FixedString(16)"`
	Tenant          string            `ch:"tenant,LowCardinality(String),key"`
	Name            string            `ch:"name,LowCardinality(String),key"`
	TS              time.Time         `ch:"ts,DateTime64(6, 'UTC'),key,codec=Delta(8), ZSTD(1)"`
	StartTS         time.Time         `ch:"start_ts,DateTime64(6, 'UTC'),codec=Delta(8), ZSTD(1)"`
	MetricKind      string            `ch:"metric_kind,LowCardinality(String)"` // gauge, sum, histogram, exp_histogram, summary
	Unit            string            `ch:"unit,LowCardinality(String)"`
	Monotonic       bool              `ch:"monotonic,Bool"`
	Temporality     string            `ch:"temporality,LowCardinality(String)"`
	Value           float64           `ch:"value,Float64,codec=Gorilla, ZSTD(1)"`
	Sum             float64           `ch:"sum,Float64"`
	Count           uint64            `ch:"count,UInt64,codec=T64, ZSTD(1)"`
	Min             float64           `ch:"min,Float64"`
	Max             float64           `ch:"max,Float64"`
	Source          string            `ch:"source,LowCardinality(String)"`
	UserPseudonym   string            `ch:"user_pseudonym,String"`
	DevicePseudonym string            `ch:"device_pseudonym,String"`
	Department      string            `ch:"department,LowCardinality(String)"`
	Agent           string            `ch:"agent,LowCardinality(String)"`
	AgentVersion    string            `ch:"agent_version,LowCardinality(String)"`
	SessionID       string            `ch:"session_id,String"`
	Model           string            `ch:"model,LowCardinality(String)"`
	Attributes      map[string]string `ch:"attributes,Map(LowCardinality(String), String)"`
}

// AccessEvent is one JIT access step (request, approval, grant, decrypt),
// hash-chained: hash = H(prev_hash || canonical row).
type AccessEvent struct {
	Tenant   string    `ch:"tenant,LowCardinality(String),key"`
	TS       time.Time `ch:"ts,DateTime64(6, 'UTC'),key"`
	Seq      uint64    `ch:"seq,UInt64,key"`
	Action   string    `ch:"action,LowCardinality(String)"`
	Actor    string    `ch:"actor,String"`
	Subject  string    `ch:"subject,String"`
	GrantID  string    `ch:"grant_id,String"`
	Target   string    `ch:"target,String"`
	Reason   string    `ch:"reason,String"`
	PrevHash string    `ch:"prev_hash,String"`
	Hash     string    `ch:"hash,String"`
}

// Alert is one fired alert.
type Alert struct {
	AlertID  string            `ch:"alert_id,String"`
	Tenant   string            `ch:"tenant,LowCardinality(String),key"`
	TS       time.Time         `ch:"ts,DateTime64(6, 'UTC'),key"`
	Rule     string            `ch:"rule,LowCardinality(String),key"`
	Severity string            `ch:"severity,LowCardinality(String)"`
	Subject  string            `ch:"subject,String"`
	Value    float64           `ch:"value,Float64"`
	Details  map[string]string `ch:"details,Map(LowCardinality(String), String)"`
}

// RetentionAction records what retention enforcement did (partition drops,
// crypto-shredding of a tenant-day key, legal holds).
type RetentionAction struct {
	Tenant string    `ch:"tenant,LowCardinality(String),key"`
	TS     time.Time `ch:"ts,DateTime64(6, 'UTC'),key"`
	Action string    `ch:"action,LowCardinality(String)"`
	Class  string    `ch:"data_class,LowCardinality(String)"`
	Target string    `ch:"target,String"`
	Rows   uint64    `ch:"rows,UInt64"`
	Actor  string    `ch:"actor,String"`
}

// Migration is one row of schema_migrations.
type Migration struct {
	Version   uint32    `ch:"version,UInt32,key"`
	Name      string    `ch:"name,String"`
	AppliedAt time.Time `ch:"applied_at,DateTime64(6, 'UTC')"`
}

// CompactPartsSetting keeps parts below 256 MiB (uncompressed) in the
// Compact format: one data file plus marks per part instead of two files
// per column stream (a Wide events part of 32k rows is 218 files). Every
// insert and every merge creates a part, and on ext4 creating and deleting
// hundreds of inodes per part was a sixth of the collector's CPU
// (BENCHMARKS.md, Lakehouse). Larger merged parts become Wide, where
// per-column files pay off for scans.
const CompactPartsSetting = "min_bytes_for_wide_part = 268435456"

// The registered tables. Physical layout choices (see README.md):
//   - events: ORDER BY (tenant, kind, ts) serves cost (kind=model_call over
//     a time range), anomaly (per tenant/kind time series) and compliance
//     (per kind over a time range) scans; bloom filters find one user,
//     session or event; monthly partitions keep part counts low and make
//     retention a partition drop.
var (
	EventsTable = RegisterTable(Table{
		Name:        "events",
		Row:         reflect.TypeOf(Event{}),
		PartitionBy: "toYYYYMM(ts)",
		// kind before ts: cost (kind = model_call) and compliance (kind IN
		// file_access, net_connect, policy_violation...) read contiguous
		// ranges of one tenant's kind over time.
		OrderBy:   "(tenant, kind, ts)",
		TTLColumn: "ts",
		// Bloom filters for the anomaly/compliance point lookups (one
		// session, one user). None on event_id: random 16-byte ids made
		// inserts markedly dearer for a lookup the console can bound by ts.
		Indexes: []string{
			"idx_session session_id TYPE bloom_filter(0.01) GRANULARITY 4",
			"idx_user user_pseudonym TYPE bloom_filter(0.01) GRANULARITY 4",
		},
		ShardKey: "cityHash64(tenant, session_id)",
		Settings: []string{CompactPartsSetting},
	})
	MetricPointsTable = RegisterTable(Table{
		Name:        "metric_points",
		Row:         reflect.TypeOf(MetricPoint{}),
		PartitionBy: "toYYYYMM(ts)",
		TTLColumn:   "ts",
		ShardKey:    "cityHash64(tenant, name)",
		Settings:    []string{CompactPartsSetting},
	})
	PromptBlocksTable = RegisterTable(Table{
		Name:        "prompt_blocks",
		Row:         reflect.TypeOf(PromptBlock{}),
		Engine:      "ReplacingMergeTree(created_at)",
		PartitionBy: "toYYYYMM(day)",
		OrderBy:     PromptBlocksOrderBy,
		TTLColumn:   "day",
		ShardKey:    "cityHash64(tenant, block_id)",
	})
	PromptKeysTable = RegisterTable(Table{
		Name:     "prompt_keys",
		Row:      reflect.TypeOf(PromptKey{}),
		Engine:   "ReplacingMergeTree(created_at)",
		OrderBy:  PromptKeysOrderBy,
		ShardKey: "cityHash64(tenant)",
	})
	AccessEventsTable = RegisterTable(Table{
		Name:        "access_events",
		Row:         reflect.TypeOf(AccessEvent{}),
		PartitionBy: "toYYYYMM(ts)",
		ShardKey:    "cityHash64(tenant)",
	})
	AlertsTable = RegisterTable(Table{
		Name:        "alerts",
		Row:         reflect.TypeOf(Alert{}),
		PartitionBy: "toYYYYMM(ts)",
		TTLColumn:   "ts",
		ShardKey:    "cityHash64(tenant)",
	})
	RetentionActionsTable = RegisterTable(Table{
		Name:     "retention_actions",
		Row:      reflect.TypeOf(RetentionAction{}),
		ShardKey: "cityHash64(tenant)",
	})
	MigrationsTable = RegisterTable(Table{
		Name: "schema_migrations",
		Row:  reflect.TypeOf(Migration{}),
		// ReplacingMergeTree: re-recording a version after a crash between
		// the DDL and the bookkeeping row collapses to one row.
		Engine:   "ReplacingMergeTree(applied_at)",
		ShardKey: "version",
	})
)
