// Package gateway is Warden's LLM gateway (`warden gateway`): a reverse
// proxy between desktop agents and model providers (Anthropic Messages,
// OpenAI Responses and Chat Completions, Gemini generateContent) that
// authenticates each call, scans and redacts it with dlp/, asks policy/ for
// a decision, reserves budget, streams the response back event by event
// while scanning it, and records a model_call event.
package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/wardenhq/warden/policy/engine"
)

// Options are the collaborators of a Gateway. Detector and Decider are
// required: without them the gateway would forward uninspected calls.
type Options struct {
	Detector Detector
	Decider  Decider
	Pricer   Pricer
	Sink     EventSink
	Budgets  *Budgets // nil: no budgets
	Reviews  *Reviews // nil: review decisions are denied
	Now      func() time.Time
}

// Gateway is the HTTP handler agents call.
type Gateway struct {
	cfg     *Config
	o       Options
	clients map[string]*http.Client
	limits  *rateLimits
	blockTy map[string]bool
	seq     atomic.Uint64
	scans   *scanCache
}

// New builds a gateway from a validated config.
func New(cfg *Config, o Options) (*Gateway, error) {
	if o.Detector == nil {
		return nil, errors.New("gateway: no DLP detector")
	}
	if o.Decider == nil {
		return nil, errors.New("gateway: no policy decider")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	g := &Gateway{cfg: cfg, o: o, clients: map[string]*http.Client{}, limits: newRateLimits(cfg.RateLimits),
		blockTy: map[string]bool{}, scans: newScanCache(4096)}
	for _, t := range cfg.DLP.ResponseBlockTypes {
		g.blockTy[t] = true
	}
	for name, p := range cfg.Providers {
		c, err := upstreamClient(name, p)
		if err != nil {
			return nil, err
		}
		g.clients[name] = c
	}
	return g, nil
}

func upstreamClient(name string, p *Provider) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	tr.ForceAttemptHTTP2 = true
	// A prompt of up to 128 KB goes out in one write instead of a 4 KB
	// flush and then 32 KB pieces through a fresh 32 KB copy buffer per
	// call (net/http copies a request body through a LimitedReader, so
	// bytes.Reader's WriteTo is not used). The buffer is per connection.
	tr.WriteBufferSize = 128 << 10
	if p.TLS != nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if p.TLS.CertFile != "" {
			crt, err := tls.LoadX509KeyPair(p.TLS.CertFile, p.TLS.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("gateway config: providers.%s.tls: %w", name, err)
			}
			tc.Certificates = []tls.Certificate{crt}
		}
		if p.TLS.CAFile != "" {
			pem, err := os.ReadFile(p.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("gateway config: providers.%s.tls.ca_file: %w", name, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("gateway config: providers.%s.tls.ca_file: no PEM certificates", name)
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	}
	// No overall client timeout: streams run long. Timeout bounds the wait
	// for response headers.
	tr.ResponseHeaderTimeout = p.Timeout
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// ServerTLSConfig is the agent-facing TLS config (nil without tls).
func (c *Config) ServerTLSConfig() (*tls.Config, error) {
	if c.TLS == nil {
		return nil, nil
	}
	crt, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("gateway config: tls: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{crt}}
	if c.TLS.ClientCAFile != "" {
		pem, err := os.ReadFile(c.TLS.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("gateway config: tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("gateway config: tls.client_ca_file: no PEM certificates")
		}
		tc.ClientCAs = pool
		// Device tokens may stand in for a certificate, so a certificate is
		// verified when given and required only when there are no tokens.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if len(c.Devices) == 0 {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return tc, nil
}

// CallEvent is one finished call: the canonical model_call facts plus the
// message texts, which only the sink sees and which it seals before
// anything is buffered or exported.
type CallEvent struct {
	ID           [16]byte
	Start        time.Time
	Identity     Identity
	Agent        string
	AgentVersion string
	// Correlation with the agent's own telemetry: Claude Code's session
	// header, the W3C traceparent Codex sends.
	SessionID, TraceID, SpanID string
	Provider                   string
	Endpoint                   string
	Model                      string
	Dest                       string
	DestPort                   uint16
	Stream                     bool
	Status                     string // ok | blocked | error | cut | upstream_error
	HTTPStatus                 int
	Refusal                    string // the wardenError code when Warden refused
	RequestID                  string

	Usage       Usage
	CostUSD     float64
	Priced      bool
	LatencyMS   float64
	TTFTMS      float64
	PromptBytes int

	Decision PolicyDecision

	Findings         map[string]uint32
	ResponseFindings map[string]uint32
	Redactions       int
	BytesScanned     int64
	BytesForwarded   int64

	Messages []Message

	// bufs are pooled buffers the message texts alias (textBufs).
	bufs []*[]byte
}

// releaseTexts returns the pooled buffers the message texts alias; only
// once nothing reads the texts any more.
func (ev *CallEvent) releaseTexts() {
	for _, b := range ev.bufs {
		putTextBuf(b)
	}
	ev.bufs = nil
}

// Message is one prompt-like text of the call, in order.
type Message struct {
	Role, Part, Text string
}

func newEventID() [16]byte {
	// UUIDv7: 48-bit ms timestamp, version and variant bits, random rest.
	var id [16]byte
	_, _ = rand.Read(id[:])
	ms := uint64(time.Now().UnixMilli())
	for i := 0; i < 6; i++ {
		id[i] = byte(ms >> (40 - 8*i))
	}
	id[6] = id[6]&0x0f | 0x70
	id[8] = id[8]&0x3f | 0x80
	return id
}

var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
	"Accept-Encoding", "Content-Encoding", "Host", "X-Warden-Device-Token"}

// ServeHTTP runs one call through the pipeline.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.o.Now()
	api, pathModel, pathStream, ok := route(r)
	if !ok && (r.URL.Path == "/" || r.URL.Path == "/api/hello") && (r.Method == http.MethodHead || r.Method == http.MethodGet) {
		// Connectivity probes (Claude Code's HEAD /api/hello): answered
		// here, nothing is forwarded.
		w.WriteHeader(http.StatusOK)
		return
	}
	if !ok || r.Method != http.MethodPost {
		writeError(w, apiFromPathPrefix(r), errf(http.StatusNotFound, "not_found",
			"%s %s is not a model API this gateway serves (Anthropic /v1/messages, OpenAI /v1/responses and /v1/chat/completions, Gemini /v1beta/models/*:generateContent)", r.Method, r.URL.Path))
		return
	}
	ev := &CallEvent{ID: newEventID(), Start: start, Provider: api.provider, Endpoint: api.endpoint,
		Agent: agentName(r), AgentVersion: agentVersion(r), Status: "ok", Findings: map[string]uint32{}, ResponseFindings: map[string]uint32{}}
	correlate(r, ev)
	defer func() {
		ev.LatencyMS = float64(g.o.Now().Sub(start).Microseconds()) / 1000
		if g.o.Sink != nil {
			// The client has its whole answer before the event is built
			// (sealing the bodies costs time the client need not wait for;
			// OTLPSink seals on its own goroutine, so the connection is
			// free for the next call at once).
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			g.o.Sink.Emit(ev)
		} else {
			ev.releaseTexts()
		}
	}()
	if werr := g.serve(w, r, api, pathModel, pathStream, ev); werr != nil {
		if ev.Status == "ok" {
			ev.Status = "blocked"
		}
		ev.Refusal = werr.code
		ev.HTTPStatus = wireStatus(api, werr.status)
		writeError(w, api, werr)
	}
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, api *apiKind, pathModel string, pathStream bool, ev *CallEvent) *wardenError {
	id, werr := g.authenticate(api, r)
	if werr != nil {
		return werr
	}
	ev.Identity = id

	body, err := readBody(r, g.cfg.MaxRequestBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errf(http.StatusRequestEntityTooLarge, "request_too_large", "request body exceeds max_request_bytes (%d bytes)", g.cfg.MaxRequestBytes)
		}
		return errf(http.StatusBadRequest, "bad_request", "could not read the request body: %v", err)
	}
	pr, err := parseRequest(api, pathModel, pathStream, body)
	if err != nil {
		return errf(http.StatusBadRequest, "bad_request", "%v", err)
	}
	ev.Model, ev.Stream, ev.PromptBytes = pr.model, pr.stream, len(body)
	ev.bufs, pr.bufs = pr.bufs, nil

	if werr := g.limits.allow(id.User, ev.Agent); werr != nil {
		return werr
	}

	prov := g.cfg.Providers[api.provider]
	dest := ""
	if prov != nil {
		dest = prov.u.Host
		ev.Dest = prov.u.Hostname()
		if p := prov.u.Port(); p != "" {
			var n int
			fmt.Sscan(p, &n)
			ev.DestPort = uint16(n)
		} else if prov.u.Scheme == "https" {
			ev.DestPort = 443
		} else {
			ev.DestPort = 80
		}
	}

	// Inspect every message part, tool results included.
	type hit struct {
		i  int // index in pr.texts
		fs []Finding
	}
	var hits []hit
	byPart := map[string]map[string]int{}
	counts := map[string]int{}
	var flist []engine.Finding
	for i, t := range pr.texts {
		s := t.text
		ev.BytesScanned += int64(len(s))
		fs := g.scan(s)
		if len(fs) == 0 {
			continue
		}
		hits = append(hits, hit{i, fs})
		for _, f := range fs {
			flist = append(flist, engine.Finding{Type: f.Type, Confidence: f.Confidence, Message: i, Start: f.Start, End: f.End})
		}
		if byPart[t.part] == nil {
			byPart[t.part] = map[string]int{}
		}
		for _, f := range fs {
			counts[f.Type]++
			byPart[t.part][f.Type]++
			ev.Findings[f.Type]++
		}
	}

	in := PolicyInput{Tenant: id.Tenant, User: id.User, Device: id.Device, Department: id.Department,
		Agent: ev.Agent, Provider: api.provider, Model: pr.model, Endpoint: api.endpoint, Destination: dest,
		Stream: pr.stream, Findings: counts, FindingsByPart: byPart, Classification: g.classification(counts),
		PromptBytes: len(body), FindingList: flist}
	dec, err := g.o.Decider.Decide(r.Context(), in)
	if err != nil {
		ev.Decision = PolicyDecision{Action: ActionBlock}
		ev.Status = "error"
		return errf(http.StatusForbidden, "policy_unavailable",
			"the call was refused because policy could not be evaluated (%v); the gateway fails closed. Ask your administrator to check the policy bundle", err)
	}
	ev.Decision = dec
	switch dec.Action {
	case ActionAllow, ActionRedact:
	case ActionBlock:
		return refusal(dec)
	case ActionReview:
		if werr := g.park(r.Context(), ev, in, dec); werr != nil {
			return werr
		}
	default:
		return errf(http.StatusForbidden, "policy_invalid", "policy returned an unknown action %q; the gateway fails closed", dec.Action)
	}
	if prov == nil {
		return errf(http.StatusForbidden, "destination_unknown",
			"no upstream is configured for provider %s; add it under providers.%s in the gateway config", api.provider, api.provider)
	}

	// Redact before anything leaves.
	red := g.o.Detector.NewRedactor()
	// Redact what the decision names, also on a reviewed-and-approved call.
	if dec.Action == ActionRedact || len(dec.RedactTypes) > 0 {
		only := map[string]bool{}
		for _, t := range dec.RedactTypes {
			only[t] = true
		}
		for _, h := range hits {
			fs := h.fs
			if len(only) > 0 {
				fs = fs[:0:0]
				for _, f := range h.fs {
					if only[f.Type] {
						fs = append(fs, f)
					}
				}
			}
			if len(fs) == 0 {
				continue
			}
			ev.Redactions += pr.redact(h.i, red, fs)
		}
	}
	// Chat Completions streams report usage only when asked.
	if api == apiChat && pr.stream {
		if err := pr.includeUsage(); err != nil {
			return errf(http.StatusBadRequest, "bad_request", "request field \"stream_options\": %v", err)
		}
	}
	// The prompt's texts go on the event as forwarded, built once the
	// response has been relayed (the client does not wait for them).
	defer func() {
		msgs := make([]Message, 0, len(pr.texts)+len(ev.Messages))
		for i := range pr.texts {
			t := &pr.texts[i]
			msgs = append(msgs, Message{Role: t.role, Part: t.part, Text: pr.finalText(i, &ev.bufs)})
		}
		ev.Messages = append(msgs, ev.Messages...)
	}()
	// The client's bytes with the redactions spliced in (unchanged when
	// nothing was redacted).
	body = pr.output()

	// Budget: reserve the worst case before forwarding.
	var res *Reservation
	if g.o.Budgets != nil && !api.count {
		est := estimate(api, pr, body, g.cfg.DefaultMaxOutputTokens)
		usd := -1.0 // unpriced: a USD limit refuses the call
		if g.o.Pricer != nil {
			if c, ok := g.o.Pricer.Cost(api.provider, pr.model, est); ok {
				usd = c
			}
		}
		var err error
		res, err = g.o.Budgets.Reserve(BudgetKeys{User: id.User, Department: id.Department, Model: pr.model}, est.Input+est.Output, usd, g.o.Now())
		if err != nil {
			var be *BudgetError
			if errors.As(err, &be) {
				return errf(http.StatusForbidden, "budget_exceeded", "%s. Ask your administrator to raise the budget or wait for the next period", be.Error())
			}
			return errf(http.StatusForbidden, "budget_unavailable", "the budget store failed (%v); the gateway fails closed", err)
		}
	}
	settled := false
	defer func() {
		if res != nil && !settled {
			_ = g.o.Budgets.Settle(res, 0, 0) // nothing reached the provider
		}
	}()

	up, err := g.upstreamRequest(r, api, prov, body)
	if err != nil {
		return errf(http.StatusInternalServerError, "internal", "%v", err)
	}
	resp, err := g.clients[api.provider].Do(up)
	if err != nil {
		ev.Status = "error"
		if r.Context().Err() != nil {
			return errf(499, "client_closed", "the client went away")
		}
		return errf(http.StatusBadGateway, "upstream_unreachable", "the %s API could not be reached: %v", api.provider, err)
	}
	defer resp.Body.Close()
	settled = true
	ev.HTTPStatus = resp.StatusCode
	ev.RequestID = firstHeader(resp.Header, "request-id", "x-request-id")

	var werr2 *wardenError
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode/100 != 2:
		ev.Status = "upstream_error"
		g.relayRaw(w, resp, ev)
	case ct == "text/event-stream":
		werr2 = g.relayStream(w, resp, api, red, ev)
	default:
		werr2 = g.relayWhole(w, resp, api, red, ev)
	}
	if res != nil {
		tokens := ev.Usage.Input + ev.Usage.Output
		usd := ev.CostUSD
		if !ev.Usage.Seen {
			// The provider did not report usage (a cut stream, an error):
			// keep the reservation rather than under-count.
			tokens, usd = res.Tokens, res.USD
		}
		_ = g.o.Budgets.Settle(res, tokens, usd)
	}
	return werr2
}

// readBody reads the request body in one allocation when its length is
// known (large prompts are the common case).
func readBody(r *http.Request, limit int64) ([]byte, error) {
	rd := http.MaxBytesReader(nil, r.Body, limit)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip", "zstd":
		// Compressed request bodies are inspected like any other; the
		// limit applies to the decompressed size too.
		var dec io.Reader
		if enc == "gzip" {
			zr, err := gzip.NewReader(rd)
			if err != nil {
				return nil, fmt.Errorf("gzip request body: %w", err)
			}
			dec = zr
		} else {
			zr, err := zstd.NewReader(rd)
			if err != nil {
				return nil, fmt.Errorf("zstd request body: %w", err)
			}
			defer zr.Close()
			dec = zr
		}
		b, err := io.ReadAll(io.LimitReader(dec, limit+1))
		if err == nil && int64(len(b)) > limit {
			return nil, &http.MaxBytesError{Limit: limit}
		}
		return b, err
	default:
		return nil, fmt.Errorf("Content-Encoding %q is not supported (gzip, zstd or none)", enc)
	}
	if n := r.ContentLength; n > 0 && n <= limit {
		buf := make([]byte, n)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(rd)
}

func refusal(dec PolicyDecision) *wardenError {
	reason := dec.Reason
	if reason == "" {
		reason = "policy blocked this call"
	}
	msg := reason
	if len(dec.RuleIDs) > 0 {
		msg += " (rule " + strings.Join(dec.RuleIDs, ", ") + ")"
	}
	if dec.Remediation != "" {
		msg += ". " + dec.Remediation
	}
	if dec.DecisionID != "" {
		msg += " [decision " + dec.DecisionID + "]"
	}
	return errf(http.StatusForbidden, "policy_blocked", "%s", msg)
}

func (g *Gateway) classification(counts map[string]int) string {
	c := "public"
	for t := range counts {
		if g.o.Detector.IsSecret(t) {
			return "secret"
		}
		c = "personal"
	}
	return c
}

func firstHeader(h http.Header, keys ...string) string {
	for _, k := range keys {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// agentName derives the agent from its User-Agent (claude-cli/2.1 ...,
// codex_exec/0.1 ..., GeminiCLI/0.61 ...).
func agentName(r *http.Request) string {
	ua := strings.ToLower(r.UserAgent())
	switch {
	case strings.Contains(ua, "claude"):
		return "claude_code"
	case strings.Contains(ua, "codex"):
		return "codex"
	case strings.Contains(ua, "gemini"):
		return "gemini_cli"
	case ua == "":
		return "unknown"
	}
	if i := strings.IndexAny(ua, "/ "); i > 0 {
		return ua[:i]
	}
	return ua
}

// agentVersion is the version in the User-Agent's first product token.
func agentVersion(r *http.Request) string {
	ua := r.UserAgent()
	if i := strings.IndexByte(ua, '/'); i > 0 {
		v := ua[i+1:]
		if j := strings.IndexAny(v, " ;("); j >= 0 {
			v = v[:j]
		}
		if len(v) <= 32 {
			return v
		}
	}
	return ""
}

// correlate picks up the ids that tie this call to the agent's telemetry.
func correlate(r *http.Request, ev *CallEvent) {
	if s := r.Header.Get("x-claude-code-session-id"); len(s) <= 64 {
		ev.SessionID = s
	}
	// traceparent: 00-<32 hex trace id>-<16 hex span id>-<flags>
	if p := strings.Split(r.Header.Get("traceparent"), "-"); len(p) == 4 && len(p[1]) == 32 && len(p[2]) == 16 {
		if _, err := hex.DecodeString(p[1] + p[2]); err == nil {
			ev.TraceID, ev.SpanID = p[1], p[2]
		}
	}
}

// authenticate maps the caller to an identity. Local mode: the agent's key
// must be the configured dummy key. Central mode: a verified client
// certificate or a device token (as the API key or X-Warden-Device-Token).
func (g *Gateway) authenticate(api *apiKind, r *http.Request) (Identity, *wardenError) {
	key := clientKey(api, r)
	if g.cfg.Mode == "local" {
		if g.cfg.LocalKey != "" && key != g.cfg.LocalKey {
			return Identity{}, errf(http.StatusUnauthorized, "unauthenticated",
				"this gateway accepts only its local key; set the agent's API key to the value of local_key in the gateway config (provider keys stay in the gateway)")
		}
		return g.cfg.Identity, nil
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		cn := r.TLS.VerifiedChains[0][0].Subject.CommonName
		for _, c := range g.cfg.ClientCerts {
			if c.CommonName == cn {
				id := c.Identity
				if id.Tenant == "" {
					id.Tenant = g.cfg.Identity.Tenant
				}
				return id, nil
			}
		}
		return Identity{}, errf(http.StatusUnauthorized, "unauthenticated", "client certificate %q is not mapped to a user (client_certs)", cn)
	}
	tok := r.Header.Get("X-Warden-Device-Token")
	if tok == "" {
		tok = key
	}
	if tok != "" {
		if id, ok := g.cfg.deviceByToken(tok); ok {
			return id, nil
		}
	}
	return Identity{}, errf(http.StatusUnauthorized, "unauthenticated",
		"this central gateway needs a device token (as the API key or X-Warden-Device-Token) or a client certificate; the key presented is not a registered device token")
}

func (g *Gateway) upstreamRequest(r *http.Request, api *apiKind, prov *Provider, body []byte) (*http.Request, error) {
	u := *prov.u
	u.Path = strings.TrimRight(prov.u.Path, "/") + r.URL.Path
	q := r.URL.Query()
	q.Del("key")
	u.RawQuery = q.Encode()
	up, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		up.Header[k] = append([]string(nil), vs...)
	}
	for _, h := range hopHeaders {
		up.Header.Del(h)
	}
	setUpstreamAuth(api, up.Header, prov.key)
	up.ContentLength = int64(len(body))
	return up, nil
}

func copyHeaders(dst, src http.Header) {
	for k, vs := range src {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Connection", "Transfer-Encoding", "Keep-Alive", "Content-Encoding":
			continue
		}
		dst[k] = vs
	}
}

// relayRaw passes a provider error through unchanged: it is already in the
// provider's format, and carries no generated content.
func (g *Gateway) relayRaw(w http.ResponseWriter, resp *http.Response, ev *CallEvent) {
	copyHeaders(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	n, _ := io.Copy(w, io.LimitReader(resp.Body, 16<<20))
	ev.BytesForwarded += n
}

// relayWhole handles a non-streamed response: scan, cut or restore, then
// forward.
func (g *Gateway) relayWhole(w http.ResponseWriter, resp *http.Response, api *apiKind, red Redactor, ev *CallEvent) *wardenError {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		ev.Status = "error"
		return errf(http.StatusBadGateway, "upstream_error", "reading the %s response failed: %v", api.provider, err)
	}
	doc, err := decodeDoc(b)
	if err != nil {
		ev.Status = "error"
		return errf(http.StatusBadGateway, "upstream_error", "the %s response is not JSON: %v", api.provider, err)
	}
	if !api.count {
		mergeUsage(api, &ev.Usage, usageBlock(api, doc))
	}
	g.price(ev)
	changed := false
	for _, t := range responseTexts(api, doc) {
		s := t.get()
		ev.BytesScanned += int64(len(s))
		fs := g.o.Detector.Scan(s)
		for _, f := range fs {
			ev.ResponseFindings[f.Type]++
			if g.blockTy[f.Type] {
				ev.Status = "cut"
				return errf(http.StatusForbidden, "response_blocked",
					"the model's response contained a %s and was withheld. Nothing of it was delivered", f.Type)
			}
		}
		ev.Messages = append(ev.Messages, Message{Role: "assistant", Part: "response", Text: s})
		if g.cfg.DLP.RestoreResponses {
			if out, ok := red.Restore(s); ok {
				t.set(out)
				changed = true
			}
		}
	}
	if changed {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(doc)
		b = buf.Bytes()
	}
	copyHeaders(w.Header(), resp.Header)
	w.Header().Set("Content-Type", "application/json")
	// With its length known the client has the whole answer at the flush
	// before the event is sealed and emitted; without it the response
	// would be chunked and its last chunk would wait for the sealing.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(resp.StatusCode)
	n, _ := w.Write(b)
	// Sent now, not after the event's texts are built on the way out.
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	ev.BytesForwarded += int64(n)
	ev.TTFTMS = float64(g.o.Now().Sub(ev.Start).Microseconds()) / 1000
	return nil
}

func (g *Gateway) price(ev *CallEvent) {
	if g.o.Pricer == nil || !ev.Usage.Seen {
		return
	}
	ev.CostUSD, ev.Priced = g.o.Pricer.Cost(ev.Provider, ev.Model, ev.Usage)
}

// estimate is the worst-case usage of a request, reserved before it is
// forwarded: input from the body size (a token is at least ~2 bytes of
// JSON, so bytes/2 bounds it from above for text) and output from the
// request's own cap.
func estimate(api *apiKind, pr *parsedRequest, body []byte, defOut int64) Usage {
	out := pr.maxOut
	if out == 0 {
		out = defOut
	}
	return Usage{Input: int64(len(body))/2 + 1, Output: out}
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sortedKeys is for stable output in messages.
func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ListenAndServe serves the gateway until ctx ends.
func (g *Gateway) ListenAndServe(ctx context.Context) error {
	tc, err := g.cfg.ServerTLSConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", g.cfg.Listen)
	if err != nil {
		return fmt.Errorf("gateway: listen %s: %w", g.cfg.Listen, err)
	}
	return g.Serve(ctx, ln, tc)
}

// Serve serves on ln (TLS when tc is set) until ctx ends.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener, tc *tls.Config) error {
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 30 * time.Second, TLSConfig: tc}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	var err error
	if tc != nil {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
