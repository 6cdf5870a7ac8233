package dlp

import "bytes"

// ctxHas reports whether any of words occurs (case-insensitively) in the n
// bytes before pos.
func ctxHas(text []byte, pos, n int, words [][]byte) bool {
	a := pos - n
	if a < 0 {
		a = 0
	}
	var lb [64]byte
	l := lb[:0]
	for _, c := range text[a:pos] {
		l = append(l, lower(c))
	}
	for _, w := range words {
		if bytes.Contains(l, w) {
			return true
		}
	}
	return false
}

var (
	ssnWords   = [][]byte{[]byte("ssn"), []byte("social security"), []byte("social_security"), []byte("socialsecurity"), []byte("soc sec"), []byte("ss#"), []byte("taxpayer id")}
	phoneWords = [][]byte{[]byte("phone"), []byte("tel"), []byte("mobile"), []byte("cell"), []byte("call"), []byte("sms"), []byte("fax"), []byte("whatsapp"), []byte("contact"), []byte("dial")}
)

// numEndOK: a number must not run on into more digits, letters, or a
// separator followed by a digit (it would be part of a longer number).
func numEndOK(text []byte, e int) bool {
	if e >= len(text) {
		return true
	}
	c := text[e]
	if isAlnum(c) || c == '_' {
		return false
	}
	if (c == '-' || c == '.' || c == '/' || c == ':') && e+1 < len(text) && isDigit(text[e+1]) {
		return false
	}
	// ",123" followed by a non-digit is a thousands group of the same
	// number; ",4111..." is the next CSV field.
	if c == ',' && digitsAt(text, e+1, 3) && (e+4 >= len(text) || !isDigit(text[e+4])) {
		return false
	}
	return true
}

func digitsAt(text []byte, i, n int) bool {
	if i+n > len(text) {
		return false
	}
	for _, c := range text[i : i+n] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

func atoi3(b []byte) int { return int(b[0]-'0')*100 + int(b[1]-'0')*10 + int(b[2]-'0') }

// ssnOK applies the SSA rules: area not 000, 666 or 900-999; group not 00;
// serial not 0000; and not the famous published non-SSNs.
func ssnOK(area, group, serial []byte) bool {
	a := atoi3(area)
	if a == 0 || a == 666 || a >= 900 {
		return false
	}
	if group[0] == '0' && group[1] == '0' {
		return false
	}
	if string(serial) == "0000" {
		return false
	}
	s := string(area) + string(group) + string(serial)
	return s != "078051120" && s != "219099999"
}

// detNumber runs at the first digit of a digit run.
func detNumber(st *state, text []byte, i int) {
	if i > 0 {
		p := text[i-1]
		if isAlnum(p) {
			if i >= 2 && isUpper(p) && isUpper(text[i-2]) && (i == 2 || !isAlnum(text[i-3])) {
				detIBAN(st, text, i-2)
			}
			return
		}
		if p == '+' {
			detPhoneIntl(st, text, i-1)
			return
		}
		if (p == '.' || p == '-' || p == ':' || p == '/' || p == '_' || p == '$' || p == '#') && i > 1 && isAlnum(text[i-2]) {
			return // inside a version, date, time, path or identifier
		}
		if p == ',' && i > 1 && isDigit(text[i-2]) && digitsAt(text, i, 3) && (i+3 >= len(text) || !isDigit(text[i+3])) {
			return // thousands separator; "Smith,4111..." in a CSV row is a new field
		}
	}
	detSSN(st, text, i)
	detCard(st, text, i)
	detPhoneNANP(st, text, i)
}

func detSSN(st *state, text []byte, i int) {
	n := len(text)
	if i+11 <= n && digitsAt(text, i, 3) && text[i+3] == '-' && digitsAt(text, i+4, 2) && text[i+6] == '-' && digitsAt(text, i+7, 4) {
		if !numEndOK(text, i+11) || (i > 0 && text[i-1] == '-') || !ssnOK(text[i:i+3], text[i+4:i+6], text[i+7:i+11]) {
			return
		}
		conf := Medium
		if ctxHas(text, i, 40, ssnWords) {
			conf = High
		}
		st.add(tSSN, conf, i, i+11)
		return
	}
	// "123 45 6789" and "123456789" only with an SSN keyword before them.
	if i+11 <= n && digitsAt(text, i, 3) && text[i+3] == ' ' && digitsAt(text, i+4, 2) && text[i+6] == ' ' && digitsAt(text, i+7, 4) && numEndOK(text, i+11) {
		if ssnOK(text[i:i+3], text[i+4:i+6], text[i+7:i+11]) && ctxHas(text, i, 40, ssnWords) {
			st.add(tSSN, High, i, i+11)
		}
		return
	}
	if digitsAt(text, i, 9) && numEndOK(text, i+9) {
		if ssnOK(text[i:i+3], text[i+3:i+5], text[i+5:i+9]) && ctxHas(text, i, 40, ssnWords) {
			st.add(tSSN, High, i, i+9)
		}
	}
}

// cardIINOK checks the issuer prefix and length for the major networks.
func cardIINOK(d []byte) bool {
	n := len(d)
	p2 := int(d[0]-'0')*10 + int(d[1]-'0')
	p4 := p2*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	switch {
	case d[0] == '4':
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return n == 16
	case p2 == 34 || p2 == 37:
		return n == 15
	case p4 == 6011 || p2 == 65 || (p4 >= 6440 && p4 <= 6499):
		return n >= 16 && n <= 19
	case p4 >= 3528 && p4 <= 3589:
		return n >= 16 && n <= 19
	case p2 == 36 || p2 == 38 || p2 == 39 || (p4 >= 3000 && p4 <= 3059):
		return n >= 14 && n <= 19
	case p2 == 62:
		return n >= 16 && n <= 19
	case p2 == 50 || (p2 >= 56 && p2 <= 58) || p2 == 63 || p2 == 67:
		return n >= 12 && n <= 19
	}
	return false
}

func detCard(st *state, text []byte, i int) {
	var db [20]byte
	d := db[:0]
	var groups [8]int
	ng := 0
	var sep byte
	j := i
	glen := 0
	for j < len(text) {
		c := text[j]
		if isDigit(c) {
			if len(d) == 20 {
				return
			}
			d = append(d, c)
			glen++
			j++
			continue
		}
		if (c == ' ' || c == '-') && j+1 < len(text) && isDigit(text[j+1]) && glen > 0 {
			if sep == 0 {
				sep = c
			} else if c != sep {
				break
			}
			if ng == len(groups)-1 {
				return
			}
			groups[ng] = glen
			ng++
			glen = 0
			j++
			continue
		}
		break
	}
	groups[ng] = glen
	ng++
	// Trim trailing groups that overshoot (a card followed by another
	// number): only accept the exact digit sequence we parsed.
	if len(d) < 13 || len(d) > 19 || !numEndOK(text, j) {
		return
	}
	if ng > 1 {
		g := groups[:ng]
		ok := true
		for k := 0; k < ng-1; k++ {
			if g[k] != 4 {
				ok = false
			}
		}
		if g[ng-1] < 1 || g[ng-1] > 4 {
			ok = false
		}
		if !ok && !(ng == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4)) {
			return
		}
	}
	if !cardIINOK(d) || !luhn(d) {
		return
	}
	st.add(tCard, High, i, j)
}

