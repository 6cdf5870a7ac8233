package vault

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// TenantKeys are the HMAC keys a tenant's pseudonyms and block ids are
// computed with. Previous is set during the overlap window after a
// rotation: writers then emit both the Current and the Previous pseudonym
// so joins across the rotation keep working.
type TenantKeys struct {
	Current      HMACKey
	Previous     *HMACKey
	OverlapUntil time.Time
}

// KeyStore is where tenant keys and the custody public key come from. The
// collector and the edge only ever need these two: they can pseudonymize and
// seal but never open. LocalStore implements it with files; HashiCorp Vault
// Transit or a cloud KMS implement the same two calls (export of a
// per-tenant HMAC key, the custody public key).
type KeyStore interface {
	TenantKeys(tenant string) (TenantKeys, error)
	CustodyPublicKey() (CustodyPublicKey, error)
}

var tenantRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ErrInvalidTenant marks a tenant name that can never get keys (callers
// reject the data permanently instead of retrying it forever).
var ErrInvalidTenant = errors.New("vault: invalid tenant name")

// ValidTenant reports whether a tenant name is usable as a key file name.
func ValidTenant(t string) error {
	if !tenantRE.MatchString(t) {
		return fmt.Errorf("%w %q (want [A-Za-z0-9][A-Za-z0-9._-]{0,127})", ErrInvalidTenant, t)
	}
	return nil
}

// Local key directory layout (every file mode 0600, directories 0700):
//
//	<dir>/tenants/<tenant>.json   versioned HMAC secrets of one tenant
//	<dir>/custody/current         id of the current custody key pair
//	<dir>/custody/<id>.pub        ML-KEM-768+X25519 public key (raw)
//	<dir>/custody/<id>.key        its private key (key custody only; the
//	                              collector's copy of the directory can and
//	                              should omit it)
type tenantFile struct {
	Tenant  string          `json:"tenant"`
	Current uint32          `json:"current"`
	Keys    []tenantFileKey `json:"keys"`
}

type tenantFileKey struct {
	Version      uint32    `json:"version"`
	Secret       []byte    `json:"secret"` // base64 in JSON
	CreatedAt    time.Time `json:"created_at"`
	OverlapUntil time.Time `json:"overlap_until,omitzero"` // set when superseded
}

// LocalStore is a KeyStore over a local key directory.
type LocalStore struct {
	dir        string
	autoCreate bool
	ttl        time.Duration
	now        func() time.Time

	mu      sync.Mutex
	tenants map[string]cachedTenant
	custody *cachedCustody
}

type cachedTenant struct {
	keys     TenantKeys
	loadedAt time.Time
}

type cachedCustody struct {
	key      CustodyPublicKey
	loadedAt time.Time
}

// LocalOptions tune a LocalStore.
type LocalOptions struct {
	// AutoCreate creates version 1 of a tenant's HMAC key the first time
	// the tenant is seen (embedded single-machine default). Without it an
	// unknown tenant is an error.
	AutoCreate bool
	// Reload is how long loaded keys are trusted before the files are read
	// again (to pick up `warden keys rotate`). Default 30s.
	Reload time.Duration
	// Now is the clock (tests).
	Now func() time.Time
}

// OpenLocalStore opens dir, checking that it exists and is not readable by
// group or others.
func OpenLocalStore(dir string, o LocalOptions) (*LocalStore, error) {
	if dir == "" {
		return nil, errors.New("vault: key directory not set")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("vault: key directory %s: %w (create it with `warden keys init --dir %s`)", dir, err, dir)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("vault: key directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("vault: key directory %s has mode %04o; it must not be accessible by group or others (chmod 700 %s)", dir, fi.Mode().Perm(), dir)
	}
	if o.Reload <= 0 {
		o.Reload = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &LocalStore{dir: dir, autoCreate: o.AutoCreate, ttl: o.Reload, now: o.Now, tenants: map[string]cachedTenant{}}, nil
}

// Dir is the key directory.
func (s *LocalStore) Dir() string { return s.dir }

func (s *LocalStore) tenantPath(t string) string {
	return filepath.Join(s.dir, "tenants", t+".json")
}

// CustodyPrivateKeyPath is where a custody private key lives (key custody
// and tests only).
func CustodyPrivateKeyPath(dir, id string) string { return filepath.Join(dir, "custody", id+".key") }

func custodyPublicKeyPath(dir, id string) string { return filepath.Join(dir, "custody", id+".pub") }

// ReadSecretFile reads a key file, refusing one that group or others can
// read or write.
func ReadSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vault: key file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vault: key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("vault: key file %s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("vault: key file %s has mode %04o; refusing to use it: key files must be 0600 (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	b := make([]byte, 0, fi.Size())
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			break
		}
	}
	return b, nil
}

// writeSecretFile writes path atomically with mode 0600. With exclusive
// it fails with fs.ErrExist instead of replacing an existing file (two
// processes creating the same tenant key agree on one).
func writeSecretFile(path string, data []byte, exclusive bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if exclusive {
		return os.Link(tmp.Name(), path)
	}
	return os.Rename(tmp.Name(), path)
}

func (s *LocalStore) readTenant(t string) (*tenantFile, error) {
	p := s.tenantPath(t)
	b, err := ReadSecretFile(p)
	if err != nil {
		return nil, err
	}
	var tf tenantFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tf); err != nil {
		return nil, fmt.Errorf("vault: key file %s: %w", p, err)
	}
	if tf.Tenant != t {
		return nil, fmt.Errorf("vault: key file %s names tenant %q, want %q", p, tf.Tenant, t)
	}
	for _, k := range tf.Keys {
		if err := (HMACKey{Version: k.Version, Secret: k.Secret}).Validate(); err != nil {
			return nil, fmt.Errorf("vault: key file %s: %w", p, err)
		}
	}
	return &tf, nil
}

func (tf *tenantFile) key(v uint32) *tenantFileKey {
	for i := range tf.Keys {
		if tf.Keys[i].Version == v {
			return &tf.Keys[i]
		}
	}
	return nil
}

func (tf *tenantFile) keys(now time.Time) (TenantKeys, error) {
	cur := tf.key(tf.Current)
	if cur == nil {
		return TenantKeys{}, fmt.Errorf("vault: tenant %q: current key version %d missing", tf.Tenant, tf.Current)
	}
	out := TenantKeys{Current: HMACKey{Version: cur.Version, Secret: cur.Secret}}
	// The newest superseded key whose overlap window is still open.
	var prev *tenantFileKey
	for i := range tf.Keys {
		k := &tf.Keys[i]
		if k.Version < tf.Current && now.Before(k.OverlapUntil) && (prev == nil || k.Version > prev.Version) {
			prev = k
		}
	}
	if prev != nil {
		out.Previous = &HMACKey{Version: prev.Version, Secret: prev.Secret}
		out.OverlapUntil = prev.OverlapUntil
	}
	return out, nil
}

// TenantKeys implements KeyStore.
func (s *LocalStore) TenantKeys(t string) (TenantKeys, error) {
	if err := ValidTenant(t); err != nil {
		return TenantKeys{}, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.tenants[t]; ok && now.Sub(c.loadedAt) < s.ttl && (c.keys.Previous == nil || now.Before(c.keys.OverlapUntil)) {
		return c.keys, nil
	}
	tf, err := s.readTenant(t)
	if errors.Is(err, fs.ErrNotExist) && s.autoCreate {
		tf, err = s.createTenant(t, now)
	}
	if err != nil {
		return TenantKeys{}, err
	}
	keys, err := tf.keys(now)
	if err != nil {
		return TenantKeys{}, err
	}
	s.tenants[t] = cachedTenant{keys: keys, loadedAt: now}
	return keys, nil
}

func newTenantKey(v uint32, now time.Time) tenantFileKey {
	secret := make([]byte, HMACKeySize)
	rand.Read(secret)
	return tenantFileKey{Version: v, Secret: secret, CreatedAt: now.UTC()}
}

func (s *LocalStore) createTenant(t string, now time.Time) (*tenantFile, error) {
	tf := &tenantFile{Tenant: t, Current: 1, Keys: []tenantFileKey{newTenantKey(1, now)}}
	b, _ := json.MarshalIndent(tf, "", "  ")
	err := writeSecretFile(s.tenantPath(t), b, true)
	if errors.Is(err, fs.ErrExist) {
		return s.readTenant(t) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("vault: create key for tenant %q: %w", t, err)
	}
	return tf, nil
}

// InitTenant creates version 1 of a tenant's key; it is an error if the
// tenant already has one.
func (s *LocalStore) InitTenant(t string) error {
	if err := ValidTenant(t); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(s.tenantPath(t)); err == nil {
		return fmt.Errorf("vault: tenant %q already has keys (%s); use rotate", t, s.tenantPath(t))
	}
	_, err := s.createTenant(t, s.now())
	return err
}

// RotateTenant makes a new key version current. The old version stays
// readable and is written beside the new one (Previous) until now+overlap.
func (s *LocalStore) RotateTenant(t string, overlap time.Duration) (uint32, error) {
	if err := ValidTenant(t); err != nil {
		return 0, err
	}
	if overlap < 0 {
		return 0, errors.New("vault: overlap must not be negative")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tf, err := s.readTenant(t)
	if err != nil {
		return 0, err
	}
	now := s.now()
	var max uint32
	for _, k := range tf.Keys {
		max = maxu(max, k.Version)
	}
	if cur := tf.key(tf.Current); cur != nil {
		cur.OverlapUntil = now.Add(overlap).UTC()
	}
	nk := newTenantKey(max+1, now)
	tf.Keys = append(tf.Keys, nk)
	tf.Current = nk.Version
	b, _ := json.MarshalIndent(tf, "", "  ")
	if err := writeSecretFile(s.tenantPath(t), b, false); err != nil {
		return 0, fmt.Errorf("vault: rotate tenant %q: %w", t, err)
	}
	delete(s.tenants, t)
	return nk.Version, nil
}

func maxu(a, b uint32) uint32 {
	if a > b {
		return a
	}
	return b
}

// CustodyPublicKey implements KeyStore.
func (s *LocalStore) CustodyPublicKey() (CustodyPublicKey, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.custody != nil && now.Sub(s.custody.loadedAt) < s.ttl {
		return s.custody.key, nil
	}
	cur := filepath.Join(s.dir, "custody", "current")
	idb, err := ReadSecretFile(cur)
	if err != nil {
		return CustodyPublicKey{}, fmt.Errorf("%w (create the custody key pair with `warden keys init --dir %s`)", err, s.dir)
	}
	id := strings.TrimSpace(string(idb))
	if err := ValidTenant(id); err != nil {
		return CustodyPublicKey{}, fmt.Errorf("vault: %s: bad custody key id: %w", cur, err)
	}
	pb, err := ReadSecretFile(custodyPublicKeyPath(s.dir, id))
	if err != nil {
		return CustodyPublicKey{}, err
	}
	k, err := ParseCustodyPublicKey(id, pb)
	if err != nil {
		return CustodyPublicKey{}, fmt.Errorf("%s: %w", custodyPublicKeyPath(s.dir, id), err)
	}
	s.custody = &cachedCustody{key: k, loadedAt: now}
	return k, nil
}

// RotateCustody creates a new custody key pair and makes it current (also
// the first one: InitCustody). Data keys wrapped before stay openable with
// the old private key, which is kept.
func (s *LocalStore) RotateCustody() (string, error) {
	pub, priv, err := GenerateCustodyKeyPair()
	if err != nil {
		return "", err
	}
	idb := make([]byte, 8)
	rand.Read(idb)
	id := "ck-" + s.now().UTC().Format("20060102") + "-" + fmt.Sprintf("%x", idb)
	if err := writeSecretFile(CustodyPrivateKeyPath(s.dir, id), priv, true); err != nil {
		return "", err
	}
	if err := writeSecretFile(custodyPublicKeyPath(s.dir, id), pub, true); err != nil {
		return "", err
	}
	if err := writeSecretFile(filepath.Join(s.dir, "custody", "current"), []byte(id+"\n"), false); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.custody = nil
	s.mu.Unlock()
	return id, nil
}

// InitCustody creates the first custody key pair unless one exists.
func (s *LocalStore) InitCustody() (id string, created bool, err error) {
	if b, err := ReadSecretFile(filepath.Join(s.dir, "custody", "current")); err == nil {
		return strings.TrimSpace(string(b)), false, nil
	}
	id, err = s.RotateCustody()
	return id, err == nil, err
}

// KeyInfo describes one key without its secret (for `warden keys list`).
type KeyInfo struct {
	Kind         string // "tenant-hmac" or "custody"
	Name         string // tenant or custody key id
	Version      uint32
	Current      bool
	CreatedAt    time.Time
	OverlapUntil time.Time
	HasPrivate   bool // custody: the private key is in this directory
}

// List describes every key in the directory.
func (s *LocalStore) List() ([]KeyInfo, error) {
	var out []KeyInfo
	ents, err := os.ReadDir(filepath.Join(s.dir, "tenants"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		tf, err := s.readTenant(name)
		if err != nil {
			return nil, err
		}
		for _, k := range tf.Keys {
			out = append(out, KeyInfo{Kind: "tenant-hmac", Name: name, Version: k.Version, Current: k.Version == tf.Current, CreatedAt: k.CreatedAt, OverlapUntil: k.OverlapUntil})
		}
	}
	cur := ""
	if b, err := ReadSecretFile(filepath.Join(s.dir, "custody", "current")); err == nil {
		cur = strings.TrimSpace(string(b))
	}
	pubs, _ := filepath.Glob(filepath.Join(s.dir, "custody", "*.pub"))
	sort.Strings(pubs)
	for _, p := range pubs {
		id := strings.TrimSuffix(filepath.Base(p), ".pub")
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		_, perr := os.Stat(CustodyPrivateKeyPath(s.dir, id))
		out = append(out, KeyInfo{Kind: "custody", Name: id, Current: id == cur, CreatedAt: fi.ModTime().UTC(), HasPrivate: perr == nil})
	}
	return out, nil
}

// InitDir creates a key directory with mode 0700 (or checks an existing
// one) and returns a store over it.
func InitDir(dir string) (*LocalStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return OpenLocalStore(dir, LocalOptions{})
}
