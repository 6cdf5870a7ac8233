// Package relay is the local OTLP/HTTP endpoint the agent's own telemetry
// is pointed at inside `warden run`: it accepts /v1/logs, /v1/metrics and
// /v1/traces (protobuf or JSON, optionally gzip) on 127.0.0.1, sets the
// session, user and device identity on every resource (overwriting what
// the agent claimed), seals prompt-like content with the promptcrypt
// processor (the same source-shape tables the collector uses), and only
// then hands the request to the durable buffer, so the buffer never holds
// cleartext. The agent gets its 200 once the request is on disk.
package relay

import (
	"compress/gzip"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wardenhq/warden/processors/fieldhash/fieldpath"
	"github.com/wardenhq/warden/processors/promptcrypt"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

// Store durably keeps one marshalled OTLP protobuf request
// (export.Exporter implements it).
type Store interface {
	PutOTLP(signal string, body []byte) error
}

// Identity is what the endpoint knows about the session; it is set on every
// resource the agent sends.
type Identity struct {
	SessionID       string
	UserPseudonym   string
	DevicePseudonym string
	Tenant          string
	Agent           string
}

// Config configures a Relay.
type Config struct {
	// Keys must serve the tenant's keys and the key-custody public key
	// (sealing needs it; without it the relay does not start, rather
	// than buffer cleartext).
	Keys     vault.KeyStore
	Store    Store
	Identity Identity
	// Token, when set, must come in every request's X-Warden-Relay-Token
	// header (the agent gets it through OTEL_EXPORTER_OTLP_HEADERS, see
	// Env): other local processes cannot post records under this
	// session's identity.
	Token string
	// MaxRequestBytes bounds one request body (default 32 MiB).
	MaxRequestBytes int64
	Logf            func(format string, args ...any)
}

// Relay is a running local OTLP/HTTP endpoint.
type Relay struct {
	cfg Config
	ln  net.Listener
	srv *http.Server

	mu        sync.Mutex // serializes the processors and their sinks
	logs      processor.Logs
	traces    processor.Traces
	logsOut   *consumertest.LogsSink
	tracesOut *consumertest.TracesSink
}

// keyring is the collector extension promptcrypt looks its keys up in.
type keyring struct{ vault.KeyStore }

func (keyring) Start(context.Context, component.Host) error { return nil }
func (keyring) Shutdown(context.Context) error              { return nil }

type host struct {
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

// Start listens on 127.0.0.1 (an ephemeral port) and serves.
func Start(cfg Config) (*Relay, error) {
	if cfg.Keys == nil || cfg.Store == nil {
		return nil, errors.New("relay: keys and store are required")
	}
	if cfg.Identity.SessionID == "" {
		return nil, errors.New("relay: identity.session_id: required")
	}
	if cfg.Identity.Tenant == "" {
		cfg.Identity.Tenant = schema.DefaultTenant
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = 32 << 20
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	r := &Relay{cfg: cfg, logsOut: &consumertest.LogsSink{}, tracesOut: &consumertest.TracesSink{}}
	f := promptcrypt.NewFactory()
	pcfg := f.CreateDefaultConfig().(*promptcrypt.Config)
	set := processortest.NewNopSettings(f.Type())
	ctx := context.Background()
	var err error
	if r.logs, err = f.CreateLogs(ctx, set, pcfg, r.logsOut); err != nil {
		return nil, fmt.Errorf("relay: promptcrypt: %w", err)
	}
	if r.traces, err = f.CreateTraces(ctx, set, pcfg, r.tracesOut); err != nil {
		return nil, fmt.Errorf("relay: promptcrypt: %w", err)
	}
	h := host{exts: map[component.ID]component.Component{pcfg.Keyring: keyring{cfg.Keys}}}
	if err := r.logs.Start(ctx, h); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	if err := r.traces.Start(ctx, h); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	mux := http.NewServeMux()
	for _, s := range []string{"logs", "metrics", "traces"} {
		mux.HandleFunc("/v1/"+s, r.handler(s))
	}
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(r.ln) }()
	return r, nil
}

// TokenHeader carries Config.Token.
const TokenHeader = "X-Warden-Relay-Token"

// HeadersEnv merges the token into an OTEL_EXPORTER_OTLP_HEADERS value
// (W3C baggage-style key=value list) the agent may already have.
func (r *Relay) HeadersEnv(existing string) string {
	if r.cfg.Token == "" {
		return existing
	}
	kv := strings.ToLower(TokenHeader) + "=" + r.cfg.Token
	if existing == "" {
		return kv
	}
	return existing + "," + kv
}

// URL is the relay's OTLP/HTTP base URL (http://127.0.0.1:PORT).
func (r *Relay) URL() string { return "http://" + r.ln.Addr().String() }

// Port is the relay's TCP port.
func (r *Relay) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// Close stops accepting requests and waits for the ones in flight (each is
// on disk or was refused by the time its handler returns).
func (r *Relay) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.srv.Shutdown(ctx)
}

type request interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
	MarshalProto() ([]byte, error)
}

