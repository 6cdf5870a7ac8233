// Package chdb binds the embedded ClickHouse engine (libchdb.so from the npm
// package @chdb/lib-linux-x64-gnu) with purego, so Warden builds without cgo.
//
// The C API (chdb.h, "stable" v2 shape) used here:
//
//	chdb_connection *chdb_connect(int argc, char **argv);
//	void             chdb_close_conn(chdb_connection *conn);
//	chdb_result     *chdb_query_n(chdb_connection conn, const char *q, size_t qlen, const char *fmt, size_t flen);
//	const char      *chdb_result_buffer(chdb_result *);
//	size_t           chdb_result_length(chdb_result *);
//	const char      *chdb_result_error(chdb_result *);
//	uint64_t         chdb_result_rows_read(chdb_result *);
//	void             chdb_destroy_query_result(chdb_result *);
//
// Facts that shape this package (measured on 26.5.3):
//   - chDB locks its data directory and allows one engine path per process:
//     Open returns the process-wide connection and refuses a second path.
//   - settings passed as argv to chdb_connect are ignored, so Open applies
//     them with SET on the connection;
//   - inline INSERT data is cut at the first blank line and the rest runs as
//     SQL: callers must never put record data in SQL text. InsertNativeFile
//     is the binary path (a Native block file + INSERT ... FROM INFILE).
package chdb

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// SupportedMajorMinor is the ClickHouse version line this binding was
// written and tested against; Open refuses any other.
const SupportedMajorMinor = "26.5."

// EnvLib names the environment variable that points at libchdb.so.
const EnvLib = "WARDEN_CHDB_LIB"

type api struct {
	connect       func(argc int32, argv **byte) unsafe.Pointer
	closeConn     func(conn unsafe.Pointer)
	queryN        func(conn unsafe.Pointer, q *byte, qlen uintptr, f *byte, flen uintptr) unsafe.Pointer
	resultBuffer  func(res unsafe.Pointer) unsafe.Pointer
	resultLength  func(res unsafe.Pointer) uintptr
	resultError   func(res unsafe.Pointer) string
	resultRowsRd  func(res unsafe.Pointer) uint64
	resultRowsWr  func(res unsafe.Pointer) uint64
	destroyResult func(res unsafe.Pointer)
}

var (
	loadOnce sync.Once
	loaded   *api
	loadPath string
	loadErr  error

	connMu   sync.Mutex
	openConn *Conn
)

// LibPath returns the library path to use: explicit, else $WARDEN_CHDB_LIB,
// else ./lib/chdb/libchdb.so.
func LibPath(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if p := os.Getenv(EnvLib); p != "" {
		return p
	}
	return "lib/chdb/libchdb.so"
}

func load(path string) (*api, error) {
	loadOnce.Do(func() {
		loadPath = path
		loaded, loadErr = loadLib(path)
	})
	if loadErr == nil && path != loadPath {
		return nil, fmt.Errorf("chdb: library already loaded from %s, cannot also load %s", loadPath, path)
	}
	return loaded, loadErr
}

// CheckLib checks that path is a loadable chDB library without loading it
// into this process beyond what dlopen needs: it is used by config
// validation to fail early with a clear message.
func CheckLib(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("chdb: library %s not found (run `make deps-chdb` or set %s)", path, EnvLib)
		}
		return fmt.Errorf("chdb: library %s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("chdb: library path %s is a directory, want libchdb.so", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("chdb: library %s: %w", path, err)
	}
	defer f.Close()
	var magic [4]byte
	if _, err := f.Read(magic[:]); err != nil || string(magic[:]) != "\x7fELF" {
		return fmt.Errorf("chdb: library %s is not an ELF shared object (wrong file?)", path)
	}
	return nil
}

