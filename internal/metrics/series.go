package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A scrape of a 64-stream vdev sends about a thousand series. Building
// each one's label pairs anew (prometheus.MustNewConstMetric) is most of a
// scrape's CPU time, so the collector keeps them from one scrape to the
// next, as client_golang's own metric vectors do, and sends per scrape only
// a value with a pointer to them. Series not seen in a scrape are dropped
// from the cache at its end (an instance closed, an app gone).

// maxLabels is the most labels a family has (stream scope plus reason).
const maxLabels = 5

type seriesKey struct {
	desc   *prometheus.Desc
	labels [maxLabels]string
}

// series is one time series: its descriptor, label pairs (sorted, shared
// by every sample of it, never modified) and type.
type series struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	typ    prometheus.ValueType
	seen   uint64 // the last scrape that sent it
}

// sample is a series' value in one scrape (a prometheus.Metric).
type sample struct {
	s *series
	v float64
}

func (m *sample) Desc() *prometheus.Desc { return m.s.desc }

func (m *sample) Write(out *dto.Metric) error {
	out.Label = m.s.labels
	v := m.v
	if m.s.typ == prometheus.CounterValue {
		out.Counter = &dto.Counter{Value: &v}
	} else {
		out.Gauge = &dto.Gauge{Value: &v}
	}
	return nil
}

// seriesCache holds the series of recent scrapes; the collector's mutex
// guards it.
type seriesCache struct {
	m     map[seriesKey]*series
	epoch uint64
}

// get returns the series of desc with these label values (in the
// descriptor's order), creating it on first use.
func (c *seriesCache) get(desc *prometheus.Desc, typ prometheus.ValueType, labels []string) *series {
	var k seriesKey
	k.desc = desc
	copy(k.labels[:], labels)
	if s := c.m[k]; s != nil && s.typ == typ {
		s.seen = c.epoch
		return s
	}
	var m dto.Metric
	if err := prometheus.MustNewConstMetric(desc, typ, 0, labels...).Write(&m); err != nil {
		panic(err) // a const metric's Write does not fail
	}
	s := &series{desc: desc, labels: m.Label, typ: typ, seen: c.epoch}
	if c.m == nil {
		c.m = map[seriesKey]*series{}
	}
	c.m[k] = s
	return s
}

// begin starts a scrape.
func (c *seriesCache) begin() { c.epoch++ }

// end forgets the series the scrape did not send.
func (c *seriesCache) end() {
	for k, s := range c.m {
		if s.seen != c.epoch {
			delete(c.m, k)
		}
	}
}
