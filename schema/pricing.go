package schema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Providers, as used in the `provider` column and the price table.
const (
	ProviderAnthropic = "anthropic"
	ProviderOpenAI    = "openai"
	ProviderGemini    = "gemini"
)

// Tokens are the canonical token counts of one model call (OpenTelemetry
// GenAI conventions): Input counts all input tokens, cached ones included;
// CacheRead, CacheWrite5m and CacheWrite1h are parts of Input. Output counts
// all generated tokens, reasoning included; Reasoning is part of Output.
type Tokens struct {
	Input, Output, CacheRead, CacheWrite5m, CacheWrite1h, Reasoning uint64
}

// CacheWrite is all cache-write tokens.
func (t Tokens) CacheWrite() uint64 { return t.CacheWrite5m + t.CacheWrite1h }

// Each provider reports usage with its own semantics; these constructors are
// the one place that turns a provider's report into canonical Tokens.

// AnthropicTokens: Anthropic reports input_tokens apart from
// cache_read_input_tokens and cache_creation_input_tokens (the 5-minute and
// 1-hour parts of cache creation given separately), so canonical input is
// their sum.
func AnthropicTokens(input, output, cacheRead, cacheWrite5m, cacheWrite1h uint64) Tokens {
	return Tokens{Input: input + cacheRead + cacheWrite5m + cacheWrite1h, Output: output,
		CacheRead: cacheRead, CacheWrite5m: cacheWrite5m, CacheWrite1h: cacheWrite1h}
}

// OpenAITokens: input_tokens already include cached_tokens (a subset), and
// output_tokens include reasoning_tokens. Codex also reports cache-write
// tokens, likewise a subset of input.
func OpenAITokens(input, cached, cacheWrite, output, reasoning uint64) Tokens {
	return Tokens{Input: max(input, cached+cacheWrite), Output: max(output, reasoning),
		CacheRead: cached, CacheWrite5m: cacheWrite, Reasoning: reasoning}
}

// GeminiTokens: promptTokenCount includes cachedContentTokenCount (a subset);
// thoughtsTokenCount is reported apart from candidatesTokenCount and billed
// as output, so canonical output is their sum.
func GeminiTokens(prompt, cached, candidates, thoughts uint64) Tokens {
	return Tokens{Input: max(prompt, cached), Output: candidates + thoughts, CacheRead: cached, Reasoning: thoughts}
}

// rate is a price period resolved to USD per token.
type rate struct {
	input, output, cacheRead, cacheWrite5m, cacheWrite1h float64
}

type period struct {
	from      int64 // unix nanoseconds
	base      rate
	threshold uint64 // long-context threshold on canonical input; 0 = none
	long      rate
}

type modelKey struct{ provider, model string }

// PriceTable prices model calls. It is immutable after loading and safe for
// concurrent use; Cost does one map lookup and no allocation.
type PriceTable struct {
	byModel map[modelKey][]period // periods sorted by from
	name    string
}

//go:embed prices.yaml
var defaultPricesYAML []byte

// DefaultPrices parses the price table shipped with Warden (schema/prices.yaml).
func DefaultPrices() (*PriceTable, error) {
	return ParsePrices("schema/prices.yaml", defaultPricesYAML)
}

// LoadPrices reads and validates a price table file.
func LoadPrices(path string) (*PriceTable, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("price table: %w", err)
	}
	return ParsePrices(path, b)
}

// Name is the file the table came from.
func (t *PriceTable) Name() string { return t.name }

// Len is the number of priced model names (aliases included).
func (t *PriceTable) Len() int { return len(t.byModel) }

type yamlLong struct {
	Threshold    *uint64  `yaml:"threshold"`
	Input        *float64 `yaml:"input"`
	Output       *float64 `yaml:"output"`
	CacheRead    *float64 `yaml:"cache_read"`
	CacheWrite5m *float64 `yaml:"cache_write_5m"`
	CacheWrite1h *float64 `yaml:"cache_write_1h"`
}

type yamlPeriod struct {
	EffectiveFrom string    `yaml:"effective_from"`
	Input         *float64  `yaml:"input"`
	Output        *float64  `yaml:"output"`
	CacheRead     *float64  `yaml:"cache_read"`
	CacheWrite5m  *float64  `yaml:"cache_write_5m"`
	CacheWrite1h  *float64  `yaml:"cache_write_1h"`
	LongContext   *yamlLong `yaml:"long_context"`
}

type yamlModel struct {
	Provider string       `yaml:"provider"`
	Model    string       `yaml:"model"`
	Aliases  []string     `yaml:"aliases"`
	Prices   []yamlPeriod `yaml:"prices"`
}

type yamlTable struct {
	Version int         `yaml:"version"`
	Models  []yamlModel `yaml:"models"`
}

