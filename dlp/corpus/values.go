package corpus

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/big"
	"math/rand/v2"
	"strings"
)

// Value generators: each builds a value in a vendor's or standard's
// publicly documented format from random bytes. Nothing here is copied
// from a real credential or a data file.

const (
	upper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerAl = "abcdefghijklmnopqrstuvwxyz"
	digits  = "0123456789"
	alnum   = upper + lowerAl + digits
	b62     = digits + upper + lowerAl
	b64url  = alnum + "-_"
	hexCh   = "0123456789abcdef"
)

type gen struct{ r *rand.Rand }

func (g gen) pick(ss ...string) string { return ss[g.r.IntN(len(ss))] }
func (g gen) n(k int) int              { return g.r.IntN(k) }
func (g gen) chance(p float64) bool    { return g.r.Float64() < p }

func (g gen) str(alpha string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[g.r.IntN(len(alpha))]
	}
	return string(b)
}

// mixed returns n characters from alpha that contain at least one digit,
// one upper and one lower letter (as real random tokens of that length
// almost always do).
func (g gen) mixed(alpha string, n int) string {
	for {
		s := g.str(alpha, n)
		if strings.ContainsAny(s, digits) && strings.ContainsAny(s, upper) && strings.ContainsAny(s, lowerAl) {
			return s
		}
	}
}

func (g gen) randBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return b
}

func (g gen) awsKeyID() string {
	return g.pick("AKIA", "AKIA", "AKIA", "ASIA") + g.mixedUpper(16)
}

func (g gen) mixedUpper(n int) string {
	for {
		s := g.str(upper+"234567", n)
		if strings.ContainsAny(s, "234567") && !strings.Contains(s, "EXAMPLE") {
			return s
		}
	}
}

func (g gen) awsSecret() string {
	for {
		s := base64.StdEncoding.EncodeToString(g.randBytes(30))
		if strings.ContainsAny(s, digits) && strings.ContainsAny(s, upper) && strings.ContainsAny(s, lowerAl) {
			return s
		}
	}
}

func base62CRC(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = b62[v%62]
		v /= 62
	}
	return string(out)
}

// githubToken follows GitHub's 2021 format: prefix, 30 random base62
// characters, 6-character base62 CRC32 checksum.
func (g gen) githubToken() string {
	if g.chance(0.15) {
		return "github_pat_" + g.str(alnum, 22) + "_" + g.str(alnum, 59)
	}
	r := g.str(alnum, 30)
	return g.pick("ghp_", "ghp_", "gho_", "ghs_", "ghu_", "ghr_") + r + base62CRC(r)
}

// githubBadChecksum looks like a classic token but fails the checksum.
func (g gen) githubBadChecksum() string {
	r := g.str(alnum, 30)
	sum := base62CRC(r)
	bad := []byte(sum)
	bad[5] = b62[(strings.IndexByte(b62, bad[5])+1+g.n(60))%62]
	return "ghp_" + r + string(bad)
}

func (g gen) gitlabToken() string {
	if g.chance(0.2) {
		return g.pick("glrt-", "gldt-", "glptt-") + g.mixed(b64url, 20+g.n(10))
	}
	return "glpat-" + g.mixed(alnum+"-_", 20)
}

func (g gen) slackToken() string {
	switch g.n(3) {
	case 0:
		return "xoxb-" + g.str(digits, 12) + "-" + g.str(digits, 13) + "-" + g.mixed(alnum, 24)
	case 1:
		return "xoxp-" + g.str(digits, 12) + "-" + g.str(digits, 12) + "-" + g.str(digits, 13) + "-" + g.str(hexCh, 32)
	default:
		return "xapp-1-A" + g.str(upper+digits, 10) + "-" + g.str(digits, 13) + "-" + g.str(hexCh, 64)
	}
}

func (g gen) stripeKey() string {
	return g.pick("sk_live_", "sk_live_", "rk_live_", "sk_test_") + g.mixed(alnum, g.pick24_99())
}

func (g gen) pick24_99() int {
	if g.chance(0.5) {
		return 24
	}
	return 99
}

