package engine

import "sort"

// InputVersion is the version of the input document (policy/README.md).
const InputVersion = 1

// Contexts: who asks for the decision.
const (
	ContextCollector = "collector" // after the fact, on telemetry records
	ContextGateway   = "gateway"   // before the model call, per request/response
)

// Input is the policy input document. The collector and the gateway fill the
// same fields; a field left empty is absent from the document, so the bundle
// can tell "unknown" from "false". It never holds matched text: findings
// are types, counts, positions and confidence grades.
type Input struct {
	Context   string // ContextCollector or ContextGateway
	Direction string // "request", "response" or "" (an event carrying both)

	Event       EventFacts
	Identity    Identity
	Device      Device
	Model       Model
	Destination Destination

	// Classification is the data classification the event carries
	// (attribute data.classification, or what the gateway resolved); empty
	// lets the bundle apply its department/default classification.
	Classification string

	// Findings are the DLP findings of this event's content.
	Findings []Finding
	// RecordedCounts and RecordedConfidence are findings recorded upstream
	// (an edge gateway that sealed the content before it reached us): the
	// summary takes, per type, the larger of the two counts and the higher
	// confidence.
	RecordedCounts     map[string]int
	RecordedConfidence map[string]string
}

// EventFacts are the canonical event's own facts.
type EventFacts struct {
	Kind, Source, EventName, Tenant, Status, ToolName string
}

// Identity of whoever caused the event (pseudonyms only).
type Identity struct {
	User, Department, Agent string
}

// Device facts. Authenticated is nil when unknown.
type Device struct {
	ID            string
	Authenticated *bool
}

// Model called.
type Model struct {
	Provider, Name string
}

// Destination of a model call or connection.
type Destination struct {
	Host string
	Port int
}

// Finding is one DLP finding as the policy sees it: where and what, never
// the value. Message indexes the message the offsets refer to; Start/End are
// byte offsets into that message's text.
type Finding struct {
	Type       string
	Confidence string // "low", "medium", "high"
	Message    int
	Start, End int
}

var confRank = map[string]int{"low": 1, "medium": 2, "high": 3}

// Summary returns the per-type counts and highest confidence of the
// findings, merged with the recorded ones.
func (in *Input) Summary() (counts map[string]int, maxConf map[string]string) {
	counts = map[string]int{}
	maxConf = map[string]string{}
	for _, f := range in.Findings {
		counts[f.Type]++
		if confRank[f.Confidence] > confRank[maxConf[f.Type]] {
			maxConf[f.Type] = f.Confidence
		}
	}
	for t, n := range in.RecordedCounts {
		if n > counts[t] {
			counts[t] = n
		}
	}
	for t, c := range in.RecordedConfidence {
		if confRank[c] > confRank[maxConf[t]] {
			maxConf[t] = c
		}
	}
	return counts, maxConf
}

// Document renders the input document handed to OPA (JSON-shaped values).
func (in *Input) Document() map[string]any {
	doc := make(map[string]any, len(sections))
	for _, sec := range sections {
		if v, ok := in.section(sec); ok {
			doc[sec] = v
		}
	}
	return doc
}

// sections are the document's top-level fields.
var sections = []string{"version", "context", "direction", "classification", "event", "identity", "device", "model", "destination", "dlp", "findings"}

// section builds one top-level field of the document; ok is false when it
// is absent. Document and the cache key both use it, so they cannot drift.
func (in *Input) section(sec string) (any, bool) {
	switch sec {
	case "version":
		return InputVersion, true
	case "context":
		return in.Context, in.Context != ""
	case "direction":
		return in.Direction, in.Direction != ""
	case "classification":
		return in.Classification, in.Classification != ""
	case "event", "identity", "device", "model", "destination":
		m := map[string]any{}
		for _, f := range sectionFields[sec] {
			if v, ok := in.scalar(sec, f); ok {
				m[f] = v
			}
		}
		return m, true
	case "dlp":
		counts, maxConf := in.Summary()
		total := 0
		c := make(map[string]any, len(counts))
		types := make([]any, 0, len(counts))
		for t, n := range counts {
			c[t] = n
			total += n
			types = append(types, t)
		}
		sort.Slice(types, func(i, j int) bool { return types[i].(string) < types[j].(string) })
		mc := make(map[string]any, len(maxConf))
		for t, v := range maxConf {
			mc[t] = v
		}
		return map[string]any{"total": total, "counts": c, "max_confidence": mc, "types": types}, true
	case "findings":
		fl := make([]any, len(in.Findings))
		for i, f := range in.Findings {
			fl[i] = map[string]any{"type": f.Type, "confidence": f.Confidence, "message": f.Message, "start": f.Start, "end": f.End}
		}
		return fl, true
	}
	return nil, false
}

var sectionFields = map[string][]string{
	"event":       {"kind", "source", "event_name", "tenant", "status", "tool_name"},
	"identity":    {"user", "department", "agent"},
	"device":      {"id", "authenticated"},
	"model":       {"provider", "name"},
	"destination": {"host", "port"},
}

// scalar is one field of the flat sections, without building the section.
func (in *Input) scalar(sec, f string) (any, bool) {
	var s string
	switch sec + "." + f {
	case "event.kind":
		s = in.Event.Kind
	case "event.source":
		s = in.Event.Source
	case "event.event_name":
		s = in.Event.EventName
	case "event.tenant":
		s = in.Event.Tenant
	case "event.status":
		s = in.Event.Status
	case "event.tool_name":
		s = in.Event.ToolName
	case "identity.user":
		s = in.Identity.User
	case "identity.department":
		s = in.Identity.Department
	case "identity.agent":
		s = in.Identity.Agent
	case "device.id":
		s = in.Device.ID
	case "device.authenticated":
		if in.Device.Authenticated == nil {
			return nil, false
		}
		return *in.Device.Authenticated, true
	case "model.provider":
		s = in.Model.Provider
	case "model.name":
		s = in.Model.Name
	case "destination.host":
		s = in.Destination.Host
	case "destination.port":
		return in.Destination.Port, in.Destination.Port != 0
	default:
		return nil, false
	}
	return s, s != ""
}

// appendKey appends the cache key of the values at paths, equal to
// cacheKey(in.Document(), paths, false, b) without building the document:
// flat fields are read directly and only the sections a path enters are
// built (once each).
func (in *Input) appendKey(b []byte, paths [][]string) []byte {
	var built map[string]any
	for _, p := range paths {
		if _, flat := sectionFields[p[0]]; flat && len(p) == 2 {
			if v, ok := in.scalar(p[0], p[1]); ok {
				b = appendCanon(b, v)
			} else {
				b = appendCanon(b, absent{})
			}
			continue
		}
		v, ok := built[p[0]]
		if !ok {
			if v, ok = in.section(p[0]); !ok {
				b = appendCanon(b, absent{})
				continue
			}
			if built == nil {
				built = map[string]any{}
			}
			built[p[0]] = v
		}
		b = appendCanon(b, walk(v, p[1:]))
	}
	return b
}

func putS(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