func detPhoneNANP(st *state, text []byte, i int) {
	n := len(text)
	start := i
	j := i
	// Optional country code "1" with a separator: 1-415-555-0132, 1 (415) 555 0132.
	if j+1 < n && text[j] == '1' && (text[j+1] == '-' || text[j+1] == ' ' || text[j+1] == '.') && j+2 < n && (isDigit(text[j+2]) || text[j+2] == '(') {
		j += 2
	}
	paren := false
	if i > 0 && text[i-1] == '(' && j == i {
		paren = true
		start = i - 1
		if i > 1 && isAlnum(text[i-2]) {
			return
		}
	} else if j < n && text[j] == '(' {
		paren = true
		j++
	}
	// NANP: area code NXX with X≠9 in the middle and not N11; exchange NXX not N11.
	if !digitsAt(text, j, 3) || text[j] < '2' || text[j+1] == '9' || (text[j+1] == '1' && text[j+2] == '1') {
		return
	}
	area := j
	j += 3
	var sep byte
	if paren {
		if j >= n || text[j] != ')' {
			return
		}
		j++
		if j < n && text[j] == ' ' {
			j++
		}
	} else {
		if j >= n {
			return
		}
		sep = text[j]
		if sep != '-' && sep != '.' && sep != ' ' {
			// Bare ten digits: only with a phone keyword before.
			if digitsAt(text, area, 10) && numEndOK(text, area+10) && text[area+3] >= '2' && ctxHas(text, start, 32, phoneWords) {
				st.add(tPhone, Medium, start, area+10)
			}
			return
		}
		j++
	}
	if !digitsAt(text, j, 3) || text[j] < '2' || (text[j+1] == '1' && text[j+2] == '1') {
		return
	}
	j += 3
	if j >= n {
		return
	}
	s2 := text[j]
	if paren {
		if s2 != '-' && s2 != '.' && s2 != ' ' {
			return
		}
	} else if s2 != sep {
		return
	}
	j++
	if !digitsAt(text, j, 4) || !numEndOK(text, j+4) {
		return
	}
	j += 4
	_ = area
	conf := High
	if sep == ' ' && !ctxHas(text, start, 32, phoneWords) {
		conf = Medium
	}
	st.add(tPhone, conf, start, j)
}

