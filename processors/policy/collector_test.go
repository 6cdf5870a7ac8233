package policy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/wardenhq/warden/dlp"
	"github.com/wardenhq/warden/schema"
)

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestCollectorEndToEnd: a real OTel Go SDK client sends OTLP/HTTP to an
// in-process collector (otlp receiver -> policy -> file exporter); the file
// holds the decisions, and the LOW record's SSN is redacted before it is
// written anywhere.
func TestCollectorEndToEnd(t *testing.T) {
	ctx := context.Background()
	addr := freePort(t)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	cfg := fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
processors:
  policy:
    reload_interval: 0s
exporters:
  file:
    path: %s
    flush_interval: 50ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      processors: [policy]
      exporters: [file]
`, addr, out)
	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: component.NewDefaultBuildInfo(),
		Factories: func() (otelcol.Factories, error) {
			f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
			var err error
			if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
				return f, err
			}
			if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](NewFactory()); err != nil {
				return f, err
			}
			f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](fileexporter.NewFactory())
			return f, err
		},
		DisableGracefulShutdown: true,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			URIs:              []string{"yaml:" + cfg},
			ProviderFactories: []confmap.ProviderFactory{yamlprovider.NewFactory()},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() { done <- col.Run(ctx); close(exited) }()
	defer func() {
		col.Shutdown()
		<-exited
	}()
	deadline := time.Now().Add(20 * time.Second)
	for col.GetState() != otelcol.StateRunning {
		select {
		case err := <-done:
			t.Fatalf("collector exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector state %v", col.GetState())
		}
		time.Sleep(20 * time.Millisecond)
	}

	exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(addr), otlploghttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	logger := lp.Logger("policy-e2e")
	emit := func(name, class string) {
		var r otellog.Record
		r.SetTimestamp(time.Now())
		r.SetBody(attribute.StringValue("model call"))
		r.AddAttributes(
			attribute.String(schema.Attr("event_name"), name),
			attribute.String(schema.Attr("kind"), schema.KindModelCall),
			attribute.String(schema.Attr("model"), "claude-opus-5-5"),
			attribute.String("data.classification", class),
			attribute.Slice(schema.AttrMessages, attribute.MapValue(
				attribute.String("role", "user"),
				attribute.String("part", schema.PartPrompt),
				attribute.String("text", promptText),
			)),
		)
		logger.Emit(ctx, r)
	}
	emit("high", "HIGH")
	emit("low", "LOW")
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	got := map[string]plog.LogRecord{}
	var raw []byte
	for len(got) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d records reached the file", len(got))
		}
		time.Sleep(50 * time.Millisecond)
		raw, _ = os.ReadFile(out)
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(sc.Bytes())
			if err != nil {
				continue // a line being written
			}
			lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				got[s(lrs.At(i).Attributes(), schema.Attr("event_name"))] = lrs.At(i)
			}
		}
	}
	hi, lo := got["high"].Attributes(), got["low"].Attributes()
	if s(hi, "warden.decision") != "review" || !strings.Contains(strings.Join(ruleIDs(hi), ","), "warden.dlp.pii_high_classification") || s(hi, "warden.policy_revision") != defaultRevision(t) {
		t.Fatalf("HIGH: %q %v %q", s(hi, "warden.decision"), ruleIDs(hi), s(hi, "warden.policy_revision"))
	}
	if s(lo, "warden.decision") != "redact" || !strings.Contains(messageText(lo), dlp.Placeholder("us_ssn", 1)) || findingCount(lo, "us_ssn") != 1 {
		t.Fatalf("LOW: %q %q", s(lo, "warden.decision"), messageText(lo))
	}
	// The only SSN in the file is the HIGH record's (kept for review;
	// promptcrypt seals it in the real pipeline).
	if n := bytes.Count(raw, []byte(canarySSN)); n != 1 {
		t.Fatalf("SSN occurs %d times in the exporter output, want 1 (the HIGH record)", n)
	}
}
