package promptcrypt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/wardenhq/warden/collector/keyring"
	"github.com/wardenhq/warden/processors/fieldhash/fieldpath"
	"github.com/wardenhq/warden/schema"
	"github.com/wardenhq/warden/vault"
)

type attrSpec struct {
	path fieldpath.Path
	sh   sourceShape
	cfg  string
}

// sealer is the state shared by the logs and traces processors of one
// config: per-tenant block addressers, the tenant-day data keys (memory
// only), and the LRU of blocks already emitted.
type sealer struct {
	cfg    *Config
	id     component.ID
	logger *zap.Logger
	ks     vault.KeyStore
	now    func() time.Time

	rec      map[string]sourceShape // single-key record attributes
	res      map[string]sourceShape // single-key resource attributes
	deep     []attrSpec             // nested / body paths
	emitted  *lru.Cache[emitKey, struct{}]
	mu       sync.Mutex
	addr     map[string]*vault.Pseudonymizer // tenant -> current key
	dataKeys map[string]*dataKeyState        // tenant -> today's key
}

type emitKey struct{ tenant, day, block string }

type dataKeyState struct {
	dk         *vault.DataKey
	wrapped    vault.WrappedKey
	lastWrapAt time.Time // zero: not attached yet
}

func newSealer(cfg *Config, set processor.Settings) (*sealer, error) {
	c, err := lru.New[emitKey, struct{}](cfg.EmittedCacheSize)
	if err != nil {
		return nil, fmt.Errorf("emitted_cache_size: %w", err)
	}
	s := &sealer{cfg: cfg, id: set.ID, logger: set.Logger, now: time.Now, rec: map[string]sourceShape{}, res: map[string]sourceShape{}, emitted: c, addr: map[string]*vault.Pseudonymizer{}, dataKeys: map[string]*dataKeyState{}}
	if cfg.SourceShapes {
		for k, v := range sourceShapes {
			s.rec[k] = v
		}
		for k, v := range resourceShapes {
			s.res[k] = v
		}
	}
	for i, a := range cfg.Attributes {
		p, err := fieldpath.Parse(a.Path)
		if err != nil {
			return nil, fmt.Errorf("attributes[%d].path: %w", i, err)
		}
		sh := sourceShape{role: a.Role, part: a.Part}
		if sh.role == "" {
			sh.role = "user"
		}
		if sh.part == "" {
			sh.part = schema.PartOther
		}
		switch {
		case len(p.Keys) == 1 && p.Context == fieldpath.Record:
			s.rec[p.Keys[0]] = sh
		case len(p.Keys) == 1 && p.Context == fieldpath.Resource:
			s.res[p.Keys[0]] = sh
		default:
			s.deep = append(s.deep, attrSpec{path: p, sh: sh, cfg: fmt.Sprintf("attributes[%d].path", i)})
		}
	}
	return s, nil
}

func (s *sealer) start(_ context.Context, host component.Host) error {
	ks, cl, err := keyring.Find(host, s.cfg.Keyring)
	if err != nil {
		return fmt.Errorf("%s: keyring: %w", s.id, err)
	}
	// The custody public key must be there at start-up.
	if _, err := ks.CustodyPublicKey(); err != nil {
		return fmt.Errorf("%s: keyring: %w", s.id, err)
	}
	if cl != nil {
		claims := []string{fmt.Sprintf("attributes[%q]", schema.AttrMessages)}
		owners := []string{"(warden.messages)"}
		for k := range s.rec {
			claims, owners = append(claims, fmt.Sprintf("attributes[%q]", k)), append(owners, "source_shapes")
		}
		for k := range s.res {
			claims, owners = append(claims, fmt.Sprintf("resource.attributes[%q]", k)), append(owners, "source_shapes")
		}
		for i, a := range s.cfg.Attributes {
			claims, owners = append(claims, a.Path), append(owners, fmt.Sprintf("attributes[%d].path", i))
		}
		for _, d := range s.deep {
			claims, owners = append(claims, d.path.String()), append(owners, d.cfg)
		}
		for i, c := range claims {
			if err := cl.Claim(c, "sealed", fmt.Sprintf("processors::%s::%s", s.id, owners[i])); err != nil {
				return err
			}
		}
	}
	s.ks = ks
	return nil
}

