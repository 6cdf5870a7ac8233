package e2e

import "go.opentelemetry.io/otel/sdk/metric/metricdata"

type sdkmetricdata struct{ rm metricdata.ResourceMetrics }
