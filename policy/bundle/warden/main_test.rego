# opa test for the default bundle: run by `go test ./policy/` (tester package)
# and by `make test-policy-opa` with the opa CLI built from the pinned module.
package warden.main_test

import rego.v1

import data.warden.main

base := {
	"version": 1,
	"context": "collector",
	"direction": "request",
	"event": {"kind": "model_call", "source": "claude_code"},
	"identity": {"user": "u1:abc", "department": "engineering", "agent": "claude-code"},
	"device": {"id": "d1:abc", "authenticated": true},
	"model": {"provider": "anthropic", "name": "claude-opus-5-5"},
	"destination": {"host": "api.anthropic.com", "port": 443},
	"classification": "",
	"dlp": {"total": 0, "counts": {}, "max_confidence": {}},
}

with_findings(doc, counts, conf) := object.union(doc, {"dlp": {"total": sum([n | some n in counts]), "counts": counts, "max_confidence": conf}})

test_clean_event_allowed if {
	d := main.decision with input as base
	d.decision == "allow"
	d.rule_ids == []
	d.alert == false
}

test_ssn_high_classification_collector_is_review if {
	inp := object.union(with_findings(base, {"us_ssn": 1}, {"us_ssn": "high"}), {"classification": "HIGH"})
	d := main.decision with input as inp
	d.decision == "review"
	"warden.dlp.pii_high_classification" in d.rule_ids
	d.redact_types == []
}

test_ssn_high_classification_gateway_is_block if {
	inp := object.union(with_findings(base, {"us_ssn": 1}, {"us_ssn": "high"}), {"classification": "HIGH", "context": "gateway"})
	d := main.decision with input as inp
	d.decision == "block"
	"warden.dlp.pii_high_classification" in d.rule_ids
}

test_collector_block_action_is_configurable if {
	inp := object.union(with_findings(base, {"credit_card": 2}, {"credit_card": "medium"}), {"classification": "high"})
	d := main.decision with input as inp with data.warden.config.collector_block_action as "drop"
	d.decision == "drop"
}

test_ssn_low_classification_redacted if {
	inp := object.union(with_findings(base, {"us_ssn": 1, "email": 2}, {"us_ssn": "high"}), {"classification": "LOW"})
	d := main.decision with input as inp
	d.decision == "redact"
	d.rule_ids == ["warden.dlp.pii_redact"]
	d.redact_types == ["us_ssn"]
}

test_card_without_classification_uses_department_default if {
	low := with_findings(base, {"credit_card": 1}, {"credit_card": "low"})
	main.decision.decision == "redact" with input as low
	high := object.union(low, {"identity": {"department": "Finance"}})
	main.decision.decision == "review" with input as high
	"warden.dlp.pii_high_classification" in main.decision.rule_ids with input as high
}

test_high_confidence_sensitive_review if {
	inp := object.union(with_findings(base, {"github_token": 1}, {"github_token": "high"}), {"classification": "MEDIUM"})
	d := main.decision with input as inp
	d.decision == "review"
	d.rule_ids == ["warden.dlp.high_confidence_sensitive"]
}

test_low_confidence_or_low_class_no_review if {
	low_conf := object.union(with_findings(base, {"github_token": 1}, {"github_token": "medium"}), {"classification": "MEDIUM"})
	main.decision.decision == "allow" with input as low_conf
	low_class := object.union(with_findings(base, {"github_token": 1}, {"github_token": "high"}), {"classification": "LOW"})
	main.decision.decision == "allow" with input as low_class
}

test_medium_ssn_review_and_redact if {
	inp := object.union(with_findings(base, {"us_ssn": 1}, {"us_ssn": "high"}), {"classification": "MEDIUM"})
	d := main.decision with input as inp
	d.decision == "review"
	d.rule_ids == ["warden.dlp.high_confidence_sensitive", "warden.dlp.pii_redact"]
	d.redact_types == ["us_ssn"]
}

test_private_key_alert_any_direction if {
	req := with_findings(base, {"private_key": 1}, {"private_key": "high"})
	d := main.decision with input as req
	d.decision == "alert"
	d.rule_ids == ["warden.dlp.private_key"]
	d.alert
	resp := object.union(req, {"direction": "response", "event": {"kind": "tool_call"}})
	main.decision.decision == "alert" with input as resp
}

test_unapproved_model_blocked_at_gateway if {
	inp := object.union(base, {"context": "gateway", "model": {"name": "mystery-llm-9"}})
	d := main.decision with input as inp
	d.decision == "block"
	d.rule_ids == ["warden.model.not_approved"]
}

test_approved_models if {
	every m in ["claude-opus-5-5", "gpt-6.1-sol", "gemini-3.5-flash-lite", "gemini-3.8-flash", "claude-sonnet-4"] {
		main.decision.decision == "allow" with input as object.union(base, {"model": {"name": m}})
	}
}

test_unapproved_endpoint if {
	inp := object.union(base, {"destination": {"host": "llm.evil.example", "port": 443}})
	d := main.decision with input as inp
	d.decision == "review"
	d.rule_ids == ["warden.model.endpoint_not_approved"]
	az := object.union(base, {"destination": {"host": "acme.openai.azure.com"}})
	main.decision.decision == "allow" with input as az
	deep := object.union(base, {"destination": {"host": "x.acme.openai.azure.com"}})
	main.decision.decision == "review" with input as deep
}

test_model_rules_ignore_non_model_events if {
	inp := object.union(base, {"event": {"kind": "net_connect"}, "destination": {"host": "github.com"}, "model": {"name": ""}})
	main.decision.decision == "allow" with input as inp
}

test_unauthenticated_device if {
	inp := object.union(base, {"device": {"authenticated": false}})
	d := main.decision with input as inp
	d.rule_ids == ["warden.device.unauthenticated"]
	d.decision == "review"
	gw := object.union(base, {"context": "gateway", "device": {"authenticated": false}})
	main.decision.decision == "block" with input as gw
}

test_gateway_requires_device_authentication_fact if {
	gw := json.remove(object.union(base, {"context": "gateway"}), ["device/authenticated"])
	main.decision.rule_ids == ["warden.device.unauthenticated"] with input as gw
	# The collector does not always know: an absent fact is not a violation there.
	col := json.remove(base, ["device/authenticated"])
	main.decision.decision == "allow" with input as col
}

test_strongest_action_wins if {
	inp := object.union(with_findings(base, {"private_key": 1, "us_ssn": 1}, {"private_key": "high", "us_ssn": "medium"}), {"context": "gateway", "classification": "HIGH"})
	d := main.decision with input as inp
	d.decision == "block"
	d.rule_ids == ["warden.dlp.high_confidence_sensitive", "warden.dlp.pii_high_classification", "warden.dlp.private_key"]
}

test_reasons_never_contain_values if {
	inp := object.union(with_findings(base, {"us_ssn": 1}, {"us_ssn": "high"}), {"classification": "LOW"})
	d := main.decision with input as inp
	d.reasons == ["us_ssn redacted (LOW-classified data)"]
}
