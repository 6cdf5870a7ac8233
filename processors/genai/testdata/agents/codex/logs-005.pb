
À
É

env
dev
!
telemetry.sdk.version
0.31.0
 
telemetry.sdk.language
rust

service.name

codex_exec
%
telemetry.sdk.name
opentelemetry

service.version	
0.169.0

	host.name
vmr

codex_otel::metrics::clientQDEBUG*
flushing OTEL metricsY[æ‚B	®êb$event otel/src/metrics/client.rs:324