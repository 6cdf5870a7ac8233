// Package e2e runs otelcol-warden (or the e2e collector) as a real process
// with a temp data dir, sends OTLP with the OTel Go SDK and checks both
// stores: ClickHouse through the read-only SQL endpoint and the Parquet lake
// read directly with parquet-go (an independent reader).
package e2e

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/wardenhq/warden/collector/lakehousestore/sqlclient"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

// Root is the repository root.
func Root() string {
	_, f, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(f))
}

// ChDBLib returns the library path or skips.
func ChDBLib(t testing.TB) string {
	p := os.Getenv("WARDEN_CHDB_LIB")
	if p == "" {
		p = filepath.Join(Root(), "lib", "chdb", "libchdb.so")
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("WARDEN_REQUIRE_CHDB") != "" {
			t.Fatalf("libchdb.so required at %s", p)
		}
		t.Skipf("libchdb.so not at %s (make deps-chdb)", p)
	}
	return p
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// CollectorBin returns $WARDEN_E2E_COLLECTOR, else bin/otelcol-warden when
// it includes the lakehouse exporter, else builds e2e/cmd/otelcol-e2e.
func CollectorBin(t testing.TB) string {
	binOnce.Do(func() {
		if p := os.Getenv("WARDEN_E2E_COLLECTOR"); p != "" {
			binPath = p
			return
		}
		w := filepath.Join(Root(), "bin", "otelcol-warden")
		if out, err := exec.Command(w, "components").Output(); err == nil && hasLakehouseExporter(string(out)) {
			binPath = w
			return
		}
		dir, err := os.MkdirTemp("", "warden-e2e-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "otelcol-e2e")
		cmd := exec.Command("go", "build", "-o", binPath, "./e2e/cmd/otelcol-e2e")
		cmd.Dir = Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build e2e collector: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func hasLakehouseExporter(components string) bool {
	i := strings.Index(components, "exporters:")
	if i < 0 {
		return false
	}
	rest := components[i+len("exporters:"):]
	if j := regexp.MustCompile(`\n[a-z]`).FindStringIndex(rest); j != nil {
		rest = rest[:j[0]]
	}
	return strings.Contains(rest, "name: lakehouse")
}

// FreePort returns a loopback address with a free port.
func FreePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Collector is one running collector process.
type Collector struct {
	t                    testing.TB
	Bin, Config, DataDir string
	GRPC, HTTP, SQLAddr  string
	Env                  []string
	cmd                  *exec.Cmd
	out                  *bytes.Buffer
	done                 chan error
}

// NewCollector prepares a collector with fresh ports and data dir.
func NewCollector(t testing.TB, config string) *Collector {
	c := &Collector{t: t, Bin: CollectorBin(t), Config: config, DataDir: t.TempDir(),
		GRPC: FreePort(t), HTTP: FreePort(t), SQLAddr: FreePort(t)}
	c.Env = []string{"WARDEN_CHDB_LIB=" + ChDBLib(t), "WARDEN_KEYS_DIR=" + testKeys(t, c.DataDir)}
	t.Cleanup(func() { c.Kill() })
	return c
}

// testKeys creates the keyring embedded.yaml needs (tenant keys are created
// on first use) and moves the custody private key out of the collector's
// directory, as scripts/run-embedded.sh does.
func testKeys(t testing.TB, dataDir string) string {
	dir := filepath.Join(dataDir, "keys")
	s, err := vault.InitDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := s.InitCustody()
	if err != nil {
		t.Fatal(err)
	}
	cust := filepath.Join(dataDir, "custody")
	os.MkdirAll(filepath.Join(cust, "custody"), 0o700)
	if err := os.Rename(vault.CustodyPrivateKeyPath(dir, id), vault.CustodyPrivateKeyPath(cust, id)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Start runs the process and waits until OTLP and SQL ports answer.
func (c *Collector) Start() error { return c.start(true) }

// Start0 is Start without waiting for the SQL endpoint (the store may be
// unavailable on purpose).
func (c *Collector) Start0() error { return c.start(false) }

func (c *Collector) start(wantSQL bool) error {
	c.cmd = exec.Command(c.Bin, "--config", c.Config)
	c.cmd.Env = append(append(os.Environ(),
		"WARDEN_DATA_DIR="+c.DataDir, "WARDEN_OTLP_GRPC="+c.GRPC, "WARDEN_OTLP_HTTP="+c.HTTP, "WARDEN_SQL_ENDPOINT="+c.SQLAddr,
		"GOMAXPROCS=2"), c.Env...)
	c.out = &bytes.Buffer{}
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		return err
	}
	c.done = make(chan error, 1)
	go func() { c.done <- c.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("collector exited: %v\n%s\n%s", err, c.out.String(), c.Log())
		default:
		}
		if dial(c.HTTP) && (!wantSQL || dial(c.SQLAddr)) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("collector not ready in 60s:\n%s", c.Log())
}

func dial(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// Exited reports whether the process ended, with its error.
func (c *Collector) Exited(wait time.Duration) (bool, error) {
	select {
	case err := <-c.done:
		c.done <- err
		return true, err
	case <-time.After(wait):
		return false, nil
	}
}

// Kill9 kills the process with SIGKILL and waits for it.
func (c *Collector) Kill9() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	c.done <- nil
	c.cmd = nil
}

// Stop ends the process with SIGTERM (graceful shutdown).
func (c *Collector) Stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.done
	}
	c.cmd = nil
}

// Kill is cleanup: SIGKILL if still running.
func (c *Collector) Kill() {
	if c.cmd != nil {
		c.Kill9()
	}
}

// Log returns the collector's log file plus its stdout/stderr.
func (c *Collector) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.DataDir, "otelcol.log"))
	out := ""
	if c.out != nil {
		out = c.out.String()
	}
	return string(b) + out
}

// SQL runs a read-only query and returns TSV rows.
func (c *Collector) SQL(q string) (string, error) {
	tok, err := sqlclient.ReadToken(filepath.Join(c.DataDir, "sql.token"))
	if err != nil {
		return "", err
	}
	cl := &sqlclient.Client{Endpoint: c.SQLAddr, Token: tok, HTTP: &http.Client{Timeout: 60 * time.Second}}
	out, err := cl.Query(q, "TSVRaw")
	return strings.TrimRight(string(out), "\n"), err
}

// MustSQL is SQL or fail.
func (c *Collector) MustSQL(q string) string {
	c.t.Helper()
	out, err := c.SQL(q)
	if err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return out
}

// LakeEvent is the subset of the lake's events columns the tests check.
type LakeEvent struct {
	EventID      [16]byte          `parquet:"event_id"`
	Tenant       string            `parquet:"tenant"`
	Kind         string            `parquet:"kind"`
	InputTokens  uint64            `parquet:"input_tokens"`
	OutputTokens uint64            `parquet:"output_tokens"`
	CostUSD      float64           `parquet:"cost_usd"`
	Attributes   map[string]string `parquet:"attributes"`
}

// LakeEvents reads every committed events file of the lake.
func (c *Collector) LakeEvents() ([]LakeEvent, error) {
	files, err := filepath.Glob(filepath.Join(c.DataDir, "lake", "events", "tenant=*", "date=*", "*.parquet"))
	if err != nil {
		return nil, err
	}
	var out []LakeEvent
	for _, f := range files {
		rows, err := parquet.ReadFile[LakeEvent](f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// WaitFor polls cond until it holds or the timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (last: %s)", what, last)
}

// ConfigFile writes a collector config derived from embedded.yaml with the
// lake rolling every interval, so tests see committed files quickly.
func ConfigFile(t testing.TB, rollInterval string) string {
	b, err := os.ReadFile(filepath.Join(Root(), "collector", "config", "embedded.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "roll_interval: 60s", "roll_interval: "+rollInterval, 1)
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// PostLogs sends ld to the collector over OTLP/HTTP (protobuf) and returns
// the response status.
func (c *Collector) PostLogs(t testing.TB, ld plog.Logs) int {
	t.Helper()
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+c.HTTP+"/v1/logs", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TablesContaining names the ClickHouse tables where needle occurs in any
// column of any row, decoded (compression hides it from a byte scan of the
// files). Only for test-made needles: it is pasted into the query text.
func (c *Collector) TablesContaining(needle string) ([]string, error) {
	var hits []string
	for _, tb := range schema.Tables() {
		n, err := c.SQL(fmt.Sprintf("SELECT count() FROM %s WHERE position(toString(tuple(*)), '%s') > 0", tb.Name, needle))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tb.Name, err)
		}
		if n != "0" {
			hits = append(hits, fmt.Sprintf("clickhouse %s (%s rows)", tb.Name, n))
		}
	}
	return hits, nil
}

// LakeContaining names the Parquet files of the lake where needle occurs in
// any decoded value (the files are zstd-compressed).
func (c *Collector) LakeContaining(needle string) ([]string, error) {
	var hits []string
	err := filepath.WalkDir(filepath.Join(c.DataDir, "lake"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, rg := range pf.RowGroups() {
			rows := rg.Rows()
			buf := make([]parquet.Row, 256)
			for {
				n, err := rows.ReadRows(buf)
				for _, r := range buf[:n] {
					for _, v := range r {
						if v.Kind() == parquet.ByteArray && strings.Contains(string(v.ByteArray()), needle) {
							hits = append(hits, "lake "+p)
						}
					}
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					rows.Close()
					return fmt.Errorf("%s: %w", p, err)
				}
			}
			rows.Close()
		}
		return nil
	})
	return hits, err
}
