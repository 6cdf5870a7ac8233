package dlp

import (
	"bytes"
)

// maxLookBehind bounds how far any detector reads before its anchor (key
// names, context keywords, URI schemes, email local parts). Stream relies on
// it: rescanning a window that starts this far before a position gives the
// same answer there as scanning the whole text.
const maxLookBehind = 256

// tokenStartOK: a token must not continue an identifier on its left.
func tokenStartOK(text []byte, s int) bool {
	return s == 0 || class[text[s-1]]&cB64U == 0
}

// tokenEndOK: a token must not run on into more identifier characters.
func tokenEndOK(text []byte, e int) bool {
	return e >= len(text) || class[text[e]]&cB64U == 0
}

func runOf(text []byte, i int, mask uint8, max int) int {
	lim := i + max
	if lim > len(text) {
		lim = len(text)
	}
	for i < lim && class[text[i]]&mask != 0 {
		i++
	}
	return i
}

func runAlnum(text []byte, i, max int) int {
	return runOf(text, i, cDigit|cUpper|cLower, max)
}

// exampleKeys are documented example credentials (vendor docs, RFCs,
// jwt.io). They appear in tutorials and code samples and are not secrets.
var exampleKeys = map[string]bool{
	"AKIAIOSFODNN7EXAMPLE":                     true,
	"AKIAI44QH8DHBEXAMPLE":                     true,
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY": true,
	"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY": true,
	"sk_test_4eC39HqLyjWDarjtT1zdp7dc":         true,
	"sk_test_BQokikJOvBiI2HlWgH4olfQ2":         true,
	"sk_test_26PHem9AhJZvU623DfE1x4sd":         true,
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c": true,
}

// tokenPlaceholder is the cheap placeholder test for vendor tokens, which
// already passed length, alphabet and (mostly) entropy checks.
func tokenPlaceholder(v []byte) bool {
	for _, w := range tokenPlaceholderWords {
		if bytes.Contains(v, w) {
			return true
		}
	}
	return false
}

var tokenPlaceholderWords = [][]byte{[]byte("xxxx"), []byte("XXXX"), []byte("****"), []byte("..."), []byte("your"), []byte("YOUR"), []byte("example"), []byte("0000000000")}

func isExample(v []byte) bool {
	return exampleKeys[string(v)] || bytes.Contains(v, []byte("EXAMPLE"))
}

// looksPlaceholder catches values that stand in for a secret: template
// references, masks, "your-api-key-here" and friends.
func looksPlaceholder(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	switch v[0] {
	case '$', '<', '{', '[':
		return true
	}
	same := true
	for i := 1; i < len(v); i++ {
		if v[i] != v[0] {
			same = false
			break
		}
	}
	if same {
		return true
	}
	// Bucketed by first byte: one table lookup per position, a compare only
	// where a placeholder word could start.
	for i := 0; i < len(v); i++ {
		ws := placeholderByFirst[lower(v[i])]
		if ws == nil {
			continue
		}
		for _, w := range ws {
			if hasPrefixFold(v[i:], w) {
				return true
			}
		}
	}
	return false
}

// hasPrefixFold: ASCII case-insensitive prefix test; w is lowercase.
func hasPrefixFold(v, w []byte) bool {
	if len(v) < len(w) {
		return false
	}
	for i, c := range w {
		if lower(v[i]) != c {
			return false
		}
	}
	return true
}

var placeholderByFirst = func() (t [256][][]byte) {
	for _, w := range placeholderWords {
		t[w[0]] = append(t[w[0]], w)
	}
	return
}()

var placeholderWords = [][]byte{
	[]byte("your"), []byte("example"), []byte("placeholder"), []byte("redacted"), []byte("xxxx"),
	[]byte("****"), []byte("..."), []byte("${"), []byte("{{"), []byte("<"), []byte(">"), []byte("%s"), []byte("%{"), []byte("%("),
	[]byte("replace"), []byte("changeme"), []byte("change_me"), []byte("change-me"), []byte("dummy"),
	[]byte("process.env"), []byte("os.environ"), []byte("getenv"), []byte("secretkeyref"), []byte("insert"),
	[]byte("fake"), []byte("sample"), []byte("todo"), []byte("goes-here"), []byte("_here"), []byte("-here"),
	[]byte("0000000000"),
}

func detAWSID(st *state, text []byte, s int) {
	if s+20 > len(text) || !tokenStartOK(text, s) {
		return
	}
	p := text[s : s+4]
	if !(p[0] == 'A' && (string(p) == "AKIA" || string(p) == "ASIA" || string(p) == "ABIA" || string(p) == "ACCA")) {
		return
	}
	for _, c := range text[s+4 : s+20] {
		if !(isUpper(c) || isDigit(c)) {
			return
		}
	}
	if !tokenEndOK(text, s+20) || isExample(text[s:s+20]) {
		return
	}
	st.add(tAWSID, High, s, s+20)
	// Credential CSVs and `aws configure list`-style output put the secret
	// right after the id: "AKIA...,<secret>".
	j := s + 20
	for k := 0; k < 4 && j < len(text) && (text[j] == ',' || text[j] == ';' || text[j] == '\t' || text[j] == ' ' || text[j] == '|' || text[j] == ':'); k++ {
		j++
	}
	if j > s+20 {
		awsSecretAt(st, text, j, Medium)
	}
}

