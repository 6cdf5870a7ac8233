package dlp

import (
	"encoding/base64"
	"hash/crc32"
	"math"
	"unsafe"
)

// Byte classes used by every detector. One table lookup per byte keeps the
// hand-rolled scanners branch-light.
const (
	cDigit = 1 << iota
	cUpper
	cLower
	cB64   // A-Z a-z 0-9 + /
	cB64U  // A-Z a-z 0-9 - _
	cIdent // A-Z a-z 0-9 _ - .
	cSpace // space, tab, CR, LF
)

var class [256]uint8

func init() {
	for c := 0; c < 256; c++ {
		var k uint8
		switch {
		case c >= '0' && c <= '9':
			k |= cDigit | cB64 | cB64U | cIdent
		case c >= 'A' && c <= 'Z':
			k |= cUpper | cB64 | cB64U | cIdent
		case c >= 'a' && c <= 'z':
			k |= cLower | cB64 | cB64U | cIdent
		}
		switch c {
		case '+', '/':
			k |= cB64
		case '-', '_':
			k |= cB64U | cIdent
		case '.':
			k |= cIdent
		case ' ', '\t', '\r', '\n':
			k |= cSpace
		}
		class[c] = k
	}
}

func isDigit(c byte) bool { return c-'0' < 10 }
func isUpper(c byte) bool { return c-'A' < 26 }
func isLower(c byte) bool { return c-'a' < 26 }
func isAlnum(c byte) bool { return class[c]&(cDigit|cUpper|cLower) != 0 }
func isSpace(c byte) bool { return class[c]&cSpace != 0 }

func lower(c byte) byte {
	if isUpper(c) {
		return c + 32
	}
	return c
}

// unsafeBytes views a string as bytes without copying; the scanner never
// writes to its input.
func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// luhn reports whether the digits pass the Luhn (mod 10) check.
func luhn(d []byte) bool {
	sum, dbl := 0, false
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
	return sum%10 == 0
}

// ibanValid checks the ISO 13616 mod-97 checksum of a compact IBAN.
func ibanValid(s []byte) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	rem := 0
	add := func(c byte) bool {
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case isUpper(c):
			v := int(c-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			return false
		}
		return true
	}
	for _, c := range s[4:] {
		if !add(c) {
			return false
		}
	}
	for _, c := range s[:4] {
		if !add(c) {
			return false
		}
	}
	return rem == 1
}

// ibanLengths holds the registered IBAN length per country (SWIFT IBAN
// registry). A wrong length is rejected before the checksum runs.
var ibanLengths = map[[2]byte]int{}

func init() {
	for cc, n := range map[string]int{
		"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
		"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
		"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
		"GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
		"IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
		"LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
		"NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
		"RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
		"SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
	} {
		ibanLengths[[2]byte{cc[0], cc[1]}] = n
	}
}

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// githubChecksumOK validates the checksum of a GitHub token in the 2021
// format: the last 6 characters are the CRC32 (IEEE) of the 30 random
// characters, base62-encoded and left-padded with zeros.
func githubChecksumOK(random, sum []byte) bool {
	return string(sum) == base62CRC(random)
}

func base62CRC(b []byte) string {
	v := crc32.ChecksumIEEE(b)
	var out [6]byte
	for i := 5; i >= 0; i-- {
		out[i] = base62Alphabet[v%62]
		v /= 62
	}
	return string(out[:])
}

// clog2[c] = c*log2(c), so entropy needs no logarithm per call.
var clog2 = func() (t [1025]float64) {
	for c := 1; c < len(t); c++ {
		t[c] = float64(c) * math.Log2(float64(c))
	}
	return
}()

// entropy returns the Shannon entropy of s in bits per byte:
// log2(n) - (1/n) * sum(c * log2 c) over byte counts c.
func entropy(s []byte) float64 {
	n := len(s)
	if n == 0 {
		return 0
	}
	if n >= len(clog2) {
		s = s[:len(clog2)-1]
		n = len(s)
	}
	var counts [256]uint16
	for _, c := range s {
		counts[c]++
	}
	sum := 0.0
	for _, k := range counts {
		sum += clog2[k]
	}
	return math.Log2(float64(n)) - sum/float64(n)
}

// charMix reports which of digit / upper / lower appear in s.
func charMix(s []byte) (digits, uppers, lowers int) {
	for _, c := range s {
		switch {
		case isDigit(c):
			digits++
		case isUpper(c):
			uppers++
		case isLower(c):
			lowers++
		}
	}
	return
}

// b64urlPrefixDecode decodes up to the first max bytes of a base64url
// segment (unpadded), used to peek at JWT headers.
func b64urlDecode(seg []byte, dst []byte) ([]byte, bool) {
	n := base64.RawURLEncoding.DecodedLen(len(seg))
	if n > cap(dst) {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	// Tolerate '=' padding that some encoders leave in.
	for len(seg) > 0 && seg[len(seg)-1] == '=' {
		seg = seg[:len(seg)-1]
	}
	m, err := base64.RawURLEncoding.Decode(dst, seg)
	if err != nil {
		return nil, false
	}
	return dst[:m], true
}
