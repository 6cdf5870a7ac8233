package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/wardenhq/warden/vault"
	"github.com/wardenhq/warden/vault/vaulttest"
)

// Canaries: one per sensitive field kind. Each must be absent from every
// byte the system writes; the e-mail's domain is kept on purpose
// (fieldhash keep_domain), so only its local part is a canary.
var canaries = map[string]string{
	"user id":     "uid-CANARY-3f9a71",
	"email":       "zq7canaryuser",
	"device id":   "dev-CANARY-77b1c0",
	"file path":   "CANARYPATH-5d2e",
	"prompt":      "CANARY-PROMPT-a81f refactor the ledger",
	"response":    "CANARY-RESPONSE-0c3d here is the diff",
	"tool output": "CANARY-TOOLOUT-44af total 0 drwx",
	"secret":      "AKIACANARY7SECRET0QX",
}

// privacyCollectorBin: a collector with genai, fieldhash, promptcrypt, the
// keyring and the lakehouse exporter: $WARDEN_E2E_COLLECTOR, bin/otelcol-warden
// when it has them, else otelcol-warden built from the tree.
// control is sent in clear on purpose (a plain attribute): with no codecs
// it must be found in the lake and in the ClickHouse data directory, which
// proves the scan would see a leaked canary.
const control = "CONTROL-VISIBLE-9e1b"

var keyringDirRE = regexp.MustCompile(`(?m)^(  keyring:\n(?:    .*\n)*?    directory: ).*$`)

func privacyCollectorBin(t *testing.T) string {
	if p := os.Getenv("WARDEN_E2E_COLLECTOR"); p != "" {
		return p
	}
	has := func(bin string) bool {
		out, err := exec.Command(bin, "components").Output()
		s := string(out)
		return err == nil && hasLakehouseExporter(s) && strings.Contains(s, "name: fieldhash") && strings.Contains(s, "name: promptcrypt") && strings.Contains(s, "name: keyring")
	}
	if w := filepath.Join(Root(), "bin", "otelcol-warden"); has(w) {
		return w
	}
	bin := filepath.Join(t.TempDir(), "otelcol-warden")
	cmd := exec.Command("go", "build", "-o", bin, "./collector/cmd/otelcol-warden")
	cmd.Dir = Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build otelcol-warden: %v\n%s", err, out)
	}
	if !has(bin) {
		t.Fatal("otelcol-warden lacks fieldhash/promptcrypt/keyring/lakehouse")
	}
	return bin
}

