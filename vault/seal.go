package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hpke"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync/atomic"
	"time"
	"unsafe"
)

// Message is one piece of prompt-like content: the plaintext of one sealed
// block. Role and Part follow schema.AttrMessages.
type Message struct {
	Role string
	Part string
	Text string
}

// EncodeMessage frames m as the plaintext of a block: a format byte, then
// role and part (uvarint length + bytes), then the text. Role and part are
// sealed with the text so nothing about a block is readable but its length.
func EncodeMessage(m Message) []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen32+len(m.Role)+len(m.Part)+len(m.Text))
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(len(m.Role)))
	b = append(b, m.Role...)
	b = binary.AppendUvarint(b, uint64(len(m.Part)))
	b = append(b, m.Part...)
	return append(b, m.Text...)
}

// DecodeMessage reverses EncodeMessage.
func DecodeMessage(b []byte) (Message, error) {
	if len(b) == 0 || b[0] != 1 {
		return Message{}, errors.New("vault: block plaintext: unknown format")
	}
	b = b[1:]
	var out [2]string
	for i := range out {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return Message{}, errors.New("vault: block plaintext: bad framing")
		}
		out[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	return Message{Role: out[0], Part: out[1], Text: string(b)}, nil
}

// BlockID is the content address of a block within a tenant:
// hex(HMAC-SHA256(tenant key, "b" || plaintext)[:16]). Keyed, so equal
// content deduplicates within a tenant while ids cannot be correlated across
// tenants (or guessed from a candidate text without the tenant key). A key
// rotation starts new ids: dedup restarts once per rotation.
func (p *Pseudonymizer) BlockID(plaintext []byte) string {
	h := p.pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(domBlock))
	h.Write(plaintext)
	var buf [32]byte
	sum := h.Sum(buf[:0])
	p.pool.Put(h)
	return hex.EncodeToString(sum[:digestBytes])
}

// MessageID is BlockID(EncodeMessage(m)) without building the plaintext:
// the frame is fed to the HMAC piece by piece, so addressing a repeated
// 50 KB system prompt (the common case, already emitted) copies nothing.
func (p *Pseudonymizer) MessageID(m Message) string {
	h := p.pool.Get().(hash.Hash)
	h.Reset()
	var hdr [1 + 2 + binary.MaxVarintLen64]byte
	h.Write([]byte(domBlock))
	b := append(hdr[:0], 1)
	b = binary.AppendUvarint(b, uint64(len(m.Role)))
	h.Write(b)
	h.Write(unsafeBytes(m.Role))
	h.Write(binary.AppendUvarint(hdr[:0], uint64(len(m.Part))))
	h.Write(unsafeBytes(m.Part))
	h.Write(unsafeBytes(m.Text))
	var buf [32]byte
	sum := h.Sum(buf[:0])
	p.pool.Put(h)
	return hex.EncodeToString(sum[:digestBytes])
}

// unsafeBytes views s as bytes without copying; only for hash.Write, which
// neither keeps nor modifies its argument.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// KEMName names the HPKE suite data keys are wrapped with (stored in
// prompt_keys.kem so a future suite can be told apart).
const KEMName = "MLKEM768-X25519/HKDF-SHA256/AES-256-GCM"

var (
	suiteKEM  = hpke.MLKEM768X25519()
	suiteKDF  = hpke.HKDFSHA256()
	suiteAEAD = hpke.AES256GCM()
)

// WrapSuite returns the HPKE KEM, KDF and AEAD data keys are wrapped with,
// for openers (key custody, vaulttest).
func WrapSuite() (hpke.KEM, hpke.KDF, hpke.AEAD) { return suiteKEM, suiteKDF, suiteAEAD }

// CustodyPublicKey is the key-custody public key data keys are wrapped to.
type CustodyPublicKey struct {
	ID  string
	Key hpke.PublicKey
}

// ParseCustodyPublicKey decodes a serialized ML-KEM-768+X25519 public key.
func ParseCustodyPublicKey(id string, b []byte) (CustodyPublicKey, error) {
	if id == "" {
		return CustodyPublicKey{}, errors.New("vault: custody public key has no id")
	}
	k, err := suiteKEM.NewPublicKey(b)
	if err != nil {
		return CustodyPublicKey{}, fmt.Errorf("vault: custody public key %q (%d bytes) is not an ML-KEM-768+X25519 public key: %w", id, len(b), err)
	}
	return CustodyPublicKey{ID: id, Key: k}, nil
}

