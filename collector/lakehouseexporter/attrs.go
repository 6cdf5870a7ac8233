package lakehouseexporter

import (
	"reflect"
	"strings"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/wardenhq/warden/collector/lakehousestore"
	"github.com/wardenhq/warden/schema"
)

// Canonical attribute setters, derived once from the schema's column list:
// attribute "warden.<column>" sets that column of the row, typed as the
// column is (see schema/attrs.go). Field offsets avoid reflection per record.

type setKind int

const (
	sString setKind = iota
	sBytes16
	sUint8
	sUint16
	sUint32
	sUint64
	sInt32
	sFloat64
	sBool
	sTime
	sStrings
	sMapStr
	sMapU32
)

type setter struct {
	off  uintptr
	kind setKind
	want string
}

func settersFor(t *schema.Table) map[string]setter {
	out := map[string]setter{}
	for _, c := range t.Columns {
		f := t.Row.FieldByIndex(c.Field)
		s := setter{off: f.Offset, want: c.Type}
		switch gt := f.Type; {
		case gt == reflect.TypeOf(time.Time{}):
			s.kind = sTime
		case gt.Kind() == reflect.String:
			s.kind = sString
		case gt.Kind() == reflect.Array:
			s.kind = sBytes16
		case gt.Kind() == reflect.Uint8:
			s.kind = sUint8
		case gt.Kind() == reflect.Uint16:
			s.kind = sUint16
		case gt.Kind() == reflect.Uint32:
			s.kind = sUint32
		case gt.Kind() == reflect.Uint64:
			s.kind = sUint64
		case gt.Kind() == reflect.Int32:
			s.kind = sInt32
		case gt.Kind() == reflect.Float64:
			s.kind = sFloat64
		case gt.Kind() == reflect.Bool:
			s.kind = sBool
		case gt == reflect.TypeOf([]string(nil)):
			s.kind = sStrings
		case gt == reflect.TypeOf(map[string]string(nil)):
			s.kind = sMapStr
		case gt == reflect.TypeOf(map[string]uint32(nil)):
			s.kind = sMapU32
		default:
			continue // []byte etc.: not settable from a canonical attribute
		}
		out[schema.Attr(c.Name)] = s
	}
	return out
}

var (
	eventSetters  = settersFor(schema.EventsTable)
	metricSetters = settersFor(schema.MetricPointsTable)
)

// set applies v to the field at p+s.off; false when v has the wrong type.
func (s setter) set(p unsafe.Pointer, v pcommon.Value) bool {
	fp := unsafe.Add(p, s.off)
	switch s.kind {
	case sString:
		if v.Type() != pcommon.ValueTypeStr {
			return false
		}
		*(*string)(fp) = v.Str()
	case sBytes16:
		if v.Type() != pcommon.ValueTypeBytes || v.Bytes().Len() != 16 {
			return false
		}
		copy((*[16]byte)(fp)[:], v.Bytes().AsRaw())
	case sUint8, sUint16, sUint32, sUint64:
		u, ok := asUint(v)
		if !ok {
			return false
		}
		switch s.kind {
		case sUint8:
			if u > 255 {
				return false
			}
			*(*uint8)(fp) = uint8(u)
		case sUint16:
			if u > 65535 {
				return false
			}
			*(*uint16)(fp) = uint16(u)
		case sUint32:
			if u > 1<<32-1 {
				return false
			}
			*(*uint32)(fp) = uint32(u)
		default:
			*(*uint64)(fp) = u
		}
	case sInt32:
		i, ok := asInt(v)
		if !ok || i < -1<<31 || i > 1<<31-1 {
			return false
		}
		*(*int32)(fp) = int32(i)
	case sFloat64:
		f, ok := asFloat(v)
		if !ok {
			return false
		}
		*(*float64)(fp) = f
	case sBool:
		if v.Type() != pcommon.ValueTypeBool {
			return false
		}
		*(*bool)(fp) = v.Bool()
	case sTime:
		t, ok := asTime(v)
		if !ok {
			return false
		}
		*(*time.Time)(fp) = t
	case sStrings:
		if v.Type() != pcommon.ValueTypeSlice {
			return false
		}
		sl := v.Slice()
		out := make([]string, sl.Len())
		for i := range out {
			out[i] = sl.At(i).AsString()
		}
		*(*[]string)(fp) = out
	case sMapStr:
		if v.Type() != pcommon.ValueTypeMap {
			return false
		}
		m := make(map[string]string, v.Map().Len())
		v.Map().Range(func(k string, x pcommon.Value) bool { m[k] = x.AsString(); return true })
		*(*map[string]string)(fp) = m
	case sMapU32:
		if v.Type() != pcommon.ValueTypeMap {
			return false
		}
		m := make(map[string]uint32, v.Map().Len())
		ok := true
		v.Map().Range(func(k string, x pcommon.Value) bool {
			u, good := asUint(x)
			if !good || u > 1<<32-1 {
				ok = false
				return false
			}
			m[k] = uint32(u)
			return true
		})
		if !ok {
			return false
		}
		*(*map[string]uint32)(fp) = m
	}
	return true
}

