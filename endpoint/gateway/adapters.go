package gateway

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wardenhq/warden/policy/engine"
	"github.com/wardenhq/warden/schema"
)

// ---- policy ----

// PolicyDecider adapts policy/engine: the same bundle as the collector's
// policy processor, evaluated in the "gateway" context.
type PolicyDecider struct{ E *engine.Engine }

// NewPolicyDecider loads the bundle at path (empty: Warden's default
// bundle).
func NewPolicyDecider(ctx context.Context, path string) (*PolicyDecider, error) {
	e, err := engine.New(ctx, engine.Options{Path: path, Name: "gateway", ReloadInterval: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("gateway config: policy.bundle: %w", err)
	}
	if path != "" {
		e.Start()
	}
	return &PolicyDecider{E: e}, nil
}

// Decide implements Decider.
func (p *PolicyDecider) Decide(ctx context.Context, in PolicyInput) (PolicyDecision, error) {
	authed := in.Device != "" || in.User != ""
	ein := &engine.Input{Context: engine.ContextGateway, Direction: "request",
		Event:       engine.EventFacts{Kind: schema.KindModelCall, Source: schema.SourceWardenGateway, Tenant: in.Tenant},
		Identity:    engine.Identity{User: in.User, Department: in.Department, Agent: in.Agent},
		Device:      engine.Device{ID: in.Device, Authenticated: &authed},
		Model:       engine.Model{Provider: in.Provider, Name: in.Model},
		Destination: engine.Destination{Host: hostOnly(in.Destination), Port: portOf(in.Destination)},
		Findings:    in.FindingList}
	d, err := p.E.Evaluate(ctx, ein)
	if err != nil {
		return PolicyDecision{}, err
	}
	out := PolicyDecision{RuleIDs: d.RuleIDs, DecisionID: d.DecisionID, Revision: d.Revision,
		Reason: strings.Join(d.Reasons, "; "), RedactTypes: d.RedactTypes, Raw: d.Decision}
	switch d.Decision {
	case engine.Allow, engine.Alert:
		out.Action = ActionAllow
	case engine.Redact:
		out.Action = ActionRedact
	case engine.Review:
		out.Action = ActionReview
	case engine.Block, engine.Drop:
		out.Action = ActionBlock
		out.Remediation = remediation(d.RuleIDs)
	default:
		return out, fmt.Errorf("policy returned decision %q, which the gateway does not know", d.Decision)
	}
	return out, nil
}

func remediation(rules []string) string {
	for _, r := range rules {
		switch {
		case strings.HasPrefix(r, "warden.model."):
			return "Use an approved model or endpoint, or ask your administrator to approve this one in the policy bundle"
		case strings.HasPrefix(r, "warden.dlp."):
			return "Remove the sensitive data from the prompt (or the files and command output the agent read) and retry"
		case strings.HasPrefix(r, "warden.device."):
			return "Enroll this device with Warden and use its device token"
		}
	}
	return "Ask your administrator about the rule named above"
}

func hostOnly(hp string) string {
	if i := strings.LastIndexByte(hp, ':'); i >= 0 && !strings.Contains(hp[i:], "]") {
		return strings.Trim(hp[:i], "[]")
	}
	return strings.Trim(hp, "[]")
}

func portOf(hp string) int {
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		n := 0
		fmt.Sscan(hp[i+1:], &n)
		return n
	}
	return 0
}

// FailClosed is a Decider that refuses every call: the gateway installs it
// when the policy bundle cannot be loaded, so agents get a clear error
// instead of an unpoliced pass-through.
type FailClosed struct{ Err error }

// Decide implements Decider.
func (f FailClosed) Decide(context.Context, PolicyInput) (PolicyDecision, error) {
	return PolicyDecision{}, f.Err
}

// ---- prices ----

// PriceTable adapts schema's model price table.
type PriceTable struct{ T *schema.PriceTable }

// Cost implements Pricer.
func (p PriceTable) Cost(provider, model string, u Usage) (float64, bool) {
	t := schema.Tokens{Input: uint64(u.Input), Output: uint64(u.Output), CacheRead: uint64(u.CacheRead),
		CacheWrite5m: uint64(u.CacheWrite), Reasoning: uint64(u.Reasoning)}
	return p.T.Cost(provider, model, time.Now().UnixNano(), t)
}

// Known implements Pricer.
func (p PriceTable) Known(provider, model string) bool { return p.T.Has(provider, model) }
