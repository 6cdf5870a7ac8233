package lakehousestore

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Modes of clickhouse.mode.
const (
	ModeEmbedded = "embedded" // chDB in this process (default)
	ModeServer   = "server"   // a ClickHouse server via clickhouse-go/v2
)

// Config of the lakehouse store extension.
type Config struct {
	// DataDir holds clickhouse/ (chDB), lake/ (Parquet), wal/ and the SQL
	// token file. Default ./data.
	DataDir    string           `mapstructure:"data_dir"`
	ClickHouse ClickHouseConfig `mapstructure:"clickhouse"`
	Lake       LakeConfig       `mapstructure:"lake"`
	SQL        SQLConfig        `mapstructure:"sql"`
	// NoCodecs stores ClickHouse columns with CODEC(NONE) and Parquet
	// uncompressed: bytes on disk equal bytes written, so privacy tests can
	// scan them for planted canaries. Not for production.
	NoCodecs bool `mapstructure:"no_codecs"`
	// RetentionDays renders a TTL on new tables (0 = keep).
	RetentionDays int `mapstructure:"retention_days"`
	// WALFsync fsyncs the WAL before a request is acknowledged (survives
	// power loss, not only a crash of the process).
	WALFsync bool `mapstructure:"wal_fsync"`
	// WALSealRows seals the open journals into segments and loads them into
	// ClickHouse once one holds this many rows: one MergeTree part each,
	// so larger is cheaper per row (BENCHMARKS.md) and later to query.
	WALSealRows int `mapstructure:"wal_seal_rows"`
	// WALSealInterval seals them when the oldest is this old: the most a
	// record waits before ClickHouse queries see it.
	WALSealInterval time.Duration `mapstructure:"wal_seal_interval"`
	// WALMaxBytes bounds what the WAL holds that ClickHouse has not taken
	// (while it refuses inserts, or is unavailable): past it, new records
	// are refused with a retryable error instead of filling the disk.
	WALMaxBytes int64 `mapstructure:"wal_max_bytes"`
	// QueueCheckDir is the file_storage directory of persistent sending
	// queues, if a config puts one in front of an exporter (the lakehouse
	// exporter needs none: see Store): at start, before the queues open,
	// unreadable (corrupt) queue files are moved aside and logged, so the
	// collector starts instead of failing on "invalid database". "" disables.
	QueueCheckDir string `mapstructure:"queue_check_dir"`
	// WALGrace keeps committed WAL segments this long for redelivery
	// suppression after a crash.
	WALGrace time.Duration `mapstructure:"wal_grace"`
}

// ClickHouseConfig selects the ClickHouse side.
type ClickHouseConfig struct {
	Mode     string `mapstructure:"mode"`     // embedded | server
	Path     string `mapstructure:"path"`     // chDB data dir, default <data_dir>/clickhouse
	LibPath  string `mapstructure:"lib_path"` // default $WARDEN_CHDB_LIB or lib/chdb/libchdb.so
	DSN      string `mapstructure:"dsn"`      // server mode: clickhouse://user:pass@host:9000/db
	Database string `mapstructure:"database"` // default: the session's current database
	Cluster  string `mapstructure:"cluster"`  // server mode: render ReplicatedMergeTree + Distributed
}

// LakeConfig configures the Parquet lake.
type LakeConfig struct {
	Dir          string        `mapstructure:"dir"` // default <data_dir>/lake
	RollBytes    int64         `mapstructure:"roll_bytes"`
	RollRows     int           `mapstructure:"roll_rows"`
	RollInterval time.Duration `mapstructure:"roll_interval"`
}

// SQLConfig configures the read-only SQL endpoint.
type SQLConfig struct {
	// Endpoint is a localhost address (default 127.0.0.1:8124); "" disables.
	Endpoint string `mapstructure:"endpoint"`
	// TokenFile holds the bearer token (created 0600 if missing), default
	// <data_dir>/sql.token.
	TokenFile string `mapstructure:"token_file"`
}

// DefaultConfig is the embedded default.
func DefaultConfig() *Config {
	return &Config{
		DataDir:    "./data",
		ClickHouse: ClickHouseConfig{Mode: ModeEmbedded},
		Lake:       LakeConfig{RollBytes: 128 << 20, RollRows: 2_000_000, RollInterval: time.Minute},
		SQL:        SQLConfig{Endpoint: "127.0.0.1:8124"},
		WALGrace:   30 * time.Second,

		WALSealRows:     32768,
		WALSealInterval: 500 * time.Millisecond,
		WALMaxBytes:     4 << 30,
	}
}

// Validate checks the config; errors name the key.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	switch c.ClickHouse.Mode {
	case ModeEmbedded, "":
		if c.ClickHouse.Cluster != "" {
			errs = append(errs, errors.New("clickhouse.cluster: only valid with clickhouse.mode: server"))
		}
	case ModeServer:
		if c.ClickHouse.DSN == "" {
			errs = append(errs, errors.New("clickhouse.dsn: required when clickhouse.mode is server"))
		}
	default:
		errs = append(errs, fmt.Errorf("clickhouse.mode: %q is not embedded or server", c.ClickHouse.Mode))
	}
	if c.Lake.RollBytes <= 0 {
		errs = append(errs, errors.New("lake.roll_bytes: must be > 0"))
	}
	if c.Lake.RollRows <= 0 {
		errs = append(errs, errors.New("lake.roll_rows: must be > 0"))
	}
	if c.Lake.RollInterval < 100*time.Millisecond {
		errs = append(errs, errors.New("lake.roll_interval: must be >= 100ms"))
	}
	if c.RetentionDays < 0 {
		errs = append(errs, errors.New("retention_days: must be >= 0"))
	}
	if c.WALGrace < 0 {
		errs = append(errs, errors.New("wal_grace: must be >= 0"))
	}
	if c.WALSealRows <= 0 {
		errs = append(errs, errors.New("wal_seal_rows: must be > 0"))
	}
	if c.WALSealInterval < 10*time.Millisecond {
		errs = append(errs, errors.New("wal_seal_interval: must be >= 10ms"))
	}
	if c.WALMaxBytes < 1<<20 {
		errs = append(errs, errors.New("wal_max_bytes: must be >= 1 MiB"))
	}
	return errors.Join(errs...)
}

func (c *Config) chPath() string {
	if c.ClickHouse.Path != "" {
		return c.ClickHouse.Path
	}
	p, _ := filepath.Abs(filepath.Join(c.DataDir, "clickhouse"))
	return p
}

func (c *Config) lakeDir() string {
	if c.Lake.Dir != "" {
		return c.Lake.Dir
	}
	return filepath.Join(c.DataDir, "lake")
}

func (c *Config) walDir() string {
	p, _ := filepath.Abs(filepath.Join(c.DataDir, "wal"))
	return p
}

// TokenPath is where the SQL bearer token lives.
func (c *Config) TokenPath() string {
	if c.SQL.TokenFile != "" {
		return c.SQL.TokenFile
	}
	return filepath.Join(c.DataDir, "sql.token")
}
