package lakehousestore

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/wardenhq/warden/collector/lakehousestore/internal/metadata"
)

// NewFactory returns the lakehouse store extension factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, func() component.Config { return DefaultConfig() }, create, metadata.ExtensionStability)
}

func create(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return &Extension{cfg: cfg.(*Config), log: set.Logger}, nil
}
