// Package schema is the single source of truth for Warden's canonical event
// model (schema v1). The Go types in this package are the source: the Arrow
// schema, the ClickHouse DDL (single-node and cluster), the Parquet layout
// and the canonical OTLP attribute keys are derived from the struct tags
// below, and tests check the derived forms against them.
//
// Every column is declared once, as a field of Event with a `ch` tag:
//
//	`ch:"<column name>,<ClickHouse type>[,<option>...]"`
//
// Options: codec=<CODEC(...) body>, key (part of the sorting key), the rest
// documented in ddl.go.
package schema

import "time"

// Version is the canonical schema version written on every row.
const Version = 1

// AttrPrefix prefixes the canonical attributes that processors set on OTLP
// records (logs, spans, metric data points) as they travel through the
// collector pipeline: the column `kind` travels as attribute `warden.kind`.
// The lakehouse exporter maps `warden.*` attributes to columns and keeps
// every other attribute in the `attributes` map column.
const AttrPrefix = "warden."

// Event kinds. Unknown records are kept as KindOther, never dropped.
const (
	KindModelCall       = "model_call"
	KindModelError      = "model_error"
	KindUserPrompt      = "user_prompt"
	KindModelResponse   = "model_response"
	KindToolCall        = "tool_call"
	KindToolDecision    = "tool_decision"
	KindFileAccess      = "file_access"
	KindNetConnect      = "net_connect"
	KindExec            = "exec"
	KindPolicyViolation = "policy_violation"
	KindAgentLifecycle  = "agent_lifecycle"
	KindSpan            = "span"
	KindOther           = "other"
)

// Sources.
const (
	SourceClaudeCode     = "claude_code"
	SourceCodex          = "codex"
	SourceGeminiCLI      = "gemini_cli"
	SourceOTelGenAI      = "otel_genai"
	SourceWardenEndpoint = "warden_endpoint"
	SourceWardenGateway  = "warden_gateway"
	SourceUnknown        = "unknown"
)

// Cost sources.
const (
	CostReported = "reported" // the agent reported its own cost
	CostPriced   = "priced"   // Warden priced the call from the price table
	CostUnpriced = "unpriced" // the model is missing from the price table
)

// Event is one canonical event: one row of the `events` table.
type Event struct {
	EventID       [16]byte  `ch:"event_id,FixedString(16)"`
	Tenant        string    `ch:"tenant,LowCardinality(String),key"`
	TS            time.Time `ch:"ts,DateTime64(6, 'UTC'),key,codec=Delta(8), ZSTD(1)"`
	SchemaVersion uint8     `ch:"schema_version,UInt8"`
	Kind          string    `ch:"kind,LowCardinality(String),key"`
	Source        string    `ch:"source,LowCardinality(String)"`
	EventName     string    `ch:"event_name,LowCardinality(String)"`

	// Identity. Pseudonyms are keyed hashes (processors/fieldhash); the raw
	// identifiers never reach disk.
	UserPseudonym   string `ch:"user_pseudonym,String"`
	DevicePseudonym string `ch:"device_pseudonym,String"`
	Department      string `ch:"department,LowCardinality(String)"`
	Agent           string `ch:"agent,LowCardinality(String)"`
	AgentVersion    string `ch:"agent_version,LowCardinality(String)"`
	SessionID       string `ch:"session_id,String"`
	TraceID         string `ch:"trace_id,String"`
	SpanID          string `ch:"span_id,String"`

	// Model call facts. Token columns follow the OpenTelemetry GenAI
	// conventions whatever the source: InputTokens counts all input tokens,
	// cached ones included; CacheRead/CacheWrite are the cached parts of it.
	Provider         string  `ch:"provider,LowCardinality(String)"`
	Model            string  `ch:"model,LowCardinality(String)"`
	InputTokens      uint64  `ch:"input_tokens,UInt64,codec=T64, ZSTD(1)"`
	OutputTokens     uint64  `ch:"output_tokens,UInt64,codec=T64, ZSTD(1)"`
	CacheReadTokens  uint64  `ch:"cache_read_tokens,UInt64,codec=T64, ZSTD(1)"`
	CacheWriteTokens uint64  `ch:"cache_write_tokens,UInt64,codec=T64, ZSTD(1)"`
	ReasoningTokens  uint64  `ch:"reasoning_tokens,UInt64,codec=T64, ZSTD(1)"`
	CostUSD          float64 `ch:"cost_usd,Float64"`
	CostSource       string  `ch:"cost_source,LowCardinality(String)"`
	ReportedCostUSD  float64 `ch:"reported_cost_usd,Float64"`
	PricedCostUSD    float64 `ch:"priced_cost_usd,Float64"`
	LatencyMS        float64 `ch:"latency_ms,Float64"`
	TTFTMS           float64 `ch:"ttft_ms,Float64"`
	RequestID        string  `ch:"request_id,String"`
	Status           string  `ch:"status,LowCardinality(String)"`
	ToolName         string  `ch:"tool_name,LowCardinality(String)"`

	// Endpoint facts (warden run).
	PathPseudonym string `ch:"path_pseudonym,String"`
	AccessMode    string `ch:"access_mode,LowCardinality(String)"`
	DestHost      string `ch:"dest_host,String"`
	DestPort      uint16 `ch:"dest_port,UInt16"`
	Denied        bool   `ch:"denied,Bool"`
	ExitCode      int32  `ch:"exit_code,Int32"`
	ContentSHA256 string `ch:"content_sha256,String"`

	// Privacy facts. PromptRef lists the content-addressed ids of the sealed
	// blocks (prompt_blocks) in message order; the text itself never is here.
	PromptRef      []string          `ch:"prompt_ref,Array(String)"`
	PromptBytes    uint32            `ch:"prompt_bytes,UInt32"`
	PromptTokens   uint32            `ch:"prompt_tokens_est,UInt32"`
	RedactionCount uint32            `ch:"redaction_count,UInt32"`
	DLPFindings    map[string]uint32 `ch:"dlp_findings,Map(LowCardinality(String), UInt32)"`

	// Policy decision (processors/policy).
	Decision       string   `ch:"decision,LowCardinality(String)"`
	RuleIDs        []string `ch:"rule_ids,Array(LowCardinality(String))"`
	DecisionID     string   `ch:"decision_id,String"`
	PolicyRevision string   `ch:"policy_revision,LowCardinality(String)"`

	// Attributes that fit no column.
	Attributes map[string]string `ch:"attributes,Map(LowCardinality(String), String)"`
}
