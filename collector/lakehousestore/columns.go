package lakehousestore

// One column encoder for both stores. Rows (a []T of a registered schema
// table type) are read column by column by field offset (derived at init
// from the same reflection that derives the DDL, so no per-row
// reflection). The accessors feed:
//   - ch-go's protocol columns (the package clickhouse-go/v2 itself encodes
//     blocks with) to build a Native block: written to a file for chDB
//     (INSERT ... FROM INFILE ... FORMAT Native) and kept as the WAL
//     segment (native.go);
//   - typed column slices appended to a clickhouse-go/v2 batch for a
//     server (ColumnSlices);
//   - the Parquet lake writer (values by leaf column).
// Record data therefore never becomes SQL text.

import (
	"fmt"
	"reflect"
	"time"
	"unsafe"

	"github.com/wardenhq/warden/schema"
)

type colKind int

const (
	kString colKind = iota
	kBytes
	kFixed16
	kUint8
	kUint16
	kUint32
	kUint64
	kInt32
	kInt64
	kFloat64
	kBool
	kTime
	kDate
	kStrings
	kMapStrStr
	kMapStrU32
)

type colAcc struct {
	col  schema.Column
	off  uintptr
	kind colKind
}

// Codec encodes rows of one table.
type Codec struct {
	Table  *schema.Table
	rowTyp reflect.Type
	accs   []colAcc
	pq     *schema.ParquetLayout
	// Reusable ch-go column sets for EncodeNative. Not a sync.Pool: a
	// pool is emptied at every GC, and a set holds tens of MB of grown
	// buffers that would then be allocated again for the next batch.
	native chan *nativeCols
}

var (
	timeType = reflect.TypeOf(time.Time{})
)

// NewCodec derives the accessors of a table.
func NewCodec(t *schema.Table) (*Codec, error) {
	c := &Codec{Table: t, rowTyp: t.Row}
	for _, col := range t.Columns {
		f := t.Row.FieldByIndex(col.Field)
		a := colAcc{col: col, off: f.Offset}
		if len(col.Field) != 1 {
			return nil, fmt.Errorf("column %s: embedded fields are not supported", col.Name)
		}
		base := schema.BaseType(col.Type)
		switch gt := f.Type; {
		case gt == timeType && base == "Date":
			a.kind = kDate
		case gt == timeType:
			a.kind = kTime
		case gt.Kind() == reflect.String:
			a.kind = kString
		case gt == reflect.TypeOf([]byte(nil)):
			a.kind = kBytes
		case gt.Kind() == reflect.Array && gt.Len() == 16:
			a.kind = kFixed16
		case gt.Kind() == reflect.Uint8:
			a.kind = kUint8
		case gt.Kind() == reflect.Uint16:
			a.kind = kUint16
		case gt.Kind() == reflect.Uint32:
			a.kind = kUint32
		case gt.Kind() == reflect.Uint64:
			a.kind = kUint64
		case gt.Kind() == reflect.Int32:
			a.kind = kInt32
		case gt.Kind() == reflect.Int64:
			a.kind = kInt64
		case gt.Kind() == reflect.Float64:
			a.kind = kFloat64
		case gt.Kind() == reflect.Bool:
			a.kind = kBool
		case gt == reflect.TypeOf([]string(nil)):
			a.kind = kStrings
		case gt == reflect.TypeOf(map[string]string(nil)):
			a.kind = kMapStrStr
		case gt == reflect.TypeOf(map[string]uint32(nil)):
			a.kind = kMapStrU32
		default:
			return nil, fmt.Errorf("column %s: Go type %s has no encoder", col.Name, gt)
		}
		c.accs = append(c.accs, a)
	}
	pq, err := t.Parquet()
	if err != nil {
		return nil, err
	}
	c.pq = pq
	// Build one column set now: a Go type whose ClickHouse type the
	// encoder cannot express exactly fails here, not at the first insert.
	nc, err := c.newNativeCols(false)
	if err != nil {
		return nil, err
	}
	c.native = make(chan *nativeCols, 2)
	c.native <- nc
	return c, nil
}

// rowsBase validates rows (a []T of the table's row type) and returns the
// base pointer, stride and length.
func (c *Codec) rowsBase(rows any) (unsafe.Pointer, uintptr, int, error) {
	v := reflect.ValueOf(rows)
	if v.Kind() != reflect.Slice || v.Type().Elem() != c.rowTyp {
		return nil, 0, 0, fmt.Errorf("table %s wants []%s, got %T", c.Table.Name, c.rowTyp, rows)
	}
	if v.Len() == 0 {
		return nil, 0, 0, nil
	}
	return v.UnsafePointer(), c.rowTyp.Size(), v.Len(), nil
}

func gather[T any](base unsafe.Pointer, stride uintptr, n int, off uintptr) []T {
	out := make([]T, n)
	for i := 0; i < n; i++ {
		out[i] = *(*T)(unsafe.Add(base, uintptr(i)*stride+off))
	}
	return out
}

// columnSlice returns the typed slice clickhouse-go's batch Append takes.
func (a colAcc) columnSlice(base unsafe.Pointer, stride uintptr, n int) any {
	switch a.kind {
	case kString:
		return gather[string](base, stride, n, a.off)
	case kBytes:
		bs := gather[[]byte](base, stride, n, a.off)
		out := make([]string, n)
		for i := range bs {
			out[i] = string(bs[i])
		}
		return out
	case kFixed16:
		ids := gather[[16]byte](base, stride, n, a.off)
		out := make([]string, n)
		for i := range ids {
			out[i] = string(ids[i][:])
		}
		return out
	case kUint8:
		return gather[uint8](base, stride, n, a.off)
	case kUint16:
		return gather[uint16](base, stride, n, a.off)
	case kUint32:
		return gather[uint32](base, stride, n, a.off)
	case kUint64:
		return gather[uint64](base, stride, n, a.off)
	case kInt32:
		return gather[int32](base, stride, n, a.off)
	case kInt64:
		return gather[int64](base, stride, n, a.off)
	case kFloat64:
		return gather[float64](base, stride, n, a.off)
	case kBool:
		return gather[bool](base, stride, n, a.off)
	case kTime, kDate:
		ts := gather[time.Time](base, stride, n, a.off)
		for i := range ts {
			ts[i] = ts[i].UTC()
		}
		return ts
	case kStrings:
		ss := gather[[]string](base, stride, n, a.off)
		for i := range ss {
			if ss[i] == nil {
				ss[i] = []string{}
			}
		}
		return ss
	case kMapStrStr:
		// A server batch needs no key order: the dedup token is the
		// hash of the Native block (native.go), which sorts keys.
		return gather[map[string]string](base, stride, n, a.off)
	case kMapStrU32:
		return gather[map[string]uint32](base, stride, n, a.off)
	}
	panic("unreachable")
}

// ColumnSlices returns, per column in table order, the typed slice to hand
// to a clickhouse-go batch (batch.Column(i).Append(slice)).
func (c *Codec) ColumnSlices(rows any) ([]any, error) {
	base, stride, n, err := c.rowsBase(rows)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(c.accs))
	for i, a := range c.accs {
		if n == 0 {
			continue
		}
		out[i] = a.columnSlice(base, stride, n)
	}
	return out, nil
}
