package vault_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wardenhq/warden/vault"
)

func BenchmarkPseudonymValue(b *testing.B) {
	p, _ := vault.NewPseudonymizer(key(1, 1))
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Value("u-7f3a9c21-5d4e-4b8a-9e61-2c0d8b7a4f15")
	}
}

func BenchmarkBlockIDAndSeal1KB(b *testing.B) {
	s, _ := vault.InitDir(b.TempDir() + "/k")
	s.InitCustody()
	c, _ := s.CustodyPublicKey()
	dk, _, _ := vault.NewDataKey(c, "t", "2026-11-23", time.Now())
	p, _ := vault.NewPseudonymizer(key(1, 1))
	pt := vault.EncodeMessage(vault.Message{Role: "user", Part: "prompt", Text: strings.Repeat("x", 1024)})
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	now := time.Now()
	for b.Loop() {
		_ = dk.Seal(p.BlockID(pt), pt, 1024, now)
	}
}

func BenchmarkNewDataKeyHPKEWrap(b *testing.B) {
	s, _ := vault.InitDir(b.TempDir() + "/k")
	s.InitCustody()
	c, _ := s.CustodyPublicKey()
	for b.Loop() {
		if _, _, err := vault.NewDataKey(c, "t", "2026-11-23", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
