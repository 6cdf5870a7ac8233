// Command otelcol-e2e is a small collector with the Warden components the
// end-to-end tests need (otlp -> memory_limiter -> genai -> fieldhash ->
// policy -> promptcrypt -> lakehouse; file_storage, keyring). The e2e harness uses bin/otelcol-warden when it
// already includes the lakehouse exporter and falls back to this binary
// otherwise, so the lakehouse can be tested before the distribution is
// regenerated.
package main

import (
	"net/http"
	_ "net/http/pprof" // only served when WARDEN_PPROF names a loopback address
	"os"

	filestorage "github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/wardenhq/warden/collector/keyring"
	"github.com/wardenhq/warden/collector/lakehouseexporter"
	"github.com/wardenhq/warden/collector/lakehousestore"
	"github.com/wardenhq/warden/processors/fieldhash"
	"github.com/wardenhq/warden/processors/genai"
	"github.com/wardenhq/warden/processors/policy"
	"github.com/wardenhq/warden/processors/promptcrypt"
)

func components() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
		return f, err
	}
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](memorylimiterprocessor.NewFactory(), genai.NewFactory(),
		fieldhash.NewFactory(), policy.NewFactory(), promptcrypt.NewFactory()); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](lakehouseexporter.NewFactory(), debugexporter.NewFactory()); err != nil {
		return f, err
	}
	if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](filestorage.NewFactory(), lakehousestore.NewFactory(), keyring.NewFactory()); err != nil {
		return f, err
	}
	f.Telemetry = otelconftelemetry.NewFactory()
	return f, nil
}

func main() {
	if addr := os.Getenv("WARDEN_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "otelcol-e2e", Description: "Warden lakehouse e2e collector", Version: "0.1.0"},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			ProviderFactories: []confmap.ProviderFactory{envprovider.NewFactory(), fileprovider.NewFactory(), yamlprovider.NewFactory()},
		}},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		os.Exit(1)
	}
}
