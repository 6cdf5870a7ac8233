package lakehousestore

import (
	"errors"

	chproto "github.com/ClickHouse/ch-go/proto"
)

// lowCardStr encodes a LowCardinality(String) column, byte for byte as
// ch-go's ColLowCardinality[string] does (TestLowCardMatchesChGo), but
// builds the dictionary while rows are appended and skips the dictionary
// lookup when a row repeats the previous one. Batches are long runs of the
// same tenant, kind, model or agent; ch-go's Prepare hashes every value,
// which was 40 % of the Native encoding. Encode only: blocks are decoded
// with ch-go's own column (DecodeNative).
type lowCardStr struct {
	dict    chproto.ColStr
	index   map[string]uint32
	keys    []uint32
	last    string
	lastKey uint32
}

// Serialization constants of ClickHouse's LowCardinality (what ch-go
// writes): key version 1 ("shared dictionaries with additional keys"), and
// per block "has additional keys | need update dictionary" plus the key
// width.
const (
	lcKeyVersion                         = 1
	lcUpdateAll                          = 1<<9 | 1<<10
	lcKeyUInt8, lcKeyUInt16, lcKeyUInt32 = 0, 1, 2
)

var (
	_ chproto.ColumnOf[string] = (*lowCardStr)(nil)
	_ chproto.StateEncoder     = (*lowCardStr)(nil)
)

func newLowCardStr() *lowCardStr { return &lowCardStr{index: map[string]uint32{}} }

func (c *lowCardStr) Type() chproto.ColumnType {
	return chproto.ColumnTypeLowCardinality.Sub(chproto.ColumnTypeString)
}

func (c *lowCardStr) Rows() int { return len(c.keys) }

func (c *lowCardStr) Append(v string) {
	if len(c.keys) > 0 && v == c.last {
		c.keys = append(c.keys, c.lastKey)
		return
	}
	k, ok := c.index[v]
	if !ok {
		k = uint32(c.dict.Rows())
		c.dict.Append(v)
		// The map key must not alias the caller's memory beyond this
		// batch; the dictionary's copy lives as long as the map entry.
		c.index[c.dict.Row(int(k))] = k
	}
	c.keys = append(c.keys, k)
	c.last, c.lastKey = v, k
}

func (c *lowCardStr) AppendArr(vs []string) {
	for _, v := range vs {
		c.Append(v)
	}
}

func (c *lowCardStr) Row(i int) string { return c.dict.Row(int(c.keys[i])) }

func (c *lowCardStr) Reset() {
	c.dict.Reset()
	clear(c.index)
	c.keys = c.keys[:0]
	c.last, c.lastKey = "", 0
}

func (c *lowCardStr) EncodeState(b *chproto.Buffer) { b.PutInt64(lcKeyVersion) }

func (c *lowCardStr) EncodeColumn(b *chproto.Buffer) {
	if len(c.keys) == 0 {
		return
	}
	n := c.dict.Rows()
	width := lcKeyUInt32
	switch {
	case n <= 1<<8:
		width = lcKeyUInt8
	case n <= 1<<16:
		width = lcKeyUInt16
	}
	b.PutInt64(int64(lcUpdateAll | width))
	b.PutInt64(int64(n))
	c.dict.EncodeColumn(b)
	b.PutInt64(int64(len(c.keys)))
	switch width {
	case lcKeyUInt8:
		for _, k := range c.keys {
			b.PutUInt8(uint8(k))
		}
	case lcKeyUInt16:
		for _, k := range c.keys {
			b.PutUInt16(uint16(k))
		}
	default:
		for _, k := range c.keys {
			b.PutUInt32(k)
		}
	}
}

func (c *lowCardStr) WriteColumn(w *chproto.Writer) { w.ChainBuffer(c.EncodeColumn) }

func (c *lowCardStr) DecodeColumn(*chproto.Reader, int) error {
	return errors.New("lowCardStr encodes only; decode with ch-go's ColLowCardinality")
}
