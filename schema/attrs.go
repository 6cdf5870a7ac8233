package schema

// The canonical OTLP shape: how canonical events travel between the
// collector's processors (genai -> fieldhash -> policy -> promptcrypt) and the
// lakehouse exporter, and from Warden endpoints and gateways into the
// collector. Records stay OTLP (log records, spans, metric data points);
// canonical facts are attributes named AttrPrefix + column name
// ("warden.kind", "warden.input_tokens", ...), typed as the column is:
// strings as Str, integers as Int, floats as Double, Bool as Bool, arrays as
// Slice, maps as Map, event_id as Bytes (16). The record's own timestamp is
// `ts` (log: Timestamp, else ObservedTimestamp; span: StartTimestamp; data
// point: Timestamp).

// Attr returns the canonical attribute key of a column.
func Attr(column string) string { return AttrPrefix + column }

// Prompt-like content. genai moves every piece of prompt-like content it
// knows (prompts, responses, tool inputs and outputs, file contents, system
// prompts) out of the source attributes into AttrMessages, a Slice of Maps,
// one per message, in order:
//
//	{"role": "user|assistant|system|tool", "part": MessagePart*, "text": "..."}
//
// policy scans and redacts the "text" of each message in memory; promptcrypt
// seals each message into a block and replaces AttrMessages with prompt_ref,
// prompt_bytes and prompt_tokens_est. The lakehouse exporter never writes
// AttrMessages: if it still holds text at export (no promptcrypt in the
// pipeline), the text is discarded and counted, never stored.
const AttrMessages = AttrPrefix + "messages"

// Message parts.
const (
	PartPrompt      = "prompt"
	PartResponse    = "response"
	PartSystem      = "system"
	PartToolInput   = "tool_input"
	PartToolOutput  = "tool_output"
	PartFileContent = "file_content"
	PartOther       = "other"
)

// Sealed output of promptcrypt, carried on the record that referenced it and
// moved by the lakehouse exporter into the side tables (never into
// `attributes`):
//
//   - AttrSealedBlocks: Slice of Maps, one per block not emitted before by
//     this collector, each holding the columns of PromptBlock.
//   - AttrWrappedKeys: Slice of Maps, one per tenant-day data key not emitted
//     before, each holding the columns of PromptKey.
const (
	AttrSealedBlocks = AttrPrefix + "sealed_blocks"
	AttrWrappedKeys  = AttrPrefix + "wrapped_keys"
)

// AttrTenant is where the tenant travels; DefaultTenant is used when neither
// the record, its resource nor the authenticated client names one.
const (
	AttrTenant    = AttrPrefix + "tenant"
	DefaultTenant = "default"
	// InvalidTenant receives records whose tenant can never have keys
	// (e.g. "../../etc"): fieldhash reroutes them here instead of refusing
	// their whole request, and keeps a pseudonym of the original under
	// AttrInvalidTenant. Valid as a key name, and namespaced so no real
	// tenant is mixed into it.
	InvalidTenant     = "warden.invalid-tenant"
	AttrInvalidTenant = AttrPrefix + "invalid_tenant"
)

// IdentityAttributes are the well-known attribute keys (on records and on
// resources) that carry raw identities from agents and SDKs. fieldhash
// pseudonymizes them by default; the lakehouse exporter refuses to store
// any of them that does not hold a keyed pseudonym (a pipeline without
// fieldhash), as it does for the pseudonym columns.
var IdentityAttributes = []string{
	"user.id", "user.email", "user.name", "user.account_uuid", "user.account_id", "user.full_name",
	"organization.id", "installation.id", "enduser.id",
	"host.id", "host.name", "device.id", "process.owner",
	"host.ip", "client.address",
}
