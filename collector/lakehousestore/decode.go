package lakehousestore

import (
	"bytes"
	"fmt"
	"reflect"
	"time"
	"unsafe"

	chproto "github.com/ClickHouse/ch-go/proto"
)

// DecodeNative reads a Native block written by EncodeNative back into a
// []T of the table's row type: WAL segments replayed after a crash and
// queue items (lakehouseexporter) are decoded with it. The block's column
// names and types must be the table's, in order.
func (c *Codec) DecodeNative(data []byte) (rows any, err error) {
	defer func() {
		if r := recover(); r != nil { // bad bytes must be an error, never a crash
			rows, err = nil, fmt.Errorf("decode native block of %s: malformed block (%v)", c.Table.Name, r)
		}
	}()
	nc, err := c.newNativeCols(true)
	if err != nil {
		return nil, err
	}
	res := make(chproto.Results, len(nc.cols))
	for i, col := range nc.cols {
		res[i] = chproto.ResultColumn{Name: c.accs[i].col.Name, Data: col}
	}
	var blk chproto.Block
	if err := blk.DecodeRawBlock(chproto.NewReader(bytes.NewReader(data)), 0, res); err != nil {
		return nil, fmt.Errorf("decode native block of %s: %w", c.Table.Name, err)
	}
	n := blk.Rows
	out := reflect.MakeSlice(reflect.SliceOf(c.rowTyp), n, n)
	if n == 0 {
		return out.Interface(), nil
	}
	base, stride := out.UnsafePointer(), c.rowTyp.Size()
	for j, a := range c.accs {
		if err := scatter(a, nc.cols[j], base, stride, n); err != nil {
			return nil, fmt.Errorf("native block column %s: %w", a.col.Name, err)
		}
	}
	return out.Interface(), nil
}

// emptyStrings is what an empty Array(String) row decodes to (never nil, as
// the rows handed to the store carry).
var emptyStrings = []string{}

// scatter writes column col into the field of n rows at base.
func scatter(a colAcc, col chproto.Column, base unsafe.Pointer, stride uintptr, n int) error {
	off := a.off
	switch a.kind {
	case kString, kBytes:
		s, ok := col.(chproto.ColumnOf[string])
		if !ok {
			return fmt.Errorf("unexpected column %T", col)
		}
		for i := 0; i < n; i++ {
			if a.kind == kString {
				*field[string](base, stride, i, off) = s.Row(i)
			} else {
				*field[[]byte](base, stride, i, off) = []byte(s.Row(i))
			}
		}
	case kFixed16:
		copyTo(*col.(*chproto.ColFixedStr16), base, stride, off)
	case kUint8:
		copyTo(*col.(*chproto.ColUInt8), base, stride, off)
	case kUint16:
		copyTo(*col.(*chproto.ColUInt16), base, stride, off)
	case kUint32:
		copyTo(*col.(*chproto.ColUInt32), base, stride, off)
	case kUint64:
		copyTo(*col.(*chproto.ColUInt64), base, stride, off)
	case kInt32:
		copyTo(*col.(*chproto.ColInt32), base, stride, off)
	case kInt64:
		copyTo(*col.(*chproto.ColInt64), base, stride, off)
	case kFloat64:
		copyTo(*col.(*chproto.ColFloat64), base, stride, off)
	case kBool:
		copyTo(*col.(*chproto.ColBool), base, stride, off)
	case kTime:
		t := col.(*chproto.ColDateTime64)
		for i := 0; i < n; i++ {
			*field[time.Time](base, stride, i, off) = t.Row(i).UTC()
		}
	case kDate:
		d := col.(*chproto.ColDate)
		for i := 0; i < n; i++ {
			*field[time.Time](base, stride, i, off) = d.Row(i).UTC()
		}
	case kStrings:
		arr := col.(*chproto.ColArr[string])
		for i := 0; i < n; i++ {
			v := arr.Row(i)
			if v == nil {
				v = emptyStrings
			}
			*field[[]string](base, stride, i, off) = v
		}
	case kMapStrStr:
		m := col.(*chproto.ColMap[string, string])
		for i := 0; i < n; i++ {
			*field[map[string]string](base, stride, i, off) = m.Row(i)
		}
	case kMapStrU32:
		m := col.(*chproto.ColMap[string, uint32])
		for i := 0; i < n; i++ {
			*field[map[string]uint32](base, stride, i, off) = m.Row(i)
		}
	default:
		return fmt.Errorf("no Native decoder for %s", a.col.Type)
	}
	return nil
}

func copyTo[T any](vals []T, base unsafe.Pointer, stride uintptr, off uintptr) {
	for i, v := range vals {
		*field[T](base, stride, i, off) = v
	}
}