// awsSecretAt accepts exactly 40 base64 characters at i.
func awsSecretAt(st *state, text []byte, i int, conf Confidence) bool {
	if i+40 > len(text) || (i > 0 && class[text[i-1]]&cB64 != 0) {
		return false
	}
	e := runOf(text, i, cB64, 41)
	if e-i != 40 {
		return false
	}
	v := text[i:e]
	d, u, l := charMix(v)
	if d == 0 || u == 0 || l == 0 || isExample(v) || entropy(v) < 4.0 {
		return false
	}
	st.add(tAWSSec, conf, i, e)
	return true
}

func detAWSSecret(st *state, text []byte, s, e int) {
	vs, ve, ok := parseKV(text, s, e, false)
	if !ok || ve-vs != 40 {
		return
	}
	awsSecretAt(st, text, vs, High)
}

func detGitHub(st *state, text []byte, s int) {
	if s+40 > len(text) || text[s] != 'g' || text[s+1] != 'h' || text[s+3] != '_' || !tokenStartOK(text, s) {
		return
	}
	switch text[s+2] {
	case 'p', 'o', 'u', 's', 'r':
	default:
		return
	}
	if runAlnum(text, s+4, 37)-(s+4) != 36 || !tokenEndOK(text, s+40) {
		return
	}
	if !githubChecksumOK(text[s+4:s+34], text[s+34:s+40]) {
		return
	}
	st.add(tGitHub, High, s, s+40)
}

func detGitHubPAT(st *state, text []byte, s int) {
	if !bytes.HasPrefix(text[s:], []byte("github_pat_")) || !tokenStartOK(text, s) {
		return
	}
	e := runOf(text, s+11, cDigit|cUpper|cLower|cB64U, 120)
	// 22 characters, '_', 59 characters.
	if e-(s+11) < 70 || e-(s+11) > 100 || !tokenEndOK(text, e) {
		return
	}
	v := text[s+11 : e]
	if bytes.IndexByte(v, '_') < 0 || tokenPlaceholder(v) {
		return
	}
	st.add(tGitHub, High, s, e)
}

// detPrefixed handles vendor tokens that are a unique prefix plus an opaque
// payload (GitLab).
func detPrefixed(st *state, text []byte, s, e int, typ uint8) {
	for k := s; k < e; k++ {
		if isUpper(text[k]) {
			return // prefixes are lowercase
		}
	}
	if !tokenStartOK(text, s) {
		return
	}
	end := runOf(text, e, cIdent, 301)
	for end > e && text[end-1] == '.' {
		end--
	}
	n := end - e
	if n < 20 || n > 300 || !tokenEndOK(text, end) {
		return
	}
	v := text[e:end]
	if tokenPlaceholder(v) || entropy(v) < 3.0 {
		return
	}
	st.add(typ, High, s, end)
}

func detSlack(st *state, text []byte, s, e int) {
	for k := s; k < e; k++ {
		if isUpper(text[k]) {
			return
		}
	}
	if !tokenStartOK(text, s) {
		return
	}
	end := runOf(text, e, cDigit|cUpper|cLower|cB64U, 260)
	for end > e && text[end-1] == '-' {
		end--
	}
	v := text[e:end]
	if len(v) < 20 || !tokenEndOK(text, end) {
		return
	}
	d, _, _ := charMix(v)
	if d < 8 || tokenPlaceholder(v) || bytes.IndexByte(v, '-') < 0 {
		return
	}
	st.add(tSlack, High, s, end)
}

func detStripe(st *state, text []byte, s, e int) {
	if text[s] != 's' && text[s] != 'r' {
		return
	}
	for k := s; k < e; k++ {
		if isUpper(text[k]) {
			return
		}
	}
	if !tokenStartOK(text, s) {
		return
	}
	end := runAlnum(text, e, 248)
	n := end - e
	if n < 20 || n > 247 || !tokenEndOK(text, end) {
		return
	}
	v := text[s:end]
	if isExample(v) || tokenPlaceholder(text[e:end]) {
		return
	}
	d, u, l := charMix(text[e:end])
	if d == 0 || (u == 0 && l == 0) {
		return
	}
	st.add(tStripe, High, s, end)
}

func detGoogle(st *state, text []byte, s int) {
	if s+39 > len(text) || string(text[s:s+4]) != "AIza" || !tokenStartOK(text, s) {
		return
	}
	end := runOf(text, s+4, cB64U, 36)
	if end-(s+4) != 35 || !tokenEndOK(text, end) {
		return
	}
	if tokenPlaceholder(text[s+4:end]) || isExample(text[s:end]) {
		return
	}
	st.add(tGoogle, High, s, end)
}

