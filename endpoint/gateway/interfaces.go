package gateway

import (
	"context"

	"github.com/wardenhq/warden/policy/engine"
)

// The gateway's collaborators sit behind small interfaces so the protocol
// layer can be tested on its own; adapters.go wires the real libraries
// (dlp/, policy/, vault/, schema/ prices).

// Finding is one detected value in one text: type and byte span, never the
// value itself.
type Finding struct {
	Type       string
	Start, End int
	Confidence string // low | medium | high
}

// Detector scans text for secrets and personal data.
type Detector interface {
	Scan(text string) []Finding
	// NewStream starts an incremental scan of one response stream. Text
	// that could still turn into a finding of one of blockTypes is held
	// back (reported as not yet safe); other types are only counted.
	NewStream(blockTypes []string) StreamScanner
	// IsSecret tells credentials from personal data.
	IsSecret(typ string) bool
	// NewRedactor returns a per-request redactor: typed placeholders, the
	// value mapping in memory only.
	NewRedactor() Redactor
}

// Redactor replaces findings with typed placeholders and restores them.
type Redactor interface {
	// Redact replaces fs in text; n is how many values were replaced.
	Redact(text string, fs []Finding) (out string, n int)
	// Restore puts this redactor's values back for its placeholders.
	Restore(text string) (out string, changed bool)
	// PartialPlaceholder is the length of the start of a placeholder at
	// the end of text (0 if none), which a stream's next event may
	// complete.
	PartialPlaceholder(text string) int
}

// StreamScanner scans a response as it streams.
type StreamScanner interface {
	// Write appends text and returns findings completed so far (offsets
	// relative to the stream start) and the offset up to which the text is
	// safe to forward: no finding can start before it any more.
	Write(text string) (findings []Finding, safe int64)
	// Close flushes the held tail: everything is safe afterwards.
	Close() []Finding
}

// PolicyInput is what policy decides a call on. Values are identifiers and
// classifications only: no prompt text reaches the policy engine.
type PolicyInput struct {
	Tenant, User, Device, Department, Agent string
	Provider, Model, Endpoint, Destination  string
	Stream                                  bool
	// Findings counts DLP findings by type across all message parts.
	Findings map[string]int
	// FindingsByPart counts findings per message part (prompt,
	// tool_output, ...).
	FindingsByPart map[string]map[string]int
	// Classification is the most sensitive class found: secret,
	// personal or public.
	Classification string
	PromptBytes    int
	// FindingList are the findings as policy sees them (type, confidence,
	// message index, offsets; never the value).
	FindingList []engine.Finding
}

// Decision actions.
const (
	ActionAllow  = "allow"
	ActionRedact = "redact"
	ActionBlock  = "block"
	ActionReview = "review"
)

// PolicyDecision is the engine's answer for one call.
type PolicyDecision struct {
	Action      string
	RuleIDs     []string
	DecisionID  string
	Revision    string
	Reason      string
	Remediation string
	// RedactTypes limits redaction to these finding types (empty: all).
	RedactTypes []string
	// Raw is the bundle's own decision (alert, drop, ...).
	Raw string
}

// Decider evaluates policy. An error means the decision could not be made:
// the gateway fails closed.
type Decider interface {
	Decide(ctx context.Context, in PolicyInput) (PolicyDecision, error)
}

// Pricer prices a call in USD from canonical token counts.
type Pricer interface {
	Cost(provider, model string, u Usage) (usd float64, ok bool)
	Known(provider, model string) bool
}

// EventSink receives the finished model_call event of every call.
type EventSink interface {
	Emit(ev *CallEvent)
}
