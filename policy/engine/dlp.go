package engine

import "github.com/wardenhq/warden/dlp"

// FromDLP converts one message's dlp findings (message is its index) into
// policy findings: positions and confidence grade, never the value.
func FromDLP(message int, fs []dlp.Finding) []Finding {
	out := make([]Finding, len(fs))
	for i, f := range fs {
		out[i] = Finding{Type: f.Type, Confidence: f.Confidence.String(), Message: message, Start: f.Start, End: f.End}
	}
	return out
}
