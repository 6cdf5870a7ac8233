// Package fieldpath parses the collector's usual field path syntax into a
// context and a key path, shared by fieldhash and promptcrypt (and by their
// check that no field is both hashed and sealed):
//
//	resource.attributes["user.email"]
//	scope.attributes["k"]
//	attributes["user.id"]            (record: log record, span, data point)
//	attributes["a"]["b"]             (into a map value)
//	body                             (log body itself)
//	body["x"]["y"]                   (into a map body)
package fieldpath

import (
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Context says which part of a record a path starts from.
type Context int

const (
	Record Context = iota
	Resource
	Scope
	Body
)

func (c Context) String() string {
	return [...]string{"attributes", "resource.attributes", "scope.attributes", "body"}[c]
}

// Path is a parsed field path.
type Path struct {
	Context Context
	Keys    []string // at least one except for a bare "body"
}

// String renders the canonical form (used in errors and overlap checks).
func (p Path) String() string {
	var b strings.Builder
	b.WriteString(p.Context.String())
	for _, k := range p.Keys {
		b.WriteString("[")
		b.WriteString(strconv.Quote(k))
		b.WriteString("]")
	}
	return b.String()
}

// Parse parses s.
func Parse(s string) (Path, error) {
	in := strings.TrimSpace(s)
	var p Path
	switch {
	case strings.HasPrefix(in, "resource.attributes"):
		p.Context, in = Resource, in[len("resource.attributes"):]
	case strings.HasPrefix(in, "scope.attributes"):
		p.Context, in = Scope, in[len("scope.attributes"):]
	case strings.HasPrefix(in, "attributes"):
		p.Context, in = Record, in[len("attributes"):]
	case strings.HasPrefix(in, "body"):
		p.Context, in = Body, in[len("body"):]
	default:
		return Path{}, fmt.Errorf("path %q: must start with resource.attributes, scope.attributes, attributes or body", s)
	}
	for len(in) > 0 {
		if !strings.HasPrefix(in, "[") {
			return Path{}, fmt.Errorf("path %q: expected [\"key\"] at %q", s, in)
		}
		in = in[1:]
		q, err := strconv.QuotedPrefix(in)
		if err != nil {
			return Path{}, fmt.Errorf("path %q: key must be a quoted string: %v", s, err)
		}
		k, _ := strconv.Unquote(q)
		in = in[len(q):]
		if !strings.HasPrefix(in, "]") {
			return Path{}, fmt.Errorf("path %q: missing ]", s)
		}
		in = in[1:]
		if k == "" {
			return Path{}, fmt.Errorf("path %q: empty key", s)
		}
		p.Keys = append(p.Keys, k)
	}
	if len(p.Keys) == 0 && p.Context != Body {
		return Path{}, fmt.Errorf("path %q: needs a key, e.g. %s[\"user.id\"]", s, p.Context)
	}
	return p, nil
}

// Overlaps reports whether a and b select the same value or one contains
// the other (hashing a map that another processor seals, or the reverse).
func Overlaps(a, b Path) bool {
	if a.Context != b.Context {
		return false
	}
	n := min(len(a.Keys), len(b.Keys))
	for i := 0; i < n; i++ {
		if a.Keys[i] != b.Keys[i] {
			return false
		}
	}
	return true
}

// Lookup finds the value the keys select below root (a Map), or false.
// With parent it also returns the Map holding the last key.
func Lookup(root pcommon.Map, keys []string) (pcommon.Value, pcommon.Map, bool) {
	m := root
	for i, k := range keys {
		v, ok := m.Get(k)
		if !ok {
			return pcommon.Value{}, pcommon.Map{}, false
		}
		if i == len(keys)-1 {
			return v, m, true
		}
		if v.Type() != pcommon.ValueTypeMap {
			return pcommon.Value{}, pcommon.Map{}, false
		}
		m = v.Map()
	}
	return pcommon.Value{}, pcommon.Map{}, false
}