// ParsePrices parses and validates a price table. Errors name the file, the
// model and the field.
func ParsePrices(name string, data []byte) (*PriceTable, error) {
	var y yamlTable
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&y); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if y.Version != 1 {
		return nil, fmt.Errorf("%s: version: must be 1, got %d", name, y.Version)
	}
	if len(y.Models) == 0 {
		return nil, fmt.Errorf("%s: models: no models", name)
	}
	t := &PriceTable{byModel: map[modelKey][]period{}, name: name}
	var errs []error
	for i, m := range y.Models {
		where := fmt.Sprintf("%s: models[%d]", name, i)
		if m.Provider == "" || m.Model == "" {
			errs = append(errs, fmt.Errorf("%s: provider and model are required", where))
			continue
		}
		where = fmt.Sprintf("%s: model %s/%s", name, m.Provider, m.Model)
		ps, err := parsePeriods(where, m.Prices)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, n := range append([]string{m.Model}, m.Aliases...) {
			k := modelKey{m.Provider, n}
			if n == "" {
				errs = append(errs, fmt.Errorf("%s: aliases: empty name", where))
				continue
			}
			if _, dup := t.byModel[k]; dup {
				errs = append(errs, fmt.Errorf("%s: name %q is listed twice for provider %s", where, n, m.Provider))
				continue
			}
			t.byModel[k] = ps
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

func parsePeriods(where string, ys []yamlPeriod) ([]period, error) {
	if len(ys) == 0 {
		return nil, fmt.Errorf("%s: prices: at least one period is required", where)
	}
	var errs []error
	out := make([]period, 0, len(ys))
	for j, y := range ys {
		w := fmt.Sprintf("%s: prices[%d]", where, j)
		from, err := parseFrom(y.EffectiveFrom)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: effective_from: %w", w, err))
			continue
		}
		p := period{from: from.UnixNano()}
		check := func(field string, v *float64, required bool, def float64) float64 {
			if v == nil {
				if required {
					errs = append(errs, fmt.Errorf("%s: %s: required", w, field))
				}
				return def
			}
			if math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0 || *v > 1e6 {
				errs = append(errs, fmt.Errorf("%s: %s: must be a price in USD per million tokens between 0 and 1e6, got %v", w, field, *v))
				return def
			}
			return *v / 1e6
		}
		p.base.input = check("input", y.Input, true, 0)
		p.base.output = check("output", y.Output, true, 0)
		p.base.cacheRead = check("cache_read", y.CacheRead, false, p.base.input)
		p.base.cacheWrite5m = check("cache_write_5m", y.CacheWrite5m, false, p.base.input)
		p.base.cacheWrite1h = check("cache_write_1h", y.CacheWrite1h, false, p.base.cacheWrite5m)
		if l := y.LongContext; l != nil {
			if l.Threshold == nil || *l.Threshold == 0 {
				errs = append(errs, fmt.Errorf("%s: long_context.threshold: required, a positive number of input tokens", w))
			} else {
				p.threshold = *l.Threshold
			}
			p.long.input = check("long_context.input", l.Input, false, p.base.input)
			p.long.output = check("long_context.output", l.Output, false, p.base.output)
			p.long.cacheRead = check("long_context.cache_read", l.CacheRead, false, p.base.cacheRead)
			p.long.cacheWrite5m = check("long_context.cache_write_5m", l.CacheWrite5m, false, p.base.cacheWrite5m)
			p.long.cacheWrite1h = check("long_context.cache_write_1h", l.CacheWrite1h, false, p.base.cacheWrite1h)
		}
		if len(out) > 0 && p.from <= out[len(out)-1].from {
			errs = append(errs, fmt.Errorf("%s: effective_from: %s is not after the previous period's", w, y.EffectiveFrom))
		}
		out = append(out, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(out, func(a, b int) bool { return out[a].from < out[b].from })
	return out, nil
}

func parseFrom(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("required (a date such as 2025-05-22 or an RFC 3339 time)")
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2025-05-22) nor an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// Has reports whether the table prices a model at any time.
func (t *PriceTable) Has(provider, model string) bool {
	_, ok := t.byModel[modelKey{provider, model}]
	return ok
}

// Cost prices one call made at `at` (unix nanoseconds) with canonical token
// counts. ok is false when the model is not in the table or the call predates
// its first price period: the caller records the call as unpriced, never as
// a zero cost.
func (t *PriceTable) Cost(provider, model string, at int64, tok Tokens) (usd float64, ok bool) {
	if t == nil {
		return 0, false
	}
	ps, found := t.byModel[modelKey{provider, model}]
	if !found {
		return 0, false
	}
	i := len(ps) - 1
	for i >= 0 && ps[i].from > at {
		i--
	}
	if i < 0 {
		return 0, false
	}
	p := &ps[i]
	r := &p.base
	if p.threshold > 0 && tok.Input > p.threshold {
		r = &p.long
	}
	// Cached parts are priced at their own rates and taken out of input, so
	// no token is counted twice; a malformed report whose cached parts
	// exceed input prices no uncached input rather than a negative amount.
	cached := tok.CacheRead + tok.CacheWrite5m + tok.CacheWrite1h
	var uncached uint64
	if tok.Input > cached {
		uncached = tok.Input - cached
	}
	usd = float64(uncached)*r.input + float64(tok.Output)*r.output +
		float64(tok.CacheRead)*r.cacheRead + float64(tok.CacheWrite5m)*r.cacheWrite5m +
		float64(tok.CacheWrite1h)*r.cacheWrite1h
	return usd, true
}