// mapAttrs moves canonical attributes into ev's columns and the rest into
// ev.Attributes; side-table payloads go to b. It reports whether the
// record is canonical (carries warden.kind).
func (e *lakehouseExporter) mapAttrs(ev *schema.Event, attrs pcommon.Map, b *lakehousestore.Batch) bool {
	canonical := false
	p := unsafe.Pointer(ev)
	extra := 0
	attrs.Range(func(k string, v pcommon.Value) bool {
		if !strings.HasPrefix(k, schema.AttrPrefix) {
			extra++
		}
		return true
	})
	if extra > 0 && ev.Attributes == nil {
		ev.Attributes = make(map[string]string, extra)
	}
	attrs.Range(func(k string, v pcommon.Value) bool {
		if !strings.HasPrefix(k, schema.AttrPrefix) {
			ev.Attributes[k] = e.attrValue(k, v)
			return true
		}
		switch k {
		case schema.AttrMessages:
			e.discardMessages(v)
			return true
		case schema.AttrSealedBlocks:
			e.sealedBlocks(ev, v, b)
			return true
		case schema.AttrWrappedKeys:
			e.wrappedKeys(ev, v, b)
			return true
		case "warden.schema_version":
			return true
		case "warden.kind":
			canonical = true
		}
		s, ok := eventSetters[k]
		if !ok {
			// An unknown warden.* attribute: kept, never dropped.
			if ev.Attributes == nil {
				ev.Attributes = map[string]string{}
			}
			ev.Attributes[k] = v.AsString()
			return true
		}
		if !s.set(p, v) {
			e.typeError(ev, k, v, s.want)
		}
		return true
	})
	e.guardPseudonyms(&ev.UserPseudonym, &ev.DevicePseudonym, &ev.PathPseudonym)
	return canonical
}

func (e *lakehouseExporter) discardMessages(v pcommon.Value) {
	e.messagesDropped.Add(1)
	e.mMessages.Add(nil2ctx(), 1)
	e.warnMessages.Do(func() {
		e.log.Warn("lakehouse: records carry warden.messages (prompt text) at export: the text is discarded, never stored; add promptcrypt to the pipeline to keep sealed prompts")
	})
}

