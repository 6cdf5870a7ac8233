package fieldpath

import (
	"context"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// ResourceTenant resolves the tenant of a resource: its attribute attr,
// else the authenticated client's auth attribute authAttr (set by the
// receiver's authenticator), else def. Records may override it with their
// own attr (RecordTenant).
func ResourceTenant(ctx context.Context, res pcommon.Map, attr, authAttr, def string) string {
	if v, ok := res.Get(attr); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		return v.Str()
	}
	if authAttr != "" {
		if a := client.FromContext(ctx).Auth; a != nil {
			if s, ok := a.GetAttribute(authAttr).(string); ok && s != "" {
				return s
			}
		}
	}
	return def
}

// RecordTenant returns the record's own tenant attribute, else resTenant.
func RecordTenant(attrs pcommon.Map, attr, resTenant string) string {
	if v, ok := attrs.Get(attr); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		return v.Str()
	}
	return resTenant
}
