# Warden's default policy: one decision per event, the same for the collector's
# `policy` processor (input.context == "collector") and the LLM gateway
# (input.context == "gateway"). The input document is described in
# policy/README.md; the result is data.warden.main.decision:
#
#   {"decision": "allow|redact|drop|review|alert|block",
#    "rule_ids": [...], "reasons": [...], "redact_types": [...], "alert": bool}
#
# Rule ids are stable strings: dashboards, alerts and the lake join on them.
# Reasons name finding types and classifications only, never matched text
# (the input never carries it).
package warden.main

import rego.v1

cfg := data.warden.config

# --- Data classification --------------------------------------------------
# The event's own classification (attribute `data.classification`, or what
# the gateway resolved) wins; else the department's default; else the
# bundle-wide default.

classification := c if {
	c := upper(trim_space(input.classification))
	c != ""
} else := c if {
	c := upper(cfg.department_classification[lower(input.identity.department)])
} else := upper(cfg.default_classification)

sensitive if classification in cfg.sensitive_classifications

block_class if classification in cfg.block_classifications

# --- Findings summary (types and counts only) --------------------------------

# Policies read input by path (input.dlp.counts, never the whole `input`):
# the engine caches decisions on exactly the input paths the bundle reads, so
# a bare `input` would key the cache on every field, positions included.
counts := c if c := input.dlp.counts
else := {}

max_confidence := c if c := input.dlp.max_confidence
else := {}

direction := d if d := input.direction
else := "event"

# Iterate the (few) types found, not the configured lists.
pii_present contains t if {
	some t, n in counts
	n > 0
	t in cfg.pii_types
}

high_confidence_types contains t if {
	some t, n in counts
	n > 0
	t in cfg.review_types
	confidence_rank[max_confidence[t]] >= confidence_rank[cfg.review_min_confidence]
}

# Confidence grades as the dlp library reports them.
confidence_rank := {"low": 1, "medium": 2, "high": 3}

model_event if input.context == "gateway"

model_event if input.event.kind in cfg.model_kinds

# --- Rules ------------------------------------------------------------------
# Each violation: {"id", "action", "reason"}; redactions also name the types.

violations contains {
	"id": "warden.dlp.pii_high_classification",
	"action": "block",
	"reason": sprintf("%s in %s-classified data", [concat(",", sort(pii_present)), classification]),
} if {
	count(pii_present) > 0
	block_class
}

violations contains {
	"id": "warden.dlp.pii_redact",
	"action": "redact",
	"reason": sprintf("%s redacted (%s-classified data)", [concat(",", sort(pii_present)), classification]),
} if {
	count(pii_present) > 0
	not block_class
}

violations contains {
	"id": "warden.dlp.high_confidence_sensitive",
	"action": "review",
	"reason": sprintf("high-confidence %s in %s-classified data", [concat(",", sort(high_confidence_types)), classification]),
} if {
	count(high_confidence_types) > 0
	sensitive
}

# Private keys: alert whichever way they travel (prompt, response, tool output).
violations contains {
	"id": "warden.dlp.private_key",
	"action": "alert",
	"reason": sprintf("%d private key(s) in %s", [counts.private_key, direction]),
} if {
	counts.private_key > 0
}

violations contains {
	"id": "warden.model.not_approved",
	"action": "block",
	"reason": sprintf("model %q is not approved", [input.model.name]),
} if {
	model_event
	input.model.name != ""
	not model_approved(input.model.name)
}

violations contains {
	"id": "warden.model.endpoint_not_approved",
	"action": "block",
	"reason": sprintf("model endpoint %q is not approved", [input.destination.host]),
} if {
	model_event
	input.destination.host != ""
	not endpoint_approved(lower(input.destination.host))
}

# A device that failed authentication, or (at the gateway, which always knows)
# a call with no authenticated device.
violations contains {
	"id": "warden.device.unauthenticated",
	"action": "block",
	"reason": "device is not authenticated",
} if {
	input.device.authenticated == false
}

violations contains {
	"id": "warden.device.unauthenticated",
	"action": "block",
	"reason": "device is not authenticated",
} if {
	input.context == "gateway"
	not device_auth_known
}

device_auth_known if is_boolean(input.device.authenticated)

model_approved(m) if {
	some p in cfg.approved_models
	glob.match(p, null, lower(m))
}

endpoint_approved(h) if {
	some p in cfg.approved_endpoints
	glob.match(p, ["."], h)
}

# --- Combining ----------------------------------------------------------------
# In the collector the event has already happened: "block" becomes the
# configured collector action (default "review"), so the row says what a human
# must look at instead of pretending something was stopped.

effective_action(a) := cfg.collector_block_action if {
	a == "block"
	input.context == "collector"
} else := a

rank := {"block": 5, "drop": 4, "review": 3, "redact": 2, "alert": 1, "allow": 0}

actions contains effective_action(v.action) if some v in violations

top_rank := max({rank[a] | some a in actions} | {0})

final := a if {
	top_rank > 0
	a := [x | some x in actions; rank[x] == top_rank][0]
} else := "allow"

# Redaction applies whenever a redact rule fired and the event is kept with
# content (review and alert keep content; block and drop do not).
redact_types := sort(pii_present) if {
	"redact" in actions
} else := []

decision := {
	"decision": final,
	"rule_ids": sort({v.id | some v in violations}),
	"reasons": sort({v.reason | some v in violations}),
	"redact_types": redact_types,
	"alert": count(actions & {"alert", "review", "block"}) > 0,
}
