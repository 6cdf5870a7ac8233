package lakehousestore

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// TestServerSinkSameEncoderAndDedup runs against a real ClickHouse server
// when WARDEN_CLICKHOUSE_DSN is set (none can be installed on the build
// machines: Debian ships 18.16). It writes through the clickhouse-go batch
// path with the same column slices and dedup tokens as chDB.
func TestServerSinkSameEncoderAndDedup(t *testing.T) {
	dsn := os.Getenv("WARDEN_CLICKHOUSE_DSN")
	if dsn == "" {
		t.Skip("WARDEN_CLICKHOUSE_DSN not set: no ClickHouse server reachable (server path not verified here)")
	}
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.SQL.Endpoint = ""
	cfg.ClickHouse.Mode = ModeServer
	cfg.ClickHouse.DSN = dsn
	cfg.ClickHouse.Database = "warden_test"
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := mkEvents("srv", 0, 10)
	ev[0].EventName = "blank\n\nline 'quote' \\ \x00 \xff DROP TABLE events"
	for i := 0; i < 2; i++ {
		if _, err := s.Write(&Batch{Events: append(ev[:0:0], ev...)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Roll()
	opts, _ := clickhouse.ParseDSN(dsn)
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	var name string
	if err := conn.QueryRow(context.Background(), "SELECT count(), anyIf(event_name, event_name LIKE 'blank%') FROM warden_test.events WHERE tenant = 'srv'").Scan(&n, &name); err != nil {
		t.Fatal(err)
	}
	if n != 10 || name != ev[0].EventName {
		t.Fatalf("server: %d rows, name %q", n, name)
	}
	files, _ := filepath.Glob(filepath.Join(cfg.DataDir, "lake", "events", "tenant=srv", "*", "*.parquet"))
	if len(files) == 0 {
		t.Fatal("lake not written in server mode")
	}
}