func loadLib(path string) (*api, error) {
	if err := CheckLib(path); err != nil {
		return nil, err
	}
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("chdb: cannot load %s: %v", path, err)
	}
	a := &api{}
	syms := []struct {
		name string
		fn   any
	}{
		{"chdb_connect", &a.connect},
		{"chdb_close_conn", &a.closeConn},
		{"chdb_query_n", &a.queryN},
		{"chdb_result_buffer", &a.resultBuffer},
		{"chdb_result_length", &a.resultLength},
		{"chdb_result_error", &a.resultError},
		{"chdb_result_rows_read", &a.resultRowsRd},
		{"chdb_result_rows_written", &a.resultRowsWr},
		{"chdb_destroy_query_result", &a.destroyResult},
	}
	for _, s := range syms {
		ptr, err := purego.Dlsym(h, s.name)
		if err != nil || ptr == 0 {
			return nil, fmt.Errorf("chdb: %s lacks symbol %s: not a supported libchdb.so (want chDB %sx)", path, s.name, SupportedMajorMinor)
		}
		purego.RegisterFunc(s.fn, ptr)
	}
	return a, nil
}

// Conn is the process-wide chDB session. Queries are serialized: the engine
// is thread-safe, but one session carries the SET settings and a mutex
// keeps the behaviour simple and predictable.
type Conn struct {
	mu      sync.Mutex
	a       *api
	connPtr unsafe.Pointer // chdb_connection*
	conn    unsafe.Pointer // chdb_connection
	path    string
	Version string
	closed  bool
	session bool
	args    []string
}

// Options configure Open.
type Options struct {
	LibPath  string            // default LibPath("")
	Path     string            // data directory; "" = in memory
	Settings map[string]string // applied with SET after connecting
}

// Open loads the library, connects and checks the engine version.
func Open(o Options) (*Conn, error) {
	connMu.Lock()
	defer connMu.Unlock()
	if openConn != nil && !openConn.closed {
		return nil, fmt.Errorf("chdb: a connection to %q is already open in this process (chDB allows one engine per process)", openConn.path)
	}
	a, err := load(LibPath(o.LibPath))
	if err != nil {
		return nil, err
	}
	args := []string{"clickhouse"}
	if o.Path != "" {
		if err := os.MkdirAll(o.Path, 0o700); err != nil {
			return nil, fmt.Errorf("chdb: data dir %s: %w", o.Path, err)
		}
		args = append(args, "--path="+o.Path)
	}
	c, err := connect(a, args, o.Path)
	if err != nil {
		return nil, err
	}
	v, err := c.Query("SELECT version()", "TSVRaw")
	if err != nil {
		c.closeLocked()
		return nil, fmt.Errorf("chdb: version check: %w", err)
	}
	c.Version = strings.TrimSpace(string(v))
	if err := checkVersion(loadPath, c.Version); err != nil {
		c.closeLocked()
		return nil, err
	}
	if err := c.apply(o.Settings); err != nil {
		c.closeLocked()
		return nil, err
	}
	c.args = args
	openConn = c
	return c, nil
}

func connect(a *api, args []string, path string) (*Conn, error) {
	cargs := make([]*byte, len(args)+1)
	keep := make([][]byte, len(args))
	for i, s := range args {
		keep[i] = append([]byte(s), 0)
		cargs[i] = &keep[i][0]
	}
	cp := a.connect(int32(len(args)), &cargs[0])
	if cp == nil {
		return nil, fmt.Errorf("chdb: connect to %q failed (is another process using this data directory?)", path)
	}
	c := &Conn{a: a, connPtr: cp, conn: *(*unsafe.Pointer)(cp), path: path}
	if c.conn == nil {
		return nil, fmt.Errorf("chdb: connect to %q returned a null connection", path)
	}
	return c, nil
}

// apply SETs settings on this session (settings passed to chdb_connect are
// ignored by the engine).
func (c *Conn) apply(settings map[string]string) error {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		if k != "readonly" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if _, ok := settings["readonly"]; ok {
		keys = append(keys, "readonly") // last: it freezes the others
	}
	for _, k := range keys {
		v := settings[k]
		if !isIdent(k) {
			return fmt.Errorf("chdb: setting name %q is not an identifier", k)
		}
		if err := c.Exec("SET " + k + " = " + QuoteString(v)); err != nil {
			return fmt.Errorf("chdb: setting %s: %w", k, err)
		}
	}
	return nil
}

