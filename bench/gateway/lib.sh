# Shared by bench/gateway/run.sh and ab.sh (sourced): the stub model, the
# OTLP sink and the Warden gateway config they all measure against.
# The caller sets $work and a pids array (processes to stop on exit).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_stub_and_sink: sets $stub (the stub model's URL) and $otlp_port (a
# driver acting as the gateways' OTLP endpoint).
start_stub_and_sink() {
  # A stale URL from an earlier run must not be read before the new stub's
  # redirection truncates the file.
  rm -f "$work/stub.url"
  "$work/stubmodel" -addr 127.0.0.1:0 -discard-bodies -text "Here is a short summary of the report." >"$work/stub.url" &
  pids+=($!)
  for _ in $(seq 300); do [ -s "$work/stub.url" ] && break; sleep 0.1; done
  stub=$(head -1 "$work/stub.url")
  [ -n "$stub" ] || { echo "$(basename "$0"): the stub did not start" >&2; exit 1; }
  otlp_port=$(free_port)
  "$work/driver" -mode otlpsink -stub "127.0.0.1:$otlp_port" >/dev/null &
  pids+=($!)
}

# gateway_config FILE PORT: a Warden gateway on PORT in front of the stub,
# exporting its sealed events to the sink.
gateway_config() {
  cat >"$1" <<YAML
listen: 127.0.0.1:$2
local_key: warden-local
identity: {user: bench, device: bench-host, department: engineering}
providers:
  openai: {base_url: "$stub", api_key: sk-bench}
dlp: {restore_responses: true}
telemetry: {otlp_endpoint: "http://127.0.0.1:$otlp_port", keys_dir: "$work/keys"}
YAML
}
