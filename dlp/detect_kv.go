package dlp

import (
	"bytes"
)

// parseKV finds the value that follows a key whose keyword sits at
// [ks, ke): `key = value`, `"key": "value"`, `key: 'value'`, `KEY=value`,
// `\"key\": \"value\"` (JSON inside a JSON string), `--key value`,
// `key is value` (prose, passwords only). It returns the value span without
// quotes.
func parseKV(text []byte, ks, ke int, prose bool) (vs, ve int, ok bool) {
	n := len(text)
	// weak separators (prose "is", a flag followed by a space) need a value
	// that does not read as an ordinary word ("the password is entered",
	// "--password flag").
	weak := false
	// Finish the identifier the keyword sits in.
	i := ke
	for i < n && i-ke < 64 && class[text[i]]&cIdent != 0 {
		i++
	}
	flag := ks >= 2 && text[ks-1] == '-' && text[ks-2] == '-'
	if !flag {
		ks2 := ks
		for ks2 > 0 && ks-ks2 < 64 && class[text[ks2-1]]&cIdent != 0 {
			ks2--
		}
		flag = ks2 >= 0 && ks2+2 <= ks && text[ks2] == '-' && text[ks2+1] == '-'
	}
	// Closing quote of the key, possibly JSON-escaped.
	if i < n && text[i] == '\\' && i+1 < n && text[i+1] == '"' {
		i += 2
	} else if i < n && (text[i] == '"' || text[i] == '\'' || text[i] == '`') {
		i++
	}
	bracket := false
	if i < n && text[i] == ']' {
		i++
		bracket = true // config["password"] = ...; not a CSS selector [type="password"]:focus
	}
	// XML element: <password>value</password>
	if i < n && text[i] == '>' && elementKey(text, ks) {
		i++
		vs = i
		for i < n && i-vs <= 256 && text[i] != '<' && text[i] != '\n' {
			i++
		}
		// Only a real element: the value is followed by its closing tag.
		if i+1 >= n || text[i] != '<' || text[i+1] != '/' || i == vs || i-vs > 256 {
			return 0, 0, false
		}
		return vs, i, true
	}
	sp := i
	for i < n && i-sp < 16 && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	switch {
	case bytes.HasPrefix(text[i:], []byte("value=")) && i > sp:
		// .NET appSettings: <add key="DB_PASSWORD" value="..."/>
		i += len("value=")
	case bracket && !(i < n && text[i] == '='):
		return 0, 0, false
	case i+1 < n && text[i] == ':' && text[i+1] == '=':
		i += 2
	case i+1 < n && text[i] == '=' && text[i+1] == '>':
		i += 2
	case i < n && (text[i] == '=' || text[i] == ':'):
		i++
	case prose && i+2 < n && text[i] == 'i' && text[i+1] == 's' && text[i+2] == ' ' && i > sp:
		i += 2
		weak = true
	case i < n && text[i] == '|' && cellKey(text, ks):
		i++
	case flag && i > sp:
		// "--password value"
		weak = true
	default:
		return 0, 0, false
	}
	for k := 0; i < n && k < 16 && (text[i] == ' ' || text[i] == '\t'); k++ {
		i++
	}
	if i >= n {
		return 0, 0, false
	}
	// Opening quote.
	var q byte
	esc := false
	switch text[i] {
	case '"', '\'', '`':
		q = text[i]
		i++
	case '\\':
		if i+1 < n && text[i+1] == '"' {
			q, esc = '"', true
			i += 2
		}
	}
	vs = i
	if q != 0 {
		for i < n && i-vs <= 256 {
			c := text[i]
			if c == '\n' || c == '\r' {
				return 0, 0, false
			}
			if esc && c == '\\' && i+1 < n && text[i+1] == '"' {
				break
			}
			if !esc && c == q {
				break
			}
			if !esc && c == '\\' {
				i += 2
				continue
			}
			i++
		}
		if i >= n || i-vs > 256 {
			return 0, 0, false
		}
		return vs, i, i > vs
	}
	defer func() {
		if ok && weak && plainWord(text[vs:ve]) {
			ok = false
		}
	}()
	for i < n && i-vs <= 256 {
		c := text[i]
		if isSpace(c) || c == ',' || c == ';' || c == '"' || c == '\'' || c == '`' || c == '}' || c == ')' || c == ']' || c == '&' || c == '\\' || c == '|' {
			break
		}
		if c == '(' || c == '[' {
			return 0, 0, false // a call or index expression, not a literal
		}
		i++
	}
	ve = i
	// `Password: testPassword,` in code is a variable, not a literal: an
	// unquoted, digit-free identifier that ends at a code delimiter.
	if ve < n && (text[ve] == ',' || text[ve] == ')' || text[ve] == ';' || text[ve] == '}') && codeIdent(text[vs:ve]) {
		return 0, 0, false
	}
	if prose {
		for ve > vs && (text[ve-1] == '.' || text[ve-1] == ',') && (ve == n || isSpace(text[ve]) || ve == i) {
			ve--
		}
	}
	if ve-vs > 256 {
		return 0, 0, false
	}
	return vs, ve, ve > vs
}

