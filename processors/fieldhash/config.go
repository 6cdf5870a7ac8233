package fieldhash

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"

	"github.com/wardenhq/warden/processors/fieldhash/fieldpath"
	"github.com/wardenhq/warden/schema"
)

// Modes of a field.
const (
	ModeValue = "value" // opaque identifier
	ModeEmail = "email" // normalised address; keep_domain keeps the domain
	ModePath  = "path"  // file path; keep_structure hashes per segment
	ModeIP    = "ip"    // IP address; keep_prefix keeps the /24 (IPv6 /48)
)

// Field is one configured field.
type Field struct {
	Path string `mapstructure:"path"`
	Mode string `mapstructure:"mode"`
	// KeepDomain (mode email): "ps1:v3:<digest>@example.com".
	KeepDomain bool `mapstructure:"keep_domain"`
	// KeepStructure (mode path): hash each segment, keep separators and a
	// short file extension.
	KeepStructure bool `mapstructure:"keep_structure"`
	// KeepPrefix (mode ip): keep the network (/24, IPv6 /48).
	KeepPrefix bool `mapstructure:"keep_prefix"`
}

// TenantConfig says where the tenant comes from, first match wins: the
// record's attribute, its resource's attribute, the authenticated client's
// auth attribute, else schema.DefaultTenant.
type TenantConfig struct {
	FromAttribute string `mapstructure:"from_attribute"`
	FromAuth      string `mapstructure:"from_auth"`
}

// Config of the fieldhash processor.
type Config struct {
	// Keyring is the component ID of the keyring extension.
	Keyring component.ID `mapstructure:"keyring"`
	Tenant  TenantConfig `mapstructure:"tenant"`
	// DefaultFields adds DefaultFieldList (the canonical identity columns
	// and the well-known raw identity attributes) to Fields.
	DefaultFields bool    `mapstructure:"default_fields"`
	Fields        []Field `mapstructure:"fields"`
	// PreviousSuffix names the attribute the previous key version's
	// pseudonym is written to during a rotation's overlap window
	// ("warden.user_pseudonym" -> "warden.user_pseudonym_prev").
	PreviousSuffix string `mapstructure:"previous_suffix"`
	// CacheSize bounds the in-memory cache of recent pseudonyms per tenant
	// (0 disables it).
	CacheSize int `mapstructure:"cache_size"`
}

// Validate checks the configuration; errors name the config key.
func (c *Config) Validate() error {
	var errs []error
	if c.Keyring.Type().String() == "" {
		errs = append(errs, errors.New("keyring: must name the keyring extension (e.g. keyring: keyring)"))
	}
	if c.Tenant.FromAttribute == "" {
		errs = append(errs, errors.New("tenant.from_attribute: must not be empty"))
	}
	if c.PreviousSuffix == "" {
		errs = append(errs, errors.New("previous_suffix: must not be empty"))
	}
	if c.CacheSize < 0 {
		errs = append(errs, errors.New("cache_size: must not be negative"))
	}
	if !c.DefaultFields && len(c.Fields) == 0 {
		errs = append(errs, errors.New("fields: nothing to hash (set fields or default_fields: true)"))
	}
	seen := map[string]int{}
	for i, f := range c.Fields {
		key := fmt.Sprintf("fields[%d]", i)
		p, err := fieldpath.Parse(f.Path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.path: %w", key, err))
			continue
		}
		if j, dup := seen[p.String()]; dup {
			errs = append(errs, fmt.Errorf("%s.path: %s is already configured in fields[%d]", key, p, j))
		}
		seen[p.String()] = i
		switch f.Mode {
		case "", ModeValue, ModeEmail, ModePath, ModeIP:
		default:
			errs = append(errs, fmt.Errorf("%s.mode: unknown mode %q (value, email, path, ip)", key, f.Mode))
		}
		if f.KeepDomain && f.Mode != ModeEmail {
			errs = append(errs, fmt.Errorf("%s.keep_domain: only for mode email", key))
		}
		if f.KeepStructure && f.Mode != ModePath {
			errs = append(errs, fmt.Errorf("%s.keep_structure: only for mode path", key))
		}
		if f.KeepPrefix && f.Mode != ModeIP {
			errs = append(errs, fmt.Errorf("%s.keep_prefix: only for mode ip", key))
		}
	}
	return errors.Join(errs...)
}

// DefaultFieldList: where genai puts raw identifiers before hashing (the
// canonical identity columns) and the identity attributes agents and SDKs
// send, on records and on resources.
func DefaultFieldList() []Field {
	out := []Field{
		{Path: `attributes["warden.user_pseudonym"]`, Mode: ModeValue},
		{Path: `attributes["warden.device_pseudonym"]`, Mode: ModeValue},
		{Path: `attributes["warden.path_pseudonym"]`, Mode: ModePath, KeepStructure: true},
		// File paths agents put on spans/events (Claude Code's tool span
		// file_path, semconv file.path) name users and projects.
		{Path: `attributes["file_path"]`, Mode: ModePath, KeepStructure: true},
		{Path: `attributes["file.path"]`, Mode: ModePath, KeepStructure: true},
	}
	// schema.IdentityAttributes, with the mode each needs.
	modes := map[string]Field{
		"user.email":     {Mode: ModeEmail, KeepDomain: true},
		"host.ip":        {Mode: ModeIP},
		"client.address": {Mode: ModeIP},
	}
	var ids []Field
	for _, k := range schema.IdentityAttributes {
		f := modes[k]
		f.Path = k
		ids = append(ids, f)
	}
	for _, ctx := range []string{"attributes", "resource.attributes"} {
		for _, f := range ids {
			g := f
			if g.Mode == "" {
				g.Mode = ModeValue
			}
			g.Path = fmt.Sprintf("%s[%q]", ctx, f.Path)
			out = append(out, g)
		}
	}
	return out
}
