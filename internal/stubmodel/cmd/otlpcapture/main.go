// Command otlpcapture is a minimal OTLP/HTTP endpoint for capturing what a
// real agent exports: it stores every request body of POST
// /v1/{logs,metrics,traces} as received (gzip undone), one file per request
// (<dir>/<signal>-<n>.pb for protobuf, .json for JSON), and answers with an
// empty success response. Fixture capture only; the collector is the real
// receiver everywhere else.
package main

import (
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	dir := flag.String("dir", ".", "directory for captured bodies")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signal := strings.TrimPrefix(r.URL.Path, "/v1/")
		if r.Method != http.MethodPost || (signal != "logs" && signal != "metrics" && signal != "traces") {
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, "bad gzip: "+err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ext, ct := "pb", "application/x-protobuf"
		if strings.Contains(r.Header.Get("Content-Type"), "json") {
			ext, ct = "json", "application/json"
		}
		name := filepath.Join(*dir, fmt.Sprintf("%s-%03d.%s", signal, n.Add(1), ext))
		if err := os.WriteFile(name, b, 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ct)
		if ext == "json" {
			io.WriteString(w, "{}")
		}
	})
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("http://" + l.Addr().String())
	_ = http.Serve(l, h)
}
