package schema

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// ArrowType maps a ClickHouse type to the Arrow type ClickHouse itself uses
// for it in FORMAT Arrow (String as Binary: ClickHouse strings are bytes,
// not necessarily UTF-8; LowCardinality as a dictionary).
func ArrowType(chType string) (arrow.DataType, error) {
	if strings.HasPrefix(chType, "LowCardinality(") {
		v, err := ArrowType(BaseType(chType))
		if err != nil {
			return nil, err
		}
		return &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: v}, nil
	}
	switch b := chType; {
	case b == "String":
		return arrow.BinaryTypes.Binary, nil
	case strings.HasPrefix(b, "FixedString("):
		var n int
		fmt.Sscanf(b, "FixedString(%d)", &n)
		return &arrow.FixedSizeBinaryType{ByteWidth: n}, nil
	case b == "UInt8":
		return arrow.PrimitiveTypes.Uint8, nil
	case b == "UInt16":
		return arrow.PrimitiveTypes.Uint16, nil
	case b == "UInt32":
		return arrow.PrimitiveTypes.Uint32, nil
	case b == "UInt64":
		return arrow.PrimitiveTypes.Uint64, nil
	case b == "Int32":
		return arrow.PrimitiveTypes.Int32, nil
	case b == "Int64":
		return arrow.PrimitiveTypes.Int64, nil
	case b == "Float64":
		return arrow.PrimitiveTypes.Float64, nil
	case b == "Bool":
		return arrow.FixedWidthTypes.Boolean, nil
	case b == "Date":
		return arrow.FixedWidthTypes.Date32, nil
	case strings.HasPrefix(b, "DateTime64(6"):
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	case strings.HasPrefix(b, "Array("):
		el, err := ArrowType(b[len("Array(") : len(b)-1])
		if err != nil {
			return nil, err
		}
		return arrow.ListOf(el), nil
	case strings.HasPrefix(b, "Map("):
		kv := splitTopLevel(b[len("Map(") : len(b)-1])
		k, err := ArrowType(kv[0])
		if err != nil {
			return nil, err
		}
		v, err := ArrowType(kv[1])
		if err != nil {
			return nil, err
		}
		return arrow.MapOf(k, v), nil
	}
	return nil, fmt.Errorf("no Arrow mapping for ClickHouse type %s", chType)
}

// Arrow derives the Arrow schema of t (columns in table order, all
// non-nullable).
func (t *Table) Arrow() (*arrow.Schema, error) {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		dt, err := ArrowType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("table %s column %s: %w", t.Name, c.Name, err)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: dt}
	}
	md := arrow.NewMetadata([]string{"warden.schema_version"}, []string{fmt.Sprint(Version)})
	return arrow.NewSchema(fields, &md), nil
}