func (g gen) googleKey() string { return "AIza" + g.mixed(b64url, 35) }

func (g gen) openaiKey() string {
	switch g.n(3) {
	case 0:
		return "sk-" + g.mixed(alnum, 20) + "T3BlbkFJ" + g.mixed(alnum, 20)
	case 1:
		return "sk-proj-" + g.mixed(b64url, 74) + "T3BlbkFJ" + g.mixed(b64url, 74)
	default:
		return "sk-svcacct-" + g.mixed(b64url, 74) + "T3BlbkFJ" + g.mixed(b64url, 74)
	}
}

func (g gen) anthropicKey() string {
	return "sk-ant-" + g.pick("api03-", "api03-", "admin01-") + g.mixed(b64url, 93) + "AA"
}

func b64u(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (g gen) jwt() string {
	alg := g.pick("HS256", "RS256", "ES256", "PS384")
	hdr := map[string]any{"alg": alg, "typ": "JWT"}
	if g.chance(0.5) {
		hdr["kid"] = g.str(hexCh, 16)
	}
	pl := map[string]any{"sub": g.str(hexCh, 12), "iat": 1700000000 + g.n(9000000), "exp": 1800000000 + g.n(9000000)}
	if g.chance(0.5) {
		pl["email"] = g.str(lowerAl, 6) + "@corp.internal"
		pl["scope"] = "read write"
	}
	sigLen := 32
	if alg != "HS256" {
		sigLen = 64 + g.n(192)
	}
	return b64u(hdr) + "." + b64u(pl) + "." + base64.RawURLEncoding.EncodeToString(g.randBytes(sigLen))
}

// pemBody returns base64 lines of 64 characters.
func (g gen) pemKey() (label string, lines []string) {
	label = g.pick("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
	n := 120 + g.n(1100)
	if label == "EC PRIVATE KEY" {
		n = 121
	}
	body := base64.StdEncoding.EncodeToString(g.randBytes(n))
	for len(body) > 64 {
		lines = append(lines, body[:64])
		body = body[64:]
	}
	lines = append(lines, body)
	return label, lines
}

func (g gen) password() string {
	switch g.n(4) {
	case 0:
		return g.mixed(alnum+"!@#%^*_-+=", 10+g.n(14))
	case 1:
		w := []string{"Summer", "Winter", "Dragon", "Monkey", "Falcon", "Purple", "Tiger", "Orange", "Rocket", "Maple"}
		return w[g.n(len(w))] + g.str(digits, 2+g.n(3)) + g.pick("!", "#", "$", "", "?")
	case 2:
		return g.str(lowerAl, 5) + g.pick("-", "_", "!") + g.str(lowerAl, 6) + g.str(digits, 2)
	default:
		return g.mixed(alnum, 16+g.n(17))
	}
}

// opaqueSecret looks like a random API token from an unnamed service.
func (g gen) opaqueSecret() string {
	switch g.n(3) {
	case 0:
		return g.str(hexCh, 32) + g.str(digits, 1)
	case 1:
		return g.mixed(alnum, 24+g.n(24))
	default:
		return g.mixed(b64url, 40)
	}
}

func (g gen) host() string {
	return g.pick("db", "pg", "mysql", "mongo", "cache", "primary", "replica-1") + "." + g.pick("internal", "prod.corp", "eu-west-1.rds.amazonaws.com", "svc.cluster.local", "acme.io")
}

func (g gen) dbURI() string {
	user := g.pick("admin", "app", "postgres", "svc_orders", "root", "analytics")
	pw := g.pick(g.password(), g.mixed(alnum, 16), g.str(lowerAl, 8)+g.str(digits, 3))
	pw = strings.NewReplacer("@", "%40", "/", "%2F", "#", "%23", "?", "%3F", "&", "%26", "%", "%25", "+", "%2B", "=", "%3D", ":", "%3A", "^", "%5E", "*", "%2A", "!", "%21").Replace(pw)
	switch g.n(6) {
	case 0:
		return fmt.Sprintf("postgres://%s:%s@%s:5432/%s?sslmode=require", user, pw, g.host(), g.pick("app", "orders", "billing"))
	case 1:
		return fmt.Sprintf("postgresql://%s:%s@%s/%s", user, pw, g.host(), g.pick("app", "orders"))
	case 2:
		return fmt.Sprintf("mysql://%s:%s@%s:3306/%s", user, pw, g.host(), g.pick("shop", "wp"))
	case 3:
		return fmt.Sprintf("mongodb+srv://%s:%s@cluster0.%s.mongodb.net/%s?retryWrites=true&w=majority", user, pw, g.str(lowerAl+digits, 5), g.pick("test", "prod"))
	case 4:
		return fmt.Sprintf("redis://%s:%s@%s:6379/0", g.pick("default", "app"), pw, g.host())
	default:
		return fmt.Sprintf("jdbc:postgresql://%s:5432/%s?user=%s&password=%s", g.host(), g.pick("app", "ledger"), user, pw)
	}
}

func (g gen) ssnParts() (string, string, string) {
	for {
		a := 1 + g.n(899)
		if a == 666 {
			continue
		}
		return fmt.Sprintf("%03d", a), fmt.Sprintf("%02d", 1+g.n(99)), fmt.Sprintf("%04d", 1+g.n(9999))
	}
}

func (g gen) invalidSSN() string {
	a, gr, s := g.ssnParts()
	switch g.n(5) {
	case 0:
		a = "000"
	case 1:
		a = "666"
	case 2:
		a = fmt.Sprintf("9%02d", g.n(100))
	case 3:
		gr = "00"
	default:
		s = "0000"
	}
	return a + "-" + gr + "-" + s
}

func luhnDigit(d string) byte {
	sum := 0
	dbl := true
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if dbl {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		dbl = !dbl
	}
	return byte('0' + (10-sum%10)%10)
}

func (g gen) cardDigits() string {
	var pre string
	n := 16
	switch g.n(5) {
	case 0, 1:
		pre = "4"
	case 2:
		pre = fmt.Sprintf("5%d", 1+g.n(5))
	case 3:
		pre = g.pick("34", "37")
		n = 15
	default:
		pre = g.pick("6011", "65")
	}
	body := pre + g.str(digits, n-1-len(pre))
	return body + string(luhnDigit(body))
}

func groupCard(d, sep string) string {
	if len(d) == 15 {
		return d[:4] + sep + d[4:10] + sep + d[10:]
	}
	var parts []string
	for i := 0; i < len(d); i += 4 {
		parts = append(parts, d[i:min(len(d), i+4)])
	}
	return strings.Join(parts, sep)
}

func (g gen) card() string {
	d := g.cardDigits()
	switch g.n(3) {
	case 0:
		return d
	case 1:
		return groupCard(d, " ")
	default:
		return groupCard(d, "-")
	}
}

// luhnInvalidCard has a card prefix and length but a wrong check digit.
func (g gen) luhnInvalidCard() string {
	d := g.cardDigits()
	last := d[len(d)-1]
	d = d[:len(d)-1] + string('0'+(last-'0'+1+byte(g.n(8)))%10)
	if g.chance(0.5) {
		return groupCard(d, " ")
	}
	return d
}

var ibanCountries = []struct {
	cc   string
	bban string // pattern: n digit, a upper letter, c alnum
}{
	{"DE", "nnnnnnnnnnnnnnnnnn"}, {"GB", "aaaannnnnnnnnnnnnn"}, {"FR", "nnnnnnnnnnnnnnnnnnnnnnn"},
	{"NL", "aaaannnnnnnnnn"}, {"ES", "nnnnnnnnnnnnnnnnnnnn"}, {"IT", "annnnnnnnnnnnnnnnnnnnnn"},
	{"BE", "nnnnnnnnnnnn"}, {"CH", "nnnnnnnnnnnnnnnnn"}, {"AT", "nnnnnnnnnnnnnnnn"}, {"PL", "nnnnnnnnnnnnnnnnnnnnnnnn"},
	{"SE", "nnnnnnnnnnnnnnnnnnnn"}, {"IE", "aaaannnnnnnnnnnnnn"}, {"NO", "nnnnnnnnnnn"}, {"DK", "nnnnnnnnnnnnnn"},
}

func ibanCheck(cc, bban string) string {
	s := bban + cc + "00"
	var num strings.Builder
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			num.WriteString(fmt.Sprint(int(c-'A') + 10))
		} else {
			num.WriteRune(c)
		}
	}
	n, _ := new(big.Int).SetString(num.String(), 10)
	m := new(big.Int).Mod(n, big.NewInt(97)).Int64()
	return fmt.Sprintf("%02d", 98-m)
}

