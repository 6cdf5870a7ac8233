package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/wardenhq/warden/endpoint"
	"github.com/wardenhq/warden/endpoint/daemon"
	"github.com/wardenhq/warden/endpoint/launch"
	"github.com/wardenhq/warden/endpoint/sandbox"
)

func init() {
	register(subcommand{name: "run", summary: "run an AI agent inside the Warden sandbox: warden run [flags] -- AGENT [ARGS...]", run: runRun})
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func runRun(args []string) int {
	if len(args) > 0 && args[0] == "--stage2" {
		sandbox.Stage2() // never returns
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c launch.Config
	var env listFlag
	fs.StringVar(&c.Profile, "profile", "", "sandbox profile: shipped name (claude, codex, gemini, generic) or YAML file (default: by agent name)")
	fs.StringVar(&c.User, "user", os.Getenv("SUDO_USER"), "agent user when started as root (never root; default $SUDO_USER)")
	fs.StringVar(&c.Project, "project", "", "project directory, read-write for the agent (default: current directory)")
	fs.Var(&env, "env", "extra KEY=VALUE for the agent (repeatable)")
	fs.StringVar(&c.AgentVersion, "agent-version", "", "agent version to report")
	fs.StringVar(&c.Tenant, "tenant", envOr("WARDEN_TENANT", ""), "tenant (pseudonym key and warden.tenant)")
	fs.StringVar(&c.KeysDir, "keys", envOr("WARDEN_KEYS", "/etc/warden/keys"), "vault key directory (tenant HMAC keys for pseudonyms)")
	fs.StringVar(&c.Collector, "collector", envOr("WARDEN_COLLECTOR", "http://127.0.0.1:4318"), "otelcol-warden OTLP/HTTP base URL (empty: no export)")
	fs.StringVar(&c.BufferDir, "buffer-dir", envOr("WARDEN_BUFFER_DIR", "/var/lib/warden/endpoint-buffer"), "durable export buffer directory")
	fs.StringVar(&c.BufferMax, "buffer-max", "256MiB", "export buffer bound")
	fs.StringVar(&c.BufferPolicy, "buffer-policy", "drop_oldest", "when the buffer is full: drop_oldest or block")
	fs.StringVar(&c.AgentOTLP, "agent-otlp", "", "OTLP/HTTP base URL for the agent's own telemetry, bypassing the endpoint (default: the session's local relay, which adds identity, seals prompts and buffers)")
	fs.StringVar(&c.EventsFile, "events-file", "", "also append every event as JSON lines to this file")
	fs.BoolVar(&c.NoTelemetry, "no-telemetry", false, "enforce only: no exec/open events (egress refusals are still reported)")
	fs.IntVar(&c.SensorNice, "sensor-nice", 10, "nice value of Warden's own threads once the agent runs (the agent keeps its priority; 0: unchanged)")
	socket := fs.String("socket", daemon.DefaultSocket, "endpointd socket (used when not root)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c.Argv = fs.Args()
	c.Interactive = true
	c.Env = env
	if len(c.Argv) == 0 {
		fmt.Fprintln(os.Stderr, "usage: warden run [flags] -- AGENT [ARGS...]")
		return 2
	}
	if os.Geteuid() != 0 {
		// Unprivileged: endpointd does the cgroup and eBPF set-up and runs
		// the agent as us.
		wd, _ := os.Getwd()
		if c.Project == "" {
			c.Project = wd
		}
		r, err := daemon.Client(*socket, daemon.Request{Profile: c.Profile, Argv: c.Argv, Project: c.Project, Env: c.Env, AgentVersion: c.AgentVersion})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 125
		}
		if r.Error != "" {
			fmt.Fprintln(os.Stderr, "warden run:", r.Error)
		}
		return r.ExitCode
	}
	if os.Getenv("GOGC") == "" {
		// The sensor allocates per kernel event over a live heap of tens
		// of MB (hash and path caches): collecting at 3x instead of 2x the
		// live heap cuts the GC work that competes with the agent for CPU
		// (400 % cost ~85 MB more peak RSS on a file walk for little more).
		debug.SetGCPercent(200)
	}
	if p := os.Getenv("WARDEN_CPUPROFILE"); p != "" { // profiling the sensor itself
		if f, err := os.Create(p); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	res, err := launch.Run(context.Background(), c, os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "warden run:", err)
		if errors.Is(err, endpoint.ErrNotApproved) {
			return 126
		}
		return 125
	}
	if res.Lost > 0 {
		fmt.Fprintf(os.Stderr, "warden run: %d kernel events lost (ring buffer full)\n", res.Lost)
	}
	if os.Getenv("WARDEN_RUN_TIMING") == "1" {
		// The sensor's own CPU (this process, not the agent).
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		fmt.Fprintf(os.Stderr, "warden run: sensor cpu user %.3f s sys %.3f s, %d events\n",
			time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds(), res.Events)
	}
	return res.ExitCode
}
