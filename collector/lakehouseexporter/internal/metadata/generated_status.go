// Hand-written minimal metadata (the mdatagen equivalent): component type
// and stability.
package metadata

import "go.opentelemetry.io/collector/component"

var Type = component.MustNewType("lakehouse")

const (
	LogsStability    = component.StabilityLevelAlpha
	TracesStability  = component.StabilityLevelAlpha
	MetricsStability = component.StabilityLevelAlpha
)
