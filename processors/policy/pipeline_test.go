package policy

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/wardenhq/warden/collector/keyring/keyringtest"
	"github.com/wardenhq/warden/dlp"
	"github.com/wardenhq/warden/processors/promptcrypt"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
	"github.com/wardenhq/warden/vault/vaulttest"
)

// TestRedactedBeforeSealing runs policy -> promptcrypt (the pipeline order)
// and opens what promptcrypt sealed: the LOW record's block holds the
// placeholder, never the SSN; the HIGH record (review) is sealed intact for
// a reviewer with a grant.
func TestRedactedBeforeSealing(t *testing.T) {
	ctx := context.Background()
	host, store := keyringtest.New(t)
	sink := new(consumertest.LogsSink)
	pf := promptcrypt.NewFactory()
	pc, err := pf.CreateLogs(ctx, processortest.NewNopSettings(pf.Type()), pf.CreateDefaultConfig(), sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(ctx, host); err != nil {
		t.Fatal(err)
	}
	defer pc.Shutdown(ctx)
	cfg := createDefaultConfig().(*Config)
	cfg.ReloadInterval = 0
	set, _, _ := settings(t)
	pp, err := NewFactory().CreateLogs(ctx, set, cfg, pc)
	if err != nil {
		t.Fatal(err)
	}
	pp.Start(ctx, host)
	defer pp.Shutdown(ctx)

	if err := pp.ConsumeLogs(ctx, logsOf(rec{class: "LOW", text: promptText}, rec{class: "HIGH", text: "again " + promptText})); err != nil {
		t.Fatal(err)
	}
	out := sink.AllLogs()[0]
	raw, _ := (&plog.ProtoMarshaler{}).MarshalLogs(out)
	if bytes.Contains(raw, []byte(canarySSN)) {
		t.Fatal("cleartext SSN left in the sealed output")
	}
	blocks := map[string]vault.SealedBlock{}
	keys := map[string]vault.WrappedKey{}
	lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	var refs [][]string
	for i := 0; i < lrs.Len(); i++ {
		a := lrs.At(i).Attributes()
		if v, ok := a.Get(schema.AttrSealedBlocks); ok {
			for j := 0; j < v.Slice().Len(); j++ {
				b := promptcrypt.BlockFromMap(v.Slice().At(j).Map())
				blocks[b.BlockID] = b
			}
		}
		if v, ok := a.Get(schema.AttrWrappedKeys); ok {
			for j := 0; j < v.Slice().Len(); j++ {
				k := promptcrypt.WrappedKeyFromMap(v.Slice().At(j).Map())
				keys[k.KeyID] = k
			}
		}
		var r []string
		if v, ok := a.Get(schema.Attr("prompt_ref")); ok {
			for j := 0; j < v.Slice().Len(); j++ {
				r = append(r, v.Slice().At(j).Str())
			}
		}
		refs = append(refs, r)
	}
	open := func(id string) string {
		b, ok := blocks[id]
		if !ok {
			t.Fatalf("block %s not emitted", id)
		}
		k := keys[b.KeyID]
		priv, err := vaulttest.PrivateKey(store.Dir(), k.CustodyKeyID)
		if err != nil {
			t.Fatal(err)
		}
		m, err := vaulttest.Open(priv, k, b)
		if err != nil {
			t.Fatal(err)
		}
		return m.Text
	}
	if len(refs) != 2 || len(refs[0]) != 1 || len(refs[1]) != 1 {
		t.Fatalf("prompt refs %v", refs)
	}
	low := open(refs[0][0])
	if strings.Contains(low, canarySSN) || !strings.Contains(low, dlp.Placeholder("us_ssn", 1)) {
		t.Fatalf("LOW record sealed %q", low)
	}
	if high := open(refs[1][0]); high != "again "+promptText {
		t.Fatalf("HIGH (review) record sealed %q", high)
	}
	if d, _ := lrs.At(0).Attributes().Get(schema.Attr("decision")); d.Str() != "redact" {
		t.Fatalf("decision %q", d.Str())
	}
}
