// Command otlpdump prints captured OTLP request bodies (files named
// logs-*, metrics-*, traces-*, .pb or .json) as indented OTLP JSON, to read
// fixtures.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

type msg interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
	MarshalJSON() ([]byte, error)
}

func main() {
	for _, path := range os.Args[1:] {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var m msg
		switch base := filepath.Base(path); {
		case strings.HasPrefix(base, "logs"):
			r := plogotlp.NewExportRequest()
			m = &r
		case strings.HasPrefix(base, "metrics"):
			r := pmetricotlp.NewExportRequest()
			m = &r
		case strings.HasPrefix(base, "traces"):
			r := ptraceotlp.NewExportRequest()
			m = &r
		default:
			fmt.Fprintf(os.Stderr, "otlpdump: %s: name must start with logs, metrics or traces\n", path)
			os.Exit(1)
		}
		if strings.HasSuffix(path, ".json") {
			err = m.UnmarshalJSON(b)
		} else {
			err = m.UnmarshalProto(b)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "otlpdump: %s: %v\n", path, err)
			os.Exit(1)
		}
		out, _ := m.MarshalJSON()
		var buf bytes.Buffer
		_ = json.Indent(&buf, out, "", " ")
		fmt.Printf("== %s\n%s\n", path, buf.String())
	}
}
