package dlp

import (
	"fmt"
	"strings"
	"testing"
)

// TestScanSplitEqualsOnePass: a large text scanned on two goroutines gives
// exactly the findings of one pass, with a finding (of every kind of
// detector) placed at every offset across a chunk boundary.
func TestScanSplitEqualsOnePass(t *testing.T) {
	s := mustScanner(t)
	gh := ghToken("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1")
	jwt := b64j(map[string]any{"alg": "RS256", "typ": "JWT"}) + "." + b64j(map[string]any{"sub": "42"}) + "." + strings.Repeat("Ab1_", 10)
	pem := "-----BEGIN RSA PRIVATE KEY-----\n" + testPEMBody + "\n-----END RSA PRIVATE KEY-----"
	samples := []string{
		"Authorization: Bearer " + jwt + "\n",
		`{"token": "` + gh + `"}`,
		"aws_access_key_id = AKIAZ7QK3M2P5R6T4WXY\naws_secret_access_key = Zk4/bq9Xw2Lr8Tn3Vd6Hy1Mc5Ps0Ga7Je2Qf9Ru4\n",
		"DATABASE_URL=postgres://alice@corp.io:S3cret-Pa55@db.internal:5432/app\n",
		"key:\n" + pem + "\n",
		`db_password: "Tr0ub4dor&3x"`,
		"SSN: 123-45-6789.",
		"card 4111 1111 1111 1111 expired",
		"mail me: jane.doe+x@mail.acme.co.uk, ok",
		"SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
		"secret_access_key secret_access_key github_pat_",
	}
	filler := strings.Repeat("the quarterly report shows revenue growth in the north region ", 2000)
	const size = 80 << 10
	if size < parallelMin {
		t.Fatal("texts must be long enough to be split")
	}
	for si, sample := range samples {
		cut := 5 * splitChunk // a chunk boundary
		for d := -len(sample) - 2; d <= maxAnchor+2; d++ {
			p := cut + d
			text := []byte(filler[:p] + sample + filler[:size-p])
			st := getState()
			scanInto(st, text)
			want := s.emit(st, nil, 0, 0, len(text))
			putState(st)
			got := s.Scan(text)
			if len(want) == 0 && si < len(samples)-1 {
				t.Fatalf("sample %d finds nothing: the test would prove nothing", si)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("sample %d at split offset %d:\n split %v\n  once %v", si, d, got, want)
			}
		}
	}
}
