package genai

import (
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// view is what one pass over a record's (or resource's) attributes found.
// Values are pcommon.Value handles into the record: nothing is copied.
type view struct {
	vals       [kContentFirst]pcommon.Value
	has        [kContentFirst]bool
	contentN   int // number of content keys present
	userRank   int // precedence of the user identifier found (lower wins)
	deviceRank int
	sessRank   int
}

const noRank = 1 << 30

// reset forgets the previous record. Only the presence flags are cleared:
// vals are read only where has is set.
func (v *view) reset() {
	clear(v.has[:])
	v.contentN = 0
	v.userRank, v.deviceRank, v.sessRank = noRank, noRank, noRank
}

// Identity precedence (first wins), record attributes before resource
// attributes: see README "Identity".
func userRankOf(c keyCode) int {
	switch c {
	case kWardenUser:
		return 0
	case kUserEmail:
		return 1
	case kUserAccountUUID:
		return 2
	case kUserAccountID:
		return 3
	case kEnduserID:
		return 4
	case kUserID:
		return 5
	case kInstallationID:
		return 6
	}
	return noRank
}

func deviceRankOf(c keyCode) int {
	switch c {
	case kWardenDevice:
		return 0
	case kDeviceID:
		return 1
	case kHostID:
		return 2
	case kHostName:
		return 3
	}
	return noRank
}

func sessRankOf(c keyCode) int {
	switch c {
	case kWardenSession:
		return 0
	case kSessionID:
		return 1
	case kConversationID:
		return 2
	case kGenAIConversationID:
		return 3
	case kThreadID:
		return 4
	}
	return noRank
}

func (v *view) scan(m pcommon.Map) {
	m.Range(func(k string, val pcommon.Value) bool {
		c := codeOf(k)
		if c == kNone {
			return true
		}
		if isContent(c) {
			v.contentN++
			return true
		}
		if r := userRankOf(c); r < v.userRank {
			v.userRank = r
		}
		if r := deviceRankOf(c); r < v.deviceRank {
			v.deviceRank = r
		}
		if r := sessRankOf(c); r < v.sessRank {
			v.sessRank = r
		}
		if !v.has[c] {
			v.has[c] = true
			v.vals[c] = val
		}
		return true
	})
}

// str returns the string form of a present scalar value ("" when absent).
func (v *view) str(c keyCode) string {
	if !v.has[c] {
		return ""
	}
	return scalarString(v.vals[c])
}

func scalarString(val pcommon.Value) string {
	switch val.Type() {
	case pcommon.ValueTypeStr:
		return val.Str()
	case pcommon.ValueTypeEmpty:
		return ""
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice, pcommon.ValueTypeBytes:
		return "" // not an identifier
	}
	return val.AsString()
}

func (v *view) firstStr(cs ...keyCode) string {
	for _, c := range cs {
		if s := v.str(c); s != "" {
			return s
		}
	}
	return ""
}

var userCodes = [...]keyCode{kWardenUser, kUserEmail, kUserAccountUUID, kUserAccountID, kEnduserID, kUserID, kInstallationID}
var deviceCodes = [...]keyCode{kWardenDevice, kDeviceID, kHostID, kHostName}
var sessCodes = [...]keyCode{kWardenSession, kSessionID, kConversationID, kGenAIConversationID, kThreadID}

func (v *view) user() string {
	if v.userRank == noRank {
		return ""
	}
	return v.str(userCodes[v.userRank])
}

func (v *view) device() string {
	if v.deviceRank == noRank {
		return ""
	}
	return v.str(deviceCodes[v.deviceRank])
}

func (v *view) session() string {
	if v.sessRank == noRank {
		return ""
	}
	return v.str(sessCodes[v.sessRank])
}

// maxTokens bounds a plausible token count of one call; larger values are
// reported as a problem and ignored.
const maxTokens = 1 << 40

// count reads a token count that may arrive as Int, Double or Str. ok is
// false when absent; a present but unusable value adds a problem.
func (v *view) count(c keyCode, name string, p *problems) (uint64, bool) {
	if !v.has[c] {
		return 0, false
	}
	val := v.vals[c]
	var n float64
	switch val.Type() {
	case pcommon.ValueTypeInt:
		n = float64(val.Int())
	case pcommon.ValueTypeDouble:
		n = val.Double()
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(val.Str())
		i, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			n = float64(i)
		} else if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			n = f
		} else {
			p.add(name, "not a number")
			return 0, false
		}
	default:
		p.add(name, "wrong type "+val.Type().String())
		return 0, false
	}
	if math.IsNaN(n) || n < 0 || n > maxTokens {
		p.add(name, "implausible value "+strconv.FormatFloat(n, 'g', -1, 64))
		return 0, false
	}
	return uint64(n), true
}

// float reads a non-negative finite number (cost, latency).
func (v *view) float(c keyCode, name string, p *problems) (float64, bool) {
	if !v.has[c] {
		return 0, false
	}
	val := v.vals[c]
	var f float64
	switch val.Type() {
	case pcommon.ValueTypeInt:
		f = float64(val.Int())
	case pcommon.ValueTypeDouble:
		f = val.Double()
	case pcommon.ValueTypeStr:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(val.Str()), 64); err != nil {
			p.add(name, "not a number")
			return 0, false
		}
	default:
		p.add(name, "wrong type "+val.Type().String())
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e12 {
		p.add(name, "implausible value "+strconv.FormatFloat(f, 'g', -1, 64))
		return 0, false
	}
	return f, true
}

// problems collects what could not be normalized on one record. It only
// allocates when there is a problem.
type problems struct{ b []byte }

func (p *problems) add(field, what string) {
	if len(p.b) > 0 {
		p.b = append(p.b, "; "...)
	}
	p.b = append(p.b, field...)
	p.b = append(p.b, ": "...)
	p.b = append(p.b, what...)
}

func (p *problems) any() bool { return len(p.b) > 0 }