// detPhoneIntl: "+<country> <groups>" with 8-15 digits in total.
func detPhoneIntl(st *state, text []byte, plus int) {
	if plus > 0 && (isAlnum(text[plus-1]) || text[plus-1] == '+') {
		return
	}
	j := plus + 1
	digits := 0
	groups := 0
	last := j
	prevSep := true
	for j < len(text) && j-plus < 24 {
		c := text[j]
		if isDigit(c) {
			if prevSep {
				groups++
			}
			digits++
			j++
			last = j
			prevSep = false
			continue
		}
		if c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' {
			if j+1 < len(text) && (isDigit(text[j+1]) || text[j+1] == '(' || (c == ')' && text[j+1] == ' ')) {
				prevSep = true
				j++
				continue
			}
		}
		break
	}
	if digits < 8 || digits > 15 || groups > 6 || text[plus+1] == '0' || !numEndOK(text, last) {
		return
	}
	if text[plus+1] == '1' && digits != 11 {
		return
	}
	st.add(tPhone, High, plus, last)
}

func detIBAN(st *state, text []byte, s int) {
	want, ok := ibanLengths[[2]byte{text[s], text[s+1]}]
	if !ok {
		return
	}
	var cb [34]byte
	c := cb[:0]
	j := s
	spaced := s+4 < len(text) && text[s+4] == ' '
	for j < len(text) && len(c) < want {
		ch := text[j]
		if ch == ' ' && spaced && len(c)%4 == 0 && len(c) > 0 && j+1 < len(text) && isAlnum(text[j+1]) {
			j++
			continue
		}
		if !(isDigit(ch) || isUpper(ch)) {
			return
		}
		c = append(c, ch)
		j++
	}
	if len(c) != want || !numEndOK(text, j) || (j < len(text) && isAlnum(text[j])) {
		return
	}
	if !ibanValid(c) {
		return
	}
	st.add(tIBAN, High, s, j)
}

var fileExts = map[string]bool{
	"png": true, "jpg": true, "jpeg": true, "gif": true, "svg": true, "webp": true, "ico": true, "js": true,
	"ts": true, "css": true, "json": true, "map": true, "py": true, "go": true, "rs": true, "md": true,
	"txt": true, "html": true, "yaml": true, "yml": true, "lock": true, "tsx": true, "jsx": true, "mjs": true,
}

func emailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

var reservedDomains = [][]byte{[]byte("example.com"), []byte("example.org"), []byte("example.net")}

func detEmail(st *state, text []byte, at int) {
	a := at
	for a > 0 && at-a < 64 && emailLocal(text[a-1]) {
		a--
	}
	for a < at && (text[a] == '.' || text[a] == '-' || text[a] == '+') {
		a++
	}
	if a == at || (a > 0 && emailLocal(text[a-1])) {
		return // empty or over-long local part
	}
	if text[at-1] == '.' || bytes.Contains(text[a:at], []byte("..")) {
		return // "a..b@" and "a.@" are not addresses (RFC 5322 dot-atom)
	}
	if a > 0 && (text[a-1] == ':' || text[a-1] == '/') {
		// user:password@host inside a URL is a credential, not an email;
		// "mailto:" is still an email.
		k := a - 1
		for k > 0 && a-k < 64 && !isSpace(text[k-1]) && text[k-1] != '"' && text[k-1] != '\'' {
			k--
		}
		if bytes.Contains(text[k:a], []byte("//")) {
			return
		}
	}
	e := at + 1
	for e < len(text) && e-at < 255 && (isAlnum(text[e]) || text[e] == '.' || text[e] == '-') {
		e++
	}
	for e > at+1 && (text[e-1] == '.' || text[e-1] == '-') {
		e--
	}
	dom := text[at+1 : e]
	dot := bytes.LastIndexByte(dom, '.')
	if dot <= 0 || dom[0] == '.' || dom[0] == '-' || bytes.Contains(dom, []byte("..")) {
		return
	}
	tld := dom[dot+1:]
	if len(tld) < 2 || len(tld) > 24 {
		return
	}
	for _, c := range tld {
		if !isUpper(c) && !isLower(c) {
			return
		}
	}
	var lb [24]byte
	lt := lb[:0]
	for _, c := range tld {
		lt = append(lt, lower(c))
	}
	if fileExts[string(lt)] {
		return
	}
	if e < len(text) && text[e] == ':' && string(text[a:at]) == "git" {
		return // git@github.com:org/repo.git
	}
	conf := High
	ld := bytes.ToLower(dom)
	for _, r := range reservedDomains {
		if bytes.Equal(ld, r) || bytes.HasSuffix(ld, append([]byte("."), r...)) {
			conf = Low
		}
	}
	if bytes.HasSuffix(ld, []byte(".example")) || bytes.HasSuffix(ld, []byte(".test")) || bytes.HasSuffix(ld, []byte(".invalid")) || bytes.HasSuffix(ld, []byte(".localhost")) {
		conf = Low
	}
	st.add(tEmail, conf, a, e)
}