func (s *sealer) addresser(tenant string) (*vault.Pseudonymizer, error) {
	keys, err := s.ks.TenantKeys(tenant)
	if err != nil {
		err = fmt.Errorf("promptcrypt: keys of tenant %q: %w", tenant, err)
		if errors.Is(err, vault.ErrInvalidTenant) {
			err = consumererror.NewPermanent(err) // retrying cannot help
		}
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.addr[tenant]; p != nil && p.Version() == keys.Current.Version {
		return p, nil
	}
	p, err := vault.NewPseudonymizer(keys.Current)
	if err != nil {
		return nil, fmt.Errorf("promptcrypt: tenant %q: %w", tenant, err)
	}
	s.addr[tenant] = p
	return p, nil
}

// dataKey returns today's data key of tenant, and the wrapped key to attach
// if it has not been attached (or not within RewrapInterval).
func (s *sealer) dataKey(tenant, day string, now time.Time) (*vault.DataKey, *vault.WrappedKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.dataKeys[tenant]
	if st == nil || st.dk.Day != day || st.dk.Exhausted() {
		c, err := s.ks.CustodyPublicKey()
		if err != nil {
			return nil, nil, fmt.Errorf("promptcrypt: %w", err)
		}
		dk, wk, err := vault.NewDataKey(c, tenant, day, now)
		if err != nil {
			return nil, nil, fmt.Errorf("promptcrypt: tenant %q: %w", tenant, err)
		}
		st = &dataKeyState{dk: dk, wrapped: wk}
		s.dataKeys[tenant] = st
	}
	if st.lastWrapAt.IsZero() || now.Sub(st.lastWrapAt) >= s.cfg.RewrapInterval {
		st.lastWrapAt = now
		w := st.wrapped
		return st.dk, &w, nil
	}
	return st.dk, nil, nil
}

// forget undoes what a failed downstream call may have lost: the blocks
// it carried are sealed again next time, and a data key whose wrapped key
// it carried is replaced.
func (s *sealer) forget(sent []emitKey, keys []string) {
	for _, k := range sent {
		s.emitted.Remove(k)
	}
	s.mu.Lock()
	for _, kid := range keys {
		for t, st := range s.dataKeys {
			if st.dk.KeyID == kid {
				delete(s.dataKeys, t)
			}
		}
	}
	s.mu.Unlock()
}

// batch collects what one ConsumeX call emitted, to forget it on failure.
type batch struct {
	sent []emitKey
	keys []string
	// the last tenant's addresser, so a batch of one tenant looks its key
	// up once
	tenant string
	addr   *vault.Pseudonymizer
}

// sealMessages replaces msgs with references on attrs (the record).
func (s *sealer) sealMessages(attrs pcommon.Map, tenant string, msgs []vault.Message, b *batch) error {
	if len(msgs) == 0 {
		return nil
	}
	addr := b.addr
	if addr == nil || b.tenant != tenant {
		var err error
		if addr, err = s.addresser(tenant); err != nil {
			return err
		}
		b.tenant, b.addr = tenant, addr
	}
	now := s.now().UTC()
	day := vault.Day(now)
	// Blocks sealed earlier (at the edge by vault.Sealer) keep their place:
	// new refs are appended and the sizes added.
	var nbytes, ntok int64
	var ref pcommon.Slice
	if v, ok := attrs.Get(schema.Attr("prompt_ref")); ok && v.Type() == pcommon.ValueTypeSlice {
		ref = v.Slice()
		if b, ok := attrs.Get(schema.Attr("prompt_bytes")); ok && b.Type() == pcommon.ValueTypeInt {
			nbytes = b.Int()
		}
		if tk, ok := attrs.Get(schema.Attr("prompt_tokens_est")); ok && tk.Type() == pcommon.ValueTypeInt {
			ntok = tk.Int()
		}
	} else {
		ref = attrs.PutEmptySlice(schema.Attr("prompt_ref"))
	}
	var blocks, wkeys pcommon.Slice
	for _, m := range msgs {
		id := addr.MessageID(m)
		ref.AppendEmpty().SetStr(id)
		nbytes += int64(len(m.Text))
		ntok += estimateTokens(m.Text)
		ek := emitKey{tenant, day, id}
		if s.emitted.Contains(ek) {
			continue
		}
		dk, wk, err := s.dataKey(tenant, day, now)
		if err != nil {
			return err
		}
		if wk != nil {
			if wkeys == (pcommon.Slice{}) {
				wkeys = attrs.PutEmptySlice(schema.AttrWrappedKeys)
			}
			putWrappedKey(wkeys.AppendEmpty().SetEmptyMap(), *wk)
			b.keys = append(b.keys, wk.KeyID)
		}
		pt := vault.EncodeMessage(m)
		sb := dk.Seal(id, pt, len(m.Text), now)
		clear(pt) // the cleartext copy does not outlive the call
		if blocks == (pcommon.Slice{}) {
			blocks = attrs.PutEmptySlice(schema.AttrSealedBlocks)
		}
		putBlock(blocks.AppendEmpty().SetEmptyMap(), sb)
		s.emitted.Add(ek, struct{}{})
		b.sent = append(b.sent, ek)
	}
	attrs.PutInt(schema.Attr("prompt_bytes"), nbytes)
	attrs.PutInt(schema.Attr("prompt_tokens_est"), ntok)
	return nil
}

// estimateTokens is a cheap heuristic: about 4 bytes per token for English
// and code (the usual rule of thumb for BPE tokenizers); good enough for
// volume dashboards, never for billing.
func estimateTokens(s string) int64 { return int64(len(s)+3) / 4 }

func putBlock(m pcommon.Map, b vault.SealedBlock) {
	m.PutStr("tenant", b.Tenant)
	m.PutStr("block_id", b.BlockID)
	m.PutStr("day", b.Day)
	m.PutStr("key_id", b.KeyID)
	m.PutEmptyBytes("nonce").FromRaw(b.Nonce)
	m.PutEmptyBytes("ciphertext").FromRaw(b.Ciphertext)
	m.PutInt("length", int64(b.Length))
	m.PutInt("created_at", b.CreatedAt.UnixNano())
}

func putWrappedKey(m pcommon.Map, k vault.WrappedKey) {
	m.PutStr("tenant", k.Tenant)
	m.PutStr("day", k.Day)
	m.PutStr("key_id", k.KeyID)
	m.PutStr("kem", k.KEM)
	m.PutStr("custody_key_id", k.CustodyKeyID)
	m.PutEmptyBytes("wrapped_key").FromRaw(k.Wrapped)
	m.PutInt("created_at", k.CreatedAt.UnixNano())
}

func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.Str()
	}
	return ""
}

