package schema

import (
	"math"
	"strings"
	"testing"
	"time"
)

func mustDefault(t testing.TB) *PriceTable {
	t.Helper()
	p, err := DefaultPrices()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var callTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// Claude Code reports input 100, cache read 50, cache creation 10: stored as
// input 160 and priced with each part once.
func TestAnthropicNoDoubleCounting(t *testing.T) {
	p := mustDefault(t)
	tok := AnthropicTokens(100, 20, 50, 10, 0)
	if tok.Input != 160 || tok.CacheRead != 50 || tok.CacheWrite() != 10 {
		t.Fatalf("canonical tokens = %+v", tok)
	}
	got, ok := p.Cost(ProviderAnthropic, "claude-sonnet-4", callTime, tok)
	want := (100*3.0 + 50*0.30 + 10*3.75 + 20*15.0) / 1e6
	if !ok || !near(got, want) {
		t.Fatalf("cost = %v,%v want %v", got, ok, want)
	}
	// 1-hour cache writes have their own price.
	tok = AnthropicTokens(100, 20, 50, 10, 4)
	got, _ = p.Cost(ProviderAnthropic, "claude-sonnet-4", callTime, tok)
	want = (100*3.0 + 50*0.30 + 10*3.75 + 4*6.0 + 20*15.0) / 1e6
	if !near(got, want) {
		t.Fatalf("1h cost = %v want %v", got, want)
	}
}

// OpenAI's cached_tokens are a subset of input_tokens.
func TestOpenAINoDoubleCounting(t *testing.T) {
	p := mustDefault(t)
	tok := OpenAITokens(150, 50, 0, 20, 5)
	if tok.Input != 150 || tok.CacheRead != 50 || tok.Output != 20 || tok.Reasoning != 5 {
		t.Fatalf("canonical tokens = %+v", tok)
	}
	got, ok := p.Cost(ProviderOpenAI, "gpt-4o", callTime, tok)
	want := (100*2.5 + 50*1.25 + 20*10.0) / 1e6
	if !ok || !near(got, want) {
		t.Fatalf("cost = %v,%v want %v", got, ok, want)
	}
}

// Gemini's cachedContentTokenCount is a subset of promptTokenCount; thoughts
// are billed as output.
func TestGeminiNoDoubleCounting(t *testing.T) {
	p := mustDefault(t)
	tok := GeminiTokens(150, 50, 20, 5)
	if tok.Input != 150 || tok.CacheRead != 50 || tok.Output != 25 || tok.Reasoning != 5 {
		t.Fatalf("canonical tokens = %+v", tok)
	}
	got, ok := p.Cost(ProviderGemini, "gemini-2.5-pro", callTime, tok)
	want := (100*1.25 + 50*0.31 + 25*10.0) / 1e6
	if !ok || !near(got, want) {
		t.Fatalf("cost = %v,%v want %v", got, ok, want)
	}
}

func TestLongContextTier(t *testing.T) {
	p := mustDefault(t)
	at := GeminiTokens(200000, 0, 10, 0)
	over := GeminiTokens(200001, 1, 10, 0)
	got, _ := p.Cost(ProviderGemini, "gemini-2.5-pro", callTime, at)
	if want := (200000*1.25 + 10*10.0) / 1e6; !near(got, want) {
		t.Errorf("at threshold = %v want %v", got, want)
	}
	got, _ = p.Cost(ProviderGemini, "gemini-2.5-pro", callTime, over)
	if want := (200000*2.5 + 1*0.625 + 10*15.0) / 1e6; !near(got, want) {
		t.Errorf("over threshold = %v want %v", got, want)
	}
}

func TestEffectiveFromRepricesOnlyLaterCalls(t *testing.T) {
	p, err := ParsePrices("t.yaml", []byte(`
version: 1
models:
  - provider: openai
    model: m
    prices:
      - {effective_from: 2026-01-01, input: 1, output: 2}
      - {effective_from: "2026-06-01T12:00:00Z", input: 10, output: 20}
`))
	if err != nil {
		t.Fatal(err)
	}
	tok := Tokens{Input: 1e6, Output: 1e6}
	cases := []struct {
		at   time.Time
		want float64
		ok   bool
	}{
		{time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), 0, false},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 3, true},
		{time.Date(2026, 6, 1, 11, 59, 59, 0, time.UTC), 3, true},
		{time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), 30, true},
	}
	for _, c := range cases {
		got, ok := p.Cost(ProviderOpenAI, "m", c.at.UnixNano(), tok)
		if ok != c.ok || !near(got, c.want) {
			t.Errorf("at %v: %v,%v want %v,%v", c.at, got, ok, c.want, c.ok)
		}
	}
}