var openAIMarker = []byte("T3BlbkFJ") // base64 of "openai", in every OpenAI key

func detSK(st *state, text []byte, s, e int) {
	if text[s] != 's' || text[s+1] != 'k' || !(s == 0 || class[text[s-1]]&(cB64U|cIdent) == 0) {
		return
	}
	rest := text[e:]
	if bytes.HasPrefix(rest, []byte("ant-")) {
		end := runOf(text, e+4, cB64U, 251)
		v := text[e+4 : end]
		if len(v) < 32 || len(v) > 250 || !tokenEndOK(text, end) || tokenPlaceholder(v) || entropy(v) < 3.5 {
			return
		}
		st.add(tAnthro, High, s, end)
		return
	}
	for _, p := range [][]byte{[]byte("proj-"), []byte("svcacct-"), []byte("admin-"), []byte("None-")} {
		if bytes.HasPrefix(rest, p) {
			end := runOf(text, e+len(p), cB64U, 301)
			v := text[e+len(p) : end]
			if len(v) < 40 || len(v) > 300 || !tokenEndOK(text, end) || tokenPlaceholder(v) || entropy(v) < 3.5 {
				return
			}
			conf := Medium
			if bytes.Contains(v, openAIMarker) {
				conf = High
			}
			st.add(tOpenAI, conf, s, end)
			return
		}
	}
	// Legacy user keys: sk- followed by 48 alphanumerics.
	end := runAlnum(text, e, 49)
	if end-e != 48 || !tokenEndOK(text, end) {
		return
	}
	v := text[e:end]
	d, u, l := charMix(v)
	if d == 0 || u == 0 || l == 0 || tokenPlaceholder(v) {
		return
	}
	conf := Medium
	if bytes.Contains(v, openAIMarker) {
		conf = High
	}
	st.add(tOpenAI, conf, s, end)
}

const maxJWT = 8192

func detJWT(st *state, text []byte, s int) {
	if text[s] != 'e' || text[s+1] != 'y' || text[s+2] != 'J' {
		return
	}
	if s > 0 && (class[text[s-1]]&cB64U != 0 || text[s-1] == '.') {
		return
	}
	h := runOf(text, s, cB64U, maxJWT)
	if h-s < 10 || h >= len(text) || text[h] != '.' {
		return
	}
	hdr, ok := b64urlDecode(text[s:h], st.buf[:0])
	if !ok || len(hdr) < 8 || hdr[0] != '{' || !bytes.Contains(hdr, []byte(`"alg"`)) {
		return
	}
	none := bytes.Contains(hdr, []byte(`"none"`))
	p := runOf(text, h+1, cB64U, maxJWT)
	if p-(h+1) < 4 || p >= len(text) || text[p] != '.' {
		return
	}
	head := text[h+1 : p]
	if len(head) > 8 {
		head = head[:8]
	}
	pl, ok := b64urlDecode(head, st.buf2[:0])
	if !ok || len(pl) == 0 || pl[0] != '{' {
		return
	}
	sig := runOf(text, p+1, cB64U, maxJWT)
	if sig-(p+1) < 16 && !(none && sig == p+1) {
		return
	}
	if sig < len(text) && ((text[sig] == '.' && sig+1 < len(text) && class[text[sig+1]]&cB64U != 0) || text[sig] == '=') {
		return // five-part JWE or padded: not a plain JWS compact token
	}
	if isExample(text[s:sig]) {
		return
	}
	st.add(tJWT, High, s, sig)
}

const maxPEM = 16384

var (
	pemEnd     = []byte("-----END ")
	pemDashes  = []byte("-----")
	privateKey = []byte("PRIVATE KEY")
)

func detPEM(st *state, text []byte, s, e int) {
	if string(text[s:e]) != "-----BEGIN " {
		return
	}
	// Label: "RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "PGP PRIVATE KEY BLOCK"...
	le := e
	for le < len(text) && le-e < 40 && (isUpper(text[le]) || isDigit(text[le]) || text[le] == ' ') {
		le++
	}
	if !bytes.HasPrefix(text[le:], pemDashes) || !bytes.Contains(text[e:le], privateKey) {
		return
	}
	bodyStart := le + 5
	lim := s + maxPEM
	if lim > len(text) {
		lim = len(text)
	}
	if bodyStart >= lim {
		return
	}
	k := bytes.Index(text[bodyStart:lim], pemEnd)
	if k < 0 {
		return
	}
	body := text[bodyStart : bodyStart+k]
	endLabel := bodyStart + k + len(pemEnd)
	m := bytes.Index(text[endLabel:min(lim, endLabel+48)], pemDashes)
	if m < 0 || !bytes.Contains(text[endLabel:endLabel+m], privateKey) {
		return
	}
	end := endLabel + m + 5
	b64 := 0
	for _, c := range body {
		if class[c]&cB64 != 0 {
			b64++
		}
	}
	if b64 < 64 || bytes.Contains(body, []byte("...")) || bytes.IndexByte(body, '<') >= 0 {
		return
	}
	st.add(tPEM, High, s, end)
}
