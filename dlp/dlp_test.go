package dlp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"testing"
)

func mustScanner(t testing.TB, opts ...Option) *Scanner {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type span struct{ typ, val string }

func spans(s *Scanner, text string) []span {
	var out []span
	for _, f := range s.ScanString(text) {
		out = append(out, span{f.Type, text[f.Start:f.End]})
	}
	return out
}

func ghToken(random string) string {
	v := crc32.ChecksumIEEE([]byte(random))
	sum := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		sum[i] = base62Alphabet[v%62]
		v /= 62
	}
	return "ghp_" + random + string(sum)
}

func b64j(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

const testPEMBody = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\nLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo\n9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvre"

func TestDetectorsPositive(t *testing.T) {
	s := mustScanner(t)
	gh := ghToken("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1")
	jwt := b64j(map[string]any{"alg": "RS256", "typ": "JWT"}) + "." + b64j(map[string]any{"sub": "42"}) + "." + strings.Repeat("Ab1_", 10)
	pem := "-----BEGIN RSA PRIVATE KEY-----\n" + testPEMBody + "\n-----END RSA PRIVATE KEY-----"
	cases := []struct {
		name, text string
		want       []span
	}{
		{"bearer value only", "Authorization: Bearer " + jwt + "\n", []span{{TypeJWT, jwt}}},
		{"github in quotes", `{"token": "` + gh + `"}`, []span{{TypeGitHubToken, gh}}},
		{"aws id and secret are two findings", "aws_access_key_id = AKIAZ7QK3M2P5R6T4WXY\naws_secret_access_key = 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\n",
			[]span{{TypeAWSAccessKeyID, "AKIAZ7QK3M2P5R6T4WXY"}, {TypeAWSSecretAccessKey, "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"}}},
		{"db uri is one finding", "DATABASE_URL=postgres://alice@corp.io:S3cret-Pa55@db.internal:5432/app\n",
			[]span{{TypeDBConnectionString, "postgres://alice@corp.io:S3cret-Pa55@db.internal:5432/app"}}},
		{"pem raw", "key:\n" + pem + "\n", []span{{TypePrivateKey, pem}}},
		{"pem escaped in json", `{"k": "` + strings.ReplaceAll(pem, "\n", `\n`) + `"}`, []span{{TypePrivateKey, strings.ReplaceAll(pem, "\n", `\n`)}}},
		{"pem indented yaml", "tls:\n  key: |\n    " + strings.ReplaceAll(pem, "\n", "\n    ") + "\n", []span{{TypePrivateKey, strings.ReplaceAll(pem, "\n", "\n    ")}}},
		{"password value only", `db_password: "Tr0ub4dor&3x"`, []span{{TypeGenericPassword, "Tr0ub4dor&3x"}}},
		{"prose password", "my password is hunter2! thanks", []span{{TypeGenericPassword, "hunter2!"}}},
		{"prose password quoted", "the default password is `rootpwd`", []span{{TypeGenericPassword, "rootpwd"}}},
		{"flag with space", "docker login --password S3cr3t-Pa55 reg.io", []span{{TypeGenericPassword, "S3cr3t-Pa55"}}},
		{"python dict", `config["db_password"] = 'Tr0ub4dor3x'`, []span{{TypeGenericPassword, "Tr0ub4dor3x"}}},
		{"ssn with context", "SSN: 123-45-6789.", []span{{TypeUSSSN, "123-45-6789"}}},
		{"ssn bare needs keyword", "ssn 123456789", []span{{TypeUSSSN, "123456789"}}},
		{"card spaced", "card 4111 1111 1111 1111 expired", []span{{TypeCreditCard, "4111 1111 1111 1111"}}},
		{"amex", "amex 3782-822463-10005", []span{{TypeCreditCard, "3782-822463-10005"}}},
		{"iban spaced", "IBAN DE89 3704 0044 0532 0130 00.", []span{{TypeIBAN, "DE89 3704 0044 0532 0130 00"}}},
		{"email", "mail me: jane.doe+x@mail.acme.co.uk, ok", []span{{TypeEmail, "jane.doe+x@mail.acme.co.uk"}}},
		{"phone nanp", "call (415) 555-0132 now", []span{{TypePhoneNumber, "(415) 555-0132"}}},
		{"phone intl", "tel +44 20 7946 0958.", []span{{TypePhoneNumber, "+44 20 7946 0958"}}},
		{"slack", "SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", []span{{TypeSlackToken, "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"}}},
		{"stripe", "sk_live_4eC39HqLyjWDarjtT1zdp7dq9", []span{{TypeStripeKey, "sk_live_4eC39HqLyjWDarjtT1zdp7dq9"}}},
		{"google", "key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", []span{{TypeGoogleAPIKey, "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"}}},
		{"gitlab", "glpat-Ab3De5Gh7Jk9Mn1Pq3St", []span{{TypeGitLabToken, "glpat-Ab3De5Gh7Jk9Mn1Pq3St"}}},
		{"openai legacy", "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", []span{{TypeOpenAIAPIKey, "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"}}},
		{"xml element", "<server><password>Tr0ub4dor3x</password></server>", []span{{TypeGenericPassword, "Tr0ub4dor3x"}}},
		{"dotnet appSettings", `<add key="DB_PASSWORD" value="Tr0ub4dor3x"/>`, []span{{TypeGenericPassword, "Tr0ub4dor3x"}}},
		{"csv fields", "7,Jane Roe,123-45-6789,4111111111111111,trial", []span{{TypeUSSSN, "123-45-6789"}, {TypeCreditCard, "4111111111111111"}}},
		{"uri ends at csv comma", "1,mongodb://u:S3cretPa55@h1:27017,h2:27017/db?w=majority,active", []span{{TypeDBConnectionString, "mongodb://u:S3cretPa55@h1:27017,h2:27017/db?w=majority"}}},
		{"anthropic", "x-api-key: sk-ant-api03-" + strings.Repeat("Ab3_De5-Gh7", 9) + "AA", []span{{TypeAnthropicAPIKey, "sk-ant-api03-" + strings.Repeat("Ab3_De5-Gh7", 9) + "AA"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := spans(s, c.text)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("text %q\n got %v\nwant %v", c.text, got, c.want)
			}
		})
	}
}

func TestDetectorsNegative(t *testing.T) {
	s := mustScanner(t)
	gh := ghToken("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1")
	badGH := gh[:len(gh)-1] + string("AB"[strings.IndexByte("AB", gh[len(gh)-1])+1&1])
	if gh[len(gh)-1] != 'A' && gh[len(gh)-1] != 'B' {
		badGH = gh[:len(gh)-1] + "A"
	}
	for _, text := range []string{
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"DB_PASSWORD=${DB_PASSWORD}",
		`"password": "<password>"`,
		"api_key = your-api-key-here",
		"password: ********",
		"card **** **** **** 1234",
		"order 4111 1111 1111 1112",               // Luhn-invalid
		"ssn 000-12-3456 666-12-3456 912-12-3456", // invalid areas
		"ssn 123-00-4567 123-45-0000 078-05-1120",
		"IBAN DE88 3704 0044 0532 0130 00", // bad check digits
		"GITHUB_TOKEN=" + badGH,
		"id 123e4567-e89b-12d3-a456-426614174000 sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"version 1.22.3 released 2024-01-15 at 10:23:45, ip 192.168.100.200",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
		"eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxIn0.AbCdEfGhIjKlMnOpQrStUv", // header without alg
		"DATABASE_URL=postgres://localhost:5432/app",
		"git@github.com:acme/api.git logo@2x.png react@18.2.0",
		"max_tokens: 4096, token_type: Bearer, password_min_length: 12",
		"password = os.environ['DB_PASSWORD']",
		"password = self.password",
		"-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
		"[REDACTED_EMAIL_1] and [REDACTED_US_SSN_2]",
		"phone 123-456-7890", // NANP area cannot start with 1
		"total 1,234,567,890,123 units",
		// Prose and docs found while scanning third-party READMEs.
		"the password is entered interactively; the password is only used once",
		"they MUST provide the `--password` flag or --password-stdin Take care",
		`input[type="password"]:focus { color: red }`,
		"kpasswd_server = 127.0.0.1:464",
		"| GenAIServerTimeToFirstTokenDescription | GenAiServerTimeToFirstTokenDescription|",
		"oauthbearer_token_source: oauth2client",
		"PASSWORD=%{WORD}",
		"ps1:v3:4f6k...@corp.io and a..b@corp.io",
		"_NSS_BUFLEN_PASSWD  = 0x400\n",
		"cred := Credential{Username: testUsername, Password: testPassword}",
		"call 999-999-9999 or 212-911-1234 or 311-555-0100",
		`{"DB_PASSWORD": "<password>", "k": "v"}`,
	} {
		if got := spans(s, text); len(got) != 0 {
			t.Errorf("%q: want no findings, got %v", text, got)
		}
	}
}

func TestOptions(t *testing.T) {
	if _, err := New(WithTypes("email", "nope")); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown type: err = %v, want it to name the type", err)
	}
	s := mustScanner(t, WithTypes(TypeEmail))
	got := spans(s, "a@b.io 123-45-6789")
	if len(got) != 1 || got[0].typ != TypeEmail {
		t.Fatalf("WithTypes(email): got %v", got)
	}
	s = mustScanner(t, WithMinConfidence(Medium))
	if got := spans(s, "x@example.com y@corp.io"); len(got) != 1 || got[0].val != "y@corp.io" {
		t.Fatalf("min confidence: got %v", got)
	}
	s = mustScanner(t, WithoutTypes(TypeDBConnectionString))
	// With the URI detector off, what is inside it is reported on its own.
	if got := spans(s, "jdbc:mysql://db.io/x?user=u&password=S3cretPa55"); len(got) != 1 || got[0].typ != TypeGenericPassword {
		t.Fatalf("without db: want the inner password, got %v", got)
	}
}