func (g gen) ibanCompact(valid bool) string {
	c := ibanCountries[g.n(len(ibanCountries))]
	b := make([]byte, len(c.bban))
	for i, p := range c.bban {
		switch p {
		case 'n':
			b[i] = digits[g.n(10)]
		case 'a':
			b[i] = upper[g.n(26)]
		}
	}
	chk := ibanCheck(c.cc, string(b))
	if !valid {
		k := (int(chk[1]-'0') + 1 + g.n(8)) % 10
		chk = chk[:1] + fmt.Sprint(k)
	}
	return c.cc + chk + string(b)
}

func spaceIBAN(s string) string {
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:min(len(s), i+4)])
	}
	return strings.Join(parts, " ")
}

func (g gen) iban() string {
	s := g.ibanCompact(true)
	if g.chance(0.5) {
		return spaceIBAN(s)
	}
	return s
}

var firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent", "victor", "wendy", "jose", "mei", "ahmed", "olga", "priya", "kenji"}
var lastNames = []string{"smith", "jones", "garcia", "muller", "rossi", "nguyen", "kowalski", "okafor", "tanaka", "silva", "haddad", "larsen"}

func (g gen) email() string {
	f, l := firstNames[g.n(len(firstNames))], lastNames[g.n(len(lastNames))]
	local := g.pick(f+"."+l, f+"_"+l, f[:1]+l, f+fmt.Sprint(g.n(100)), f+"+"+g.pick("billing", "test", "news"), strings.ToUpper(f[:1])+f[1:]+"."+strings.ToUpper(l[:1])+l[1:])
	dom := g.pick("gmail.com", "outlook.com", "acme-corp.io", "mail.globex.co.uk", "initech.com", "protonmail.ch", "umbrella.de", "stark-industries.net", "uni-heidelberg.de", "company.internal.org")
	return local + "@" + dom
}