// Session opens another session on the same engine and data directory with
// its own settings: e.g. the read-only SQL endpoint runs with readonly=1,
// enforced by the engine, while the writer's session stays writable. Close
// sessions before the main connection (closing the last one stops the
// engine).
func (c *Conn) Session(settings map[string]string) (*Conn, error) {
	connMu.Lock()
	defer connMu.Unlock()
	if c.closed {
		return nil, errors.New("chdb: connection closed")
	}
	s, err := connect(c.a, c.args, c.path)
	if err != nil {
		return nil, err
	}
	s.Version = c.Version
	s.session = true
	if err := s.apply(settings); err != nil {
		s.closeLocked()
		return nil, err
	}
	return s, nil
}

// checkVersion refuses an engine outside the supported line: the C API and
// the SQL Warden sends were checked against it.
func checkVersion(lib, version string) error {
	if !strings.HasPrefix(version, SupportedMajorMinor) {
		return fmt.Errorf("chdb: library %s is ClickHouse %q, want %sx (mismatched libchdb.so; run `make deps-chdb`)", lib, version, SupportedMajorMinor)
	}
	return nil
}

// Result is one query result.
type Result struct {
	Data        []byte
	RowsRead    uint64
	RowsWritten uint64
}

// Query runs one statement and returns its output in format.
func (c *Conn) Query(sql, format string) ([]byte, error) {
	r, err := c.QueryResult(sql, format)
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

// QueryResult runs one statement and returns output and counters.
func (c *Conn) QueryResult(sql, format string) (Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return Result{}, errors.New("chdb: connection closed")
	}
	if format == "" {
		format = "TSV"
	}
	q := append([]byte(sql), 0)
	f := append([]byte(format), 0)
	res := c.a.queryN(c.conn, &q[0], uintptr(len(sql)), &f[0], uintptr(len(format)))
	if res == nil {
		return Result{}, errors.New("chdb: query returned no result")
	}
	defer c.a.destroyResult(res)
	if msg := c.a.resultError(res); msg != "" {
		return Result{}, &QueryError{Msg: msg}
	}
	out := Result{RowsRead: c.a.resultRowsRd(res), RowsWritten: c.a.resultRowsWr(res)}
	n := c.a.resultLength(res)
	if buf := c.a.resultBuffer(res); buf != nil && n > 0 {
		out.Data = make([]byte, n)
		copy(out.Data, unsafe.Slice((*byte)(buf), n))
	}
	return out, nil
}

// Exec runs a statement and discards its output.
func (c *Conn) Exec(sql string) error {
	_, err := c.Query(sql, "TSV")
	return err
}

// Path is the data directory ("" in memory).
func (c *Conn) Path() string { return c.path }

// Close ends the session. chDB can only be reopened with the same path.
func (c *Conn) Close() {
	connMu.Lock()
	defer connMu.Unlock()
	c.closeLocked()
}

func (c *Conn) closeLocked() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.a.closeConn(c.connPtr)
	if openConn == c && !c.session {
		openConn = nil
	}
}

// QueryError is an error reported by the engine.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return "chdb: " + strings.TrimSpace(e.Msg) }

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// QuoteString renders s as a ClickHouse string literal. It is for values
// Warden itself controls (file paths it generated, setting values, dedup
// tokens that are hex digests) — never for record content.
func QuoteString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// QuoteIdent renders an identifier with backquotes.
func QuoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

// InsertNativeFile inserts a Native-format block file into table. token, if
// set, is the insert deduplication token (a hex digest chosen by Warden):
// with non_replicated_deduplication_window set on the table, inserting the
// same token twice stores the rows once.
func (c *Conn) InsertNativeFile(table, file, token string) (Result, error) {
	q := "INSERT INTO " + QuoteIdent(table) + " FROM INFILE " + QuoteString(file)
	if token != "" {
		if !isIdent(token) {
			return Result{}, fmt.Errorf("chdb: dedup token %q must be [A-Za-z0-9_]", token)
		}
		q += " SETTINGS insert_deduplication_token = '" + token + "', insert_deduplicate = 1"
	}
	q += " FORMAT Native"
	return c.QueryResult(q, "TSV")
}
