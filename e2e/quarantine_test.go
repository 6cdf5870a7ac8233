package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/wardenhq/warden/schema"
)

// TestInvalidTenantIsQuarantined: through the real binary and the full
// privacy pipeline (genai, fieldhash, policy, promptcrypt, lakehouse), a
// request whose records name a good tenant and a tenant that can never
// have keys is accepted whole: the good record lands under its tenant, the
// other under the quarantine tenant, pseudonymized and sealed there, with
// the bad value kept only as a pseudonym.
func TestInvalidTenantIsQuarantined(t *testing.T) {
	skipShort(t)
	keyDir, _ := initKeys(t)
	c := startPrivacyCollector(t, keyDir, false)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "claude-code")
	rl.Resource().Attributes().PutStr("warden.tenant", "acme")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i, tenant := range []string{"", "../../etc"} {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(time.Duration(i) * time.Millisecond)))
		lr.SetEventName("claude_code.user_prompt")
		a := lr.Attributes()
		a.PutStr("event.name", "user_prompt")
		a.PutStr("user.id", "uid-QUARANTINE-CANARY")
		a.PutStr("prompt", "QUARANTINE-PROMPT-CANARY please help")
		if tenant != "" {
			a.PutStr("warden.tenant", tenant)
		}
	}
	if st := c.PostLogs(t, ld); st != 200 {
		t.Fatalf("request with one unusable tenant refused: status %d", st)
	}
	var got string
	WaitFor(t, 60*time.Second, "both records stored", func() (bool, string) {
		got, _ = c.SQL("SELECT tenant, length(prompt_ref) > 0, startsWith(user_pseudonym, 'ps1:'), startsWith(attributes['" + schema.AttrInvalidTenant + "'], 'ps1:') FROM events ORDER BY tenant")
		return strings.Count(got, "\n") == 1, got
	})
	want := "acme\t1\t1\t0\n" + schema.InvalidTenant + "\t1\t1\t1"
	if got != want {
		t.Fatalf("rows:\n%s\nwant\n%s", got, want)
	}
	c.Stop()
	filepath.Walk(c.DataDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("QUARANTINE-")) || bytes.Contains(b, []byte("../../etc")) {
			t.Errorf("cleartext or the raw bad tenant found in %s", p)
		}
		return nil
	})
}
