package lakehousestore

import (
	"bufio"
	"bytes"
	"fmt"
	"reflect"
	"time"
	"unsafe"

	chproto "github.com/ClickHouse/ch-go/proto"
)

// DecodeNative reads Native data written by EncodeNative back into a []T
// of the table's row type: one block, or several appended one after another
// as a WAL journal holds them (replayed after a crash, or loaded into a
// ClickHouse server). Every column's name and type must be the table's, in
// order; anything that is not whole blocks is an error.
func (c *Codec) DecodeNative(data []byte) (any, error) {
	rows, _, err := c.decodePrefix(data)
	return rows, err
}

// decodePrefix decodes whole blocks from the start of data. It returns their
// rows, the length of the prefix they came from, and why the rest (if any)
// did not decode: a journal torn by a crash keeps its whole blocks.
func (c *Codec) decodePrefix(data []byte) (rows any, n int, err error) {
	nc, err := c.newNativeCols(true)
	if err != nil {
		return nil, 0, err
	}
	res := make(chproto.Results, len(nc.cols))
	for i, col := range nc.cols {
		res[i] = chproto.ResultColumn{Name: c.accs[i].col.Name, Data: col}
	}
	out := reflect.MakeSlice(reflect.SliceOf(c.rowTyp), 0, 0)
	// ch-go reads through a bufio.Reader; given one at least as large as its
	// own (128 KiB) it uses it as is, so what it has consumed is known.
	br := bytes.NewReader(data)
	buf := bufio.NewReaderSize(br, 256<<10)
	r := chproto.NewReader(buf)
	for n < len(data) {
		blk, err := c.decodeBlock(nc, res, r)
		if err != nil {
			return out.Interface(), n, err
		}
		out = reflect.AppendSlice(out, blk)
		n = len(data) - br.Len() - buf.Buffered()
	}
	return out.Interface(), n, nil
}

// decodeBlock decodes the next block of r into a new []T.
func (c *Codec) decodeBlock(nc *nativeCols, res chproto.Results, r *chproto.Reader) (out reflect.Value, err error) {
	defer func() {
		if r := recover(); r != nil { // bad bytes must be an error, never a crash
			err = fmt.Errorf("decode native block of %s: malformed block (%v)", c.Table.Name, r)
		}
	}()
	for _, col := range nc.cols {
		col.Reset()
	}
	var blk chproto.Block
	if err := blk.DecodeRawBlock(r, 0, res); err != nil {
		return out, fmt.Errorf("decode native block of %s: %w", c.Table.Name, err)
	}
	n := blk.Rows
	out = reflect.MakeSlice(reflect.SliceOf(c.rowTyp), n, n)
	if n == 0 {
		return out, nil
	}
	base, stride := out.UnsafePointer(), c.rowTyp.Size()
	for j, a := range c.accs {
		if err := scatter(a, nc.cols[j], base, stride, n); err != nil {
			return out, fmt.Errorf("native block column %s: %w", a.col.Name, err)
		}
	}
	return out, nil
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
