// Command profgw runs the gateway exactly as `warden gateway` wires it
// (same config, same dependencies, GOGC 400) plus a net/http/pprof listener,
// so the benchmark's load can be profiled:
//
//	profgw [gateway] --config gateway.yaml -pprof 127.0.0.1:6060
//
// (the optional "gateway" word lets bench/gateway/ab.sh start it like the
// warden binary; PPROF_ADDR sets the pprof address there).
//
//	go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=20
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/wardenhq/warden/endpoint/gateway"
	"github.com/wardenhq/warden/endpoint/gateway/inspect"
)

func main() {
	cfgPath := flag.String("config", "gateway.yaml", "gateway config file (YAML)")
	addr := os.Getenv("PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	pp := flag.String("pprof", addr, "pprof listen address")
	if len(os.Args) > 1 && os.Args[1] == "gateway" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
	}
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400) // as cmd/warden's gateway
	}
	runtime.SetBlockProfileRate(0)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := gateway.LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	det, err := inspect.NewDLPDetector()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	deps, err := gateway.BuildDeps(ctx, cfg, det, "dev", log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer deps.Close()
	gw, err := gateway.New(cfg, deps.Options)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() { _ = http.ListenAndServe(*pp, nil) }()
	if err := gw.ListenAndServe(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
