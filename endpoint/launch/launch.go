// Package launch wires one `warden run` session together: profile,
// pseudonym key, durable exporter and the sandboxed run. `warden run`
// (as root) and `warden endpointd` (for unprivileged callers) both use it.
package launch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	"github.com/wardenhq/warden/endpoint/relay"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
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
	// AgentOTLP points the agent's own telemetry somewhere else. Default:
	// the session's local relay (identity added, prompt-like content
	// sealed, then the durable buffer), or the Collector directly when
	// there is no buffer or no key-custody key to seal with.
	AgentOTLP string `json:"agent_otlp"`
	// EventsFile also writes every event as a JSON line (debugging, tests).
	EventsFile  string `json:"events_file"`
	NoTelemetry bool   `json:"no_telemetry"`
	// Interactive: the CLI owns the terminal (see endpoint.Options).
	Interactive bool `json:"-"`
	// SensorNice renices this process once the agent runs (see
	// endpoint.Options); the CLI only, never the shared endpointd.
	SensorNice int `json:"-"`
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
	var store relay.Store // where the relay buffers the agent's own OTLP
	if c.Sink != nil {
		sinks = append(sinks, c.Sink)
		store, _ = c.Sink.(relay.Store)
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
			for x.Backlog() > 0 && x.Reachable() && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n, m := x.Stats.Buffered.Load(), x.Stats.BufferedOTLP.Load(); n+m > 0 {
				fmt.Fprintf(os.Stderr, "warden: %d events and %d agent telemetry requests kept in the export buffer for the next run (collector %s)\n", n, m, c.Collector)
			}
			x.Close()
		}()
		sinks = append(sinks, x)
		store = x
	}
	session := endpoint.NewSessionID()
	agentOTLP := c.AgentOTLP
	if agentOTLP == "" && store != nil {
		r, err := startRelay(c, prof, session, pseudo, store)
		if err != nil {
			fmt.Fprintf(os.Stderr, "warden: agent telemetry goes straight to the collector (not through the endpoint's buffer): %v\n", err)
		} else {
			defer r.Close() // before the exporter closes: in-flight requests land on disk
			agentOTLP = r.URL()
			prof.Net.Allow = append(prof.Net.Allow, fmt.Sprintf("127.0.0.1:%d/tcp", r.Port()))
			c.Env = withRelayHeaders(c.Env, r)
		}
	}
	if agentOTLP == "" {
		agentOTLP = c.Collector
	}
	// The agent's OTLP endpoint must be reachable from inside the sandbox.
	if hp := hostPort(agentOTLP); hp != "" {
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
	return endpoint.Run(ctx, endpoint.Options{
		SessionID: session, Profile: prof, Argv: c.Argv, User: c.User, Project: c.Project, Env: c.Env,
		AgentVersion: c.AgentVersion, Pseudonyms: pseudo, Sink: sinks, OTLPEndpoint: agentOTLP,
		Stage2: c.Stage2, Stdin: stdin, Stdout: stdout, Stderr: stderr, Telemetry: !c.NoTelemetry,
		Interactive: c.Interactive, SensorNice: c.SensorNice,
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

// startRelay starts the session's local OTLP relay: the agent's own
// telemetry gets the session, user and device identity and its
// prompt-like content sealed before it reaches the durable buffer.
func startRelay(c Config, prof *profile.Profile, session string, pseudo *vault.Pseudonymizer, store relay.Store) (*relay.Relay, error) {
	ks, err := vault.OpenLocalStore(c.KeysDir, vault.LocalOptions{AutoCreate: true})
	if err != nil {
		return nil, fmt.Errorf("relay: keys %s: %w", c.KeysDir, err)
	}
	u, err := endpoint.LookupUser(c.User)
	if err != nil {
		return nil, err
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, err
	}
	return relay.Start(relay.Config{Keys: ks, Store: store, Token: hex.EncodeToString(tok[:]), Identity: relay.Identity{
		SessionID: session, Tenant: c.Tenant, Agent: prof.Agent,
		UserPseudonym:   pseudo.Value(u.Username),
		DevicePseudonym: pseudo.Value(endpoint.DeviceID("")),
	}, Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "warden: "+f+"\n", a...) }})
}

// withRelayHeaders adds the relay's token to the agent's
// OTEL_EXPORTER_OTLP_HEADERS (merged with one the caller set).
func withRelayHeaders(env []string, r *relay.Relay) []string {
	const k = "OTEL_EXPORTER_OTLP_HEADERS="
	out := make([]string, 0, len(env)+1)
	existing := ""
	for _, e := range env {
		if strings.HasPrefix(e, k) {
			existing = strings.TrimPrefix(e, k)
			continue
		}
		out = append(out, e)
	}
	return append(out, k+r.HeadersEnv(existing))
}