type response interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func (r *Relay) handler(signal string) http.HandlerFunc {
	return func(w http.ResponseWriter, q *http.Request) {
		if q.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if r.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(q.Header.Get(TokenHeader)), []byte(r.cfg.Token)) != 1 {
			http.Error(w, "missing or wrong "+TokenHeader+" header (set by warden run in OTEL_EXPORTER_OTLP_HEADERS)", http.StatusUnauthorized)
			return
		}
		isJSON := strings.HasPrefix(q.Header.Get("Content-Type"), "application/json")
		var body io.Reader = http.MaxBytesReader(w, q.Body, r.cfg.MaxRequestBytes)
		if q.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(body)
			if err != nil {
				http.Error(w, "bad gzip body: "+err.Error(), http.StatusBadRequest)
				return
			}
			defer zr.Close()
			body = io.LimitReader(zr, r.cfg.MaxRequestBytes+1)
		}
		raw, err := io.ReadAll(body)
		if err != nil || int64(len(raw)) > r.cfg.MaxRequestBytes {
			http.Error(w, fmt.Sprintf("%s request body: too large or unreadable (limit %d bytes)", signal, r.cfg.MaxRequestBytes), http.StatusRequestEntityTooLarge)
			return
		}
		var req request
		var resp response
		switch signal {
		case "logs":
			req, resp = new(plogotlp.ExportRequest), plogotlp.NewExportResponse()
			*req.(*plogotlp.ExportRequest) = plogotlp.NewExportRequest()
		case "metrics":
			req, resp = new(pmetricotlp.ExportRequest), pmetricotlp.NewExportResponse()
			*req.(*pmetricotlp.ExportRequest) = pmetricotlp.NewExportRequest()
		default:
			req, resp = new(ptraceotlp.ExportRequest), ptraceotlp.NewExportResponse()
			*req.(*ptraceotlp.ExportRequest) = ptraceotlp.NewExportRequest()
		}
		if isJSON {
			err = req.UnmarshalJSON(raw)
		} else {
			err = req.UnmarshalProto(raw)
		}
		if err != nil {
			http.Error(w, fmt.Sprintf("%s request: not a valid OTLP export request: %v", signal, err), http.StatusBadRequest)
			return
		}
		out, err := r.process(q.Context(), signal, req)
		if err != nil {
			r.cfg.Logf("relay: %s request refused: %v", signal, err)
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if err := r.cfg.Store.PutOTLP(signal, out); err != nil {
			r.cfg.Logf("relay: %s request refused: %v", signal, err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		var b []byte
		if isJSON {
			w.Header().Set("Content-Type", "application/json")
			b, _ = resp.MarshalJSON()
		} else {
			w.Header().Set("Content-Type", "application/x-protobuf")
			b, _ = resp.MarshalProto()
		}
		_, _ = w.Write(b)
	}
}

// process adds the identity, seals, and marshals to protobuf.
func (r *Relay) process(ctx context.Context, signal string, req request) ([]byte, error) {
	switch signal {
	case "logs":
		ld := req.(*plogotlp.ExportRequest).Logs()
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			r.identify(ld.ResourceLogs().At(i).Resource().Attributes())
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.logsOut.Reset()
		if err := r.logs.ConsumeLogs(ctx, ld); err != nil {
			return nil, fmt.Errorf("sealing: %w", err)
		}
		sealed := plog.NewLogs()
		for _, l := range r.logsOut.AllLogs() {
			l.ResourceLogs().MoveAndAppendTo(sealed.ResourceLogs())
		}
		r.logsOut.Reset()
		return plogotlp.NewExportRequestFromLogs(sealed).MarshalProto()
	case "traces":
		td := req.(*ptraceotlp.ExportRequest).Traces()
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			r.identify(td.ResourceSpans().At(i).Resource().Attributes())
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tracesOut.Reset()
		if err := r.traces.ConsumeTraces(ctx, td); err != nil {
			return nil, fmt.Errorf("sealing: %w", err)
		}
		sealed := ptrace.NewTraces()
		for _, t := range r.tracesOut.AllTraces() {
			t.ResourceSpans().MoveAndAppendTo(sealed.ResourceSpans())
		}
		r.tracesOut.Reset()
		return ptraceotlp.NewExportRequestFromTraces(sealed).MarshalProto()
	default:
		// Metrics carry counts and durations, and have no record to hold a
		// sealed reference: content that rides along (Gemini CLI's `-p`
		// prompt in the resource's process.command_args, on its metrics
		// too) is dropped; the same content arrives sealed in the logs.
		md := req.(*pmetricotlp.ExportRequest).Metrics()
		for i := 0; i < md.ResourceMetrics().Len(); i++ {
			rm := md.ResourceMetrics().At(i)
			rm.Resource().Attributes().RemoveIf(func(k string, _ pcommon.Value) bool {
				return promptcrypt.IsContentResourceAttribute(k)
			})
			r.identify(rm.Resource().Attributes())
			for j := 0; j < rm.ScopeMetrics().Len(); j++ {
				ms := rm.ScopeMetrics().At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					fieldpath.ForEachPointAttributes(ms.At(k), func(a pcommon.Map) {
						a.RemoveIf(func(k string, _ pcommon.Value) bool {
							return k == schema.AttrMessages || promptcrypt.IsContentAttribute(k)
						})
					})
				}
			}
		}
		return pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	}
}

// identify sets the endpoint's identity on a resource; the endpoint's
// values win over whatever the agent put there.
func (r *Relay) identify(m pcommon.Map) {
	id := r.cfg.Identity
	for _, p := range [][2]string{{"session_id", id.SessionID}, {"user_pseudonym", id.UserPseudonym},
		{"device_pseudonym", id.DevicePseudonym}, {"tenant", id.Tenant}, {"agent", id.Agent}} {
		if p[1] != "" {
			m.PutStr(schema.Attr(p[0]), p[1])
		}
	}
}
