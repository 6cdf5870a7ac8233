package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wardenhq/warden/policy"
	"github.com/wardenhq/warden/policy/engine"
)

func init() {
	register(subcommand{name: "policy", summary: "test a policy bundle (opa tests) or evaluate an input document against it", run: runPolicy})
}

func policyUsage() {
	fmt.Fprintln(os.Stderr, `usage:
  warden policy test [BUNDLE_DIR...]           run the bundles' _test.rego tests (default: the built-in bundle)
  warden policy eval [--bundle PATH] [--shadow PATH] [INPUT.json]
                                               decide one input document (stdin without a file)`)
}

func runPolicy(args []string) int {
	if len(args) == 0 {
		policyUsage()
		return 2
	}
	switch args[0] {
	case "test":
		return policyTest(args[1:])
	case "eval":
		return policyEval(args[1:])
	}
	fmt.Fprintf(os.Stderr, "warden policy: unknown subcommand %q\n", args[0])
	policyUsage()
	return 2
}

// policyTest exits 0 when every test passes, 1 when one fails, 2 when the
// bundle does not load.
func policyTest(args []string) int {
	res, err := policy.RunTests(context.Background(), args...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "warden policy test:", err)
		return 2
	}
	failed := 0
	for _, r := range res {
		fmt.Println(r.String())
		if !r.Pass() {
			failed++
		}
	}
	fmt.Printf("%d tests, %d failed\n", len(res), failed)
	if failed > 0 || len(res) == 0 {
		return 1
	}
	return 0
}

func policyEval(args []string) int {
	fs := flag.NewFlagSet("policy eval", flag.ContinueOnError)
	bundle := fs.String("bundle", "", "bundle directory or .tar.gz (default: the built-in bundle)")
	shadow := fs.String("shadow", "", "candidate bundle evaluated beside it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var r io.Reader = os.Stdin
	if fs.NArg() > 0 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, "warden policy eval:", err)
			return 2
		}
		defer f.Close()
		r = f
	}
	var doc map[string]any
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		fmt.Fprintln(os.Stderr, "warden policy eval: input document:", err)
		return 2
	}
	normalizeNumbers(doc)
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{Path: *bundle, CacheSize: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "warden policy eval: --bundle:", err)
		return 2
	}
	out := map[string]any{}
	d, err := e.EvaluateDocument(ctx, doc)
	out["active"] = d
	if *shadow != "" {
		se, serr := engine.New(ctx, engine.Options{Path: *shadow, CacheSize: -1, Name: "shadow"})
		if serr != nil {
			fmt.Fprintln(os.Stderr, "warden policy eval: --shadow:", serr)
			return 2
		}
		sd, _ := se.EvaluateDocument(ctx, doc)
		out["shadow"] = sd
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "warden policy eval:", err)
		return 1
	}
	return 0
}

// normalizeNumbers turns json.Number into int or float64, the types the
// engine's cache key and OPA accept.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	}
	return v
}
