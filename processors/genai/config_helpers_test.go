package genai

import "go.opentelemetry.io/collector/confmap"

func confmapNew(m map[string]any) *confmap.Conf { return confmap.NewFromStringMap(m) }
