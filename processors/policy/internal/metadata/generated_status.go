// Hand-written in the shape mdatagen generates (see metadata.yaml).
package metadata

import "go.opentelemetry.io/collector/component"

var Type = component.MustNewType("policy")

const (
	LogsStability   = component.StabilityLevelAlpha
	TracesStability = component.StabilityLevelAlpha
)
