// Command count prints bytes per event of a kept benchmark data dir: the
// events table's active parts (bytes_on_disk, from chDB's system.parts) and
// the committed Parquet files of the lake, each over its own row count.
//
//	go run ./bench/lakehouse/count DATA_DIR
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/wardenhq/warden/internal/chdb"
)

func main() {
	dir := os.Args[1]
	var rows, size int64
	err := filepath.Walk(filepath.Join(dir, "lake", "events"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		pf, err := parquet.OpenFile(f, info.Size())
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rows += pf.NumRows()
		size += info.Size()
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c, err := chdb.Open(chdb.Options{Path: filepath.Join(dir, "clickhouse")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close()
	c.Exec("OPTIMIZE TABLE events FINAL")
	out, err := c.Query("SELECT sum(rows), sum(bytes_on_disk) FROM system.parts WHERE active AND database = currentDatabase() AND table = 'events'", "TSV")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var chRows, chBytes int64
	fmt.Sscanf(string(out), "%d\t%d", &chRows, &chBytes)
	fmt.Println("| store | bytes | rows | bytes/event |")
	fmt.Println("|---|---:|---:|---:|")
	fmt.Printf("| ClickHouse `events` (MergeTree parts, after OPTIMIZE FINAL) | %d | %d | %.1f |\n", chBytes, chRows, float64(chBytes)/float64(max(chRows, 1)))
	fmt.Printf("| Parquet lake `events` (zstd) | %d | %d | %.1f |\n", size, rows, float64(size)/float64(max(rows, 1)))
}
