package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/user"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the gateway's YAML configuration. Every option is validated by
// Validate with an error naming the offending key.
type Config struct {
	// Listen is the address agents call (host:port).
	Listen string `yaml:"listen"`
	// Mode is "local" (one desktop: agents present LocalKey) or "central"
	// (many desktops: each presents a device token or a client certificate).
	Mode string `yaml:"mode"`
	// LocalKey is the dummy API key handed to local agents; it is never a
	// provider credential. Empty in local mode means any key is accepted
	// (the gateway listens on loopback).
	LocalKey string `yaml:"local_key"`
	// Identity is the user/device/department a local gateway attributes
	// calls to (default: the current OS user and the host name); central
	// mode maps them from tokens or certificates.
	Identity Identity `yaml:"identity"`
	// TLS serves agents over TLS; with client_ca_file, client certificates
	// are required and mapped to identities (central mode).
	TLS *ServerTLS `yaml:"tls"`
	// Devices maps device tokens (by SHA-256) to identities (central mode).
	Devices []Device `yaml:"devices"`
	// ClientCerts maps client-certificate subject CNs to identities.
	ClientCerts []CertIdentity `yaml:"client_certs"`

	Providers  map[string]*Provider `yaml:"providers"`
	DLP        DLPConfig            `yaml:"dlp"`
	Policy     PolicyConfig         `yaml:"policy"`
	Review     ReviewConfig         `yaml:"review"`
	Budgets    BudgetConfig         `yaml:"budgets"`
	RateLimits RateLimitConfig      `yaml:"rate_limits"`
	Telemetry  TelemetryConfig      `yaml:"telemetry"`

	// MaxRequestBytes bounds a request body (default 32 MiB).
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// DefaultMaxOutputTokens is the output estimate for budget reservation
	// when a request does not cap its output (default 4096).
	DefaultMaxOutputTokens int64 `yaml:"default_max_output_tokens"`
}

// Identity is who a call is attributed to.
type Identity struct {
	User       string `yaml:"user"`
	Device     string `yaml:"device"`
	Department string `yaml:"department"`
	Tenant     string `yaml:"tenant"`
}

// Device is one central-mode device token.
type Device struct {
	// TokenSHA256 is the hex SHA-256 of the token: the config never holds
	// the token itself.
	TokenSHA256 string `yaml:"token_sha256"`
	Identity    `yaml:",inline"`
}

// CertIdentity maps a client certificate's subject CN to an identity.
type CertIdentity struct {
	CommonName string `yaml:"common_name"`
	Identity   `yaml:",inline"`
}

// ServerTLS is the downstream (agent-facing) TLS config.
type ServerTLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// Provider is one upstream model API.
type Provider struct {
	// BaseURL of the provider (https://api.anthropic.com, ...).
	BaseURL string `yaml:"base_url"`
	// APIKeyEnv names the environment variable holding the credential;
	// APIKey holds it inline (discouraged).
	APIKeyEnv string `yaml:"api_key_env"`
	APIKey    string `yaml:"api_key"`
	// TLS is the upstream client TLS: a client certificate for a corporate
	// gateway chain (mTLS) and/or a private CA.
	TLS *ClientTLS `yaml:"tls"`
	// Timeout bounds one upstream call (default 10m: long generations).
	Timeout time.Duration `yaml:"timeout"`

	key string
	u   *url.URL
}

// ClientTLS is the upstream (provider-facing) TLS config.
type ClientTLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	CAFile   string `yaml:"ca_file"`
}

// DLPConfig tunes inspection.
type DLPConfig struct {
	// RestoreResponses puts the original values back where a response
	// echoes a placeholder (the mapping lives only in memory, per request).
	RestoreResponses bool `yaml:"restore_responses"`
	// ResponseBlockTypes are finding types that cut a response (default:
	// private_key).
	ResponseBlockTypes []string `yaml:"response_block_types"`
}

// PolicyConfig selects the OPA bundle.
type PolicyConfig struct {
	// Bundle is a bundle directory; empty uses Warden's default bundle.
	Bundle string `yaml:"bundle"`
}

