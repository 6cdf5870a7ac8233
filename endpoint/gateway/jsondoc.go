package gateway

import (
	"bytes"
	"math"

	json "github.com/goccy/go-json"
)

// decodeDoc decodes a request or response body into a generic document.
//
// Why not one json.Decoder with UseNumber: goccy's streaming decoder is
// 7–15× slower than its Unmarshal on large bodies with escapes (a 100 KB
// prompt of code or text with newlines and quotes: ~1.1 ms against
// ~0.11 ms), and that time is paid before the first byte is forwarded.
// Unmarshal has no UseNumber, so numbers arrive as float64; that is exact
// for every integer below 2^53 and re-encodes to the same value. A body
// with a number at or beyond 2^53 (where a float64 could round it) is
// decoded again with UseNumber, so re-encoding a redacted body never
// changes a number's value.
func decodeDoc(b []byte) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if !hasUnsafeNumber(doc) {
		return doc, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	doc = nil
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// maxExactInt is 2^53: every integer of smaller magnitude is exact in a
// float64.
const maxExactInt = 1 << 53

func hasUnsafeNumber(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.Abs(x) >= maxExactInt
	case map[string]any:
		for _, e := range x {
			if hasUnsafeNumber(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasUnsafeNumber(e) {
				return true
			}
		}
	}
	return false
}
