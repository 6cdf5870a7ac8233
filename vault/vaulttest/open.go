// Package vaulttest is a TEST-ONLY opener for sealed prompt blocks. Opening
// belongs to key custody (a separate process that checks a signed grant and
// audits every open); this package exists so tests can prove that what
// promptcrypt sealed opens to the exact original text, and that tampering
// fails. Nothing outside tests may import it.
package vaulttest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hpke"
	"errors"
	"fmt"

	"github.com/wardenhq/warden/vault"
)

// ErrOpen is returned for every failure to open: a wrong key, a tampered
// block or wrapped key, a block moved to another tenant, day or id.
var ErrOpen = errors.New("vaulttest: cannot open sealed block")

// PrivateKey loads a custody private key from a local key directory.
func PrivateKey(dir, custodyKeyID string) (hpke.PrivateKey, error) {
	b, err := vault.ReadSecretFile(vault.CustodyPrivateKeyPath(dir, custodyKeyID))
	if err != nil {
		return nil, err
	}
	kem, _, _ := vault.WrapSuite()
	return kem.NewPrivateKey(b)
}

// Unwrap opens a wrapped data key.
func Unwrap(priv hpke.PrivateKey, wk vault.WrappedKey) ([]byte, error) {
	_, kdf, aead := vault.WrapSuite()
	dk, err := hpke.Open(priv, kdf, aead, vault.WrapInfo(wk.Tenant, wk.Day, wk.KeyID, wk.CustodyKeyID), wk.Wrapped)
	if err != nil {
		return nil, fmt.Errorf("%w: wrapped data key %s (tenant %q, day %s) fails authentication: %v", ErrOpen, wk.KeyID, wk.Tenant, wk.Day, err)
	}
	if len(dk) != vault.DataKeySize {
		return nil, fmt.Errorf("%w: data key %s has %d bytes", ErrOpen, wk.KeyID, len(dk))
	}
	return dk, nil
}

// Open opens one sealed block with its wrapped data key.
func Open(priv hpke.PrivateKey, wk vault.WrappedKey, b vault.SealedBlock) (vault.Message, error) {
	if wk.KeyID != b.KeyID || wk.Tenant != b.Tenant || wk.Day != b.Day {
		return vault.Message{}, fmt.Errorf("%w: block %s is sealed under key %s (tenant %q, day %s), not %s (tenant %q, day %s)", ErrOpen, b.BlockID, b.KeyID, b.Tenant, b.Day, wk.KeyID, wk.Tenant, wk.Day)
	}
	dk, err := Unwrap(priv, wk)
	if err != nil {
		return vault.Message{}, err
	}
	blk, _ := aes.NewCipher(dk)
	aead, _ := cipher.NewGCM(blk)
	if len(b.Nonce) != aead.NonceSize() {
		return vault.Message{}, fmt.Errorf("%w: block %s: nonce has %d bytes", ErrOpen, b.BlockID, len(b.Nonce))
	}
	pt, err := aead.Open(nil, b.Nonce, b.Ciphertext, vault.BlockAAD(b.Tenant, b.Day, b.BlockID, b.KeyID))
	if err != nil {
		return vault.Message{}, fmt.Errorf("%w: block %s (tenant %q, day %s) fails authentication: %v", ErrOpen, b.BlockID, b.Tenant, b.Day, err)
	}
	return vault.DecodeMessage(pt)
}