// privacyConfig derives the embedded config with the privacy processors
// and the keyring; noCodecs stores ClickHouse columns with CODEC(NONE) and
// Parquet uncompressed, so compression cannot hide a canary.
func privacyConfig(t *testing.T, keyDir string, noCodecs bool) string {
	b, err := os.ReadFile(filepath.Join(Root(), "collector", "config", "embedded.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	rep := func(old, new string, n int) {
		t.Helper()
		if c := strings.Count(s, old); c < n || n == 0 {
			t.Fatalf("embedded.yaml changed: %q found %d times, want %d", old, c, n)
		}
		s = strings.Replace(s, old, new, n)
	}
	rep("roll_interval: 60s", "roll_interval: 1s", 1)
	m := keyringDirRE.FindStringIndex(s)
	if m == nil {
		t.Fatal("embedded.yaml has no keyring directory to point at this test's keys")
	}
	// embedded.yaml already wires the keyring and the processors: only
	// point the keyring at this test's key directory.
	s = s[:m[0]] + keyringDirRE.ReplaceAllString(s[m[0]:m[1]], "${1}"+keyDir) + s[m[1]:]
	if !strings.Contains(s, "promptcrypt") || !strings.Contains(s, "fieldhash") {
		t.Fatal("embedded.yaml has a keyring but not fieldhash and promptcrypt")
	}
	if noCodecs {
		rep("  lakehouse:\n    data_dir:", "  lakehouse:\n    no_codecs: true\n    data_dir:", 1)
	}
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// initKeys makes a key directory with tenant keys and a custody key pair;
// it returns the directory and the custody key id.
func initKeys(t *testing.T) (dir, custodyID string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "keys")
	ks, err := vault.InitDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if custodyID, _, err = ks.InitCustody(); err != nil {
		t.Fatal(err)
	}
	return dir, custodyID
}

// startPrivacyCollector starts the privacy-pipeline collector
// (privacyConfig) with the keys in keyDir, killed when the test ends.
func startPrivacyCollector(t *testing.T, keyDir string, noCodecs bool) *Collector {
	t.Helper()
	c := &Collector{t: t, Bin: privacyCollectorBin(t), Config: privacyConfig(t, keyDir, noCodecs), DataDir: t.TempDir(),
		GRPC: FreePort(t), HTTP: FreePort(t), SQLAddr: FreePort(t)}
	c.Env = []string{"WARDEN_CHDB_LIB=" + ChDBLib(t)}
	t.Cleanup(c.Kill)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

type canaryLakeEvent struct {
	EventID         [16]byte          `parquet:"event_id"`
	Tenant          string            `parquet:"tenant"`
	EventName       string            `parquet:"event_name"`
	UserPseudonym   string            `parquet:"user_pseudonym"`
	DevicePseudonym string            `parquet:"device_pseudonym"`
	PathPseudonym   string            `parquet:"path_pseudonym"`
	PromptRef       []string          `parquet:"prompt_ref,list"`
	Attributes      map[string]string `parquet:"attributes"`
}

func TestCanaryNeverReachesDisk(t *testing.T) {
	skipShort(t)
	for _, noCodecs := range []bool{false, true} {
		t.Run(fmt.Sprintf("no_codecs=%v", noCodecs), func(t *testing.T) { canaryRun(t, noCodecs) })
	}
}

func canaryRun(t *testing.T, noCodecs bool) {
	// Keys: the collector's directory holds the tenant keys and the custody
	// PUBLIC key only; the private key goes to a separate custody directory.
	keyDir, cid := initKeys(t)
	custodyDir := filepath.Join(t.TempDir(), "custody")
	os.MkdirAll(filepath.Join(custodyDir, "custody"), 0o700)
	if err := os.Rename(vault.CustodyPrivateKeyPath(keyDir, cid), vault.CustodyPrivateKeyPath(custodyDir, cid)); err != nil {
		t.Fatal(err)
	}
	c := startPrivacyCollector(t, keyDir, noCodecs)

	ctx := context.Background()
	tenant := "canary"
	exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(c.HTTP), otlploghttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res(tenant, "claude-code")), sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	l := lp.Logger("canary")
	now := time.Now().UTC()
	email := canaries["email"] + "@example.com"
	who := []attribute.KeyValue{attribute.String("user.id", canaries["user id"]), attribute.String("user.email", email),
		attribute.String("device.id", canaries["device id"]), attribute.String("session.id", "canary-session")}
	path := "/home/" + canaries["email"] + "/" + canaries["file path"] + "/notes.txt"
	prompt := canaries["prompt"] + " with key " + canaries["secret"]
	emit(l, now, "claude_code.user_prompt", append(who, attribute.String("event.name", "user_prompt"), attribute.String("prompt", prompt), attribute.Int("prompt_length", len(prompt)))...)
	emit(l, now.Add(time.Millisecond), "claude_code.assistant_response", append(who, attribute.String("event.name", "assistant_response"), attribute.String("response", canaries["response"]))...)
	emit(l, now.Add(2*time.Millisecond), "claude_code.tool_result", append(who, attribute.String("event.name", "tool_result"), attribute.String("tool_name", "Read"),
		attribute.String("tool_input", `{"file_path":"`+path+`"}`), attribute.String("tool_output", canaries["tool output"]))...)
	emit(l, now.Add(3*time.Millisecond), "", attribute.String("event.name", "warden.file_access"), attribute.String("warden.kind", "file_access"),
		attribute.String("warden.source", "warden_endpoint"), attribute.String("warden.user_pseudonym", email), // genai's choice for the agent records (user.email first)
		attribute.String("warden.device_pseudonym", canaries["device id"]), attribute.String("warden.path_pseudonym", path), attribute.String("warden.access_mode", "read"), attribute.String("note", control))
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// Both stores have the four events and the side tables the blocks.
	WaitFor(t, 90*time.Second, "events, blocks and keys in ClickHouse and the lake", func() (bool, string) {
		ev, err1 := c.SQL("SELECT count() FROM events WHERE tenant = 'canary'")
		bl, err2 := c.SQL("SELECT count() FROM prompt_blocks FINAL WHERE tenant = 'canary'")
		ky, err3 := c.SQL("SELECT count() FROM prompt_keys WHERE tenant = 'canary'")
		lake, _ := readCanaryLake(c.DataDir)
		s := fmt.Sprintf("events=%s blocks=%s keys=%s lake=%d errs=%v %v %v", ev, bl, ky, len(lake), err1, err2, err3)
		nb, _ := strconv.Atoi(bl)
		nk, _ := strconv.Atoi(ky)
		return ev == "4" && nb >= 4 && nk >= 1 && len(lake) == 4, s
	})

	// Test-only open of every referenced block returns the exact text.
	blocks := map[string]vault.SealedBlock{}
	for _, line := range strings.Split(c.MustSQL("SELECT block_id, day, key_id, hex(nonce), hex(ciphertext), length FROM prompt_blocks FINAL WHERE tenant = 'canary'"), "\n") {
		f := strings.Split(line, "\t")
		nonce, _ := hex.DecodeString(f[3])
		ct, _ := hex.DecodeString(f[4])
		n, _ := strconv.Atoi(f[5])
		blocks[f[0]] = vault.SealedBlock{Tenant: tenant, BlockID: f[0], Day: f[1], KeyID: f[2], Nonce: nonce, Ciphertext: ct, Length: uint32(n)}
	}
	keys := map[string]vault.WrappedKey{}
	for _, line := range strings.Split(c.MustSQL("SELECT key_id, day, kem, custody_key_id, hex(wrapped_key) FROM prompt_keys FINAL WHERE tenant = 'canary'"), "\n") {
		f := strings.Split(line, "\t")
		w, _ := hex.DecodeString(f[4])
		keys[f[0]] = vault.WrappedKey{Tenant: tenant, Day: f[1], KeyID: f[0], KEM: f[2], CustodyKeyID: f[3], Wrapped: w}
	}
	priv, err := vaulttest.PrivateKey(custodyDir, cid)
	if err != nil {
		t.Fatal(err)
	}
	opened := map[string]bool{}
	chRefs := map[string]string{}
	for _, line := range strings.Split(c.MustSQL("SELECT event_name, arrayStringConcat(prompt_ref, ','), user_pseudonym, device_pseudonym, path_pseudonym FROM events WHERE tenant = 'canary' ORDER BY ts"), "\n") {
		f := strings.Split(line, "\t")
		chRefs[f[0]] = strings.Join(f[1:], "|")
		if f[1] == "" {
			continue
		}
		for _, id := range strings.Split(f[1], ",") {
			b, ok := blocks[id]
			if !ok {
				t.Fatalf("event %s references block %s that is not in prompt_blocks", f[0], id)
			}
			m, err := vaulttest.Open(priv, keys[b.KeyID], b)
			if err != nil {
				t.Fatalf("open %s: %v", id, err)
			}
			opened[m.Text] = true
		}
	}
	for _, want := range []string{prompt, canaries["response"], canaries["tool output"], `{"file_path":"` + path + `"}`} {
		if !opened[want] {
			t.Errorf("no block opened to %q (opened: %v)", want, opened)
		}
	}

	// Pseudonyms join between the lake and ClickHouse.
	lake, err := readCanaryLake(c.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]bool{}
	for _, e := range lake {
		ch, ok := chRefs[e.EventName]
		want := strings.Join([]string{strings.Join(e.PromptRef, ","), e.UserPseudonym, e.DevicePseudonym, e.PathPseudonym}, "|")
		if !ok || ch != want {
			t.Errorf("%s: ClickHouse %q, lake %q", e.EventName, ch, want)
		}
		if !vault.IsPseudonym(e.UserPseudonym) || !vault.IsPseudonym(e.DevicePseudonym) {
			t.Errorf("%s: identity not pseudonymized: %q %q", e.EventName, e.UserPseudonym, e.DevicePseudonym)
		}
		users[e.UserPseudonym] = true
	}
	if len(users) != 1 {
		t.Errorf("one user's events carry %d different pseudonyms: %v", len(users), users)
	}

	// Stop (everything flushed), then scan every byte written.
	c.Stop()
	var files, scanned int
	controlIn := map[string]bool{}
	err = filepath.WalkDir(c.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() { // directories, symlinks (their targets are walked too)
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		scanned += len(b)
		if bytes.Contains(b, []byte(control)) {
			rel, _ := filepath.Rel(c.DataDir, p)
			controlIn[strings.SplitN(rel, string(filepath.Separator), 2)[0]] = true
		}
		for kind, cn := range canaries {
			if bytes.Contains(b, []byte(cn)) || bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(cn))) {
				t.Errorf("canary %s (%q) found in %s", kind, cn, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for kind, cn := range canaries {
		if strings.Contains(strings.ToLower(c.out.String()), strings.ToLower(cn)) {
			t.Errorf("canary %s in the collector's stdout/stderr", kind)
		}
	}
	if files < 5 || scanned == 0 {
		t.Fatalf("scanned only %d files (%d bytes): nothing was written?", files, scanned)
	}
	if noCodecs && (!controlIn["lake"] || !controlIn["clickhouse"]) {
		t.Fatalf("the clear control value was not found in both stores (found in %v): the scan cannot be trusted", controlIn)
	}
	t.Logf("scanned %d files, %d bytes: no canary; clear control value found in %v", files, scanned, controlIn)
}

func readCanaryLake(dataDir string) ([]canaryLakeEvent, error) {
	files, err := filepath.Glob(filepath.Join(dataDir, "lake", "events", "tenant=canary", "date=*", "*.parquet"))
	if err != nil {
		return nil, err
	}
	var out []canaryLakeEvent
	for _, f := range files {
		rows, err := parquet.ReadFile[canaryLakeEvent](f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, rows...)
	}
	return out, nil
}
