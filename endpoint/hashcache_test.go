package endpoint

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestHashCacheSum: the raw-read hashing matches sha256 of the whole file
// for empty, small and multi-buffer files, skips files above the bound and
// non-regular files, and rehashes a file whose mtime or size changed.
func TestHashCacheSum(t *testing.T) {
	dir := t.TempDir()
	h := newHashCache(16, 1<<20)
	for _, size := range []int{0, 1, 4096, 256 << 10, 700 << 10, 1 << 20} {
		b := make([]byte, size)
		rand.Read(b)
		p := filepath.Join(dir, "f")
		os.WriteFile(p, b, 0o600)
		want := sha256.Sum256(b)
		if got := h.Sum(p); got != hex.EncodeToString(want[:]) {
			t.Errorf("size %d: sum %s, want %x", size, got, want)
		}
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, 1<<20+1), 0o600)
	if got := h.Sum(big); got != "" {
		t.Errorf("file above the bound hashed: %s", got)
	}
	if got := h.Sum(dir); got != "" {
		t.Errorf("directory hashed: %s", got)
	}
	p := filepath.Join(dir, "g")
	os.WriteFile(p, []byte("one"), 0o600)
	first := h.Sum(p)
	os.WriteFile(p, []byte("two"), 0o600) // same size: the mtime must tell
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(p, later, later)
	want := sha256.Sum256([]byte("two"))
	if got := h.Sum(p); got == first || got != hex.EncodeToString(want[:]) {
		t.Errorf("changed file: %s (before %s), want %x", got, first, want)
	}
}
