package lakehousestore

import (
	"bytes"
	"fmt"
	"reflect"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// DecodeNative reads a Native block written by EncodeNative back into a
// []T of the table's row type. Used only to replay WAL segments after a
// crash, so it favours simplicity (clickhouse-go's ScanRow) over speed.
func (c *Codec) DecodeNative(data []byte) (any, error) {
	b := proto.NewBlock()
	if err := b.Decode(chproto.NewReader(bytes.NewReader(data)), 0); err != nil {
		return nil, fmt.Errorf("decode native block: %w", err)
	}
	names := b.ColumnsNames()
	if len(names) != len(c.accs) {
		return nil, fmt.Errorf("native block has %d columns, table %s has %d", len(names), c.Table.Name, len(c.accs))
	}
	n := b.Rows()
	out := reflect.MakeSlice(reflect.SliceOf(c.rowTyp), n, n)
	for j, a := range c.accs {
		if names[j] != a.col.Name {
			return nil, fmt.Errorf("native block column %d is %s, want %s", j, names[j], a.col.Name)
		}
		col := b.Columns[j]
		for i := 0; i < n; i++ {
			f := out.Index(i).FieldByIndex(a.col.Field)
			if err := col.ScanRow(f.Addr().Interface(), i); err != nil {
				return nil, fmt.Errorf("column %s row %d: %w", a.col.Name, i, err)
			}
		}
	}
	return out.Interface(), nil
}
