package schema

// DDL derivation. A table is a Go struct whose fields carry `ch` tags:
//
//	`ch:"<column>,<ClickHouse type>[,key][,codec=<codec list>]"`
//
// The tag is split on top-level commas only (types like
// "Map(LowCardinality(String), UInt32)" and codecs like "Delta(8), ZSTD(1)"
// keep theirs). `key` marks a sorting-key column (in field order); codec= is
// the rest of the tag. Columns are derived once per type, at registration.

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// Column is one derived column.
type Column struct {
	Name   string
	Type   string // ClickHouse type
	Codec  string // CODEC(...) body, "" for the default (LZ4)
	Key    bool
	Field  []int // reflect field index in the row struct
	GoType reflect.Type
}

// Table is a registered table: its row type and its physical layout.
type Table struct {
	Name        string
	Row         reflect.Type
	Columns     []Column
	Engine      string // MergeTree family engine name without Replicated prefix, with args, e.g. "ReplacingMergeTree(created_at)"
	PartitionBy string
	OrderBy     string // empty: derived from key columns
	TTLColumn   string // DateTime column TTL is computed from ("" = no TTL)
	Indexes     []string
	Settings    []string
	// ShardKey is the Distributed sharding expression in cluster mode.
	ShardKey string
}

var (
	regMu  sync.Mutex
	tables = map[string]*Table{}
	order  []string
)

// RegisterTable derives the columns of t.Row and registers t. It panics on
// a malformed tag: tags are program constants, so this fails at init in
// every test run.
func RegisterTable(t Table) *Table {
	cols, err := DeriveColumns(t.Row)
	if err != nil {
		panic(fmt.Sprintf("schema: table %s: %v", t.Name, err))
	}
	t.Columns = cols
	if t.OrderBy == "" {
		var keys []string
		for _, c := range cols {
			if c.Key {
				keys = append(keys, c.Name)
			}
		}
		t.OrderBy = "(" + strings.Join(keys, ", ") + ")"
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := tables[t.Name]; dup {
		panic("schema: table " + t.Name + " registered twice")
	}
	tp := &t
	tables[t.Name] = tp
	order = append(order, t.Name)
	return tp
}

// LookupTable returns a registered table.
func LookupTable(name string) (*Table, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	t, ok := tables[name]
	return t, ok
}

// Tables returns all registered tables, sorted by name for stable DDL.
func Tables() []*Table {
	regMu.Lock()
	defer regMu.Unlock()
	names := append([]string(nil), order...)
	sort.Strings(names)
	out := make([]*Table, len(names))
	for i, n := range names {
		out[i] = tables[n]
	}
	return out
}

// Column returns a column by name.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// DeriveColumns reads the ch tags of a struct type.
func DeriveColumns(rt reflect.Type) ([]Column, error) {
	if rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", rt)
	}
	var cols []Column
	seen := map[string]bool{}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		tag, ok := f.Tag.Lookup("ch")
		if !ok || tag == "-" {
			continue
		}
		parts := splitTopLevel(tag)
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("field %s: tag %q wants \"name,Type[,options]\"", f.Name, tag)
		}
		c := Column{Name: parts[0], Type: parts[1], Field: f.Index, GoType: f.Type}
		for j := 2; j < len(parts); j++ {
			p := parts[j]
			switch {
			case p == "key":
				c.Key = true
			case strings.HasPrefix(p, "codec="):
				c.Codec = strings.TrimPrefix(p, "codec=") + joinRest(parts[j+1:])
				j = len(parts)
			default:
				return nil, fmt.Errorf("field %s: unknown tag option %q", f.Name, p)
			}
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("column %s declared twice", c.Name)
		}
		seen[c.Name] = true
		if err := checkGoType(c.Type, f.Type); err != nil {
			return nil, fmt.Errorf("field %s (%s): %v", f.Name, c.Name, err)
		}
		cols = append(cols, c)
	}
	return cols, nil
}

func joinRest(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return ", " + strings.Join(p, ", ")
}

