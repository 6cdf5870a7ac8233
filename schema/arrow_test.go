package schema_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/wardenhq/warden/internal/chdb"
	"github.com/wardenhq/warden/schema"
)

// testArrowMatchesEngine compares the derived Arrow schema of every table
// with the schema ClickHouse itself writes for it (FORMAT ArrowStream).
func testArrowMatchesEngine(t *testing.T, c *chdb.Conn) {
	if _, err := schema.Migrate(c, schema.RenderOptions{Database: "ddl"}, schema.Migrations); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, tb := range schema.Tables() {
		want, err := tb.Arrow()
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Query("SELECT * FROM ddl."+tb.Name+" LIMIT 0 SETTINGS output_format_arrow_low_cardinality_as_dictionary = 1, output_format_arrow_string_as_string = 0, output_format_arrow_fixed_string_as_fixed_byte_array = 1", "ArrowStream")
		if err != nil {
			t.Fatal(err)
		}
		r, err := ipc.NewReader(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%s: %v", tb.Name, err)
		}
		got := r.Schema()
		if len(got.Fields()) != len(want.Fields()) {
			t.Fatalf("%s: engine %d fields, derived %d", tb.Name, len(got.Fields()), len(want.Fields()))
		}
		for i, f := range want.Fields() {
			g := got.Field(i)
			if g.Name != f.Name || !sameArrow(g.Type, f.Type) {
				t.Errorf("%s.%s: engine %s, derived %s", tb.Name, f.Name, g.Type, f.Type)
			}
			checked++
		}
	}
	if checked < 60 {
		t.Fatalf("only %d columns compared", checked)
	}
	ev, _ := schema.EventsTable.Arrow()
	t.Logf("%d columns compared; e.g. events.%s = %s", checked, ev.Field(2).Name, ev.Field(2).Type)
}

// sameArrow compares types ignoring nullability and field names inside
// nested types (ClickHouse names list items "item", map entries "entries").
func sameArrow(a, b arrow.DataType) bool {
	switch at := a.(type) {
	case *arrow.DictionaryType:
		bt, ok := b.(*arrow.DictionaryType)
		return ok && sameArrow(at.ValueType, bt.ValueType)
	case *arrow.ListType:
		bt, ok := b.(*arrow.ListType)
		return ok && sameArrow(at.Elem(), bt.Elem())
	case *arrow.MapType:
		bt, ok := b.(*arrow.MapType)
		return ok && sameArrow(at.KeyType(), bt.KeyType()) && sameArrow(at.ItemType(), bt.ItemType())
	case *arrow.TimestampType:
		bt, ok := b.(*arrow.TimestampType)
		return ok && at.Unit == bt.Unit && strings.EqualFold(at.TimeZone, bt.TimeZone)
	}
	return arrow.TypeEqual(a, b)
}
