package promptcrypt

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/wardenhq/warden/processors/fieldhash"
	"github.com/wardenhq/warden/processors/fieldhash/fieldpath"
	"github.com/wardenhq/warden/schema"
)

// Attribute is one configured content field.
type Attribute struct {
	Path string `mapstructure:"path"`
	Role string `mapstructure:"role"`
	Part string `mapstructure:"part"`
}

// Config of the promptcrypt processor.
type Config struct {
	// Keyring is the component ID of the keyring extension.
	Keyring component.ID           `mapstructure:"keyring"`
	Tenant  fieldhash.TenantConfig `mapstructure:"tenant"`
	// SourceShapes seals the content attributes of every source shape
	// genai knows (Claude Code, Codex, Gemini CLI, gen_ai.*), in case genai
	// did not run or left some behind. warden.messages is always sealed.
	SourceShapes bool `mapstructure:"source_shapes"`
	// Attributes: more fields to seal (collector path syntax).
	Attributes []Attribute `mapstructure:"attributes"`
	// EmittedCacheSize is how many (tenant, day, block) entries the LRU of
	// blocks already emitted keeps: a repeated system prompt is sealed and
	// emitted once per tenant and day while it stays in the cache.
	EmittedCacheSize int `mapstructure:"emitted_cache_size"`
	// RewrapInterval: a wrapped data key is attached again (it is a
	// replacing row, so copies collapse) at most this often, so that losing
	// the one batch that carried it cannot make a day unopenable.
	RewrapInterval time.Duration `mapstructure:"rewrap_interval"`
}

var validParts = map[string]bool{schema.PartPrompt: true, schema.PartResponse: true, schema.PartSystem: true, schema.PartToolInput: true, schema.PartToolOutput: true, schema.PartFileContent: true, schema.PartOther: true}

// Validate checks the configuration; errors name the config key.
func (c *Config) Validate() error {
	var errs []error
	if c.Keyring.Type().String() == "" {
		errs = append(errs, errors.New("keyring: must name the keyring extension (e.g. keyring: keyring)"))
	}
	if c.Tenant.FromAttribute == "" {
		errs = append(errs, errors.New("tenant.from_attribute: must not be empty"))
	}
	if c.EmittedCacheSize < 1 {
		errs = append(errs, errors.New("emitted_cache_size: must be at least 1"))
	}
	if c.RewrapInterval <= 0 {
		errs = append(errs, errors.New("rewrap_interval: must be positive"))
	}
	for i, a := range c.Attributes {
		key := fmt.Sprintf("attributes[%d]", i)
		p, err := fieldpath.Parse(a.Path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.path: %w", key, err))
			continue
		}
		if p.Context == fieldpath.Scope {
			errs = append(errs, fmt.Errorf("%s.path: scope attributes are not sealed (no record to carry the reference)", key))
		}
		if a.Part != "" && !validParts[a.Part] {
			errs = append(errs, fmt.Errorf("%s.part: unknown part %q", key, a.Part))
		}
	}
	return errors.Join(errs...)
}

// sourceShape maps a record attribute of a known source to its message.
type sourceShape struct{ role, part string }

// SourceShapes: content attributes of the sources genai knows (see
// shared/AGENT-TELEMETRY.md): Claude Code user_prompt.prompt,
// assistant_response.response, tool_result.tool_input, span
// claude_code.interaction's user_prompt and span event tool.output's
// content (file content, OTEL_LOG_TOOL_CONTENT); Codex codex.user_prompt.prompt,
// codex.tool_result.arguments/output; Gemini CLI user_prompt.prompt,
// api_request.request_text, api_response.response_text,
// tool_call.function_args; the OTel GenAI conventions' gen_ai.* content.
var sourceShapes = map[string]sourceShape{
	"prompt":                     {"user", schema.PartPrompt},
	"prompt_text":                {"user", schema.PartPrompt},
	"user_prompt":                {"user", schema.PartPrompt},
	"request_text":               {"user", schema.PartPrompt},
	"gen_ai.input.messages":      {"user", schema.PartPrompt},
	"gen_ai.prompt":              {"user", schema.PartPrompt},
	"response":                   {"assistant", schema.PartResponse},
	"response_text":              {"assistant", schema.PartResponse},
	"gen_ai.output.messages":     {"assistant", schema.PartResponse},
	"gen_ai.completion":          {"assistant", schema.PartResponse},
	"system_prompt":              {"system", schema.PartSystem},
	"gen_ai.system_instructions": {"system", schema.PartSystem},
	"gen_ai.tool.definitions":    {"system", schema.PartOther},
	"tool_input":                 {"tool", schema.PartToolInput},
	"arguments":                  {"tool", schema.PartToolInput},
	"function_args":              {"tool", schema.PartToolInput},
	"gen_ai.tool.call.arguments": {"tool", schema.PartToolInput},
	"tool_output":                {"tool", schema.PartToolOutput},
	"tool_result":                {"tool", schema.PartToolOutput},
	"output":                     {"tool", schema.PartToolOutput},
	"content":                    {"tool", schema.PartToolOutput},
	"gen_ai.tool.call.result":    {"tool", schema.PartToolOutput},
}

// resourceShapes: resource attributes that carry content (Gemini CLI puts
// the `-p` prompt into process.command_args).
var resourceShapes = map[string]sourceShape{
	"process.command_args": {"user", schema.PartPrompt},
	"process.command_line": {"user", schema.PartPrompt},
}

// IsContentAttribute reports whether a record (or data point) attribute
// of this name carries prompt-like content in one of the sources genai
// knows. A relay that forwards metrics, which have no record to hold a
// sealed reference, drops such attributes instead.
func IsContentAttribute(key string) bool { _, ok := sourceShapes[key]; return ok }

// IsContentResourceAttribute is IsContentAttribute for resource
// attributes (Gemini CLI's process.command_args holds its `-p` prompt, on
// its metrics too).
func IsContentResourceAttribute(key string) bool { _, ok := resourceShapes[key]; return ok }
