package lakehousestore

import (
	"slices"
	"sort"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

var epochDay = time.Unix(0, 0).UTC()

// ParquetRows appends one parquet.Row per row to dst, with values placed by
// the leaf indexes of the table's Parquet layout (see schema.Parquet).
// Byte values alias the row's strings: the writer copies them on WriteRows.
func (c *Codec) ParquetRows(rows any, dst []parquet.Row) ([]parquet.Row, error) {
	base, stride, n, err := c.rowsBase(rows)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		dst = append(dst, c.parquetRow(unsafe.Add(base, uintptr(i)*stride), nil))
	}
	return dst, nil
}

// partitionOffsets returns the offsets of the tenant column and of the
// partition time column (ts, else day).
func (c *Codec) partitionOffsets() (tenant, ts uintptr, isDate bool) {
	var haveTS bool
	for _, a := range c.accs {
		switch {
		case a.col.Name == "tenant":
			tenant = a.off
		case (a.col.Name == "ts" || a.col.Name == "day") && !haveTS:
			ts, isDate, haveTS = a.off, a.kind == kDate, true
		}
	}
	return
}

// parquetRow renders one row (p points at a T) as a parquet.Row.
func (c *Codec) parquetRow(p unsafe.Pointer, row parquet.Row) parquet.Row {
	nleaf := len(c.pq.Schema.Columns())
	{
		// Values per leaf, then flattened in leaf order.
		perLeaf := make([][]parquet.Value, nleaf)
		for j, a := range c.accs {
			leaf := c.pq.Leaf[j]
			fp := unsafe.Add(p, a.off)
			switch a.kind {
			case kString:
				perLeaf[leaf] = []parquet.Value{strVal(*(*string)(fp))}
			case kBytes:
				perLeaf[leaf] = []parquet.Value{parquet.ByteArrayValue(*(*[]byte)(fp))}
			case kFixed16:
				b := (*[16]byte)(fp)
				perLeaf[leaf] = []parquet.Value{parquet.FixedLenByteArrayValue(b[:])}
			case kUint8:
				perLeaf[leaf] = []parquet.Value{parquet.Int32Value(int32(*(*uint8)(fp)))}
			case kUint16:
				perLeaf[leaf] = []parquet.Value{parquet.Int32Value(int32(*(*uint16)(fp)))}
			case kUint32:
				perLeaf[leaf] = []parquet.Value{parquet.Int32Value(int32(*(*uint32)(fp)))}
			case kUint64:
				perLeaf[leaf] = []parquet.Value{parquet.Int64Value(int64(*(*uint64)(fp)))}
			case kInt32:
				perLeaf[leaf] = []parquet.Value{parquet.Int32Value(*(*int32)(fp))}
			case kInt64:
				perLeaf[leaf] = []parquet.Value{parquet.Int64Value(*(*int64)(fp))}
			case kFloat64:
				perLeaf[leaf] = []parquet.Value{parquet.DoubleValue(*(*float64)(fp))}
			case kBool:
				perLeaf[leaf] = []parquet.Value{parquet.BooleanValue(*(*bool)(fp))}
			case kTime:
				perLeaf[leaf] = []parquet.Value{parquet.Int64Value((*(*time.Time)(fp)).UnixMicro())}
			case kDate:
				d := (*(*time.Time)(fp)).UTC().Sub(epochDay) / (24 * time.Hour)
				perLeaf[leaf] = []parquet.Value{parquet.Int32Value(int32(d))}
			case kStrings:
				ss := *(*[]string)(fp)
				perLeaf[leaf] = listValues(ss, strVal)
			case kMapStrStr:
				m := *(*map[string]string)(fp)
				perLeaf[leaf], perLeaf[leaf+1] = mapValues(m, strVal)
			case kMapStrU32:
				m := *(*map[string]uint32)(fp)
				perLeaf[leaf], perLeaf[leaf+1] = mapValues(m, func(v uint32) parquet.Value { return parquet.Int32Value(int32(v)) })
			}
		}
		for leaf, vs := range perLeaf {
			for _, v := range vs {
				row = append(row, v.Level(v.RepetitionLevel(), v.DefinitionLevel(), leaf))
			}
		}
	}
	return row
}