func TestConfidenceText(t *testing.T) {
	b, _ := json.Marshal(Finding{Type: TypeEmail, Start: 1, End: 2, Confidence: High})
	if string(b) != `{"type":"email","start":1,"end":2,"confidence":"high"}` {
		t.Fatalf("json: %s", b)
	}
	var f Finding
	if err := json.Unmarshal(b, &f); err != nil || f.Confidence != High {
		t.Fatalf("roundtrip: %v %v", f, err)
	}
}

func TestConcurrentScans(t *testing.T) {
	s := mustScanner(t)
	text := "mail a.b@corp.io card 4111111111111111 ssn 123-45-6789 " + ghToken("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1")
	want := fmt.Sprint(s.ScanString(text))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 200; k++ {
				if got := fmt.Sprint(s.ScanString(text)); got != want {
					t.Errorf("concurrent scan differs: %s vs %s", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestRedactor(t *testing.T) {
	s := mustScanner(t)
	text := "from jane@corp.io to bob@corp.io, cc jane@corp.io; ssn 123-45-6789"
	r := NewRedactor()
	red := r.RedactString(text, s.ScanString(text))
	want := "from [REDACTED_EMAIL_1] to [REDACTED_EMAIL_2], cc [REDACTED_EMAIL_1]; ssn [REDACTED_US_SSN_1]"
	if red != want {
		t.Fatalf("redacted:\n got %s\nwant %s", red, want)
	}
	if c := r.Counts(); c[TypeEmail] != 3 || c[TypeUSSSN] != 1 {
		t.Fatalf("counts %v", c)
	}
	if d := r.Distinct(); d[TypeEmail] != 2 {
		t.Fatalf("distinct %v", d)
	}
	if got := r.RestoreString("reply to [REDACTED_EMAIL_2] about [REDACTED_US_SSN_1] and [REDACTED_EMAIL_9]"); got != "reply to bob@corp.io about 123-45-6789 and [REDACTED_EMAIL_9]" {
		t.Fatalf("restore: %s", got)
	}
	if got := r.RestoreString(red); got != text {
		t.Fatalf("roundtrip: %s", got)
	}
	// Redacted text has no findings left.
	if fs := s.ScanString(red); len(fs) != 0 {
		t.Fatalf("redacted text still has findings: %v", fs)
	}
	// A second redactor starts numbering afresh.
	if red2 := NewRedactor().RedactString("bob@corp.io", s.ScanString("bob@corp.io")); red2 != "[REDACTED_EMAIL_1]" {
		t.Fatalf("fresh redactor: %s", red2)
	}
	r.Reset()
	if got := r.RestoreString("[REDACTED_EMAIL_1]"); got != "[REDACTED_EMAIL_1]" {
		t.Fatalf("after reset: %s", got)
	}
	// Overlapping or out-of-range findings are skipped, not a panic.
	out := NewRedactor().Redact([]byte("abc"), []Finding{{Type: TypeEmail, Start: 1, End: 9}, {Type: TypeEmail, Start: 0, End: 2}, {Type: TypeEmail, Start: 1, End: 2}})
	if string(out) != "[REDACTED_EMAIL_1]c" {
		t.Fatalf("bad findings: %s", out)
	}
}
