package export

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// The buffer holds one value per event. Values written by this version
// start with codecV1 and are a compact binary encoding (length-prefixed
// strings, varints): encoding/json was a tenth of the sensor's CPU on file
// walks (one event per opened file) and made values about twice as large.
// Values starting with '{' are the JSON of earlier versions, still read so
// a buffer left by an older Warden ships after an upgrade.
const codecV1 = 0x01

// Attr value types in the binary encoding.
const (
	attrString = 's'
	attrInt    = 'i'
	attrBool   = 'b'
	attrFloat  = 'f'
	attrJSON   = 'j' // anything else, as JSON (decoded as JSON decodes it)
)

// appendRecord appends the binary encoding of r to b.
func appendRecord(b []byte, r *record) []byte {
	ev := &r.Event
	b = append(b, codecV1)
	b = append(b, r.ID[:]...)
	b = binary.AppendVarint(b, ev.Time.UnixNano())
	for _, s := range [...]string{ev.Name, ev.Kind, ev.Agent, ev.AgentVersion, ev.SessionID,
		ev.UserPseudonym, ev.DevicePseudonym, ev.PathPseudonym, ev.AccessMode, ev.DestHost, ev.ContentSHA256} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(ev.DestPort))
	if ev.Denied {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendVarint(b, int64(ev.ExitCode))
	b = binary.AppendUvarint(b, uint64(len(ev.RuleIDs)))
	for _, s := range ev.RuleIDs {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(ev.Attrs)))
	for k, v := range ev.Attrs {
		b = appendString(b, k)
		switch v := v.(type) {
		case string:
			b = appendString(append(b, attrString), v)
		case int64:
			b = binary.AppendVarint(append(b, attrInt), v)
		case int:
			b = binary.AppendVarint(append(b, attrInt), int64(v))
		case bool:
			if v {
				b = append(b, attrBool, 1)
			} else {
				b = append(b, attrBool, 0)
			}
		case float64:
			b = binary.LittleEndian.AppendUint64(append(b, attrFloat), math.Float64bits(v))
		default:
			j, err := json.Marshal(v)
			if err != nil {
				j = []byte("null")
			}
			b = appendString(append(b, attrJSON), string(j))
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errShort = errors.New("truncated")

// decodeRecord decodes a buffered value of either encoding.
func decodeRecord(v []byte, r *record) error {
	if len(v) > 0 && v[0] == '{' {
		return json.Unmarshal(v, r)
	}
	if len(v) == 0 || v[0] != codecV1 {
		return fmt.Errorf("unknown buffer encoding %#x", firstByte(v))
	}
	d := decoder{b: v[1:]}
	if len(d.b) < 16 {
		return fmt.Errorf("event id: %w", errShort)
	}
	copy(r.ID[:], d.b[:16])
	d.b = d.b[16:]
	ev := &r.Event
	ev.Time = time.Unix(0, d.varint()).UTC()
	for _, p := range [...]*string{&ev.Name, &ev.Kind, &ev.Agent, &ev.AgentVersion, &ev.SessionID,
		&ev.UserPseudonym, &ev.DevicePseudonym, &ev.PathPseudonym, &ev.AccessMode, &ev.DestHost, &ev.ContentSHA256} {
		*p = d.str()
	}
	port := d.uvarint()
	if port > math.MaxUint16 {
		d.fail(fmt.Errorf("dest_port %d out of range", port))
	}
	ev.DestPort = uint16(port)
	ev.Denied = d.byte() == 1
	exit := d.varint()
	if exit < math.MinInt32 || exit > math.MaxInt32 {
		d.fail(fmt.Errorf("exit_code %d out of range", exit))
	}
	ev.ExitCode = int32(exit)
	if n := d.count(); n > 0 {
		ev.RuleIDs = make([]string, n)
		for i := range ev.RuleIDs {
			ev.RuleIDs[i] = d.str()
		}
	}
	if n := d.count(); n > 0 {
		ev.Attrs = make(map[string]any, n)
		for range n {
			k := d.str()
			switch t := d.byte(); t {
			case attrString:
				ev.Attrs[k] = d.str()
			case attrInt:
				ev.Attrs[k] = d.varint()
			case attrBool:
				ev.Attrs[k] = d.byte() == 1
			case attrFloat:
				if len(d.b) < 8 {
					d.fail(errShort)
					break
				}
				ev.Attrs[k] = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
				d.b = d.b[8:]
			case attrJSON:
				var x any
				if err := json.Unmarshal([]byte(d.str()), &x); err != nil {
					d.fail(fmt.Errorf("attr %q: %w", k, err))
				}
				ev.Attrs[k] = x
			default:
				d.fail(fmt.Errorf("attr %q: unknown value type %#x", k, t))
			}
			if d.err != nil {
				break
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return d.err
}

func firstByte(v []byte) byte {
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// decoder reads the binary encoding; the first error sticks and later
// reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail(errShort)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// count reads a length that must fit in what is left (one byte or more
// per item), so a corrupt value cannot make a huge allocation.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(fmt.Errorf("count %d beyond the value", n))
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