func strVal(s string) parquet.Value {
	return parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// listValues renders a required LIST: an empty list is one null at
// definition level 0; elements have definition level 1 and repetition level
// 0 for the first, 1 after.
func listValues[T any](xs []T, f func(T) parquet.Value) []parquet.Value {
	if len(xs) == 0 {
		return []parquet.Value{parquet.NullValue().Level(0, 0, 0)}
	}
	out := make([]parquet.Value, len(xs))
	for i, x := range xs {
		rep := 1
		if i == 0 {
			rep = 0
		}
		out[i] = f(x).Level(rep, 1, 0)
	}
	return out
}

func mapValues[V any](m map[string]V, f func(V) parquet.Value) (keys, vals []parquet.Value) {
	if len(m) == 0 {
		null := parquet.NullValue().Level(0, 0, 0)
		return []parquet.Value{null}, []parquet.Value{null}
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	keys = make([]parquet.Value, len(ks))
	vals = make([]parquet.Value, len(ks))
	for i, k := range ks {
		rep := 1
		if i == 0 {
			rep = 0
		}
		keys[i] = strVal(k).Level(rep, 1, 0)
		vals[i] = f(m[k]).Level(rep, 1, 0)
	}
	return keys, vals
}

// writeColumns writes the rows at idx column by column through the
// writer's column writers. The kind switch runs once per column, not per
// cell, and map keys are sorted in one reused scratch slice.
func (c *Codec) writeColumns(w *parquet.Writer, base unsafe.Pointer, stride uintptr, idx []int, scratch *[][]parquet.Value) error {
	cws := w.ColumnWriters()
	nleaf := len(cws)
	if len(*scratch) < nleaf {
		*scratch = make([][]parquet.Value, nleaf)
	}
	vals := *scratch
	for l := range vals[:nleaf] {
		vals[l] = vals[l][:0]
	}
	var kvStr []kv[string]
	var kvU32 []kv[uint32]
	for j, a := range c.accs {
		leaf := c.pq.Leaf[j]
		v := slices.Grow(vals[leaf], len(idx))
		at := func(i int) unsafe.Pointer { return unsafe.Add(base, uintptr(i)*stride+a.off) }
		switch a.kind {
		case kString:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return strVal(*(*string)(at(i))) })
		case kBytes:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.ByteArrayValue(*(*[]byte)(at(i))) })
		case kFixed16:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.FixedLenByteArrayValue((*[16]byte)(at(i))[:]) })
		case kUint8:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.Int32Value(int32(*(*uint8)(at(i)))) })
		case kUint16:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.Int32Value(int32(*(*uint16)(at(i)))) })
		case kUint32:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.Int32Value(int32(*(*uint32)(at(i)))) })
		case kUint64:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.Int64Value(int64(*(*uint64)(at(i)))) })
		case kInt32:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.Int32Value(*(*int32)(at(i))) })
		case kInt64:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.Int64Value(*(*int64)(at(i))) })
		case kFloat64:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.DoubleValue(*(*float64)(at(i))) })
		case kBool:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.BooleanValue(*(*bool)(at(i))) })
		case kTime:
			v = flat(v, idx, leaf, func(i int) parquet.Value { return parquet.Int64Value((*(*time.Time)(at(i))).UnixMicro()) })
		case kDate:
			v = flat(v, idx, leaf, func(i int) parquet.Value {
				return parquet.Int32Value(int32((*(*time.Time)(at(i))).UTC().Sub(epochDay) / (24 * time.Hour)))
			})
		case kStrings:
			for _, i := range idx {
				ss := *(*[]string)(at(i))
				if len(ss) == 0 {
					v = append(v, parquet.NullValue().Level(0, 0, leaf))
				}
				for k, x := range ss {
					v = append(v, strVal(x).Level(min(k, 1), 1, leaf))
				}
			}
		case kMapStrStr:
			kv := vals[leaf+1]
			for _, i := range idx {
				kvStr = sortedEntries(*(*map[string]string)(at(i)), kvStr[:0])
				v, kv = mapLeaves(v, kv, kvStr, leaf, strVal)
			}
			vals[leaf+1] = kv
		case kMapStrU32:
			kv := vals[leaf+1]
			for _, i := range idx {
				kvU32 = sortedEntries(*(*map[string]uint32)(at(i)), kvU32[:0])
				v, kv = mapLeaves(v, kv, kvU32, leaf, func(x uint32) parquet.Value { return parquet.Int32Value(int32(x)) })
			}
			vals[leaf+1] = kv
		}
		vals[leaf] = v
	}
	for l := 0; l < nleaf; l++ {
		if _, err := cws[l].WriteRowValues(vals[l]); err != nil {
			return err
		}
	}
	return nil
}

// mapLeaves appends one map row (sorted entries) to its key and value
// leaves: an empty map is a null at definition level 0.
func mapLeaves[V any](keys, vals []parquet.Value, ents []kv[V], leaf int, val func(V) parquet.Value) ([]parquet.Value, []parquet.Value) {
	if len(ents) == 0 {
		return append(keys, parquet.NullValue().Level(0, 0, leaf)), append(vals, parquet.NullValue().Level(0, 0, leaf+1))
	}
	for k, e := range ents {
		rep := min(k, 1)
		keys = append(keys, strVal(e.k).Level(rep, 1, leaf))
		vals = append(vals, val(e.v).Level(rep, 1, leaf+1))
	}
	return keys, vals
}

// flat appends one required (level 0) value per row.
func flat(dst []parquet.Value, idx []int, leaf int, val func(i int) parquet.Value) []parquet.Value {
	for _, i := range idx {
		dst = append(dst, val(i))
		dst[len(dst)-1].SetColumnIndex(leaf)
	}
	return dst
}

func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