func (e *lakehouseExporter) sealedBlocks(ev *schema.Event, v pcommon.Value, b *lakehousestore.Batch) {
	if v.Type() != pcommon.ValueTypeSlice {
		e.typeError(ev, schema.AttrSealedBlocks, pcommon.NewValueStr("<"+v.Type().String()+">"), "Slice of Map")
		return
	}
	sl := v.Slice()
	for i := 0; i < sl.Len(); i++ {
		m := sl.At(i)
		if m.Type() != pcommon.ValueTypeMap {
			e.typeError(ev, schema.AttrSealedBlocks, pcommon.NewValueStr("<"+m.Type().String()+">"), "Map")
			continue
		}
		var pb schema.PromptBlock
		if !fillRow(unsafe.Pointer(&pb), blockCols, m.Map()) || pb.BlockID == "" {
			e.typeError(ev, schema.AttrSealedBlocks, pcommon.NewValueStr("<malformed block>"), "PromptBlock columns")
			continue
		}
		if pb.Tenant == "" {
			pb.Tenant = ev.Tenant
		}
		key := pb.Tenant + "\x00" + pb.BlockID
		if ok, _ := e.blocks.ContainsOrAdd(key, struct{}{}); ok {
			continue // written before by this collector
		}
		b.Blocks = append(b.Blocks, pb)
	}
}

func (e *lakehouseExporter) wrappedKeys(ev *schema.Event, v pcommon.Value, b *lakehousestore.Batch) {
	if v.Type() != pcommon.ValueTypeSlice {
		e.typeError(ev, schema.AttrWrappedKeys, pcommon.NewValueStr("<"+v.Type().String()+">"), "Slice of Map")
		return
	}
	sl := v.Slice()
	for i := 0; i < sl.Len(); i++ {
		m := sl.At(i)
		var pk schema.PromptKey
		if m.Type() != pcommon.ValueTypeMap || !fillRow(unsafe.Pointer(&pk), keyCols, m.Map()) || pk.KeyID == "" {
			e.typeError(ev, schema.AttrWrappedKeys, pcommon.NewValueStr("<malformed key>"), "PromptKey columns")
			continue
		}
		if pk.Tenant == "" {
			pk.Tenant = ev.Tenant
		}
		b.Keys = append(b.Keys, pk)
	}
}

// side-table columns keyed by plain column name (the maps in
// warden.sealed_blocks / warden.wrapped_keys use column names as keys).
type sideCol struct {
	off  uintptr
	kind reflect.Type
}

func sideCols(t *schema.Table) map[string]sideCol {
	out := map[string]sideCol{}
	for _, c := range t.Columns {
		f := t.Row.FieldByIndex(c.Field)
		out[c.Name] = sideCol{off: f.Offset, kind: f.Type}
	}
	return out
}

var (
	blockCols = sideCols(schema.PromptBlocksTable)
	keyCols   = sideCols(schema.PromptKeysTable)
	bytesType = reflect.TypeOf([]byte(nil))
	timeType  = reflect.TypeOf(time.Time{})
)

func fillRow(p unsafe.Pointer, cols map[string]sideCol, m pcommon.Map) bool {
	ok := true
	m.Range(func(k string, v pcommon.Value) bool {
		c, known := cols[k]
		if !known {
			return true
		}
		fp := unsafe.Add(p, c.off)
		switch c.kind {
		case bytesType:
			switch v.Type() {
			case pcommon.ValueTypeBytes:
				*(*[]byte)(fp) = append([]byte(nil), v.Bytes().AsRaw()...)
			case pcommon.ValueTypeStr:
				*(*[]byte)(fp) = []byte(v.Str())
			default:
				ok = false
			}
		case timeType:
			t, good := asTime(v)
			if !good {
				ok = false
			}
			*(*time.Time)(fp) = t
		default:
			switch c.kind.Kind() {
			case reflect.String:
				if v.Type() == pcommon.ValueTypeBytes {
					*(*string)(fp) = string(v.Bytes().AsRaw())
				} else {
					*(*string)(fp) = v.AsString()
				}
			case reflect.Uint32:
				u, good := asUint(v)
				if !good || u > 1<<32-1 {
					ok = false
				}
				*(*uint32)(fp) = uint32(u)
			}
		}
		return ok
	})
	return ok
}
