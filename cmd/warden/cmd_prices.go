package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/wardenhq/warden/schema"
)

// warden prices check [FILE]     validate a price table (default: the built-in one)
// warden prices cost [flags]     price one call with a table
func init() {
	register(subcommand{name: "prices", summary: "check a model price table, or price one call", run: runPrices})
}

func runPrices(args []string) int {
	if len(args) == 0 || (args[0] != "check" && args[0] != "cost") {
		fmt.Fprintln(os.Stderr, "usage: warden prices check [FILE] | warden prices cost -provider P -model M -input N -output N [-cache-read N -cache-write N -cache-write-1h N -at RFC3339 -file FILE]")
		return 2
	}
	load := func(file string) (*schema.PriceTable, error) {
		if file == "" {
			return schema.DefaultPrices()
		}
		return schema.LoadPrices(file)
	}
	if args[0] == "check" {
		file := ""
		if len(args) > 1 {
			file = args[1]
		}
		t, err := load(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%s: ok, %d model names\n", t.Name(), t.Len())
		return 0
	}
	fs := flag.NewFlagSet("prices cost", flag.ContinueOnError)
	file := fs.String("file", "", "price table (default: built in)")
	provider := fs.String("provider", "", "anthropic | openai | gemini")
	model := fs.String("model", "", "model name")
	in := fs.Uint64("input", 0, "input tokens, cached included (OTel GenAI)")
	out := fs.Uint64("output", 0, "output tokens")
	cr := fs.Uint64("cache-read", 0, "cache read tokens (part of input)")
	cw := fs.Uint64("cache-write", 0, "5-minute cache write tokens (part of input)")
	cw1h := fs.Uint64("cache-write-1h", 0, "1-hour cache write tokens (part of input)")
	at := fs.String("at", "", "call time, RFC 3339 (default now)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	t, err := load(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	when := time.Now()
	if *at != "" {
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			fmt.Fprintf(os.Stderr, "-at: %v\n", err)
			return 2
		}
	}
	usd, ok := t.Cost(*provider, *model, when.UnixNano(), schema.Tokens{Input: *in, Output: *out, CacheRead: *cr, CacheWrite5m: *cw, CacheWrite1h: *cw1h})
	if !ok {
		fmt.Fprintf(os.Stderr, "%s/%s is not priced at %s in %s (unpriced)\n", *provider, *model, when.Format(time.RFC3339), t.Name())
		return 1
	}
	fmt.Printf("%.9f\n", usd)
	return 0
}