func TestUnknownModelIsUnpriced(t *testing.T) {
	p := mustDefault(t)
	if _, ok := p.Cost(ProviderAnthropic, "claude-nonexistent", callTime, Tokens{Input: 1}); ok {
		t.Error("unknown model priced")
	}
	if _, ok := p.Cost(ProviderOpenAI, "claude-sonnet-4", callTime, Tokens{Input: 1}); ok {
		t.Error("model priced under the wrong provider")
	}
	var nilTable *PriceTable
	if _, ok := nilTable.Cost(ProviderOpenAI, "gpt-4o", callTime, Tokens{}); ok {
		t.Error("nil table priced")
	}
}

func TestAgentModelsAndBenchModelsArePriced(t *testing.T) {
	p := mustDefault(t)
	for _, k := range [][2]string{{ProviderAnthropic, "claude-opus-5-5"}, {ProviderOpenAI, "gpt-6.1-sol"},
		{ProviderGemini, "gemini-3.5-flash-lite"}, {ProviderGemini, "gemini-3.8-flash"},
		{ProviderAnthropic, "claude-sonnet-4"}, {ProviderOpenAI, "gpt-4o"}, {ProviderGemini, "gemini-2.5-pro"}} {
		if _, ok := p.Cost(k[0], k[1], callTime, Tokens{Input: 1}); !ok {
			t.Errorf("%s/%s not priced", k[0], k[1])
		}
	}
	// Bench list prices as stated in the issue.
	for _, c := range []struct {
		p, m    string
		in, out float64
	}{{ProviderAnthropic, "claude-sonnet-4", 3, 15}, {ProviderOpenAI, "gpt-4o", 2.5, 10}, {ProviderGemini, "gemini-2.5-pro", 1.25, 10}} {
		got, _ := p.Cost(c.p, c.m, callTime, Tokens{Input: 1e5, Output: 1e5})
		if !near(got, (c.in+c.out)/10) {
			t.Errorf("%s: 100k in + 100k out = %v want %v", c.m, got, (c.in+c.out)/10)
		}
	}
}

func TestPriceValidationErrorsNameFileModelField(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"version: 2\nmodels: []", "bad.yaml: version"},
		{"version: 1\nmodels: []", "bad.yaml: models"},
		{"version: 1\nmodels:\n - {provider: openai, model: m, prices: [{effective_from: 2026-01-01, output: 1}]}", "model openai/m: prices[0]: input: required"},
		{"version: 1\nmodels:\n - {provider: openai, model: m, prices: [{effective_from: 2026-01-01, input: -1, output: 1}]}", "model openai/m: prices[0]: input: must be"},
		{"version: 1\nmodels:\n - {provider: openai, model: m, prices: [{effective_from: yesterday, input: 1, output: 1}]}", "model openai/m: prices[0]: effective_from"},
		{"version: 1\nmodels:\n - {provider: openai, model: m, prices: [{effective_from: 2026-01-01, input: 1, output: 1, cache_reed: 1}]}", "cache_reed"},
		{"version: 1\nmodels:\n - {provider: openai, model: m, prices: [{effective_from: 2026-02-01, input: 1, output: 1}, {effective_from: 2026-01-01, input: 1, output: 1}]}", "prices[1]: effective_from: 2026-01-01 is not after"},
		{"version: 1\nmodels:\n - {provider: openai, model: m, prices: [{effective_from: 2026-01-01, input: 1, output: 1}]}\n - {provider: openai, model: n, aliases: [m], prices: [{effective_from: 2026-01-01, input: 1, output: 1}]}", `model openai/n: name "m" is listed twice`},
		{"version: 1\nmodels:\n - {provider: openai, model: m, prices: [{effective_from: 2026-01-01, input: 1, output: 1, long_context: {input: 2}}]}", "long_context.threshold: required"},
		{"version: 1\nmodels:\n - {model: m, prices: []}", "models[0]: provider and model are required"},
	}
	for _, c := range cases {
		_, err := ParsePrices("bad.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.yaml, err, c.want)
		}
	}
	if _, err := LoadPrices("/nonexistent/prices.yaml"); err == nil || !strings.Contains(err.Error(), "/nonexistent/prices.yaml") {
		t.Errorf("missing file error = %v", err)
	}
}

func TestCostDoesNotAllocate(t *testing.T) {
	p := mustDefault(t)
	tok := AnthropicTokens(100, 20, 50, 10, 0)
	model := strings.Clone("claude-sonnet-4")
	if n := testing.AllocsPerRun(1000, func() { p.Cost(ProviderAnthropic, model, callTime, tok) }); n != 0 {
		t.Errorf("Cost allocates %v times per call", n)
	}
}

func BenchmarkCost(b *testing.B) {
	p := mustDefault(b)
	tok := AnthropicTokens(100, 20, 50, 10, 0)
	b.ReportAllocs()
	for b.Loop() {
		p.Cost(ProviderAnthropic, "claude-sonnet-4", callTime, tok)
	}
}
