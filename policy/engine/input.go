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
	doc := map[string]any{"version": InputVersion}
	putS(doc, "context", in.Context)
	putS(doc, "direction", in.Direction)
	putS(doc, "classification", in.Classification)

	ev := map[string]any{}
	putS(ev, "kind", in.Event.Kind)
	putS(ev, "source", in.Event.Source)
	putS(ev, "event_name", in.Event.EventName)
	putS(ev, "tenant", in.Event.Tenant)
	putS(ev, "status", in.Event.Status)
	putS(ev, "tool_name", in.Event.ToolName)
	doc["event"] = ev

	id := map[string]any{}
	putS(id, "user", in.Identity.User)
	putS(id, "department", in.Identity.Department)
	putS(id, "agent", in.Identity.Agent)
	doc["identity"] = id

	dev := map[string]any{}
	putS(dev, "id", in.Device.ID)
	if in.Device.Authenticated != nil {
		dev["authenticated"] = *in.Device.Authenticated
	}
	doc["device"] = dev

	m := map[string]any{}
	putS(m, "provider", in.Model.Provider)
	putS(m, "name", in.Model.Name)
	doc["model"] = m

	dst := map[string]any{}
	putS(dst, "host", in.Destination.Host)
	if in.Destination.Port != 0 {
		dst["port"] = in.Destination.Port
	}
	doc["destination"] = dst

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
	doc["dlp"] = map[string]any{"total": total, "counts": c, "max_confidence": mc, "types": types}

	fl := make([]any, len(in.Findings))
	for i, f := range in.Findings {
		fl[i] = map[string]any{"type": f.Type, "confidence": f.Confidence, "message": f.Message, "start": f.Start, "end": f.End}
	}
	doc["findings"] = fl
	return doc
}

func putS(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
