package schema

import "time"

// Side tables written from promptcrypt's output (see AttrSealedBlocks and
// AttrWrappedKeys in attrs.go). Each record of AttrSealedBlocks /
// AttrWrappedKeys is a Map whose keys are the column names below, typed as
// in attrs.go (String -> Str, UInt32 -> Int, binary String -> Bytes), with
// two notes: `day` travels as Str "YYYY-MM-DD" (UTC) and `created_at` as Int
// Unix nanoseconds.

// PromptBlock is one row of `prompt_blocks`: one sealed message. Blocks are
// content-addressed within a tenant (block_id is a keyed hash of the
// plaintext, processors/promptcrypt), so a re-emitted block (another
// collector, a restart) is the same row: the table is a ReplacingMergeTree
// on (tenant, block_id), and the copies collapse.
//
// The ciphertext is AES-256-GCM under the data key key_id (prompt_keys),
// with AAD binding tenant, day, block_id and key_id (vault.BlockAAD).
type PromptBlock struct {
	Tenant     string    `ch:"tenant,LowCardinality(String),key"`
	BlockID    string    `ch:"block_id,String,key"`
	Day        time.Time `ch:"day,Date"`
	KeyID      string    `ch:"key_id,String"`
	Nonce      []byte    `ch:"nonce,String"`
	Ciphertext []byte    `ch:"ciphertext,String,codec=NONE"`
	Length     uint32    `ch:"length,UInt32"`
	CreatedAt  time.Time `ch:"created_at,DateTime64(6, 'UTC')"`
}

// PromptKey is one row of `prompt_keys`: a tenant-day data key wrapped with
// HPKE (kem names the suite) to the key-custody public key custody_key_id.
// Normally one row per tenant and day; several collectors (or a restart)
// each add their own key_id for the same day. Deleting a tenant-day's rows
// crypto-shreds every block of that day: the collector never kept the
// data key anywhere but in memory.
type PromptKey struct {
	Tenant       string    `ch:"tenant,LowCardinality(String),key"`
	Day          time.Time `ch:"day,Date,key"`
	KeyID        string    `ch:"key_id,String,key"`
	KEM          string    `ch:"kem,LowCardinality(String)"`
	CustodyKeyID string    `ch:"custody_key_id,LowCardinality(String)"`
	WrappedKey   []byte    `ch:"wrapped_key,String"`
	CreatedAt    time.Time `ch:"created_at,DateTime64(6, 'UTC')"`
}

// Sorting keys of the side tables (ReplacingMergeTree(created_at)).
// prompt_keys MUST include key_id: replacing on (tenant, day) alone would
// collapse the keys two collectors (or one collector before and after a
// restart) wrapped for the same day, and the blocks sealed under the
// dropped key could never be opened again.
const (
	PromptBlocksOrderBy = "(tenant, block_id)"
	PromptKeysOrderBy   = "(tenant, day, key_id)"
)
