// Package profile holds the sandbox profiles of `warden run`: what an agent
// may read, write and execute, where it may connect, its resource limits and
// which agent binaries are approved. Profiles are YAML, validated strictly
// (unknown keys are errors, every error names the key), and Warden ships a
// default per agent (claude, codex, gemini, generic) that extends generic.
package profile

import (
	"bytes"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed defaults/*.yaml
var defaultsFS embed.FS

// Profile is a sandbox profile as written in YAML.
type Profile struct {
	Name    string `yaml:"name"`
	Extends string `yaml:"extends"` // a shipped default to start from
	// Agent is the canonical agent name reported on events (claude_code,
	// codex, gemini_cli, or anything for generic).
	Agent            string    `yaml:"agent"`
	FS               FS        `yaml:"fs"`
	Net              Net       `yaml:"net"`
	Limits           Limits    `yaml:"limits"`
	Telemetry        Telemetry `yaml:"telemetry"`
	ApprovedBinaries []Binary  `yaml:"approved_binaries"`
	// Gateway is the base URL of the Warden LLM gateway; the agent's model
	// base URLs point there.
	Gateway string `yaml:"gateway"`
}

// FS lists paths by the access they get. Paths may start with ~, ${PROJECT}
// or ${TMPDIR}.
type FS struct {
	Read  []string `yaml:"read"`  // read-only
	Write []string `yaml:"write"` // read, write, create, remove
	Exec  []string `yaml:"exec"`  // read and execute
	Deny  []string `yaml:"deny"`  // never accessible, even inside an allowed path
}

// Net lists allowed destinations: "HOST:PORT[/tcp|/udp]" (IPv6 as
// "[ADDR]:PORT"); HOST may be a name, resolved once at launch.
type Net struct {
	Allow []string `yaml:"allow"`
	DNS   []string `yaml:"dns"` // resolver IPs; empty: /etc/resolv.conf
}

// Limits are the session cgroup's resource limits.
type Limits struct {
	Memory string `yaml:"memory"` // e.g. 4GiB, 512MiB; empty: none
	Pids   int    `yaml:"pids"`   // 0: none
}

// Telemetry tunes what the sensor records.
type Telemetry struct {
	// HashMax bounds the size of a file whose content sha256 is recorded
	// when it is opened for reading (e.g. 1MiB, 256KiB; empty: 1MiB).
	// Hashing re-reads the file, so on file-heavy workloads it is the
	// sensor's largest cost; files above the bound are reported without
	// a hash.
	HashMax string `yaml:"hash_max"`
}

// DefaultHashMax is the hash bound when telemetry.hash_max is empty.
const DefaultHashMax = 1 << 20

// HashMaxBytes is telemetry.hash_max in bytes (DefaultHashMax when empty).
func (p *Profile) HashMaxBytes() int64 {
	n, err := ParseBytes(p.Telemetry.HashMax)
	if err != nil || n == 0 {
		return DefaultHashMax
	}
	return int64(min(n, 1<<40))
}

// Binary is one approved agent binary.
type Binary struct {
	Name   string `yaml:"name"` // informational
	SHA256 string `yaml:"sha256"`
}

// Names lists the shipped default profiles.
func Names() []string {
	ents, _ := defaultsFS.ReadDir("defaults")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Default returns a shipped default profile by name.
func Default(name string) (*Profile, error) {
	b, err := defaultsFS.ReadFile("defaults/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("profile: no shipped profile %q (have %s)", name, strings.Join(Names(), ", "))
	}
	return parse(b, "shipped profile "+name, 0)
}

// Load reads a profile from a file, or a shipped default when ref has no
// path separator and no .yaml suffix.
func Load(ref string) (*Profile, error) {
	if !strings.ContainsRune(ref, '/') && !strings.HasSuffix(ref, ".yaml") && !strings.HasSuffix(ref, ".yml") {
		return Default(ref)
	}
	b, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return Parse(b, ref)
}

// Parse parses and validates a profile; origin names it in errors.
func Parse(b []byte, origin string) (*Profile, error) { return parse(b, origin, 0) }

func parse(b []byte, origin string, depth int) (*Profile, error) {
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", origin, err)
	}
	if p.Extends != "" {
		if depth > 4 {
			return nil, fmt.Errorf("profile %s: extends: too deep", origin)
		}
		raw, err := defaultsFS.ReadFile("defaults/" + p.Extends + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("profile %s: extends: no shipped profile %q (have %s)", origin, p.Extends, strings.Join(Names(), ", "))
		}
		base, err := parse(raw, "shipped profile "+p.Extends, depth+1)
		if err != nil {
			return nil, err
		}
		p = merge(*base, p)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", origin, err)
	}
	return &p, nil
}

// merge lays o over base: scalars replace, lists append.
func merge(base, o Profile) Profile {
	out := base
	out.Name, out.Extends = o.Name, ""
	if o.Agent != "" {
		out.Agent = o.Agent
	}
	if o.Gateway != "" {
		out.Gateway = o.Gateway
	}
	cat := func(a, b []string) []string { return append(append([]string(nil), a...), b...) }
	out.FS.Read = cat(base.FS.Read, o.FS.Read)
	out.FS.Write = cat(base.FS.Write, o.FS.Write)
	out.FS.Exec = cat(base.FS.Exec, o.FS.Exec)
	out.FS.Deny = cat(base.FS.Deny, o.FS.Deny)
	out.Net.Allow = cat(base.Net.Allow, o.Net.Allow)
	out.Net.DNS = cat(base.Net.DNS, o.Net.DNS)
	if o.Limits.Memory != "" {
		out.Limits.Memory = o.Limits.Memory
	}
	if o.Limits.Pids != 0 {
		out.Limits.Pids = o.Limits.Pids
	}
	if o.Telemetry.HashMax != "" {
		out.Telemetry.HashMax = o.Telemetry.HashMax
	}
	out.ApprovedBinaries = append(append([]Binary(nil), base.ApprovedBinaries...), o.ApprovedBinaries...)
	return out
}

// Validate checks every field; the error names the first bad key.
func (p *Profile) Validate() error {
	if p.Name == "" {
		return errors.New("name: required")
	}
	for _, l := range []struct {
		key   string
		paths []string
	}{{"fs.read", p.FS.Read}, {"fs.write", p.FS.Write}, {"fs.exec", p.FS.Exec}, {"fs.deny", p.FS.Deny}} {
		for i, s := range l.paths {
			if err := checkPath(s); err != nil {
				return fmt.Errorf("%s[%d]: %q: %w", l.key, i, s, err)
			}
		}
	}
	for i, s := range p.Net.Allow {
		if _, err := ParseDest(s); err != nil {
			return fmt.Errorf("net.allow[%d]: %q: %w", i, s, err)
		}
	}
	for i, s := range p.Net.DNS {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("net.dns[%d]: %q: not an IP address", i, s)
		}
	}
	if _, err := ParseBytes(p.Limits.Memory); err != nil {
		return fmt.Errorf("limits.memory: %q: %w", p.Limits.Memory, err)
	}
	if n, err := ParseBytes(p.Telemetry.HashMax); err != nil {
		return fmt.Errorf("telemetry.hash_max: %q: %w", p.Telemetry.HashMax, err)
	} else if p.Telemetry.HashMax != "" && n == 0 {
		return fmt.Errorf("telemetry.hash_max: %q: must be above 0 (files read are always hashed up to a bound)", p.Telemetry.HashMax)
	}
	if p.Limits.Pids < 0 {
		return fmt.Errorf("limits.pids: %d: must be >= 0", p.Limits.Pids)
	}
	for i, b := range p.ApprovedBinaries {
		if len(b.SHA256) != 64 {
			return fmt.Errorf("approved_binaries[%d].sha256: want 64 hex characters, got %d", i, len(b.SHA256))
		}
		if _, err := hex.DecodeString(b.SHA256); err != nil {
			return fmt.Errorf("approved_binaries[%d].sha256: not hex", i)
		}
	}
	if p.Gateway != "" && !strings.HasPrefix(p.Gateway, "http://") && !strings.HasPrefix(p.Gateway, "https://") {
		return fmt.Errorf("gateway: %q: want an http:// or https:// URL", p.Gateway)
	}
	return nil
}

func checkPath(s string) error {
	switch {
	case s == "":
		return errors.New("empty path")
	case strings.Contains(s, "\x00"):
		return errors.New("NUL in path")
	case s == "~" || strings.HasPrefix(s, "~/"), strings.HasPrefix(s, "${PROJECT}"), strings.HasPrefix(s, "${TMPDIR}"), strings.HasPrefix(s, "/"):
	default:
		return errors.New("must be absolute or start with ~/, ${PROJECT} or ${TMPDIR}")
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == ".." {
			return errors.New(`".." is not allowed`)
		}
	}
	return nil
}

// Approved reports whether sha (hex) is on the approved list.
func (p *Profile) Approved(sha string) bool {
	for _, b := range p.ApprovedBinaries {
		if strings.EqualFold(b.SHA256, sha) {
			return true
		}
	}
	return false
}

// Dest is one allowed destination.
type Dest struct {
	Host  string // as written (name or IP literal)
	Port  uint16
	Proto string // "tcp", "udp" or "" (both)
}

// ParseDest parses "HOST:PORT[/tcp|/udp]".
func ParseDest(s string) (Dest, error) {
	var d Dest
	hp := s
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		hp, d.Proto = s[:i], s[i+1:]
		if d.Proto != "tcp" && d.Proto != "udp" {
			return d, fmt.Errorf("protocol %q: want tcp or udp", d.Proto)
		}
	}
	i := strings.LastIndexByte(hp, ':')
	if i < 0 {
		return d, errors.New("want HOST:PORT")
	}
	d.Host = strings.TrimSuffix(strings.TrimPrefix(hp[:i], "["), "]")
	if d.Host == "" {
		return d, errors.New("empty host")
	}
	port, err := strconv.ParseUint(hp[i+1:], 10, 16)
	if err != nil || port == 0 {
		return d, fmt.Errorf("port %q: want 1-65535", hp[i+1:])
	}
	d.Port = uint16(port)
	return d, nil
}

// ParseBytes parses sizes like 512MiB, 4GiB, 1G, 1048576; "" is 0.
func ParseBytes(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suf string
		mul uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"K", 1000}, {"M", 1000 * 1000}, {"G", 1000 * 1000 * 1000}, {"B", 1}}
	mul := uint64(1)
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suf) {
			num, mul = strings.TrimSuffix(s, u.suf), u.mul
			break
		}
	}
	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 64)
	if err != nil {
		return 0, errors.New("want a size like 512MiB or 4GiB")
	}
	return n * mul, nil
}

// Vars are the values substituted into paths.
type Vars struct {
	Home, Project, TmpDir string
}

// Expand resolves one profile path.
func (v Vars) Expand(s string) string {
	switch {
	case s == "~":
		return filepath.Clean(v.Home)
	case strings.HasPrefix(s, "~/"):
		return filepath.Join(v.Home, s[2:])
	case strings.HasPrefix(s, "${PROJECT}"):
		return filepath.Join(v.Project, strings.TrimPrefix(s, "${PROJECT}"))
	case strings.HasPrefix(s, "${TMPDIR}"):
		return filepath.Join(v.TmpDir, strings.TrimPrefix(s, "${TMPDIR}"))
	}
	return filepath.Clean(s)
}

// ExpandAll resolves a list of profile paths.
func (v Vars) ExpandAll(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, v.Expand(s))
	}
	return out
}
