package vault_test

import (
	"testing"

	"github.com/wardenhq/warden/vault"
)

// FuzzDecodeMessage: arbitrary block plaintexts never panic, and every
// encoded message decodes to itself. `go test -fuzz FuzzDecodeMessage ./vault`
// explores further; plain `go test` runs the seeds.
func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte{1, 4, 'u', 's', 'e', 'r', 0, 'h', 'i'}, "user", "prompt", "text")
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}, "", "", "")
	f.Add([]byte{}, "a", "b", "")
	f.Fuzz(func(t *testing.T, raw []byte, role, part, text string) {
		_, _ = vault.DecodeMessage(raw)
		m := vault.Message{Role: role, Part: part, Text: text}
		got, err := vault.DecodeMessage(vault.EncodeMessage(m))
		if err != nil || got != m {
			t.Fatalf("round trip %+v -> %+v, %v", m, got, err)
		}
	})
}
