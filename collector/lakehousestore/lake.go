package lakehousestore

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/wardenhq/warden/schema"
)

// The Parquet lake: <dir>/<table>/tenant=<t>/date=<YYYY-MM-DD>/part-*.parquet
// (Hive partitions, zstd). A file is written under a hidden temp name
// (.part-*.parquet.tmp) and renamed when its generation rolls, so a reader
// globbing *.parquet never sees a partial file. All open files roll
// together (one generation), which lets a single manifest commit them and
// the WAL segments they cover.

type lakeFile struct {
	tmp, final string
	f          *os.File
	bw         *bufio.Writer
	cw         *countWriter
	w          *parquet.Writer
	rows       int
	groupRows  int
}

type countWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type lake struct {
	dir      string
	gen      string
	started  time.Time
	files    map[string]*lakeFile // key: table/tenant/date
	rows     int
	compress bool
	scratch  [][]parquet.Value
}

func newLake(dir string, compress bool) *lake {
	return &lake{dir: dir, files: map[string]*lakeFile{}, compress: compress}
}

// partitionValue escapes a partition value for a path segment: tenant ids
// are untrusted strings and must not climb out of the lake.
func partitionValue(s string) string {
	e := url.PathEscape(s)
	if e == "" || strings.HasPrefix(e, ".") {
		e = "%2E" + strings.TrimPrefix(e, ".")
	}
	return e
}

func (l *lake) file(c *Codec, tenant, date string) (*lakeFile, error) {
	key := c.Table.Name + "\x00" + tenant + "\x00" + date
	if lf := l.files[key]; lf != nil {
		return lf, nil
	}
	if l.gen == "" {
		var r [4]byte
		rand.Read(r[:])
		l.gen = fmt.Sprintf("%d-%s", time.Now().UnixNano(), hex.EncodeToString(r[:]))
		l.started = time.Now()
	}
	dir := filepath.Join(l.dir, c.Table.Name, "tenant="+partitionValue(tenant), "date="+date)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	name := "part-" + l.gen + ".parquet"
	lf := &lakeFile{tmp: filepath.Join(dir, "."+name+".tmp"), final: filepath.Join(dir, name)}
	f, err := os.OpenFile(lf.tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	lf.f = f
	lf.bw = bufio.NewWriterSize(f, 1<<20)
	lf.cw = &countWriter{w: lf.bw}
	opts := []parquet.WriterOption{c.pq.Schema, parquet.MaxRowsPerRowGroup(256 << 10), parquet.KeyValueMetadata("warden.schema_version", fmt.Sprint(schema.Version))}
	if l.compress {
		opts = append(opts, parquet.Compression(schema.ZstdCodec))
	}
	lf.w = parquet.NewWriter(lf.cw, opts...)
	l.files[key] = lf
	return lf, nil
}

// append writes rows of a table into their partitions, column by column
// (parquet-go's row-at-a-time path costs several times more CPU).
func (l *lake) append(c *Codec, rows any) error {
	base, stride, n, err := c.rowsBase(rows)
	if err != nil || n == 0 {
		return err
	}
	tenantOff, tsOff, _ := c.partitionOffsets()
	type part struct {
		lf  *lakeFile
		idx []int
	}
	parts := map[*lakeFile]*part{}
	var order []*part
	lastKey, lastDate := "", ""
	var last *part
	for i := 0; i < n; i++ {
		p := unsafe.Add(base, uintptr(i)*stride)
		tenant := *(*string)(unsafe.Add(p, tenantOff))
		date := (*(*time.Time)(unsafe.Add(p, tsOff))).UTC().Format("2006-01-02")
		if last == nil || tenant != lastKey || date != lastDate {
			lf, err := l.file(c, tenant, date)
			if err != nil {
				return err
			}
			if last = parts[lf]; last == nil {
				last = &part{lf: lf}
				parts[lf] = last
				order = append(order, last)
			}
			lastKey, lastDate = tenant, date
		}
		last.idx = append(last.idx, i)
	}
	for _, pt := range order {
		if err := c.writeColumns(pt.lf.w, base, stride, pt.idx, &l.scratch); err != nil {
			return fmt.Errorf("lake: write %s: %w", pt.lf.tmp, err)
		}
		pt.lf.rows += len(pt.idx)
		pt.lf.groupRows += len(pt.idx)
		l.rows += len(pt.idx)
		if pt.lf.groupRows >= 256<<10 {
			if err := pt.lf.w.Flush(); err != nil {
				return fmt.Errorf("lake: flush row group %s: %w", pt.lf.tmp, err)
			}
			pt.lf.groupRows = 0
		}
	}
	return nil
}

func (l *lake) bytes() int64 {
	var n int64
	for _, f := range l.files {
		n += f.cw.n
	}
	return n
}

// closeAll finishes every open file (footer, flush, fsync) and returns the
// temp/final pairs; nothing is renamed yet.
func (l *lake) closeAll() ([][2]string, error) {
	var out [][2]string
	var firstErr error
	for k, lf := range l.files {
		err := lf.w.Close()
		if err == nil {
			err = lf.bw.Flush()
		}
		if err == nil {
			err = lf.f.Sync()
		}
		if cerr := lf.f.Close(); err == nil {
			err = cerr
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("lake: finish %s: %w", lf.tmp, err)
		}
		out = append(out, [2]string{lf.tmp, lf.final})
		delete(l.files, k)
	}
	l.gen, l.rows = "", 0
	return out, firstErr
}

// abort drops the open generation: its files are closed and removed.
func (l *lake) abort() {
	for k, lf := range l.files {
		lf.f.Close()
		os.Remove(lf.tmp)
		delete(l.files, k)
	}
	l.gen, l.rows = "", 0
}

// cleanTemps drops leftover temp files (at start-up) not in keep.
func cleanTemps(dir string, keep map[string]bool) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet.tmp") && !keep[p] {
			return os.Remove(p)
		}
		return nil
	})
}
