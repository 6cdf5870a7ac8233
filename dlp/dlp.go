// Package dlp detects secrets and personal data in text: API keys and tokens,
// private keys, passwords, database connection strings and personal data
// (SSNs, card numbers, IBANs, emails, phone numbers).
//
// It is built for the hot path of a proxy: one pass over the input finds
// candidate positions (an Aho-Corasick automaton for literal anchors and
// keywords, and a byte loop for digits and '@'), and validators (Luhn, IBAN
// mod-97, GitHub CRC32 checksums, JWT header decoding, SSN area rules,
// entropy) run only on those candidates. No regular expression ever runs over
// the whole input.
//
// The package is free of collector types so the collector's policy
// processor, the LLM gateway and the CLI share one definition of a finding.
package dlp

import (
	"fmt"
	"sort"
	"strings"
)

// Finding types. These names are part of Warden's policy contract (OPA
// bundles match on them) and never change.
const (
	TypeAWSAccessKeyID     = "aws_access_key_id"
	TypeAWSSecretAccessKey = "aws_secret_access_key"
	TypeGitHubToken        = "github_token"
	TypeGitLabToken        = "gitlab_token"
	TypeSlackToken         = "slack_token"
	TypeStripeKey          = "stripe_key"
	TypeGoogleAPIKey       = "google_api_key"
	TypeOpenAIAPIKey       = "openai_api_key"
	TypeAnthropicAPIKey    = "anthropic_api_key"
	TypeJWT                = "jwt"
	TypePrivateKey         = "private_key"
	TypeGenericPassword    = "generic_password"
	TypeDBConnectionString = "db_connection_string"
	TypeUSSSN              = "us_ssn"
	TypeCreditCard         = "credit_card"
	TypeIBAN               = "iban"
	TypeEmail              = "email"
	TypePhoneNumber        = "phone_number"
)

// allTypes lists every finding type in a stable order; its index is the
// type's internal id.
var allTypes = []string{
	TypeAWSAccessKeyID, TypeAWSSecretAccessKey, TypeGitHubToken, TypeGitLabToken,
	TypeSlackToken, TypeStripeKey, TypeGoogleAPIKey, TypeOpenAIAPIKey,
	TypeAnthropicAPIKey, TypeJWT, TypePrivateKey, TypeGenericPassword,
	TypeDBConnectionString, TypeUSSSN, TypeCreditCard, TypeIBAN, TypeEmail,
	TypePhoneNumber,
}

// secretTypes are credentials; the rest is personal data.
var secretTypes = map[string]bool{
	TypeAWSAccessKeyID: true, TypeAWSSecretAccessKey: true, TypeGitHubToken: true,
	TypeGitLabToken: true, TypeSlackToken: true, TypeStripeKey: true,
	TypeGoogleAPIKey: true, TypeOpenAIAPIKey: true, TypeAnthropicAPIKey: true,
	TypeJWT: true, TypePrivateKey: true, TypeGenericPassword: true,
	TypeDBConnectionString: true,
}

// Types returns every finding type the package knows, in a stable order.
func Types() []string { return append([]string(nil), allTypes...) }

// IsSecret reports whether a finding type is a credential (as opposed to
// personal data).
func IsSecret(typ string) bool { return secretTypes[typ] }

// Confidence grades how sure a detector is.
//
//   - High: a structural validator passed (checksum, Luhn, mod-97, decoded
//     JWT header, PEM armour) or the value has a vendor-unique prefix.
//   - Medium: the format matched and context (a keyword such as "password"
//     or "ssn") or entropy supports it.
//   - Low: the format matched but the value looks like test data (for
//     example an email at a reserved documentation domain).
type Confidence uint8

const (
	Low Confidence = iota + 1
	Medium
	High
)

func (c Confidence) String() string {
	switch c {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return fmt.Sprintf("confidence(%d)", uint8(c))
}

// MarshalText renders the confidence as "low", "medium" or "high".
func (c Confidence) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses "low", "medium" or "high".
func (c *Confidence) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "low":
		*c = Low
	case "medium":
		*c = Medium
	case "high":
		*c = High
	default:
		return fmt.Errorf("dlp: unknown confidence %q (want low, medium or high)", b)
	}
	return nil
}

// Finding is one detected value. Start and End are byte offsets into the
// scanned text (End exclusive) and cover the value only: no key name, quotes
// or "Bearer " prefix.
type Finding struct {
	Type       string     `json:"type"`
	Start      int        `json:"start"`
	End        int        `json:"end"`
	Confidence Confidence `json:"confidence"`
}

// Option configures a Scanner.
type Option func(*config) error

type config struct {
	enabled [numTypes]bool
	minConf Confidence
}

const numTypes = 18

func typeID(t string) (int, bool) {
	for i, n := range allTypes {
		if n == t {
			return i, true
		}
	}
	return 0, false
}

// WithTypes restricts the scanner to the given finding types. An unknown
// type name is an error that names it.
func WithTypes(types ...string) Option {
	return func(c *config) error {
		var en [numTypes]bool
		for _, t := range types {
			id, ok := typeID(t)
			if !ok {
				return fmt.Errorf("dlp: unknown finding type %q (known: %s)", t, strings.Join(allTypes, ", "))
			}
			en[id] = true
		}
		c.enabled = en
		return nil
	}
}

// WithoutTypes disables the given finding types.
func WithoutTypes(types ...string) Option {
	return func(c *config) error {
		for _, t := range types {
			id, ok := typeID(t)
			if !ok {
				return fmt.Errorf("dlp: unknown finding type %q (known: %s)", t, strings.Join(allTypes, ", "))
			}
			c.enabled[id] = false
		}
		return nil
	}
}

// WithMinConfidence drops findings below c.
func WithMinConfidence(c Confidence) Option {
	return func(cfg *config) error {
		if c < Low || c > High {
			return fmt.Errorf("dlp: invalid minimum confidence %d", c)
		}
		cfg.minConf = c
		return nil
	}
}

// Scanner finds secrets and personal data. It is immutable after New and
// safe for concurrent use.
type Scanner struct {
	cfg config
}

// New returns a Scanner with every detector enabled unless options say
// otherwise.
func New(opts ...Option) (*Scanner, error) {
	s := &Scanner{}
	for i := range s.cfg.enabled {
		s.cfg.enabled[i] = true
	}
	s.cfg.minConf = Low
	for _, o := range opts {
		if err := o(&s.cfg); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Scan returns the findings in text, sorted by Start, non-overlapping.
// It returns nil when there are none.
func (s *Scanner) Scan(text []byte) []Finding {
	st := getState()
	defer putState(st)
	scanSplit(st, text)
	return s.emit(st, nil, 0, 0, len(text))
}

// ScanString is Scan for a string; it does not copy the string.
func (s *Scanner) ScanString(text string) []Finding {
	return s.Scan(unsafeBytes(text))
}

// Counts tallies findings per type.
func Counts(fs []Finding) map[string]int {
	m := make(map[string]int, len(fs))
	for _, f := range fs {
		m[f.Type]++
	}
	return m
}

// sortFindings orders findings by start, then end.
func sortFindings(fs []Finding) {
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].Start != fs[j].Start {
			return fs[i].Start < fs[j].Start
		}
		return fs[i].End < fs[j].End
	})
}
