// Package endpoint is the endpoint enforcer behind `warden run -- AGENT`: it
// resolves the sandbox profile, refuses unapproved agent binaries, creates
// the session cgroup and its eBPF programs, launches the agent through the
// sandbox (package endpoint/sandbox), turns kernel events into canonical
// endpoint events (schema/endpoint.go) and hands them to a Sink (the
// durable OTLP exporter in endpoint/export, or a test sink).
package endpoint

import (
	"time"

	"github.com/wardenhq/warden/schema"
)

// Event is one endpoint event, already pseudonymized: it holds no raw path,
// user name or device id.
type Event struct {
	Time  time.Time `json:"ts"`
	Name  string    `json:"event_name"` // schema.EndpointEvent*
	Kind  string    `json:"kind"`
	Agent string    `json:"agent,omitempty"`
	// AgentVersion is reported when known (--agent-version).
	AgentVersion    string   `json:"agent_version,omitempty"`
	SessionID       string   `json:"session_id"`
	UserPseudonym   string   `json:"user_pseudonym,omitempty"`
	DevicePseudonym string   `json:"device_pseudonym,omitempty"`
	PathPseudonym   string   `json:"path_pseudonym,omitempty"`
	AccessMode      string   `json:"access_mode,omitempty"`
	DestHost        string   `json:"dest_host,omitempty"`
	DestPort        uint16   `json:"dest_port,omitempty"`
	Denied          bool     `json:"denied,omitempty"`
	ExitCode        int32    `json:"exit_code,omitempty"`
	ContentSHA256   string   `json:"content_sha256,omitempty"`
	RuleIDs         []string `json:"rule_ids,omitempty"`
	// Attrs are the extra schema.EndpointAttr* facts (string or int64).
	Attrs map[string]any `json:"attrs,omitempty"`
}

// Sink receives events. Emit must not block for long and must not keep ev
// beyond the call unless it copies it.
type Sink interface {
	Emit(ev Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

// Emit calls f.
func (f SinkFunc) Emit(ev Event) { f(ev) }

func newEvent(name string, t time.Time) Event {
	kind, _ := schema.EndpointEventKind(name)
	return Event{Time: t, Name: name, Kind: kind, Attrs: map[string]any{}}
}

// Rule returns the first rule id, or "".
func (e Event) Rule() string {
	if len(e.RuleIDs) == 0 {
		return ""
	}
	return e.RuleIDs[0]
}
