// Package sandbox confines an agent process: a fresh cgroup v2 leaf per
// session (with resource limits), then, inside a re-executed Warden helper
// (stage 2), dropping to the agent user, no_new_privs, Landlock (files,
// TCP connect ports, signal and abstract-socket scoping) and a seccomp deny
// filter, and finally execve of the agent. The egress allowlist lives in
// the cgroup eBPF programs (package endpoint/ebpf).
package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Plan is what stage 2 applies before it execs the agent. It travels from
// the launcher to stage 2 as JSON over an inherited pipe, never through
// argv or the environment.
type Plan struct {
	Argv []string `json:"argv"` // Argv[0] is the resolved agent binary
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	UID  int      `json:"uid"`
	GID  int      `json:"gid"`
	// Groups are the agent user's supplementary groups.
	Groups []int `json:"groups"`
	// Read, Write and Exec are absolute paths, already split around the
	// denied ones (see Carve).
	Read  []string `json:"read"`
	Write []string `json:"write"`
	Exec  []string `json:"exec"`
	// TCPPorts are the only TCP ports connect(2) may reach (Landlock); the
	// eBPF allowlist then checks the address.
	TCPPorts []uint16 `json:"tcp_ports"`
}

// Carve returns allowed with every denied path cut out: an allowed path
// inside (or equal to) a denied one is dropped; an allowed directory that
// contains a denied path is replaced by its entries, recursively, minus
// the denied ones. Landlock only grants, so this is how "allow /etc but
// never /etc/shadow" is expressed. Symlinks are resolved first so a link
// cannot smuggle a denied target in.
func Carve(allowed, denied []string) []string {
	den := make([]string, 0, len(denied))
	for _, d := range denied {
		den = append(den, resolve(d))
		if r := filepath.Clean(d); r != resolve(d) {
			den = append(den, r)
		}
	}
	var out []string
	var walk func(a string, depth int)
	walk = func(a string, depth int) {
		ra := resolve(a)
		for _, d := range den {
			if within(ra, d) || within(a, d) {
				return // denied wins
			}
		}
		var inner []string
		for _, d := range den {
			if within(d, ra) && d != ra {
				inner = append(inner, d)
			}
		}
		if len(inner) == 0 || depth > 16 {
			if depth <= 16 {
				out = append(out, ra)
			}
			return
		}
		ents, err := os.ReadDir(ra)
		if err != nil {
			return // cannot list it: grant nothing rather than too much
		}
		for _, e := range ents {
			walk(filepath.Join(ra, e.Name()), depth+1)
		}
	}
	for _, a := range allowed {
		walk(filepath.Clean(a), 0)
	}
	sort.Strings(out)
	return dedupe(out)
}

// Conflicts reports an allowed path that lies inside a denied one (for
// example a project directory under ~/.ssh): an error to show the user,
// since the sandbox would silently withhold it.
func Conflicts(key string, allowed, denied []string) error {
	for _, a := range allowed {
		for _, d := range denied {
			if within(resolve(a), resolve(d)) {
				return fmt.Errorf("%s: %s is inside the denied path %s", key, a, d)
			}
		}
	}
	return nil
}

func resolve(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// within reports whether p is base or below it.
func within(p, base string) bool {
	if base == "/" {
		return true
	}
	return p == base || strings.HasPrefix(p, base+"/")
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
