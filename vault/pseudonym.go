package vault

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// HMACKeySize is the size of a tenant HMAC secret (256 bits).
const HMACKeySize = 32

// HMACKey is one version of a tenant's pseudonymization secret.
type HMACKey struct {
	Version uint32
	Secret  []byte
}

// Validate reports a key of the wrong size or version 0.
func (k HMACKey) Validate() error {
	if k.Version == 0 {
		return errors.New("vault: HMAC key version must be >= 1")
	}
	if len(k.Secret) != HMACKeySize {
		return fmt.Errorf("vault: HMAC key v%d is %d bytes, want %d", k.Version, len(k.Secret), HMACKeySize)
	}
	return nil
}

// Pseudonym format: "ps1:v<version>:<digest>".
//
// The digest is the first 16 bytes (128 bits) of HMAC-SHA256(secret, domain
// || value), base32 lower case without padding (26 characters). 128 bits keep
// the chance of any collision among 2^32 distinct identities of one tenant
// below 2^-64, while staying short enough for ClickHouse keys and dashboards.
// Path segments use 13 characters (65 bits): a collision there only merges
// two names at the same place in a path. The version makes rotation
// visible: pseudonyms of different key versions never compare equal by
// accident, and a reader can tell which key produced a value.
const (
	pseudonymPrefix = "ps1:"
	digestBytes     = 16
	digestChars     = 26 // base32 of 16 bytes, unpadded
	segmentBytes    = 8
	segmentChars    = 13
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Domain separation: the same secret hashes values of different kinds
// (plain value, path segment, IP, prompt block id) without their outputs
// being comparable.
const (
	domValue   = "v\x00"
	domSegment = "s\x00"
	domIP      = "i\x00"
	domBlock   = "b\x00"
)

// Pseudonymizer computes keyed pseudonyms under one key version. It is safe
// for concurrent use; HMAC states are pooled so a pseudonym costs one HMAC
// and no key schedule.
type Pseudonymizer struct {
	version uint32
	prefix  string // "ps1:v3:"
	pool    sync.Pool
}

// NewPseudonymizer returns a Pseudonymizer for k.
func NewPseudonymizer(k HMACKey) (*Pseudonymizer, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	secret := append([]byte(nil), k.Secret...)
	p := &Pseudonymizer{version: k.Version, prefix: pseudonymPrefix + "v" + strconv.FormatUint(uint64(k.Version), 10) + ":"}
	p.pool.New = func() any { return hmac.New(sha256.New, secret) }
	return p, nil
}

// Version is the key version this Pseudonymizer writes.
func (p *Pseudonymizer) Version() uint32 { return p.version }

func (p *Pseudonymizer) sum(dom, s string, out []byte) []byte {
	h := p.pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(dom))
	h.Write(unsafeBytes(s))
	out = h.Sum(out[:0])
	p.pool.Put(h)
	return out
}

func (p *Pseudonymizer) digest(dom, s string, n int) string {
	var buf [sha256.Size]byte
	d := p.sum(dom, s, buf[:0])
	return b32.EncodeToString(d[:n])
}

func lower(s string) string { return strings.ToLower(s) }

// Value returns the pseudonym of an opaque identifier (user id, device id,
// host name...). Equal input, tenant key and version give equal output.
func (p *Pseudonymizer) Value(s string) string {
	return p.prefix + lower(p.digest(domValue, s, digestBytes))
}

// Email returns the pseudonym of an e-mail address. The address is
// normalised (trimmed, lower case) so "Jane@X.com" and "jane@x.com" join.
// With keepDomain the domain stays readable: "ps1:v3:<digest>@example.com".
// Input without a single "@" is treated as an opaque value.
func (p *Pseudonymizer) Email(s string, keepDomain bool) string {
	norm := lower(strings.TrimSpace(s))
	at := strings.LastIndexByte(norm, '@')
	if at <= 0 || at == len(norm)-1 {
		return p.Value(s)
	}
	ps := p.prefix + lower(p.digest(domValue, norm, digestBytes))
	if keepDomain {
		return ps + "@" + norm[at+1:]
	}
	return ps
}

// Path returns the pseudonym of a file path. With keepStructure every
// segment is hashed on its own (so two files in one directory still share
// their directory pseudonyms) and separators, ".", "..", "~", empty
// segments and a short file extension of the last segment stay readable:
// "/home/jane/src/main.go" -> "ps1:v3:/<h>/<h>/<h>/<h>.go". Without it the
// whole path is one opaque pseudonym.
func (p *Pseudonymizer) Path(s string, keepStructure bool) string {
	if !keepStructure {
		return p.Value(s)
	}
	var b strings.Builder
	b.Grow(len(p.prefix) + len(s) + 16*strings.Count(s, "/"))
	b.WriteString(p.prefix)
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '/' && s[i] != '\\' {
			continue
		}
		seg := s[start:i]
		last := i == len(s)
		switch seg {
		case "", ".", "..", "~":
			b.WriteString(seg)
		default:
			ext := ""
			if last {
				ext = extension(seg)
			}
			b.WriteString(lower(p.digest(domSegment, seg, segmentBytes)))
			b.WriteString(ext)
		}
		if !last {
			b.WriteByte(s[i])
		}
		start = i + 1
	}
	return b.String()
}

// extension returns a short, plain file extension (".go", ".tar" of
// ".tar.gz" is not kept: only the last one), or "" when the suffix looks
// like it could carry a name rather than a type.
func extension(seg string) string {
	dot := strings.LastIndexByte(seg, '.')
	if dot <= 0 || dot == len(seg)-1 || len(seg)-dot > 9 {
		return ""
	}
	for _, c := range seg[dot+1:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return ""
		}
	}
	return seg[dot:]
}

// IP returns the pseudonym of an IP address. With keepPrefix the network
// stays readable (IPv4 /24, IPv6 /48) and the host part is hashed:
// "ps1:v3:10.1.2.0/24:<digest>". Input that is not an IP address is
// treated as an opaque value.
func (p *Pseudonymizer) IP(s string, keepPrefix bool) string {
	addr, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return p.Value(s)
	}
	addr = addr.Unmap()
	d := lower(p.digest(domIP, addr.String(), digestBytes))
	if !keepPrefix {
		return p.prefix + d
	}
	bits := 24
	if addr.Is6() {
		bits = 48
	}
	pfx, _ := addr.Prefix(bits)
	return p.prefix + pfx.String() + ":" + d
}

// HasPseudonymPrefix reports whether s starts with a pseudonym's
// "ps1:v<digits>:" prefix, which every form (plain, e-mail with its domain,
// path with its structure, IP with its /24) carries. Stores use it to refuse
// raw identifiers in pseudonym columns.
func HasPseudonymPrefix(s string) bool {
	if !strings.HasPrefix(s, pseudonymPrefix+"v") {
		return false
	}
	rest := s[len(pseudonymPrefix)+1:]
	colon := strings.IndexByte(rest, ':')
	if colon <= 0 || colon > 10 {
		return false
	}
	for _, c := range rest[:colon] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IsPseudonym reports whether s already is a plain pseudonym written by
// Value (so an edge that pseudonymized first is not hashed twice). Only the
// exact shape counts: "ps1:v<digits>:" followed by exactly 26 base32
// characters, so a raw value cannot slip through by starting with "ps1:".
func IsPseudonym(s string) bool {
	if !HasPseudonymPrefix(s) {
		return false
	}
	rest := s[len(pseudonymPrefix)+1:]
	d := rest[strings.IndexByte(rest, ':')+1:]
	if len(d) != digestChars {
		return false
	}
	for _, c := range d {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