// GenerateCustodyKeyPair returns a new serialized key pair.
func GenerateCustodyKeyPair() (pub, priv []byte, err error) {
	k, err := suiteKEM.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	priv, err = k.Bytes()
	if err != nil {
		return nil, nil, err
	}
	return k.PublicKey().Bytes(), priv, nil
}

// SealedBlock is one row of prompt_blocks.
type SealedBlock struct {
	Tenant     string
	BlockID    string
	Day        string // YYYY-MM-DD (UTC)
	KeyID      string
	Nonce      []byte
	Ciphertext []byte // AES-256-GCM, tag appended
	Length     uint32 // bytes of message text
	CreatedAt  time.Time
}

// WrappedKey is one row of prompt_keys: a data key wrapped to the custody
// key. Deleting it crypto-shreds every block sealed under KeyID.
type WrappedKey struct {
	Tenant       string
	Day          string
	KeyID        string
	KEM          string
	CustodyKeyID string
	Wrapped      []byte // HPKE enc || ciphertext
	CreatedAt    time.Time
}

func appendLP(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// BlockAAD binds a block's ciphertext to its tenant, day, id and data key:
// a block moved to another tenant, day or id fails to open.
func BlockAAD(tenant, day, blockID, keyID string) []byte {
	b := append(make([]byte, 0, 64), "warden.prompt_block.v1"...)
	for _, s := range [...]string{tenant, day, blockID, keyID} {
		b = appendLP(b, s)
	}
	return b
}

// WrapInfo is the HPKE info of a wrapped data key (same binding for keys).
func WrapInfo(tenant, day, keyID, custodyKeyID string) []byte {
	b := append(make([]byte, 0, 64), "warden.prompt_key.v1"...)
	for _, s := range [...]string{tenant, day, keyID, custodyKeyID} {
		b = appendLP(b, s)
	}
	return b
}

// DataKeySize is the AES-256 data key size.
const DataKeySize = 32

// MaxBlocksPerDataKey bounds how many blocks one data key seals with random
// 96-bit nonces (NIST SP 800-38D: stay well below 2^32); callers start a new
// data key (a second prompt_keys row for the day) when Exhausted.
const MaxBlocksPerDataKey = 1 << 30

// DataKey is one tenant-day data key, held in memory by the sealer only.
type DataKey struct {
	Tenant string
	Day    string
	KeyID  string
	aead   cipher.AEAD
	sealed atomic.Uint64
}

// NewDataKey creates a fresh random data key for tenant and day and wraps
// it to the custody public key.
func NewDataKey(c CustodyPublicKey, tenant, day string, now time.Time) (*DataKey, WrappedKey, error) {
	if c.Key == nil {
		return nil, WrappedKey{}, errors.New("vault: no custody public key")
	}
	raw := make([]byte, DataKeySize)
	rand.Read(raw)
	idb := make([]byte, 16)
	rand.Read(idb)
	keyID := hex.EncodeToString(idb)
	wrapped, err := hpke.Seal(c.Key, suiteKDF, suiteAEAD, WrapInfo(tenant, day, keyID, c.ID), raw)
	if err != nil {
		return nil, WrappedKey{}, fmt.Errorf("vault: wrap data key: %w", err)
	}
	blk, err := aes.NewCipher(raw)
	if err != nil {
		return nil, WrappedKey{}, err
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, WrappedKey{}, err
	}
	clear(raw)
	dk := &DataKey{Tenant: tenant, Day: day, KeyID: keyID, aead: aead}
	return dk, WrappedKey{Tenant: tenant, Day: day, KeyID: keyID, KEM: KEMName, CustodyKeyID: c.ID, Wrapped: wrapped, CreatedAt: now.UTC()}, nil
}

// Exhausted reports whether the key has sealed MaxBlocksPerDataKey blocks.
func (k *DataKey) Exhausted() bool { return k.sealed.Load() >= MaxBlocksPerDataKey }

// Seal seals a block plaintext (EncodeMessage) under the data key.
func (k *DataKey) Seal(blockID string, plaintext []byte, textLen int, now time.Time) SealedBlock {
	k.sealed.Add(1)
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	ct := k.aead.Seal(nil, nonce, plaintext, BlockAAD(k.Tenant, k.Day, blockID, k.KeyID))
	return SealedBlock{Tenant: k.Tenant, BlockID: blockID, Day: k.Day, KeyID: k.KeyID, Nonce: nonce, Ciphertext: ct, Length: uint32(textLen), CreatedAt: now.UTC()}
}

// Day returns the UTC day string blocks and keys are filed under.
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