// ReviewConfig configures parked calls.
type ReviewConfig struct {
	// Timeout after which a parked call is denied (default 5m).
	Timeout time.Duration `yaml:"timeout"`
	// AdminSocket is the unix socket `warden review` talks to (default
	// DefaultAdminSocket).
	AdminSocket string `yaml:"admin_socket"`
	// AuditLog is the append-only audit log (JSON lines, no prompt text).
	AuditLog string `yaml:"audit_log"`
}

// BudgetConfig configures spending limits.
type BudgetConfig struct {
	// Store is the bbolt file holding spent amounts across restarts.
	Store  string        `yaml:"store"`
	Limits []BudgetLimit `yaml:"limits"`
}

// BudgetLimit is one limit: for every (or one) user, department or model,
// per period, in tokens and/or USD.
type BudgetLimit struct {
	Scope  string  `yaml:"scope"`  // user | department | model
	Match  string  `yaml:"match"`  // a value, or "*" for each one separately
	Period string  `yaml:"period"` // day | month | total
	Tokens int64   `yaml:"tokens"`
	USD    float64 `yaml:"usd"`
}

// RateLimitConfig limits call rates.
type RateLimitConfig struct {
	PerUser  *Rate `yaml:"per_user"`
	PerAgent *Rate `yaml:"per_agent"`
}

// Rate is a token bucket.
type Rate struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
}

// TelemetryConfig configures the OTLP export of model_call events.
type TelemetryConfig struct {
	// OTLPEndpoint is the collector's OTLP/HTTP base URL
	// (http://127.0.0.1:4318); empty disables export.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// KeysDir is a vault key directory (`warden keys`) holding the tenant
	// HMAC key and the key-custody public key: prompt and response bodies
	// are sealed with them before export. Without it no body is exported.
	KeysDir string `yaml:"keys_dir"`
}

// LoadConfig reads, strictly decodes (unknown keys are errors) and
// validates a YAML config file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	return ParseConfig(b)
}

// ParseConfig decodes and validates YAML config bytes.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// DefaultAdminSocket is where `warden review` finds a local gateway.
const DefaultAdminSocket = "/run/warden/gateway-admin.sock"

var knownProviders = map[string]bool{"anthropic": true, "openai": true, "gemini": true}

