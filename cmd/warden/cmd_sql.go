package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/wardenhq/warden/collector/lakehousestore/sqlclient"
)

func init() {
	register(subcommand{name: "sql", summary: "run read-only SQL on the lakehouse and print a table", run: runSQL})
}

func runSQL(args []string) int {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	endpoint := fs.String("endpoint", sqlEnvOr("WARDEN_SQL_ENDPOINT", sqlclient.DefaultEndpoint), "SQL endpoint host:port ($WARDEN_SQL_ENDPOINT)")
	tokenFile := fs.String("token-file", sqlclient.DefaultTokenPath(), "bearer token file ($WARDEN_SQL_TOKEN_FILE, $WARDEN_DATA_DIR/sql.token)")
	format := fs.String("format", "table", "table, or a ClickHouse output format (TSV, CSV, JSONEachRow, ...)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, `usage: warden sql [--endpoint host:port] [--token-file path] [--format table|TSV|...] "SELECT ..."`)
		return 2
	}
	tok := os.Getenv("WARDEN_SQL_TOKEN")
	if tok == "" {
		var err error
		if tok, err = sqlclient.ReadToken(*tokenFile); err != nil {
			fmt.Fprintln(os.Stderr, "warden sql:", err)
			return 1
		}
	}
	c := &sqlclient.Client{Endpoint: *endpoint, Token: tok}
	if *format != "table" {
		out, err := c.Query(fs.Arg(0), *format)
		if err != nil {
			fmt.Fprintln(os.Stderr, "warden sql:", err)
			return 1
		}
		os.Stdout.Write(out)
		return 0
	}
	r, err := c.QueryRows(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "warden sql:", err)
		return 1
	}
	if err := sqlclient.Table(os.Stdout, r); err != nil {
		fmt.Fprintln(os.Stderr, "warden sql:", strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}

func sqlEnvOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
