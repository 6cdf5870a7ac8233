// Hand-written in the shape mdatagen generates (see metadata.yaml): the
// component type and its stability.
package metadata

import "go.opentelemetry.io/collector/component"

var Type = component.MustNewType("keyring")

const ExtensionStability = component.StabilityLevelAlpha
