package lakehouseexporter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/wardenhq/warden/collector/lakehousestore"
	"github.com/wardenhq/warden/schema"
)

func nil2ctx() context.Context { return context.Background() }

// pushMetrics writes each data point as one metric_points row: metrics
// never become events rows.
func (e *lakehouseExporter) pushMetrics(ctx context.Context, md pmetric.Metrics) error {
	b := &lakehousestore.Batch{Metrics: make([]schema.MetricPoint, 0, md.DataPointCount())}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		rtenant := tenantOf(res)
		if rtenant == "" {
			rtenant = e.cfg.DefaultTenant
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				base := schema.MetricPoint{Tenant: rtenant, Name: m.Name(), Unit: m.Unit(), Source: schema.SourceUnknown}
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					base.MetricKind = "gauge"
					e.numberPoints(b, base, res, m.Gauge().DataPoints())
				case pmetric.MetricTypeSum:
					base.MetricKind = "sum"
					base.Monotonic = m.Sum().IsMonotonic()
					base.Temporality = m.Sum().AggregationTemporality().String()
					e.numberPoints(b, base, res, m.Sum().DataPoints())
				case pmetric.MetricTypeHistogram:
					base.MetricKind = "histogram"
					base.Temporality = m.Histogram().AggregationTemporality().String()
					dps := m.Histogram().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						p := base
						p.TS, p.StartTS = dp.Timestamp().AsTime(), dp.StartTimestamp().AsTime()
						p.Sum, p.Count = dp.Sum(), dp.Count()
						if dp.HasMin() {
							p.Min = dp.Min()
						}
						if dp.HasMax() {
							p.Max = dp.Max()
						}
						e.finishPoint(b, &p, res, dp.Attributes(), math.Float64bits(p.Sum)^p.Count)
					}
				case pmetric.MetricTypeExponentialHistogram:
					base.MetricKind = "exp_histogram"
					dps := m.ExponentialHistogram().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						p := base
						p.TS, p.StartTS = dp.Timestamp().AsTime(), dp.StartTimestamp().AsTime()
						p.Sum, p.Count = dp.Sum(), dp.Count()
						e.finishPoint(b, &p, res, dp.Attributes(), math.Float64bits(p.Sum)^p.Count)
					}
				case pmetric.MetricTypeSummary:
					base.MetricKind = "summary"
					dps := m.Summary().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						p := base
						p.TS, p.StartTS = dp.Timestamp().AsTime(), dp.StartTimestamp().AsTime()
						p.Sum, p.Count = dp.Sum(), dp.Count()
						e.finishPoint(b, &p, res, dp.Attributes(), math.Float64bits(p.Sum)^p.Count)
					}
				}
			}
		}
	}
	return e.write(ctx, b)
}

func (e *lakehouseExporter) numberPoints(b *lakehousestore.Batch, base schema.MetricPoint, res pcommon.Map, dps pmetric.NumberDataPointSlice) {
	for d := 0; d < dps.Len(); d++ {
		dp := dps.At(d)
		p := base
		p.TS, p.StartTS = dp.Timestamp().AsTime(), dp.StartTimestamp().AsTime()
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			p.Value = float64(dp.IntValue())
		} else {
			p.Value = dp.DoubleValue()
		}
		e.finishPoint(b, &p, res, dp.Attributes(), math.Float64bits(p.Value))
	}
}

func (e *lakehouseExporter) finishPoint(b *lakehousestore.Batch, p *schema.MetricPoint, res, attrs pcommon.Map, valueBits uint64) {
	pp := unsafe.Pointer(p)
	attrs.Range(func(k string, v pcommon.Value) bool {
		if strings.HasPrefix(k, schema.AttrPrefix) && k != schema.AttrMessages {
			if s, ok := metricSetters[k]; ok && k != "warden.name" && k != "warden.ts" {
				if !s.set(pp, v) {
					e.typeErrors.Add(1)
					e.mTypeErrors.Add(nil2ctx(), 1)
				} else {
					return true
				}
			}
		}
		if k == schema.AttrMessages {
			e.discardMessages(v)
			return true
		}
		if p.Attributes == nil {
			p.Attributes = make(map[string]string, attrs.Len())
		}
		p.Attributes[k] = e.attrValue(k, v)
		return true
	})
	e.guardPseudonyms(&p.UserPseudonym, &p.DevicePseudonym)
	if p.PointID == ([16]byte{}) {
		h := sha256.New()
		var n [8]byte
		w := func(s string) {
			binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
			h.Write(n[:])
			h.Write([]byte(s))
		}
		w("metric")
		hashMap(w, res)
		w(p.Name)
		w(p.MetricKind)
		hashMap(w, attrs)
		binary.LittleEndian.PutUint64(n[:], uint64(p.TS.UnixNano()))
		h.Write(n[:])
		binary.LittleEndian.PutUint64(n[:], uint64(p.StartTS.UnixNano()))
		h.Write(n[:])
		binary.LittleEndian.PutUint64(n[:], valueBits)
		h.Write(n[:])
		var sum [32]byte
		copy(p.PointID[:], h.Sum(sum[:0]))
	}
	b.Metrics = append(b.Metrics, *p)
}