// splitTopLevel splits on commas outside parentheses and quotes and trims.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	inQ := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			inQ = !inQ
		case '(':
			if !inQ {
				depth++
			}
		case ')':
			if !inQ {
				depth--
			}
		case ',':
			if depth == 0 && !inQ {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// BaseType strips LowCardinality(...) and Nullable(...).
func BaseType(t string) string {
	for _, w := range []string{"LowCardinality(", "Nullable("} {
		if strings.HasPrefix(t, w) && strings.HasSuffix(t, ")") {
			return BaseType(t[len(w) : len(t)-1])
		}
	}
	return t
}

// checkGoType checks that a Go field type can hold the ClickHouse type, so
// the encoders never meet a surprise at run time.
func checkGoType(chType string, gt reflect.Type) error {
	b := BaseType(chType)
	want := func(k reflect.Kind) error {
		if gt.Kind() != k {
			return fmt.Errorf("ClickHouse %s wants Go %s, have %s", chType, k, gt)
		}
		return nil
	}
	switch {
	case b == "String":
		if gt.Kind() == reflect.Slice && gt.Elem().Kind() == reflect.Uint8 {
			return nil // binary String ([]byte)
		}
		return want(reflect.String)
	case strings.HasPrefix(b, "FixedString("):
		if gt.Kind() != reflect.Array || gt.Elem().Kind() != reflect.Uint8 {
			return fmt.Errorf("%s wants a byte array, have %s", chType, gt)
		}
		var n int
		fmt.Sscanf(b, "FixedString(%d)", &n)
		if gt.Len() != n {
			return fmt.Errorf("%s wants [%d]byte, have %s", chType, n, gt)
		}
		return nil
	case b == "UInt8":
		return want(reflect.Uint8)
	case b == "UInt16":
		return want(reflect.Uint16)
	case b == "UInt32":
		return want(reflect.Uint32)
	case b == "UInt64":
		return want(reflect.Uint64)
	case b == "Int32":
		return want(reflect.Int32)
	case b == "Int64":
		return want(reflect.Int64)
	case b == "Float64":
		return want(reflect.Float64)
	case b == "Bool":
		return want(reflect.Bool)
	case b == "Date" || strings.HasPrefix(b, "DateTime"):
		if gt != reflect.TypeOf(timeZero) {
			return fmt.Errorf("%s wants time.Time, have %s", chType, gt)
		}
		return nil
	case strings.HasPrefix(b, "Array("):
		if gt.Kind() != reflect.Slice {
			return fmt.Errorf("%s wants a slice, have %s", chType, gt)
		}
		return checkGoType(b[len("Array("):len(b)-1], gt.Elem())
	case strings.HasPrefix(b, "Map("):
		if gt.Kind() != reflect.Map {
			return fmt.Errorf("%s wants a map, have %s", chType, gt)
		}
		kv := splitTopLevel(b[len("Map(") : len(b)-1])
		if len(kv) != 2 {
			return fmt.Errorf("bad map type %s", chType)
		}
		if err := checkGoType(kv[0], gt.Key()); err != nil {
			return err
		}
		return checkGoType(kv[1], gt.Elem())
	}
	return fmt.Errorf("ClickHouse type %s is not supported by the derivation", chType)
}

// RenderOptions select a DDL variant.
type RenderOptions struct {
	Database string // "" = current database
	// Cluster renders ReplicatedMergeTree local tables <name>_local ON
	// CLUSTER plus Distributed tables <name>.
	Cluster string
	// NoCodecs renders every column CODEC(NONE) and disables TTL-free
	// compression choices: bytes on disk equal bytes inserted, which the
	// privacy canary tests need to scan for plaintext.
	NoCodecs bool
	// RetentionDays renders TTL <ttl column> + INTERVAL n DAY; 0 = no TTL.
	RetentionDays int
}

func (o RenderOptions) qualify(name string) string {
	if o.Database == "" {
		return name
	}
	return o.Database + "." + name
}

// ColumnsDDL renders the column list.
func (t *Table) ColumnsDDL(o RenderOptions) string {
	var b strings.Builder
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "    %s %s", c.Name, c.Type)
		switch {
		case o.NoCodecs:
			b.WriteString(" CODEC(NONE)")
		case c.Codec != "":
			fmt.Fprintf(&b, " CODEC(%s)", c.Codec)
		}
	}
	for _, ix := range t.Indexes {
		b.WriteString(",\n    INDEX " + ix)
	}
	return b.String()
}

// CreateDDL renders the CREATE statements of the table (one for single
// node, two in cluster mode: the replicated local table and the
// Distributed table over it).
func (t *Table) CreateDDL(o RenderOptions) []string {
	engine := t.Engine
	if engine == "" {
		engine = "MergeTree"
	}
	name := t.Name
	onCluster := ""
	if o.Cluster != "" {
		name = t.Name + "_local"
		onCluster = " ON CLUSTER " + o.Cluster
		args := "'/clickhouse/tables/{shard}/{database}/" + name + "', '{replica}'"
		if i := strings.IndexByte(engine, '('); i >= 0 {
			inner := engine[i+1 : len(engine)-1]
			if inner != "" {
				args += ", " + inner
			}
			engine = "Replicated" + engine[:i] + "(" + args + ")"
		} else {
			engine = "Replicated" + engine + "(" + args + ")"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s%s\n(\n%s\n)\nENGINE = %s\n", o.qualify(name), onCluster, t.ColumnsDDL(o), engine)
	if t.PartitionBy != "" {
		fmt.Fprintf(&b, "PARTITION BY %s\n", t.PartitionBy)
	}
	fmt.Fprintf(&b, "ORDER BY %s\n", t.OrderBy)
	if o.RetentionDays > 0 && t.TTLColumn != "" {
		fmt.Fprintf(&b, "TTL toDateTime(%s) + INTERVAL %d DAY DELETE\n", t.TTLColumn, o.RetentionDays)
	}
	settings := append([]string(nil), t.Settings...)
	if o.Cluster == "" && t.Name != "schema_migrations" {
		// Exactly-once: a retried insert with the same
		// insert_deduplication_token is stored once.
		settings = append(settings, "non_replicated_deduplication_window = 10000")
	}
	if len(settings) > 0 {
		fmt.Fprintf(&b, "SETTINGS %s", strings.Join(settings, ", "))
	}
	out := []string{strings.TrimSpace(b.String())}
	if o.Cluster != "" {
		shard := t.ShardKey
		if shard == "" {
			shard = "rand()"
		}
		db := o.Database
		if db == "" {
			db = "currentDatabase()"
		}
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s AS %s\nENGINE = Distributed(%s, %s, %s, %s)",
			o.qualify(t.Name), onCluster, o.qualify(name), o.Cluster, db, name, shard))
	}
	return out
}
