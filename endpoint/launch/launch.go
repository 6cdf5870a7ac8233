// Package launch wires one `warden run` session together: profile,
// pseudonym key, durable exporter and the sandboxed run. `warden run`
// (as root) and `warden endpointd` (for unprivileged callers) both use it.
package launch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wardenhq/warden/endpoint"
	"github.com/wardenhq/warden/endpoint/export"
	"github.com/wardenhq/warden/endpoint/profile"
	"github.com/wardenhq/warden/schema"
)

// Config is one session's settings (flags of `warden run`).
type Config struct {
	Profile      string   `json:"profile"` // shipped name or file
	Argv         []string `json:"argv"`
	User         string   `json:"user"`
	Project      string   `json:"project"`
	Env          []string `json:"env"`
	AgentVersion string   `json:"agent_version"`
	Tenant       string   `json:"tenant"`
	KeysDir      string   `json:"keys_dir"`
	// Collector is the OTLP/HTTP base URL of otelcol-warden; empty: no
	// export (events only go to EventsFile, if set).
	Collector    string `json:"collector"`
	BufferDir    string `json:"buffer_dir"`
	BufferMax    string `json:"buffer_max"`
	BufferPolicy string `json:"buffer_policy"`
	// AgentOTLP points the agent's own telemetry (default: Collector).
	AgentOTLP string `json:"agent_otlp"`
	// EventsFile also writes every event as a JSON line (debugging, tests).
	EventsFile  string `json:"events_file"`
	NoTelemetry bool   `json:"no_telemetry"`
	// Interactive: the CLI owns the terminal (see endpoint.Options).
	Interactive bool `json:"-"`
	// Stage2 overrides the stage-2 command (tests).
	Stage2 []string `json:"-"`
	// Sink, when set, receives the events instead of an exporter opened
	// for this session (endpointd shares one exporter between sessions).
	Sink endpoint.Sink `json:"-"`
}

// ProfileFor picks the shipped profile for an agent command.
func ProfileFor(argv0 string) string {
	switch b := filepath.Base(argv0); {
	case strings.HasPrefix(b, "claude"):
		return "claude"
	case strings.HasPrefix(b, "codex"):
		return "codex"
	case strings.HasPrefix(b, "gemini"):
		return "gemini"
	}
	return "generic"
}

// OpenExporter opens the durable exporter a Config describes.
func OpenExporter(c Config) (*export.Exporter, error) {
	max, err := profile.ParseBytes(c.BufferMax)
	if err != nil {
		return nil, fmt.Errorf("buffer-max: %q: %w", c.BufferMax, err)
	}
	if c.Tenant == "" {
		c.Tenant = schema.DefaultTenant
	}
	return export.Open(export.Config{Endpoint: c.Collector, Dir: c.BufferDir, MaxBytes: int64(max), Policy: c.BufferPolicy, Tenant: c.Tenant})
}

// Run runs the session; stdio are the agent's.
func Run(ctx context.Context, c Config, stdin, stdout, stderr *os.File) (endpoint.Result, error) {
	var res endpoint.Result
	if len(c.Argv) == 0 {
		return res, errors.New("warden run: no agent command (usage: warden run [flags] -- AGENT [ARGS...])")
	}
	if c.Profile == "" {
		c.Profile = ProfileFor(c.Argv[0])
	}
	prof, err := profile.Load(c.Profile)
	if err != nil {
		return res, err
	}
	if c.Tenant == "" {
		c.Tenant = schema.DefaultTenant
	}
	pseudo, err := endpoint.TenantPseudonymizer(c.KeysDir, c.Tenant, true)
	if err != nil {
		return res, err
	}
	var sinks multiSink
	if c.Sink != nil {
		sinks = append(sinks, c.Sink)
	} else if c.Collector != "" {
		x, err := OpenExporter(c)
		if err != nil {
			return res, err
		}
		defer func() {
			// Give a reachable collector a moment; what it does not take
			// stays on disk for the next session (no waiting on one that
			// is down).
			deadline := time.Now().Add(3 * time.Second)
			for x.Stats.Buffered.Load() > 0 && x.Reachable() && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := x.Stats.Buffered.Load(); n > 0 {
				fmt.Fprintf(os.Stderr, "warden: %d events kept in the export buffer for the next run (collector %s)\n", n, c.Collector)
			}
			x.Close()
		}()
		sinks = append(sinks, x)
	}
	// The collector must be reachable from inside the sandbox for the
	// agent's own telemetry.
	if hp := hostPort(c.AgentOTLP, c.Collector); hp != "" {
		prof.Net.Allow = append(prof.Net.Allow, hp+"/tcp")
	}
	if c.EventsFile != "" {
		f, err := os.OpenFile(c.EventsFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return res, fmt.Errorf("events-file: %w", err)
		}
		defer f.Close()
		sinks = append(sinks, &jsonSink{enc: json.NewEncoder(f)})
	}
	agentOTLP := c.AgentOTLP
	if agentOTLP == "" {
		agentOTLP = c.Collector
	}
	return endpoint.Run(ctx, endpoint.Options{
		Profile: prof, Argv: c.Argv, User: c.User, Project: c.Project, Env: c.Env,
		AgentVersion: c.AgentVersion, Pseudonyms: pseudo, Sink: sinks, OTLPEndpoint: agentOTLP,
		Stage2: c.Stage2, Stdin: stdin, Stdout: stdout, Stderr: stderr, Telemetry: !c.NoTelemetry,
		Interactive: c.Interactive,
	})
}

func hostPort(urls ...string) string {
	for _, u := range urls {
		u = strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
		if i := strings.IndexByte(u, '/'); i >= 0 {
			u = u[:i]
		}
		if u != "" && strings.Contains(u, ":") {
			return u
		}
	}
	return ""
}

type multiSink []endpoint.Sink

func (m multiSink) Emit(ev endpoint.Event) {
	for _, s := range m {
		s.Emit(ev)
	}
}

type jsonSink struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (j *jsonSink) Emit(ev endpoint.Event) {
	j.mu.Lock()
	_ = j.enc.Encode(ev)
	j.mu.Unlock()
}
