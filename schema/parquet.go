package schema

import (
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding"
)

// The Parquet layout of a table, derived from the same column list as the
// DDL. Type mapping:
//
//	String                    -> BYTE_ARRAY (STRING annotation; bytes kept as is)
//	LowCardinality(String)    -> BYTE_ARRAY, dictionary encoded
//	FixedString(n)            -> FIXED_LEN_BYTE_ARRAY(n) (no UUID logical
//	                             type: chDB rejects parquet-go's UUID stats)
//	UInt8/16/32, Int32, Date  -> INT32 (annotated)
//	UInt64                    -> INT64 (UINT_64)
//	DateTime64(6)             -> INT64 TIMESTAMP(MICROS, UTC)
//	Float64, Bool             -> DOUBLE, BOOLEAN
//	Array(T)                  -> LIST<T>
//	Map(K, V)                 -> MAP<K, V>
//
// All columns are required (no Nullable in the schema).

// ParquetNode returns the Parquet node of a ClickHouse type.
func ParquetNode(chType string) (parquet.Node, error) {
	if strings.HasPrefix(chType, "LowCardinality(") {
		n, err := ParquetNode(BaseType(chType))
		if err != nil {
			return nil, err
		}
		return parquet.Encoded(n, &parquet.RLEDictionary), nil
	}
	switch b := chType; {
	case b == "String":
		return parquet.String(), nil
	case strings.HasPrefix(b, "FixedString("):
		var n int
		fmt.Sscanf(b, "FixedString(%d)", &n)
		return parquet.Leaf(parquet.FixedLenByteArrayType(n)), nil
	case b == "UInt8":
		return parquet.Uint(8), nil
	case b == "UInt16":
		return parquet.Uint(16), nil
	case b == "UInt32":
		return parquet.Uint(32), nil
	case b == "UInt64":
		return parquet.Uint(64), nil
	case b == "Int32":
		return parquet.Int(32), nil
	case b == "Int64":
		return parquet.Int(64), nil
	case b == "Float64":
		return parquet.Leaf(parquet.DoubleType), nil
	case b == "Bool":
		return parquet.Leaf(parquet.BooleanType), nil
	case b == "Date":
		return parquet.Date(), nil
	case strings.HasPrefix(b, "DateTime64(6"):
		return parquet.Timestamp(parquet.Microsecond), nil
	case strings.HasPrefix(b, "Array("):
		el, err := ParquetNode(b[len("Array(") : len(b)-1])
		if err != nil {
			return nil, err
		}
		return parquet.List(el), nil
	case strings.HasPrefix(b, "Map("):
		kv := splitTopLevel(b[len("Map(") : len(b)-1])
		k, err := ParquetNode(kv[0])
		if err != nil {
			return nil, err
		}
		v, err := ParquetNode(kv[1])
		if err != nil {
			return nil, err
		}
		return parquet.Map(k, v), nil
	}
	return nil, fmt.Errorf("no Parquet mapping for ClickHouse type %s", chType)
}

// ParquetLayout is a table's Parquet schema plus, for each column in table
// order, the index of its first leaf column in the schema (Parquet orders
// group fields by name, so leaf indexes differ from table order).
type ParquetLayout struct {
	Schema *parquet.Schema
	Leaf   []int // Leaf[i] = first leaf index of t.Columns[i]
}

// Parquet derives the layout of t.
func (t *Table) Parquet() (*ParquetLayout, error) {
	g := parquet.Group{}
	for _, c := range t.Columns {
		n, err := ParquetNode(c.Type)
		if err != nil {
			return nil, fmt.Errorf("table %s column %s: %w", t.Name, c.Name, err)
		}
		g[c.Name] = n
	}
	s := parquet.NewSchema(t.Name, g)
	first := map[string]int{}
	leaf := 0
	for _, f := range s.Fields() {
		first[f.Name()] = leaf
		leaf += countLeaves(f)
	}
	l := &ParquetLayout{Schema: s, Leaf: make([]int, len(t.Columns))}
	for i, c := range t.Columns {
		l.Leaf[i] = first[c.Name]
	}
	return l, nil
}

func countLeaves(n parquet.Node) int {
	if n.Leaf() {
		return 1
	}
	k := 0
	for _, f := range n.Fields() {
		k += countLeaves(f)
	}
	return k
}

// ZstdCodec is the lake's compression.
var ZstdCodec = &zstd.Codec{Level: zstd.SpeedDefault}

var _ encoding.Encoding = &parquet.RLEDictionary