// Validate checks every option and fills defaults; errors name the key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("gateway config: %s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8788"
	}
	switch c.Mode {
	case "":
		c.Mode = "local"
	case "local", "central":
	default:
		bad("mode", "must be local or central, got %q", c.Mode)
	}
	if c.Mode == "central" && len(c.Devices) == 0 && (c.TLS == nil || c.TLS.ClientCAFile == "") {
		bad("devices", "central mode needs device tokens or tls.client_ca_file to identify callers")
	}
	if c.TLS != nil {
		if c.TLS.CertFile == "" {
			bad("tls.cert_file", "required when tls is set")
		}
		if c.TLS.KeyFile == "" {
			bad("tls.key_file", "required when tls is set")
		}
	}
	for i, d := range c.Devices {
		if b, err := hex.DecodeString(d.TokenSHA256); err != nil || len(b) != sha256.Size {
			bad(fmt.Sprintf("devices[%d].token_sha256", i), "must be 64 hex digits (sha256 of the token)")
		}
		if d.User == "" {
			bad(fmt.Sprintf("devices[%d].user", i), "required")
		}
	}
	for i, d := range c.ClientCerts {
		if d.CommonName == "" {
			bad(fmt.Sprintf("client_certs[%d].common_name", i), "required")
		}
	}
	if len(c.Providers) == 0 {
		bad("providers", "at least one of anthropic, openai, gemini is required")
	}
	for name, p := range c.Providers {
		key := "providers." + name
		if !knownProviders[name] {
			bad(key, "unknown provider (want anthropic, openai or gemini)")
			continue
		}
		if p == nil {
			bad(key, "empty")
			continue
		}
		u, err := url.Parse(p.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key+".base_url", "must be an http(s) URL, got %q", p.BaseURL)
		} else {
			p.u = u
		}
		switch {
		case p.APIKey != "" && p.APIKeyEnv != "":
			bad(key+".api_key", "set api_key or api_key_env, not both")
		case p.APIKeyEnv != "":
			p.key = os.Getenv(p.APIKeyEnv)
			if p.key == "" {
				bad(key+".api_key_env", "environment variable %s is empty", p.APIKeyEnv)
			}
		default:
			p.key = p.APIKey
		}
		if p.TLS != nil && (p.TLS.CertFile == "") != (p.TLS.KeyFile == "") {
			bad(key+".tls", "cert_file and key_file go together")
		}
		if p.Timeout < 0 {
			bad(key+".timeout", "must be positive")
		} else if p.Timeout == 0 {
			p.Timeout = 10 * time.Minute
		}
	}
	if len(c.DLP.ResponseBlockTypes) == 0 {
		c.DLP.ResponseBlockTypes = []string{"private_key"}
	}
	if c.Review.Timeout < 0 {
		bad("review.timeout", "must be positive")
	} else if c.Review.Timeout == 0 {
		c.Review.Timeout = 5 * time.Minute
	}
	if c.Review.AdminSocket == "" {
		c.Review.AdminSocket = DefaultAdminSocket
	}
	if len(c.Budgets.Limits) > 0 && c.Budgets.Store == "" {
		bad("budgets.store", "required when budgets.limits are set (spent amounts must survive restarts)")
	}
	for i, l := range c.Budgets.Limits {
		key := fmt.Sprintf("budgets.limits[%d]", i)
		switch l.Scope {
		case "user", "department", "model":
		default:
			bad(key+".scope", "must be user, department or model, got %q", l.Scope)
		}
		if l.Match == "" {
			bad(key+".match", "required (a value, or * for each one)")
		}
		switch l.Period {
		case "day", "month", "total":
		case "":
			c.Budgets.Limits[i].Period = "month"
		default:
			bad(key+".period", "must be day, month or total, got %q", l.Period)
		}
		if l.Tokens < 0 || l.USD < 0 || (l.Tokens == 0 && l.USD == 0) {
			bad(key, "needs a positive tokens and/or usd limit")
		}
	}
	for key, r := range map[string]*Rate{"rate_limits.per_user": c.RateLimits.PerUser, "rate_limits.per_agent": c.RateLimits.PerAgent} {
		if r != nil && (r.PerSecond <= 0 || r.Burst <= 0) {
			bad(key, "per_second and burst must be positive")
		}
	}
	if c.Telemetry.OTLPEndpoint != "" {
		if u, err := url.Parse(c.Telemetry.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			bad("telemetry.otlp_endpoint", "must be an http(s) URL, got %q", c.Telemetry.OTLPEndpoint)
		}
	}
	if c.MaxRequestBytes < 0 {
		bad("max_request_bytes", "must be positive")
	} else if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = 32 << 20
	}
	if c.DefaultMaxOutputTokens < 0 {
		bad("default_max_output_tokens", "must be positive")
	} else if c.DefaultMaxOutputTokens == 0 {
		c.DefaultMaxOutputTokens = 4096
	}
	if c.Identity.Tenant == "" {
		c.Identity.Tenant = "default"
	}
	if c.Mode == "local" {
		// A desktop gateway speaks for the logged-in user on this host.
		if c.Identity.User == "" {
			if u, err := user.Current(); err == nil {
				c.Identity.User = u.Username
			}
		}
		if c.Identity.Device == "" {
			c.Identity.Device, _ = os.Hostname()
		}
	}
	return errors.Join(errs...)
}

// HashToken is how device tokens are stored in the config.
func HashToken(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

func (c *Config) deviceByToken(tok string) (Identity, bool) {
	h := HashToken(tok)
	for _, d := range c.Devices {
		if strings.EqualFold(d.TokenSHA256, h) {
			id := d.Identity
			if id.Tenant == "" {
				id.Tenant = c.Identity.Tenant
			}
			return id, true
		}
	}
	return Identity{}, false
}
