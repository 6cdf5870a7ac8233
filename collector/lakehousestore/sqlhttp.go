package lakehousestore

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The read-only SQL endpoint: POST /v1/sql with the query as the body and
// Authorization: Bearer <token>; ?format= picks the ClickHouse output format
// (default JSONCompact). The query runs on a separate chDB session with
// readonly=1: the engine, not a string check, refuses writes and setting
// changes. Only loopback addresses are accepted.

// EnsureToken reads the token file, creating it (0600, 32 random bytes hex)
// if it does not exist. A token file readable by others is refused.
func EnsureToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		st, _ := os.Stat(path)
		if st.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("sql.token_file %s has mode %v: must not be readable by group or others (chmod 600)", path, st.Mode().Perm())
		}
		tok := strings.TrimSpace(string(b))
		if len(tok) < 32 {
			return "", fmt.Errorf("sql.token_file %s: token too short", path)
		}
		return tok, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("sql.token_file: %w", err)
	}
	var r [32]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(r[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("sql.token_file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(tok + "\n"); err != nil {
		return "", err
	}
	return tok, nil
}

var allowedFormats = map[string]bool{"JSONCompact": true, "TSVRaw": true, "TabSeparatedRaw": true, "JSON": true, "TSV": true, "TSVWithNames": true, "CSV": true, "CSVWithNames": true, "JSONEachRow": true, "Pretty": true, "PrettyCompact": true, "Parquet": true}

type sqlServer struct {
	srv *http.Server
	ln  net.Listener
}

func startSQL(s *Store, addr, token string) (*sqlServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("sql.endpoint: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("sql.endpoint: %s is not a loopback address (the read-only SQL endpoint is localhost only)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sql.endpoint: %w", err)
	}
	mux := http.NewServeMux()
	want := []byte("Bearer " + token)
	mux.HandleFunc("/v1/sql", func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "POST the query as the body", http.StatusMethodNotAllowed)
			return
		}
		q, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
		if err != nil || len(q) > 1<<20 {
			http.Error(w, "query too large (1 MiB max)", http.StatusRequestEntityTooLarge)
			return
		}
		format := r.URL.Query().Get("format")
		if format == "" {
			format = "JSONCompact"
		}
		if !allowedFormats[format] {
			http.Error(w, "unsupported format "+format, http.StatusBadRequest)
			return
		}
		out, err := s.Query(string(q), format)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(out)
	})
	ss := &sqlServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln}
	go ss.srv.Serve(ln)
	return ss, nil
}

func (s *sqlServer) Addr() string { return s.ln.Addr().String() }

func (s *sqlServer) close() { s.srv.Close() }
