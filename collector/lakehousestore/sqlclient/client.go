// Package sqlclient talks to the lakehouse store's read-only SQL endpoint
// and renders results as a text table (used by `warden sql`).
package sqlclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultEndpoint and DefaultTokenFile match collector/config/embedded.yaml.
const (
	DefaultEndpoint  = "127.0.0.1:8124"
	DefaultTokenFile = "data/sql.token"
)

// Client is one endpoint and token.
type Client struct {
	Endpoint string
	Token    string
	HTTP     *http.Client
}

// ReadToken reads a token file.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file %s: %w (is the collector running with the lakehouse extension? pass --token-file)", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Result is a JSONCompact result.
type Result struct {
	Meta []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"meta"`
	Data [][]json.RawMessage `json:"data"`
	Rows int                 `json:"rows"`
}

// Query runs sql and returns the raw output in format.
func (c *Client) Query(sql, format string) ([]byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 120 * time.Second}
	}
	u := "http://" + c.Endpoint + "/v1/sql?format=" + format
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(sql))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("SQL endpoint %s: %w", c.Endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("SQL endpoint: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// QueryRows runs sql and decodes a JSONCompact result.
func (c *Client) QueryRows(sql string) (*Result, error) {
	body, err := c.Query(sql, "JSONCompact")
	if err != nil {
		return nil, err
	}
	var r Result
	if len(strings.TrimSpace(string(body))) == 0 {
		return &r, nil // statements without a result set
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	return &r, nil
}

// Cell renders one JSON value as text.
func Cell(v json.RawMessage) string {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s
	}
	return string(v)
}

// Table writes r as an aligned text table.
func Table(w io.Writer, r *Result) error {
	if r == nil || len(r.Meta) == 0 {
		return errors.New("no result set")
	}
	cells := make([][]string, 0, len(r.Data)+1)
	head := make([]string, len(r.Meta))
	for i, m := range r.Meta {
		head[i] = m.Name
	}
	cells = append(cells, head)
	for _, row := range r.Data {
		line := make([]string, len(row))
		for i, v := range row {
			line[i] = printable(Cell(v))
		}
		cells = append(cells, line)
	}
	width := make([]int, len(head))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	sep := "+"
	for _, wd := range width {
		sep += strings.Repeat("-", wd+2) + "+"
	}
	fmt.Fprintln(w, sep)
	for n, row := range cells {
		line := "|"
		for i, c := range row {
			line += " " + c + strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)) + " |"
		}
		fmt.Fprintln(w, line)
		if n == 0 {
			fmt.Fprintln(w, sep)
		}
	}
	fmt.Fprintln(w, sep)
	fmt.Fprintf(w, "%d row(s)\n", len(r.Data))
	return nil
}

// printable escapes control characters so a cell cannot move the cursor
// or forge table lines.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// DefaultTokenPath resolves the token file: $WARDEN_SQL_TOKEN_FILE, else
// $WARDEN_DATA_DIR/sql.token, else data/sql.token.
func DefaultTokenPath() string {
	if p := os.Getenv("WARDEN_SQL_TOKEN_FILE"); p != "" {
		return p
	}
	if d := os.Getenv("WARDEN_DATA_DIR"); d != "" {
		return filepath.Join(d, "sql.token")
	}
	return DefaultTokenFile
}
