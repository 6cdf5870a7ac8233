package vault

import (
	"fmt"
	"sync"
	"time"
)

// Sealer is the edge API for sealing (endpoint enforcer, gateway): give it
// a tenant and messages, get back the ordered block ids to put on the record
// (prompt_ref), the sealed blocks, and any newly wrapped data key to ship
// beside them. It keeps one data key per tenant and UTC day in memory and
// needs only the custody public key. Safe for concurrent use.
//
// The collector's promptcrypt processor uses the same primitives, adding an
// LRU so content already emitted is only addressed, not sealed again.
type Sealer struct {
	ks  KeyStore
	now func() time.Time

	mu   sync.Mutex
	keys map[string]*DataKey // tenant -> current data key
	ps   map[string]*Pseudonymizer
}

// NewSealer returns a Sealer over ks.
func NewSealer(ks KeyStore) *Sealer {
	return &Sealer{ks: ks, now: time.Now, keys: map[string]*DataKey{}, ps: map[string]*Pseudonymizer{}}
}

// Sealed is the result of one Seal call.
type Sealed struct {
	Refs   []string      // block ids, in message order
	Blocks []SealedBlock // one per message
	Keys   []WrappedKey  // data keys created by this call (ship them once)
	Bytes  int           // total text bytes
}

// Seal seals msgs for tenant.
func (s *Sealer) Seal(tenant string, msgs []Message) (Sealed, error) {
	var out Sealed
	if err := ValidTenant(tenant); err != nil {
		return out, err
	}
	tk, err := s.ks.TenantKeys(tenant)
	if err != nil {
		return out, fmt.Errorf("vault: keys of tenant %q: %w", tenant, err)
	}
	now := s.now().UTC()
	day := Day(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.ps[tenant]
	if p == nil || p.Version() != tk.Current.Version {
		if p, err = NewPseudonymizer(tk.Current); err != nil {
			return out, err
		}
		s.ps[tenant] = p
	}
	for _, m := range msgs {
		dk := s.keys[tenant]
		if dk == nil || dk.Day != day || dk.Exhausted() {
			c, err := s.ks.CustodyPublicKey()
			if err != nil {
				return Sealed{}, err
			}
			var wk WrappedKey
			if dk, wk, err = NewDataKey(c, tenant, day, now); err != nil {
				return Sealed{}, err
			}
			s.keys[tenant] = dk
			out.Keys = append(out.Keys, wk)
		}
		id := p.MessageID(m)
		pt := EncodeMessage(m)
		out.Blocks = append(out.Blocks, dk.Seal(id, pt, len(m.Text), now))
		clear(pt)
		out.Refs = append(out.Refs, id)
		out.Bytes += len(m.Text)
	}
	return out, nil
}

// Pseudonymizer returns the current-version pseudonymizer of tenant (the
// edge's way to hash identities exactly as fieldhash does).
func (s *Sealer) Pseudonymizer(tenant string) (*Pseudonymizer, error) {
	tk, err := s.ks.TenantKeys(tenant)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.ps[tenant]
	if p == nil || p.Version() != tk.Current.Version {
		if p, err = NewPseudonymizer(tk.Current); err != nil {
			return nil, err
		}
		s.ps[tenant] = p
	}
	return p, nil
}
