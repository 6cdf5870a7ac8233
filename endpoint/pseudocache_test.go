package endpoint

import (
	"crypto/rand"
	"testing"

	"github.com/wardenhq/warden/vault"
)

// TestPathPseudonymComposed: the converter's composed pseudonyms (cached
// directory + last segment) equal vault's pseudonym of the whole path,
// for extensions, dotted directories, special segments and backslashes,
// before and after the caches are warm.
func TestPathPseudonymComposed(t *testing.T) {
	key := make([]byte, vault.HMACKeySize)
	rand.Read(key)
	p, err := vault.NewPseudonymizer(vault.HMACKey{Version: 1, Secret: key})
	if err != nil {
		t.Fatal(err)
	}
	c := &converter{pseudo: p}
	paths := []string{
		"/usr/lib/python3.11/os.py", "/usr/lib/python3.11/re/__init__.py", "/usr/lib/python3.11",
		"/home/u/.ssh/id_ed25519", "/home/u/.ssh/", "/a/b/../c.tar.gz", "/a/./b/.", "/a/~/x", "/x",
		"/", "rel/file.go", "file", "/a/b\\c.txt", "/a\\b/c", "//double//slash.txt", "/a/b/.hidden",
		"/a/b/name.with-dash", "/usr/lib/python3.11/os.py",
	}
	for round := range 2 {
		for _, s := range paths {
			if got, want := c.pathPseudonym(s), p.Path(s, true); got != want {
				t.Errorf("round %d: %q: composed %q, vault %q", round, s, got, want)
			}
		}
	}
}
