// Package vault is Warden's key material and envelope crypto, free of
// collector types so the endpoint enforcer, the gateway and the collector's
// processors share one implementation:
//
//   - Pseudonymizer: keyed pseudonyms (HMAC-SHA256 under a per-tenant,
//     versioned secret) for identities, e-mail addresses, paths and IPs.
//   - Addresser + DataKey: content-addressed, sealed prompt blocks
//     (AES-256-GCM under a data key per tenant and day, the data key wrapped
//     with HPKE ML-KEM-768+X25519 to the key-custody public key).
//   - Sealer: the edge API (endpoint enforcer, gateway): Seal(tenant,
//     messages) -> block ids, sealed blocks, newly wrapped data keys; and
//     Pseudonymizer(tenant) to hash identities exactly as fieldhash does.
//   - KeyStore: where tenant HMAC keys and the custody public key come from
//     (LocalStore: files with mode 0600; Vault Transit / a cloud KMS fit the
//     same interface).
//
// Sealing needs only the custody public key. Opening is key custody's job
// (a later component); vault/vaulttest holds a test-only opener that proves
// the round trip.
package vault
