package lakehousestore

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/wardenhq/warden/schema"
)

func cpuNow() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// TestCPUBreakdown is a manual measurement (CPU_BREAKDOWN=1), not a test.
func TestCPUBreakdown(t *testing.T) {
	if os.Getenv("CPU_BREAKDOWN") == "" {
		t.Skip("manual measurement: CPU_BREAKDOWN=1")
	}
	s := testStore(t)
	c := s.codecs["events"]
	conn := s.sink.(chdbSink).c
	var enc, ins, insTok, pq time.Duration
	const per, batches = 5000, 20
	for _, tbl := range []string{"bare"} {
		_ = tbl
	}
	conn.Exec("CREATE TABLE bare AS events ENGINE = MergeTree ORDER BY (tenant, kind, ts)")
	var bare time.Duration
	for k := 0; k < batches; k++ {
		rows := mkEvents("cpu", k*per, per)
		for i := range rows {
			rows[i].UserPseudonym = fmt.Sprintf("u%d", i%50)
			rows[i].SessionID = fmt.Sprintf("s%d", i%200)
			rows[i].EventID[0] = byte(k)
		}
		t0 := cpuNow()
		data, _ := c.EncodeNative(rows, nil)
		t1 := cpuNow()
		f := filepath.Join(sharedDir, fmt.Sprintf("b%d.native", k))
		os.WriteFile(f, data, 0o600)
		t2 := cpuNow()
		conn.InsertNativeFile("events", f, fmt.Sprintf("tok%d", k))
		t3 := cpuNow()
		conn.InsertNativeFile("bare", f, "")
		t4 := cpuNow()
		w := parquet.NewWriter(devnull{}, c.pq.Schema, parquet.Compression(schema.ZstdCodec))
		idx := make([]int, len(rows))
		for i := range idx {
			idx[i] = i
		}
		var scratch [][]parquet.Value
		base, stride, _, _ := c.rowsBase(rows)
		if err := c.writeColumns(w, base, stride, idx, &scratch); err != nil {
			t.Fatal(err)
		}
		w.Close()
		t5 := cpuNow()
		enc += t1 - t0
		insTok += t3 - t2
		bare += t4 - t3
		pq += t5 - t4
	}
	n := float64(per * batches)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / n / 1000 }
	t.Logf("per row CPU µs: encode native %.2f, chDB insert events (token, MV, indexes) %.2f, chDB insert bare MergeTree %.2f, parquet rows+write %.2f", us(enc), us(insTok), us(bare), us(pq))
	_ = ins
}

type devnull struct{}

func (devnull) Write(p []byte) (int, error) { return len(p), nil }
