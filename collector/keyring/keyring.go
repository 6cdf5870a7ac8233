package keyring

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/wardenhq/warden/processors/fieldhash/fieldpath"
	"github.com/wardenhq/warden/vault"
)

// Keyring is the running extension. It implements vault.KeyStore.
type Keyring struct {
	cfg    *Config
	logger *zap.Logger
	store  vault.KeyStore

	mu     sync.Mutex
	claims []claim
}

type claim struct {
	path   fieldpath.Path
	action string // "hashed" or "sealed"
	owner  string // e.g. "fieldhash fields[2].path"
}

var _ vault.KeyStore = (*Keyring)(nil)

// Start opens the key directory and checks, at start-up, that the custody
// public key loads: a missing or malformed key file fails the collector's
// start with the file named, instead of failing on the first record.
func (k *Keyring) Start(context.Context, component.Host) error {
	s, err := vault.OpenLocalStore(k.cfg.Directory, vault.LocalOptions{AutoCreate: k.cfg.AutoCreateTenants, Reload: k.cfg.ReloadInterval})
	if err != nil {
		return fmt.Errorf("keyring: directory: %w", err)
	}
	c, err := s.CustodyPublicKey()
	if err != nil {
		return fmt.Errorf("keyring: directory: %w", err)
	}
	// Tenant key files present are checked now too (perms, sizes).
	if _, err := s.List(); err != nil {
		return fmt.Errorf("keyring: directory: %w", err)
	}
	if privs, _ := filepath.Glob(filepath.Join(k.cfg.Directory, "custody", "*.key")); len(privs) > 0 {
		k.logger.Warn("the key directory holds custody private keys; the collector only needs the public key: move the *.key files to key custody",
			zap.Int("private_key_files", len(privs)))
	}
	k.logger.Info("keyring ready", zap.String("custody_key_id", c.ID))
	k.store = s
	return nil
}

// Shutdown implements component.Component.
func (k *Keyring) Shutdown(context.Context) error { return nil }

var errNotStarted = errors.New("keyring: not started")

// TenantKeys implements vault.KeyStore.
func (k *Keyring) TenantKeys(t string) (vault.TenantKeys, error) {
	if k.store == nil {
		return vault.TenantKeys{}, errNotStarted
	}
	return k.store.TenantKeys(t)
}

// CustodyPublicKey implements vault.KeyStore.
func (k *Keyring) CustodyPublicKey() (vault.CustodyPublicKey, error) {
	if k.store == nil {
		return vault.CustodyPublicKey{}, errNotStarted
	}
	return k.store.CustodyPublicKey()
}

// Claim records that a processor hashes ("hashed") or seals ("sealed") the
// field at path. A field claimed for both is a configuration error, reported
// at start-up naming both config keys: hashing a prompt would make it
// guessable, sealing an identity would break joins. Re-claiming with the
// same action is fine (several pipelines share a processor config).
func (k *Keyring) Claim(path, action, owner string) error {
	p, err := fieldpath.Parse(path)
	if err != nil {
		return fmt.Errorf("%s: %w", owner, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.claims {
		if c.action != action && fieldpath.Overlaps(c.path, p) {
			return fmt.Errorf("%s: %s is %s by %s and would also be %s here; a field is either hashed (fieldhash) or sealed (promptcrypt), not both", owner, p, c.action, c.owner, action)
		}
	}
	k.claims = append(k.claims, claim{path: p, action: action, owner: owner})
	return nil
}

// Claimer is what processors look for beside vault.KeyStore.
type Claimer interface {
	Claim(path, action, owner string) error
}

// Find returns the keyring extension with the given ID from host.
func Find(host component.Host, id component.ID) (vault.KeyStore, Claimer, error) {
	exts := host.GetExtensions()
	ext, ok := exts[id]
	if !ok {
		var have []string
		for eid := range exts {
			have = append(have, eid.String())
		}
		sort.Strings(have)
		return nil, nil, fmt.Errorf("keyring: extension %q is not configured (add it under extensions: and service.extensions:; configured: [%s])", id, strings.Join(have, ", "))
	}
	ks, ok := ext.(vault.KeyStore)
	if !ok {
		return nil, nil, fmt.Errorf("keyring: extension %q does not serve keys", id)
	}
	cl, _ := ext.(Claimer)
	return ks, cl, nil
}
