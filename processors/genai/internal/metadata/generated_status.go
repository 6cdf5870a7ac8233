// Hand-written in the shape mdatagen generates from ../../metadata.yaml
// (kept minimal: the component type and its stability per signal).

package metadata

import "go.opentelemetry.io/collector/component"

var (
	Type      = component.MustNewType("genai")
	ScopeName = "github.com/wardenhq/warden/processors/genai"
)

const (
	LogsStability    = component.StabilityLevelDevelopment
	TracesStability  = component.StabilityLevelDevelopment
	MetricsStability = component.StabilityLevelDevelopment
)