func bytesOf(m pcommon.Map, k string) []byte {
	if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeBytes {
		return v.Bytes().AsRaw()
	}
	return nil
}

func intOf(m pcommon.Map, k string) int64 {
	if v, ok := m.Get(k); ok {
		return v.Int()
	}
	return 0
}

// BlockFromMap reads one element of warden.sealed_blocks (for exporters
// and tests).
func BlockFromMap(m pcommon.Map) vault.SealedBlock {
	return vault.SealedBlock{Tenant: str(m, "tenant"), BlockID: str(m, "block_id"), Day: str(m, "day"), KeyID: str(m, "key_id"),
		Nonce: bytesOf(m, "nonce"), Ciphertext: bytesOf(m, "ciphertext"), Length: uint32(intOf(m, "length")), CreatedAt: time.Unix(0, intOf(m, "created_at")).UTC()}
}

// WrappedKeyFromMap reads one element of warden.wrapped_keys.
func WrappedKeyFromMap(m pcommon.Map) vault.WrappedKey {
	return vault.WrappedKey{Tenant: str(m, "tenant"), Day: str(m, "day"), KeyID: str(m, "key_id"), KEM: str(m, "kem"), CustodyKeyID: str(m, "custody_key_id"),
		Wrapped: bytesOf(m, "wrapped_key"), CreatedAt: time.Unix(0, intOf(m, "created_at")).UTC()}
}