func (g gen) phone() string {
	// NANP numbering plan: area NXX with X≠9 in the middle, no N11 codes.
	nxx := func(midOK func(int) bool) string {
		for {
			a, b, c := 2+g.n(8), g.n(10), g.n(10)
			if midOK(b) && !(b == 1 && c == 1) {
				return fmt.Sprintf("%d%d%d", a, b, c)
			}
		}
	}
	area := nxx(func(b int) bool { return b != 9 })
	exch := nxx(func(int) bool { return true })
	line := fmt.Sprintf("%04d", g.n(10000))
	switch g.n(9) {
	case 0:
		return "(" + area + ") " + exch + "-" + line
	case 1:
		return area + "-" + exch + "-" + line
	case 2:
		return area + "." + exch + "." + line
	case 3:
		return "+1 " + area + " " + exch + " " + line
	case 4:
		return "+1" + area + exch + line
	case 5:
		return "+44 20 " + g.str(digits, 4) + " " + g.str(digits, 4)
	case 6:
		return "+49 30 " + g.str(digits, 8)
	case 7:
		return "+33 " + fmt.Sprint(1+g.n(9)) + " " + g.str(digits, 2) + " " + g.str(digits, 2) + " " + g.str(digits, 2) + " " + g.str(digits, 2)
	default:
		return "+91 9" + g.str(digits, 4) + " " + g.str(digits, 5)
	}
}

func (g gen) uuid() string {
	return g.str(hexCh, 8) + "-" + g.str(hexCh, 4) + "-4" + g.str(hexCh, 3) + "-" + g.pick("8", "9", "a", "b") + g.str(hexCh, 3) + "-" + g.str(hexCh, 12)
}
