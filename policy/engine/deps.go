package engine

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// inputPaths returns the input paths the bundle's policy modules read, as
// string prefixes: `input.dlp.counts[t]` reads ["dlp","counts"]. whole is
// true when some module reads `input` itself or indexes it with a variable;
// then every field can matter. Test modules (`_test.rego`) are skipped:
// their `with input as` never runs in a decision.
//
// nondeterministic names a builtin whose result can change between two
// evaluations of the same input (time, http.send, rand): decisions that use
// one must not be cached.
func inputPaths(modules map[string]*ast.Module) (paths [][]string, whole bool, nondeterministic string) {
	seen := map[string]bool{}
	for name, m := range modules {
		if strings.HasSuffix(name, "_test.rego") || strings.HasSuffix(m.Package.Path.String(), "_test") {
			continue
		}
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if !r[0].Equal(ast.InputRootDocument) {
				return false
			}
			var p []string
			for _, t := range r[1:] {
				s, ok := t.Value.(ast.String)
				if !ok {
					break
				}
				p = append(p, string(s))
			}
			if len(p) == 0 {
				whole = true
			}
			k := strings.Join(p, "\x00")
			if !seen[k] {
				seen[k] = true
				paths = append(paths, p)
			}
			return false
		})
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			if !e.IsCall() {
				return false
			}
			name := e.Operator().String()
			if b, ok := ast.BuiltinMap[name]; ok && b.Nondeterministic && nondeterministic == "" {
				nondeterministic = name
			}
			return false
		})
	}
	if whole {
		return nil, true, nondeterministic
	}
	// Keep only the shortest prefixes: reading input.dlp makes input.dlp.counts
	// part of the key already.
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) < len(paths[j]) })
	var out [][]string
	for _, p := range paths {
		covered := false
		for _, q := range out {
			if hasPrefix(p, q) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], ".") < strings.Join(out[j], ".") })
	return out, false, nondeterministic
}

func hasPrefix(p, q []string) bool {
	if len(q) > len(p) {
		return false
	}
	for i := range q {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// cacheKey encodes the values at paths (or the whole document) canonically:
// two inputs get the same key exactly when the bundle can see no difference.
func cacheKey(doc map[string]any, paths [][]string, whole bool, buf []byte) []byte {
	if whole {
		return appendCanon(buf, doc)
	}
	for _, p := range paths {
		buf = appendCanon(buf, walk(doc, p))
	}
	return buf
}

// walk follows p into v: a missing key is absent{}, a step into a non-object
// is nil.
func walk(v any, p []string) any {
	for _, k := range p {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = m[k]; !ok {
			return absent{}
		}
	}
	return v
}

type absent struct{}

// appendCanon writes a type-tagged, length-prefixed encoding, map keys
// sorted, so no two different values share an encoding.
func appendCanon(b []byte, v any) []byte {
	switch x := v.(type) {
	case absent:
		return append(b, 'U')
	case nil:
		return append(b, 'N')
	case bool:
		if x {
			return append(b, 'T')
		}
		return append(b, 'F')
	case string:
		b = append(b, 'S')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		return append(b, x...)
	case int:
		b = append(b, 'I')
		b = strconv.AppendInt(b, int64(x), 10)
		return append(b, ';')
	case int64:
		b = append(b, 'I')
		b = strconv.AppendInt(b, x, 10)
		return append(b, ';')
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			b = append(b, 'I')
			b = strconv.AppendInt(b, int64(x), 10)
			return append(b, ';')
		}
		b = append(b, 'D')
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
		return append(b, ';')
	case []any:
		b = append(b, 'A')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		for _, e := range x {
			b = appendCanon(b, e)
		}
		return b
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, 'M')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		for _, k := range keys {
			b = appendCanon(b, k)
			b = appendCanon(b, x[k])
		}
		return b
	default:
		// Input.Document only builds the types above; keep any other value
		// distinct by type and printed value rather than failing the record.
		return fmt.Appendf(b, "X%T:%v;", x, x)
	}
}
