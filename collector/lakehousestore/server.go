package lakehousestore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// serverSink writes to a ClickHouse server through clickhouse-go/v2's
// native protocol batch insert, with the same column slices the chDB path
// encodes (Codec.ColumnSlices) and the same dedup token.
type serverSink struct {
	conn driver.Conn
	db   string
}

func openServer(cfg *Config) (*serverSink, error) {
	opts, err := clickhouse.ParseDSN(cfg.ClickHouse.DSN)
	if err != nil {
		return nil, fmt.Errorf("lakehouse: clickhouse.dsn: %w", err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("lakehouse: clickhouse.dsn: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		return nil, fmt.Errorf("lakehouse: clickhouse server at clickhouse.dsn unreachable: %w", err)
	}
	return &serverSink{conn: conn, db: cfg.ClickHouse.Database}, nil
}

func (s *serverSink) Exec(q string) error { return s.conn.Exec(context.Background(), q) }

func (s *serverSink) Query(q, format string) ([]byte, error) {
	// Only used by migrations (one UInt column, TSV).
	rows, err := s.conn.Query(context.Background(), q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%d\n", v)
	}
	return []byte(b.String()), rows.Err()
}

func (s *serverSink) insert(c *Codec, rows any, native []byte, walPath, token string) error {
	if rows == nil {
		// A sealed WAL segment: the server gets the same rows over the
		// native protocol.
		data, err := os.ReadFile(walPath)
		if err != nil {
			return err
		}
		if rows, err = c.DecodeNative(data); err != nil {
			return err
		}
	}
	ctx := clickhouse.Context(context.Background(), clickhouse.WithSettings(clickhouse.Settings{
		"insert_deduplication_token": token,
		"insert_deduplicate":         1,
	}))
	table := c.Table.Name
	if s.db != "" {
		table = s.db + "." + table
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table)
	if err != nil {
		return err
	}
	cols, err := c.ColumnSlices(rows)
	if err != nil {
		return err
	}
	for i, v := range cols {
		if vs, ok := v.([]any); ok {
			for _, r := range vs {
				if err := batch.Column(i).AppendRow(r); err != nil {
					return err
				}
			}
			continue
		}
		if err := batch.Column(i).Append(v); err != nil {
			return err
		}
	}
	return batch.Send()
}

func (s *serverSink) close() { s.conn.Close() }