func isHex(v []byte) bool {
	for _, c := range v {
		if !isDigit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// codeIdent: [A-Za-z_][A-Za-z_]* (no digits), or a hex literal 0x...
func codeIdent(v []byte) bool {
	if len(v) > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') {
		return true
	}
	for _, c := range v {
		if !isUpper(c) && !isLower(c) && c != '_' {
			return false
		}
	}
	return len(v) > 0
}

// plainWord: letters only (an English word), or a key=value pair.
func plainWord(v []byte) bool {
	if k := bytes.IndexByte(v, '='); k > 0 && k+1 < len(v) && v[k+1] != '=' {
		return true // "source=ssh-2"; trailing "=" padding is fine
	}
	for _, c := range v {
		if !isUpper(c) && !isLower(c) && c != ':' {
			return false
		}
	}
	return true
}

// elementKey: the key is an XML element name ("<password>").
func elementKey(text []byte, ks int) bool {
	a := ks
	for a > 0 && ks-a < 64 && (class[text[a-1]]&cIdent != 0 || text[a-1] == ':') {
		a--
	}
	return a > 0 && text[a-1] == '<'
}

// cellKey: the key sits in a table cell ("| password | value |").
func cellKey(text []byte, ks int) bool {
	a := ks
	for a > 0 && ks-a < 64 && class[text[a-1]]&cIdent != 0 {
		a--
	}
	for k := 0; a > 0 && k < 4 && (text[a-1] == ' ' || text[a-1] == '\t'); k++ {
		a--
	}
	if a == 0 || text[a-1] != '|' {
		return false
	}
	// Only the first cell of a row names a key.
	a--
	for k := 0; a > 0 && k < 8 && (text[a-1] == ' ' || text[a-1] == '\t'); k++ {
		a--
	}
	return a == 0 || text[a-1] == '\n'
}

// keyName returns the lowercased identifier around [ks, ke) into buf.
func keyName(text []byte, ks, ke int, buf []byte) []byte {
	a := ks
	for a > 0 && ks-a < 48 && class[text[a-1]]&cIdent != 0 {
		a--
	}
	b := ke
	for b < len(text) && b-ke < 48 && class[text[b]]&cIdent != 0 {
		b++
	}
	buf = buf[:0]
	for _, c := range text[a:b] {
		buf = append(buf, lower(c))
	}
	return buf
}

// Keys that name something about a secret rather than hold one
// (password_min_length, max_tokens, token_type, secret_name, client_secret_id).
var (
	keyStopContains = [][]byte{
		[]byte("length"), []byte("policy"), []byte("hint"), []byte("field"), []byte("prompt"), []byte("label"),
		[]byte("reset"), []byte("url"), []byte("uri"), []byte("file"), []byte("path"), []byte("expir"), []byte("changed"),
		[]byte("updated"), []byte("required"), []byte("strength"), []byte("regex"), []byte("pattern"), []byte("forgot"),
		[]byte("rotation"), []byte("enabled"), []byte("hash"), []byte("count"), []byte("tokens"), []byte("tokenizer"),
		[]byte("endpoint"), []byte("version"), []byte("usage"), []byte("limit"), []byte("budget"), []byte("method"),
		[]byte("manager"), []byte("provider"), []byte("oldpwd"), []byte("keyid"), []byte("keyname"), []byte("secretname"),
		[]byte("secretref"), []byte("_len"), []byte("_env"), []byte("_var"), []byte("_type"), []byte("_name"),
		[]byte("_age"), []byte("_ttl"), []byte("mode"), []byte("server"), []byte("host"), []byte("source"),
		[]byte("description"), []byte("stdin"), []byte("buflen"),
	}
	keyStopPrefix = [][]byte{[]byte("max_"), []byte("min_"), []byte("type_"), []byte("ref_"), []byte("num_"), []byte("is_"), []byte("has_")}
	keyStopSuffix = [][]byte{[]byte("id"), []byte("_arn"), []byte("_ref"), []byte("_at"), []byte("_in"), []byte("_set"), []byte("name"), []byte("unit")}
)

var keyStopByFirst = func() (t [256][][]byte) {
	for _, w := range keyStopContains {
		t[w[0]] = append(t[w[0]], w)
	}
	return
}()

func keyStopped(key []byte) bool {
	// key is lowercase already.
	for i := range key {
		for _, w := range keyStopByFirst[key[i]] {
			if bytes.HasPrefix(key[i:], w) {
				return true
			}
		}
	}
	for _, w := range keyStopPrefix {
		if bytes.HasPrefix(key, w) {
			return true
		}
	}
	for _, w := range keyStopSuffix {
		if bytes.HasSuffix(key, w) {
			return true
		}
	}
	return false
}

// Exact values that are placeholders or schema words, never passwords.
var valueStopWords = map[string]bool{
	"password": true, "passwd": true, "secret": true, "token": true, "null": true, "nil": true, "none": true,
	"true": true, "false": true, "undefined": true, "string": true, "str": true, "required": true,
	"optional": true, "empty": true, "hidden": true, "masked": true, "n/a": true, "tbd": true, "test": true,
	"bool": true, "int": true, "number": true, "any": true, "bytes": true, "object": true, "text": true,
	"pass": true, "pwd": true, "secret_key": true, "api_key": true, "apikey": true, "value": true, "set": true,
	"unset": true, "redacted": true, "omitted": true, "prompt": true, "env": true, "default": true, "self": true,
	"this": true, "input": true,
}

func valueRejected(v []byte) bool {
	if looksPlaceholder(v) {
		return true
	}
	var lb [32]byte
	if len(v) <= len(lb) {
		l := lb[:len(v)]
		for i, c := range v {
			l[i] = lower(c)
		}
		if valueStopWords[string(l)] {
			return true
		}
	}
	if bytes.HasPrefix(v, []byte("arn:")) || bytes.HasPrefix(v, []byte("http")) || v[0] == '/' || v[0] == '~' ||
		bytes.HasPrefix(v, []byte("./")) || bytes.HasPrefix(v, []byte("vault:")) || bytes.HasPrefix(v, []byte("file:")) {
		return true
	}
	return false
}

// dottedIdent: `self.password`, `config.db.secret` — code, not a literal.
func dottedIdent(v []byte) bool {
	dots := 0
	for _, c := range v {
		if c == '.' {
			dots++
			continue
		}
		if !(isAlnum(c) || c == '_') {
			return false
		}
	}
	return dots > 0 && !isDigit(v[0])
}

func detKeyValue(st *state, text []byte, s, e int, password bool) {
	isIdentifiedBy := e-s == len("identified by")
	vs, ve, ok := parseKV(text, s, e, password)
	if isIdentifiedBy {
		vs, ve, ok = parseSQLPassword(text, e)
	}
	if !ok {
		return
	}
	if keyStopped(keyName(text, s, e, st.buf[:0])) {
		return
	}
	v := text[vs:ve]
	if valueRejected(v) || vendorShaped(v) {
		return
	}
	if password {
		if len(v) < 4 || dottedIdent(v) || (len(v) > 2 && v[0] == '0' && v[1] == 'x' && isHex(v[2:])) {
			return
		}
		st.add(tPass, Medium, vs, ve)
		return
	}
	if len(v) < 8 || dottedIdent(v) {
		return
	}
	d, u, l := charMix(v)
	if (d == 0 || u+l == 0) && !(len(v) >= 20 && entropy(v) >= 3.8) {
		return
	}
	if entropy(v) < 3.0 {
		return
	}
	st.add(tPass, Medium, vs, ve)
}

// parseSQLPassword: IDENTIFIED BY 'secret'.
func parseSQLPassword(text []byte, e int) (int, int, bool) {
	i := e
	for i < len(text) && text[i] == ' ' {
		i++
	}
	if i >= len(text) || (text[i] != '\'' && text[i] != '"') {
		return 0, 0, false
	}
	q := text[i]
	j := bytes.IndexByte(text[i+1:min(len(text), i+130)], q)
	if j <= 0 {
		return 0, 0, false
	}
	return i + 1, i + 1 + j, true
}

// vendorShaped: a value with a vendor token's prefix belongs to that
// vendor's detector. If the vendor validator rejected it (bad checksum,
// documented example, wrong length) it is not reported as a generic
// secret either.
func vendorShaped(v []byte) bool {
	if isExample(v) {
		return true
	}
	for _, p := range vendorPrefixes {
		if bytes.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

var vendorPrefixes = [][]byte{
	[]byte("AKIA"), []byte("ASIA"), []byte("ghp_"), []byte("gho_"), []byte("ghu_"), []byte("ghs_"), []byte("ghr_"),
	[]byte("github_pat_"), []byte("glpat-"), []byte("xoxb-"), []byte("xoxp-"), []byte("xapp-"), []byte("sk_live_"),
	[]byte("sk_test_"), []byte("rk_live_"), []byte("rk_test_"), []byte("AIza"), []byte("sk-"), []byte("eyJ"),
}

func detBearer(st *state, text []byte, s, e int) {
	if s > 0 && isAlnum(text[s-1]) {
		return
	}
	end := e
	for end < len(text) && end-e < 4096 && (class[text[end]]&(cB64U|cB64) != 0 || text[end] == '.' || text[end] == '~' || text[end] == '=') {
		end++
	}
	v := text[e:end]
	if len(v) < 16 || valueRejected(v) || vendorShaped(v) {
		return
	}
	d, u, l := charMix(v)
	if d == 0 || u+l == 0 || entropy(v) < 3.3 {
		return
	}
	st.add(tPass, Medium, e, end)
}

// Database URI schemes (lowercase) that carry credentials.
var dbSchemes = map[string]bool{
	"postgres": true, "postgresql": true, "mysql": true, "mariadb": true, "mongodb": true, "mongodb+srv": true,
	"redis": true, "rediss": true, "amqp": true, "amqps": true, "mssql": true, "sqlserver": true, "oracle": true,
	"clickhouse": true, "cockroachdb": true, "couchdb": true, "neo4j": true, "neo4j+s": true, "bolt": true,
	"cassandra": true, "memcached": true, "db2": true, "snowflake": true, "postgis": true, "timescaledb": true,
	"mysql+pymysql": true, "postgresql+psycopg2": true, "postgresql+asyncpg": true, "mysql+mysqldb": true,
	"redshift": true, "elasticsearch": true, "influxdb": true, "tidb": true, "vertica": true, "presto": true, "trino": true,
}

func uriChar(c byte) bool {
	return c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '`' && c != '<' && c != '>' && c != '\\' && c != '{' && c != '}' && c != '|' && c != '^'
}

func detURI(st *state, text []byte, s int) {
	// Scheme: letters, digits, '+', and an optional "jdbc:" in front.
	a := s
	for a > 0 && s-a < 32 && (isAlnum(text[a-1]) || text[a-1] == '+') {
		a--
	}
	if a == s {
		return
	}
	var sb [40]byte
	scheme := sb[:0]
	for _, c := range text[a:s] {
		scheme = append(scheme, lower(c))
	}
	if !dbSchemes[string(scheme)] {
		return
	}
	start := a
	if a >= 5 && string(bytes.ToLower(text[a-5:a])) == "jdbc:" {
		start = a - 5
	}
	if start > 0 && (isAlnum(text[start-1]) || text[start-1] == '_' || text[start-1] == '-') {
		return
	}
	i := s + 3
	end := i
	inPath := false
	for end < len(text) && end-i < 1024 && uriChar(text[end]) {
		c := text[end]
		if c == '/' || c == '?' {
			inPath = true
		} else if c == ',' && inPath {
			break // a CSV or prose comma after the path; hosts lists only use commas before it
		}
		end++
	}
	for end > i && bytes.IndexByte([]byte(".,;:)!?]"), text[end-1]) >= 0 {
		end--
	}
	rest := text[i:end]
	// Authority: up to the first '/', '?' or '#' after the last '@'.
	at := -1
	for k, c := range rest {
		if c == '@' {
			at = k
		}
	}
	hasCred := false
	if at > 0 {
		ui := rest[:at]
		if bytes.IndexByte(ui, '/') < 0 {
			if c := bytes.IndexByte(ui, ':'); c >= 0 && c+1 < len(ui) {
				pw := ui[c+1:]
				if !uriPasswordPlaceholder(pw) {
					hasCred = true
				}
			}
		}
	}
	if !hasCred {
		low := bytes.ToLower(rest)
		for _, k := range [][]byte{[]byte("password="), []byte("pwd="), []byte("pass=")} {
			if p := bytes.Index(low, k); p >= 0 {
				v := rest[p+len(k):]
				if amp := bytes.IndexByte(v, '&'); amp >= 0 {
					v = v[:amp]
				}
				if len(v) > 0 && !uriPasswordPlaceholder(v) {
					hasCred = true
				}
			}
		}
	}
	if !hasCred {
		return
	}
	st.add(tDB, High, start, end)
}

func uriPasswordPlaceholder(pw []byte) bool {
	if len(pw) == 0 || looksPlaceholder(pw) {
		return true
	}
	if bytes.HasPrefix(pw, []byte("%24%7B")) || bytes.HasPrefix(pw, []byte("$")) {
		return true
	}
	switch string(bytes.ToLower(pw)) {
	case "password", "pass", "pwd", "secret", "passwd", "pw", "***", "****", "xxx":
		return true
	}
	return false
}
