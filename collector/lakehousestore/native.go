package lakehousestore

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

	chproto "github.com/ClickHouse/ch-go/proto"
)

// The Native block of a batch is built with ch-go's protocol columns: they
// append into flat buffers (a string column is one byte slice plus
// offsets), so encoding 32k rows allocates a few buffers instead of
// several objects per cell, and the column set is reused between batches.
// The byte layout is ClickHouse's Native format (what `FORMAT Native` and
// clickhouse-go's block decoder read), so WAL segments written before this
// encoder replay unchanged.

// nativeCols is one reusable set of columns of a table, in table order.
type nativeCols struct {
	decode bool // LowCardinality columns are ch-go's (which decode) instead of lowCardStr
	input  []chproto.InputColumn
	cols   []chproto.Column
	fill   []func(base unsafe.Pointer, stride uintptr, n int)
	kvStr  []kv[string] // scratch for sorted map entries
	kvU32  []kv[uint32]
}

type kv[V any] struct {
	k string
	v V
}

// newNativeCols builds the columns and, per column, a filler that appends
// n rows read at the column's field offset.
func (c *Codec) newNativeCols(decode bool) (*nativeCols, error) {
	nc := &nativeCols{decode: decode}
	for _, a := range c.accs {
		col, fill, err := nativeColumn(a, nc)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", a.col.Name, err)
		}
		// The header carries the column's type; it must be the DDL's.
		if got := col.Type().String(); got != a.col.Type {
			return nil, fmt.Errorf("column %s: Native encoder type %s differs from the DDL type %s", a.col.Name, got, a.col.Type)
		}
		nc.input = append(nc.input, chproto.InputColumn{Name: a.col.Name, Data: col})
		nc.fill = append(nc.fill, fill)
		nc.cols = append(nc.cols, col)
	}
	return nc, nil
}

func field[T any](base unsafe.Pointer, stride uintptr, i int, off uintptr) *T {
	return (*T)(unsafe.Add(base, uintptr(i)*stride+off))
}

// fixed appends a fixed-width field of every row to dst.
func fixed[T, F any](dst *[]T, conv func(F) T, off uintptr) func(unsafe.Pointer, uintptr, int) {
	return func(base unsafe.Pointer, stride uintptr, n int) {
		d := slices.Grow(*dst, n)
		for i := 0; i < n; i++ {
			d = append(d, conv(*field[F](base, stride, i, off)))
		}
		*dst = d
	}
}

func same[T any](v T) T { return v }

func nativeColumn(a colAcc, nc *nativeCols) (chproto.Column, func(unsafe.Pointer, uintptr, int), error) {
	lowCard := strings.HasPrefix(a.col.Type, "LowCardinality(")
	off := a.off
	switch a.kind {
	case kString, kBytes:
		var col chproto.ColumnOf[string] = &chproto.ColStr{}
		if lowCard {
			col = nc.lowCard()
		}
		if a.kind == kBytes {
			return col, func(base unsafe.Pointer, stride uintptr, n int) {
				for i := 0; i < n; i++ {
					b := *field[[]byte](base, stride, i, off)
					col.Append(unsafe.String(unsafe.SliceData(b), len(b)))
				}
			}, nil
		}
		return col, func(base unsafe.Pointer, stride uintptr, n int) {
			for i := 0; i < n; i++ {
				col.Append(*field[string](base, stride, i, off))
			}
		}, nil
	case kFixed16:
		col := &chproto.ColFixedStr16{}
		return col, fixed((*[][16]byte)(col), same[[16]byte], off), nil
	case kUint8:
		col := &chproto.ColUInt8{}
		return col, fixed((*[]uint8)(col), same[uint8], off), nil
	case kUint16:
		col := &chproto.ColUInt16{}
		return col, fixed((*[]uint16)(col), same[uint16], off), nil
	case kUint32:
		col := &chproto.ColUInt32{}
		return col, fixed((*[]uint32)(col), same[uint32], off), nil
	case kUint64:
		col := &chproto.ColUInt64{}
		return col, fixed((*[]uint64)(col), same[uint64], off), nil
	case kInt32:
		col := &chproto.ColInt32{}
		return col, fixed((*[]int32)(col), same[int32], off), nil
	case kInt64:
		col := &chproto.ColInt64{}
		return col, fixed((*[]int64)(col), same[int64], off), nil
	case kFloat64:
		col := &chproto.ColFloat64{}
		return col, fixed((*[]float64)(col), same[float64], off), nil
	case kBool:
		col := &chproto.ColBool{}
		return col, fixed((*[]bool)(col), same[bool], off), nil
	case kTime:
		prec, loc, err := dateTime64Params(a.col.Type)
		if err != nil {
			return nil, nil, err
		}
		col := (&chproto.ColDateTime64{}).WithPrecision(prec).WithLocation(loc)
		return col, func(base unsafe.Pointer, stride uintptr, n int) {
			for i := 0; i < n; i++ {
				col.Append(*field[time.Time](base, stride, i, off))
			}
		}, nil
	case kDate:
		col := &chproto.ColDate{}
		return col, func(base unsafe.Pointer, stride uintptr, n int) {
			for i := 0; i < n; i++ {
				col.Append(field[time.Time](base, stride, i, off).UTC())
			}
		}, nil
	case kStrings:
		var elem chproto.ColumnOf[string] = &chproto.ColStr{}
		if strings.HasPrefix(a.col.Type, "Array(LowCardinality(") {
			elem = nc.lowCard()
		}
		col := chproto.NewArray[string](elem)
		return col, func(base unsafe.Pointer, stride uintptr, n int) {
			for i := 0; i < n; i++ {
				for _, s := range *field[[]string](base, stride, i, off) {
					elem.Append(s)
				}
				col.Offsets.Append(uint64(elem.Rows()))
			}
		}, nil
	case kMapStrStr:
		col := chproto.NewMap[string, string](nc.mapKeys(a.col.Type), &chproto.ColStr{})
		return col, func(base unsafe.Pointer, stride uintptr, n int) {
			for i := 0; i < n; i++ {
				appendSorted(col, *field[map[string]string](base, stride, i, off), &nc.kvStr)
			}
		}, nil
	case kMapStrU32:
		col := chproto.NewMap[string, uint32](nc.mapKeys(a.col.Type), &chproto.ColUInt32{})
		return col, func(base unsafe.Pointer, stride uintptr, n int) {
			for i := 0; i < n; i++ {
				appendSorted(col, *field[map[string]uint32](base, stride, i, off), &nc.kvU32)
			}
		}, nil
	}
	return nil, nil, fmt.Errorf("no Native encoder for %s", a.col.Type)
}

