package inspect

import (
	"strings"
	"testing"
)

func TestStreamHoldsPEM(t *testing.T) {
	d, err := NewDLPDetector()
	if err != nil {
		t.Fatal(err)
	}
	key := "-----BEGIN RSA PRIVATE KEY-----\n" +
		"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" +
		"VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n" +
		"LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo\n" +
		"-----END RSA PRIVATE KEY-----\n"
	text := "Sure, here is the server key you asked for:\n" + key + "Keep it safe."
	begin := int64(strings.Index(text, "-----BEGIN"))
	s := d.NewStream([]string{"private_key"})
	var found bool
	for i := 0; i < len(text); i += 16 {
		fs, safe := s.Write(text[i:min(i+16, len(text))])
		for _, f := range fs {
			if f.Type == "private_key" {
				found = true
				if int64(f.Start) != begin {
					t.Fatalf("finding at %d, key at %d", f.Start, begin)
				}
			}
		}
		if safe > begin && !found {
			t.Fatalf("safe offset %d passed the key's start %d before it was detected (at %d)", safe, begin, i)
		}
	}
	for _, f := range s.Close() {
		if f.Type == "private_key" && int64(f.Start) == begin {
			found = true
		}
	}
	if !found {
		t.Fatal("private key not found in the stream")
	}
}

// TestStreamForwardsCleanTextAtOnce: with only private keys blocking, text
// without a PEM header is safe as soon as it is written; a partial header
// is held.
func TestStreamForwardsCleanTextAtOnce(t *testing.T) {
	d, _ := NewDLPDetector()
	s := d.NewStream([]string{"private_key"})
	if _, safe := s.Write("Hello there, "); safe != 13 {
		t.Fatalf("safe %d, want 13", safe)
	}
	if _, safe := s.Write("key follows: ---"); safe != 13+13 {
		t.Fatalf("safe %d: a partial PEM header must be held", safe)
	}
	s2 := d.NewStream([]string{"private_key", "aws_access_key_id"})
	if _, safe := s2.Write("Hello there, "); safe != 0 {
		t.Fatalf("with token types blocking a tail is held, safe %d", safe)
	}
}

// TestRedactRestore: typed placeholders, same value same placeholder,
// restore within the same redactor only.
func TestRedactRestore(t *testing.T) {
	d, _ := NewDLPDetector()
	r := d.NewRedactor()
	text := "ssn 536-22-8817 and again 536-22-8817"
	out, n := r.Redact(text, d.Scan(text))
	if n != 2 || out != "ssn [REDACTED_US_SSN_1] and again [REDACTED_US_SSN_1]" {
		t.Fatalf("%d %q", n, out)
	}
	if back, ok := r.Restore("filed [REDACTED_US_SSN_1]"); !ok || back != "filed 536-22-8817" {
		t.Fatalf("%v %q", ok, back)
	}
	if _, ok := d.NewRedactor().Restore("filed [REDACTED_US_SSN_1]"); ok {
		t.Fatal("another request's redactor restored the value")
	}
}

// TestPartialPlaceholder: only a trailing start of a placeholder counts.
func TestPartialPlaceholder(t *testing.T) {
	d, err := NewDLPDetector()
	if err != nil {
		t.Fatal(err)
	}
	r := d.NewRedactor()
	for text, want := range map[string]int{
		"SSN [": 1, "SSN [RED": 4, "SSN [REDACTED_": 10, "SSN [REDACTED_US_SSN_1": 18,
		"SSN [REDACTED_US_SSN_1]": 0, "arr[i]": 0, "arr[i": 0, "[REDACTED_us": 0, "no bracket": 0,
		"[REDACTED_" + strings.Repeat("A", 80): 0,
	} {
		if got := r.PartialPlaceholder(text); got != want {
			t.Errorf("PartialPlaceholder(%q) = %d, want %d", text, got, want)
		}
	}
}
