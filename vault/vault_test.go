package vault_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/vault"
	"github.com/wardenhq/warden/vault/vaulttest"
)

func key(v uint32, fill byte) vault.HMACKey {
	return vault.HMACKey{Version: v, Secret: bytes.Repeat([]byte{fill}, 32)}
}

func ps(t *testing.T, k vault.HMACKey) *vault.Pseudonymizer {
	t.Helper()
	p, err := vault.NewPseudonymizer(k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPseudonymDeterministicKeyedVersioned(t *testing.T) {
	a, a2, b, v2 := ps(t, key(1, 1)), ps(t, key(1, 1)), ps(t, key(1, 2)), ps(t, key(2, 5))
	x := a.Value("u-7f3a9c21")
	if x != a2.Value("u-7f3a9c21") {
		t.Fatal("same key and input gave different pseudonyms")
	}
	if !strings.HasPrefix(x, "ps1:v1:") || len(x) != len("ps1:v1:")+26 || !vault.IsPseudonym(x) {
		t.Fatalf("unexpected shape %q", x)
	}
	if x == b.Value("u-7f3a9c21") {
		t.Fatal("different tenant keys gave the same pseudonym")
	}
	if y := v2.Value("u-7f3a9c21"); !strings.HasPrefix(y, "ps1:v2:") || y[7:] == x[7:] {
		t.Fatalf("version not in pseudonym or digest reused: %q vs %q", y, x)
	}
	if a.Value("u-7f3a9c22") == x || strings.Contains(x, "7f3a9c21") {
		t.Fatal("pseudonym collides or leaks input")
	}
	for _, s := range []string{"ps1:v1:alice@example.com", "ps1:v1:" + strings.Repeat("A", 26), "ps1:vx:" + strings.Repeat("a", 26), "hello"} {
		if vault.IsPseudonym(s) {
			t.Errorf("IsPseudonym(%q) = true", s)
		}
	}
}

func TestPseudonymOptions(t *testing.T) {
	p := ps(t, key(3, 7))
	e := p.Email("Jane.Doe@Example.com", true)
	if !strings.HasSuffix(e, "@example.com") || strings.Contains(e, "jane") || e != p.Email(" jane.doe@example.com", true) {
		t.Fatalf("email keep-domain: %q", e)
	}
	if e2 := p.Email("jane.doe@example.com", false); strings.Contains(e2, "example") || !vault.IsPseudonym(e2) {
		t.Fatalf("email without domain: %q", e2)
	}
	p1 := p.Path("/home/jane/src/main.go", true)
	p2 := p.Path("/home/jane/src/util.go", true)
	if strings.Contains(p1, "jane") || !strings.HasSuffix(p1, ".go") || strings.Count(p1, "/") != 4 {
		t.Fatalf("path structure: %q", p1)
	}
	if p1[:strings.LastIndexByte(p1, '/')] != p2[:strings.LastIndexByte(p2, '/')] || p1 == p2 {
		t.Fatalf("sibling files should share directory pseudonyms: %q %q", p1, p2)
	}
	if w := p.Path(`C:\Users\jane\secret.docx`, true); strings.Contains(w, "jane") || !strings.HasSuffix(w, ".docx") || strings.Count(w, `\`) != 3 {
		t.Fatalf("windows path: %q", w)
	}
	if w := p.Path("/home/jane/.bashrc", true); strings.Contains(w, "bashrc") {
		t.Fatalf("dotfile name leaked as extension: %q", w)
	}
	ip := p.IP("10.1.2.3", true)
	if !strings.HasPrefix(ip, "ps1:v3:10.1.2.0/24:") || strings.Contains(ip, "10.1.2.3") || ip == p.IP("10.1.2.4", true) {
		t.Fatalf("ip keep prefix: %q", ip)
	}
	if ip := p.IP("10.1.2.3", false); strings.Contains(ip, "10.1") {
		t.Fatalf("ip: %q", ip)
	}
	if ip := p.IP("2001:db8:aa:bb::1", true); !strings.Contains(ip, "2001:db8:aa::/48") {
		t.Fatalf("ipv6: %q", ip)
	}
}

func newStore(t *testing.T) *vault.LocalStore {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	s, err := vault.InitDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.InitCustody(); err != nil {
		t.Fatal(err)
	}
	return s
}

func sealOne(t *testing.T, s *vault.LocalStore, tenant string, m vault.Message) (vault.SealedBlock, vault.WrappedKey) {
	t.Helper()
	c, err := s.CustodyPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	dk, wk, err := vault.NewDataKey(c, tenant, "2026-11-23", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pt := vault.EncodeMessage(m)
	p := ps(t, key(1, 9))
	return dk.Seal(p.BlockID(pt), pt, len(m.Text), time.Now()), wk
}

func TestSealOpenRoundTripAndTamper(t *testing.T) {
	s := newStore(t)
	m := vault.Message{Role: "user", Part: "prompt", Text: "canary-prompt-Zq81 ünïcode\n\x00bytes"}
	blk, wk := sealOne(t, s, "acme", m)
	if bytes.Contains(blk.Ciphertext, []byte("canary")) || bytes.Contains(wk.Wrapped, []byte("canary")) {
		t.Fatal("plaintext visible in sealed output")
	}
	priv, err := vaulttest.PrivateKey(s.Dir(), wk.CustodyKeyID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := vaulttest.Open(priv, wk, blk)
	if err != nil || got != m {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	// Flip every byte position of the ciphertext, the nonce and the wrapped
	// key in turn: each must fail with ErrOpen, never return plaintext.
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 0x01; return c }
	for i := range blk.Ciphertext {
		b2 := blk
		b2.Ciphertext = flip(blk.Ciphertext, i)
		if _, err := vaulttest.Open(priv, wk, b2); !errors.Is(err, vaulttest.ErrOpen) || !strings.Contains(err.Error(), "fails authentication") {
			t.Fatalf("ciphertext byte %d flipped: err=%v", i, err)
		}
	}
	for i := range blk.Nonce {
		b2 := blk
		b2.Nonce = flip(blk.Nonce, i)
		if _, err := vaulttest.Open(priv, wk, b2); !errors.Is(err, vaulttest.ErrOpen) {
			t.Fatalf("nonce byte %d flipped: err=%v", i, err)
		}
	}
	for _, i := range []int{0, 100, 1119, len(wk.Wrapped) - 17, len(wk.Wrapped) - 1} {
		w2 := wk
		w2.Wrapped = flip(wk.Wrapped, i)
		if _, err := vaulttest.Open(priv, w2, blk); !errors.Is(err, vaulttest.ErrOpen) || !strings.Contains(err.Error(), "wrapped data key") {
			t.Fatalf("wrapped key byte %d flipped: err=%v", i, err)
		}
	}
	// A block relabelled to another tenant or id does not open either.
	b2, w2 := blk, wk
	b2.Tenant, w2.Tenant = "evil", "evil"
	if _, err := vaulttest.Open(priv, w2, b2); !errors.Is(err, vaulttest.ErrOpen) {
		t.Fatalf("moved tenant opened: %v", err)
	}
	b3 := blk
	b3.BlockID = strings.Repeat("0", 32)
	if _, err := vaulttest.Open(priv, wk, b3); !errors.Is(err, vaulttest.ErrOpen) {
		t.Fatalf("renamed block opened: %v", err)
	}
}

func TestLocalStorePermsSizesRotation(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := vault.InitDir(dir); err != nil {
		t.Fatal(err)
	}
	s, err := vault.OpenLocalStore(dir, vault.LocalOptions{Reload: time.Nanosecond, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TenantKeys("acme"); err == nil || !strings.Contains(err.Error(), "acme.json") {
		t.Fatalf("unknown tenant without auto-create: %v", err)
	}
	if _, err := s.TenantKeys("../etc"); err == nil {
		t.Fatal("path traversal tenant accepted")
	}
	if err := s.InitTenant("acme"); err != nil {
		t.Fatal(err)
	}
	k1, err := s.TenantKeys("acme")
	if err != nil || k1.Current.Version != 1 || k1.Previous != nil {
		t.Fatalf("%+v %v", k1, err)
	}
	v, err := s.RotateTenant("acme", time.Hour)
	if err != nil || v != 2 {
		t.Fatal(v, err)
	}
	k2, _ := s.TenantKeys("acme")
	if k2.Current.Version != 2 || k2.Previous == nil || k2.Previous.Version != 1 || !bytes.Equal(k2.Previous.Secret, k1.Current.Secret) {
		t.Fatalf("overlap: %+v", k2)
	}
	now = now.Add(2 * time.Hour)
	if k3, _ := s.TenantKeys("acme"); k3.Previous != nil {
		t.Fatal("previous key still written after the overlap window")
	}
	// Loose permissions are refused with a message naming the file.
	f := filepath.Join(dir, "tenants", "acme.json")
	os.Chmod(f, 0o644)
	now = now.Add(time.Second)
	if _, err := s.TenantKeys("acme"); err == nil || !strings.Contains(err.Error(), "0644") || !strings.Contains(err.Error(), f) {
		t.Fatalf("loose perms: %v", err)
	}
	os.Chmod(f, 0o600)
	// A wrong-size secret is refused.
	b, _ := os.ReadFile(f)
	os.WriteFile(f, bytes.Replace(b, []byte(`"secret": "`), []byte(`"secret": "AAAA`), 1), 0o600)
	now = now.Add(time.Second)
	if _, err := s.TenantKeys("acme"); err == nil || !strings.Contains(err.Error(), "want 32") {
		t.Fatalf("wrong size: %v", err)
	}
	// Missing custody key: clear error.
	if _, err := s.CustodyPublicKey(); err == nil || !strings.Contains(err.Error(), "warden keys init") {
		t.Fatalf("missing custody: %v", err)
	}
	os.Chmod(dir, 0o755)
	if _, err := vault.OpenLocalStore(dir, vault.LocalOptions{}); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("loose dir: %v", err)
	}
}

func TestAutoCreateAndCustodyRotation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	vault.InitDir(dir)
	s, _ := vault.OpenLocalStore(dir, vault.LocalOptions{AutoCreate: true, Reload: time.Nanosecond})
	a, err := s.TenantKeys("t1")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := vault.OpenLocalStore(dir, vault.LocalOptions{AutoCreate: true})
	b, _ := s2.TenantKeys("t1")
	if !bytes.Equal(a.Current.Secret, b.Current.Secret) {
		t.Fatal("two stores disagree on an auto-created key")
	}
	id1, created, err := s.InitCustody()
	if err != nil || !created {
		t.Fatal(err)
	}
	id2, err := s.RotateCustody()
	if err != nil || id2 == id1 {
		t.Fatal(id2, err)
	}
	c, _ := s.CustodyPublicKey()
	if c.ID != id2 {
		t.Fatalf("current custody %q, want %q", c.ID, id2)
	}
	list, err := s.List()
	if err != nil || len(list) != 3 {
		t.Fatalf("%+v %v", list, err)
	}
	os.WriteFile(filepath.Join(dir, "custody", id2+".pub"), []byte("short"), 0o600)
	s3, _ := vault.OpenLocalStore(dir, vault.LocalOptions{})
	if _, err := s3.CustodyPublicKey(); err == nil || !strings.Contains(err.Error(), id2) {
		t.Fatalf("bad public key: %v", err)
	}
}

func TestMessageIDEqualsBlockID(t *testing.T) {
	p := ps(t, key(1, 3))
	for _, m := range []vault.Message{{}, {Role: "user", Part: "prompt", Text: "hi"}, {Role: "system", Part: "system", Text: strings.Repeat("x", 300)}} {
		if p.MessageID(m) != p.BlockID(vault.EncodeMessage(m)) {
			t.Fatalf("MessageID != BlockID(EncodeMessage) for %+v", m)
		}
		if got, err := vault.DecodeMessage(vault.EncodeMessage(m)); err != nil || got != m {
			t.Fatalf("decode: %+v %v", got, err)
		}
	}
	if p.MessageID(vault.Message{Role: "user", Text: "a"}) == p.MessageID(vault.Message{Role: "assistant", Text: "a"}) {
		t.Fatal("role not part of the block id")
	}
}

func TestSealerEdgeAPI(t *testing.T) {
	s := newStore(t)
	s2, _ := vault.OpenLocalStore(s.Dir(), vault.LocalOptions{AutoCreate: true})
	sl := vault.NewSealer(s2)
	msgs := []vault.Message{{Role: "system", Part: "system", Text: "be careful"}, {Role: "user", Part: "prompt", Text: "canary-edge-prompt"}}
	a, err := sl.Seal("acme", msgs)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sl.Seal("acme", msgs[1:])
	if len(a.Refs) != 2 || len(a.Keys) != 1 || len(b.Keys) != 0 || b.Refs[0] != a.Refs[1] || a.Bytes != 28 {
		t.Fatalf("a=%+v b=%+v", a, b)
	}
	priv, _ := vaulttest.PrivateKey(s.Dir(), a.Keys[0].CustodyKeyID)
	for i, blk := range a.Blocks {
		m, err := vaulttest.Open(priv, a.Keys[0], blk)
		if err != nil || m != msgs[i] {
			t.Fatalf("open %d: %+v %v", i, m, err)
		}
	}
	p, _ := sl.Pseudonymizer("acme")
	if tk, _ := s2.TenantKeys("acme"); p.Version() != tk.Current.Version {
		t.Fatal("pseudonymizer version")
	}
	if _, err := sl.Seal("../x", msgs); err == nil {
		t.Fatal("bad tenant accepted")
	}
}