func (nc *nativeCols) mapKeys(typ string) chproto.ColumnOf[string] {
	if strings.HasPrefix(typ, "Map(LowCardinality(") {
		return nc.lowCard()
	}
	return &chproto.ColStr{}
}

// lowCard is a LowCardinality(String) column: lowCardStr to encode,
// ch-go's to decode.
func (nc *nativeCols) lowCard() chproto.ColumnOf[string] {
	if nc.decode {
		return chproto.NewLowCardinality[string](&chproto.ColStr{})
	}
	return newLowCardStr()
}

// appendSorted appends one map row in key order, so the same rows always
// encode to the same bytes (the block's hash is its dedup token).
func appendSorted[V any](col *chproto.ColMap[string, V], m map[string]V, scratch *[]kv[V]) {
	ents := sortedEntries(m, (*scratch)[:0])
	for _, e := range ents {
		col.Keys.Append(e.k)
		col.Values.Append(e.v)
	}
	col.Offsets.Append(uint64(col.Keys.Rows()))
	*scratch = ents[:0]
}

// sortedEntries appends the entries of m to dst in key order (one pass
// over the map, no lookups).
func sortedEntries[V any](m map[string]V, dst []kv[V]) []kv[V] {
	for k, v := range m {
		dst = append(dst, kv[V]{k, v})
	}
	if len(dst) > 1 {
		slices.SortFunc(dst, func(a, b kv[V]) int { return strings.Compare(a.k, b.k) })
	}
	return dst
}

// dateTime64Params parses DateTime64(P, 'TZ').
func dateTime64Params(typ string) (chproto.Precision, *time.Location, error) {
	var p int
	var tz string
	inner := strings.TrimSuffix(strings.TrimPrefix(typ, "DateTime64("), ")")
	ps, q, ok := strings.Cut(inner, ",")
	if _, err := fmt.Sscanf(strings.TrimSpace(ps), "%d", &p); err != nil {
		return 0, nil, fmt.Errorf("type %s: no precision", typ)
	}
	if ok {
		tz = strings.Trim(strings.TrimSpace(q), "'")
	}
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return 0, nil, fmt.Errorf("type %s: %w", typ, err)
	}
	return chproto.Precision(p), loc, nil
}

// EncodeNative renders rows as one Native-format block (the byte layout
// `FORMAT Native` reads: no block info, no custom-serialization flags),
// appended to dst[:0].
func (c *Codec) EncodeNative(rows any, dst []byte) ([]byte, error) {
	base, stride, n, err := c.rowsBase(rows)
	if err != nil {
		return nil, err
	}
	var nc *nativeCols
	select {
	case nc = <-c.native:
	default:
		if nc, err = c.newNativeCols(false); err != nil {
			return nil, err
		}
	}
	defer func() {
		select {
		case c.native <- nc:
		default:
		}
	}()
	return c.encodeWith(nc, base, stride, n, dst)
}

// encodeWith fills the column set nc with n rows at base and encodes the
// block into dst[:0].
func (c *Codec) encodeWith(nc *nativeCols, base unsafe.Pointer, stride uintptr, n int, dst []byte) ([]byte, error) {
	for i, col := range nc.cols {
		col.Reset()
		if n > 0 {
			nc.fill[i](base, stride, n)
		}
	}
	buf := &chproto.Buffer{Buf: dst[:0]}
	if err := (chproto.Block{Columns: len(nc.input), Rows: n}).EncodeRawBlock(buf, 0, nc.input); err != nil {
		return nil, err
	}
	return buf.Buf, nil
}
