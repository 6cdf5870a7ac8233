package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/wardenhq/warden/endpoint/daemon"
	"github.com/wardenhq/warden/endpoint/launch"
)

func init() {
	register(subcommand{name: "endpointd", summary: "privileged endpoint service: sandbox set-up for unprivileged `warden run`", run: runEndpointd})
}

func runEndpointd(args []string) int {
	fs := flag.NewFlagSet("endpointd", flag.ContinueOnError)
	var s daemon.Server
	socket := fs.String("socket", daemon.DefaultSocket, "unix socket to listen on")
	fs.StringVar(&s.ProfileDir, "profiles", "/etc/warden/profiles", "directory of administrator profiles callers may name")
	fs.StringVar(&s.Base.Tenant, "tenant", envOr("WARDEN_TENANT", ""), "tenant")
	fs.StringVar(&s.Base.KeysDir, "keys", envOr("WARDEN_KEYS", "/etc/warden/keys"), "vault key directory")
	fs.StringVar(&s.Base.Collector, "collector", envOr("WARDEN_COLLECTOR", "http://127.0.0.1:4318"), "otelcol-warden OTLP/HTTP base URL")
	fs.StringVar(&s.Base.BufferDir, "buffer-dir", "/var/lib/warden/endpoint-buffer", "durable export buffer directory")
	fs.StringVar(&s.Base.BufferMax, "buffer-max", "256MiB", "export buffer bound")
	fs.StringVar(&s.Base.BufferPolicy, "buffer-policy", "drop_oldest", "drop_oldest or block")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "warden endpointd: must run as root (it creates cgroups and loads eBPF programs)")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	_ = launch.Config{}
	if err := s.Serve(ctx, *socket); err != nil {
		fmt.Fprintln(os.Stderr, "warden endpointd:", err)
		return 1
	}
	return 0
}
