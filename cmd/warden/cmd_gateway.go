package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/endpoint/gateway/inspect"
)

func init() {
	register(subcommand{name: "gateway", summary: "run the LLM gateway (DLP, policy, budgets) between agents and model APIs", run: runGateway})
}

func runGateway(args []string) int {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	cfgPath := fs.String("config", "gateway.yaml", "gateway config file (YAML)")
	check := fs.Bool("check", false, "validate the config and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if os.Getenv("GOGC") == "" {
		// Large prompts make garbage fast (~0.8 MB per 100 KB call) while
		// the live heap stays ~5 MB, so GOGC=400 still collected every
		// ~25 calls and GC became the largest part of the tail; collecting
		// every ~120 calls cut the added p99 by 0.1–0.4 ms in same-run A/B
		// runs (BENCHMARKS.md). The memory limit keeps a busy central
		// gateway, whose live heap is larger, from growing 20× with it.
		debug.SetGCPercent(2000)
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(1 << 30)
		}
	}
	cfg, err := gateway.LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *check {
		fmt.Println("config ok")
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	det, err := inspect.NewDLPDetector()
	if err != nil {
		fmt.Fprintln(os.Stderr, "warden gateway:", err)
		return 1
	}
	deps, err := gateway.BuildDeps(ctx, cfg, det, "dev", log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer deps.Close()
	gw, err := gateway.New(cfg, deps.Options)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log.Info("warden gateway listening", "addr", cfg.Listen, "mode", cfg.Mode)
	if err := gw.ListenAndServe(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "warden gateway:", err)
		return 1
	}
	return 0
}
