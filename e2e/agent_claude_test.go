package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/internal/stubmodel"
)

// claudeVersion is the Claude Code release the fixtures and this test pin.
const claudeVersion = "2.1.330"

// claudeBin returns the native Claude Code binary: $WARDEN_CLAUDE_BIN, else
// the pinned npm package installed once into the user cache (npm 11 skips
// the wrapper package's postinstall, so the platform package's binary is
// run directly; see ../shared/AGENT-TELEMETRY.md).
func claudeBin(t *testing.T) string {
	if p := os.Getenv("WARDEN_CLAUDE_BIN"); p != "" {
		return p
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "warden", "agents", "claude-code-"+claudeVersion)
	bin := filepath.Join(dir, "node_modules", "@anthropic-ai", "claude-code-linux-x64", "claude")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not on PATH: cannot install @anthropic-ai/claude-code-linux-x64 (or set WARDEN_CLAUDE_BIN)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "--ignore-scripts",
		"@anthropic-ai/claude-code-linux-x64@"+claudeVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install Claude Code %s: %v\n%s", claudeVersion, err, out)
	}
	return bin
}

// A real Claude Code run against the stub Anthropic server (SSE, fixed
// usage) with its telemetry sent to a running collector: the events row of
// the call carries exactly the stub's token counts and Warden's priced cost,
// in ClickHouse and in the lake, and the prompt reaches no file.
func TestClaudeCodeRealAgentCost(t *testing.T) {
	skipShort(t)
	bin := claudeBin(t)
	usage := stubmodel.Usage{InputTokens: 1234, OutputTokens: 321, CacheReadTokens: 567, CacheWriteTokens: 89}
	stub, err := stubmodel.New(stubmodel.Options{Text: "Done.", Usage: &usage})
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()

	c := NewCollector(t, ConfigFile(t, "1s"))
	if err := c.Start(); err != nil {
		t.Fatalf("collector: %v\n%s", err, c.Log())
	}
	tenant := fmt.Sprintf("claude-e2e-%d", time.Now().UnixNano())
	canary := fmt.Sprintf("WARDEN-CANARY-%d please answer", time.Now().UnixNano())

	home, proj := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-p", canary, "--output-format", "json")
	cmd.Dir = proj
	cmd.Env = []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"ANTHROPIC_API_KEY=sk-ant-dummy", "ANTHROPIC_BASE_URL=" + stub.URL,
		"DISABLE_AUTOUPDATER=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"CLAUDE_CODE_ENABLE_TELEMETRY=1", "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1",
		"OTEL_METRICS_EXPORTER=otlp", "OTEL_LOGS_EXPORTER=otlp", "OTEL_TRACES_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT=http://" + c.HTTP,
		"OTEL_METRIC_EXPORT_INTERVAL=1000", "OTEL_LOGS_EXPORT_INTERVAL=1000", "OTEL_TRACES_EXPORT_INTERVAL=1000",
		"OTEL_LOG_USER_PROMPTS=1", "OTEL_LOG_ASSISTANT_RESPONSES=1",
		"OTEL_RESOURCE_ATTRIBUTES=warden.tenant=" + tenant,
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("claude: %v\n%s", err, out)
	}
	calls := stub.ModelCalls()
	if calls == 0 {
		t.Fatalf("Claude Code made no model call; output:\n%s", out)
	}

	// Expected per call, computed here from the stub's usage and the price
	// table's claude-opus-5-5 rates (4 / 20 / 0.40 / 5.00 $ per Mtok).
	wantInput := usage.InputTokens + usage.CacheReadTokens + usage.CacheWriteTokens
	wantCost := (float64(usage.InputTokens)*4 + float64(usage.CacheReadTokens)*0.40 +
		float64(usage.CacheWriteTokens)*5 + float64(usage.OutputTokens)*20) / 1e6

	t.Run("tokens_and_cost", func(t *testing.T) {
		q := fmt.Sprintf("SELECT provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, priced_cost_usd, reported_cost_usd, cost_source FROM events WHERE tenant = '%s' AND kind = 'model_call' ORDER BY ts", tenant)
		var rows []string
		WaitFor(t, 90*time.Second, "model_call rows in ClickHouse", func() (bool, string) {
			o, err := c.SQL(q)
			if err != nil {
				return false, err.Error()
			}
			rows = nil
			if o != "" {
				rows = strings.Split(o, "\n")
			}
			return len(rows) >= calls, o
		})
		if len(rows) != calls {
			t.Fatalf("%d model_call rows for %d model calls:\n%s", len(rows), calls, strings.Join(rows, "\n"))
		}
		for _, r := range rows {
			f := strings.Split(r, "\t")
			if len(f) != 10 {
				t.Fatalf("row %q", r)
			}
			if f[0] != "anthropic" || f[1] != "claude-opus-5-5" {
				t.Errorf("provider/model %s/%s", f[0], f[1])
			}
			want := []int64{wantInput, usage.OutputTokens, usage.CacheReadTokens, usage.CacheWriteTokens}
			for i, w := range want {
				if got, _ := strconv.ParseInt(f[2+i], 10, 64); got != w {
					t.Errorf("column %d = %s, want %d (row %q)", 2+i, f[2+i], w, r)
				}
			}
			cost, _ := strconv.ParseFloat(f[6], 64)
			priced, _ := strconv.ParseFloat(f[7], 64)
			reported, _ := strconv.ParseFloat(f[8], 64)
			if math.Abs(cost-wantCost) > 1e-12 || math.Abs(priced-wantCost) > 1e-12 || f[9] != "priced" {
				t.Errorf("cost %v priced %v (%s), want %v", cost, priced, f[9], wantCost)
			}
			if reported <= 0 {
				t.Errorf("Claude Code's own cost not kept: %v", reported)
			}
		}
		// The lake holds the same calls.
		WaitFor(t, 60*time.Second, "model_call rows in the lake", func() (bool, string) {
			evs, err := c.LakeEvents()
			if err != nil {
				return false, err.Error()
			}
			n, in := 0, uint64(0)
			var cost float64
			for _, e := range evs {
				if e.Tenant == tenant && e.Kind == "model_call" {
					n++
					in += e.InputTokens
					cost += e.CostUSD
				}
			}
			ok := n == calls && in == uint64(wantInput)*uint64(calls) && math.Abs(cost-wantCost*float64(calls)) < 1e-9
			return ok, fmt.Sprintf("%d rows, input %d, cost %v", n, in, cost)
		})
	})
	// Claude Code's user.id is the userID it keeps in ~/.claude.json:
	// genai resolves it as the user, fieldhash must pseudonymize it.
	var cfg struct {
		UserID string `json:"userID"`
	}
	if b, err := os.ReadFile(filepath.Join(home, ".claude.json")); err != nil || json.Unmarshal(b, &cfg) != nil || cfg.UserID == "" {
		t.Fatalf("no userID in Claude Code's ~/.claude.json: %v", err)
	}
	t.Run("user_pseudonymized", func(t *testing.T) {
		out := c.MustSQL(fmt.Sprintf("SELECT DISTINCT user_pseudonym FROM events WHERE tenant = '%s' AND kind = 'model_call'", tenant))
		if out == "" || strings.Contains(out, "\n") || out == cfg.UserID || strings.Contains(out, cfg.UserID) {
			t.Errorf("user_pseudonym = %q (raw user.id %s)", out, cfg.UserID)
		}
	})
	// Decoded, not only as bytes: the tables and the lake are compressed.
	// Claude Code sends the prompt three ways (user_prompt log, the
	// claude_code.interaction span's user_prompt, the API request).
	t.Run("prompt_not_in_tables", func(t *testing.T) {
		hits, err := c.TablesContaining(canary)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) > 0 {
			t.Errorf("the prompt is stored in clear in %v", hits)
		}
		// Control: the scan finds what is stored in clear (the session id).
		if ctl, err := c.TablesContaining(tenant); err != nil || len(ctl) == 0 {
			t.Fatalf("the table scan does not find the tenant %q: %v %v", tenant, ctl, err)
		}
		// The span's user_prompt is sealed into a prompt_ref like the log's.
		if n := c.MustSQL(fmt.Sprintf("SELECT count() FROM events WHERE tenant = '%s' AND kind = 'span' AND event_name = 'claude_code.interaction' AND length(prompt_ref) > 0", tenant)); n == "0" {
			t.Logf("no claude_code.interaction span with a sealed prompt stored (Claude Code exports its spans at exit, not always in time)")
		}
	})
	c.Stop()
	t.Run("prompt_not_in_lake", func(t *testing.T) {
		hits, err := c.LakeContaining(canary)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) > 0 {
			t.Errorf("the prompt is stored in clear in %v", hits)
		}
		if ctl, err := c.LakeContaining(tenant); err != nil || len(ctl) == 0 {
			t.Fatalf("the lake scan does not find the tenant %q: %v %v", tenant, ctl, err)
		}
	})
	// The prompt went through genai into warden.messages; without
	// promptcrypt sealing it before the exporter, the WAL would hold it
	// in clear. Nothing on disk may hold it.
	t.Run("prompt_and_user_id_not_on_disk", func(t *testing.T) {
		err := filepath.Walk(c.DataDir, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err == nil && bytes.Contains(b, []byte(canary)) {
				t.Errorf("prompt canary found on disk in %s (the pipeline in collector/config/embedded.yaml needs promptcrypt before the exporter)", p)
			}
			if err == nil && bytes.Contains(b, []byte(cfg.UserID)) {
				t.Errorf("raw Claude Code user.id found on disk in %s", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
