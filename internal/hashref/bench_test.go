package hashref

import (
	"testing"
	"time"
)

// BenchmarkSuite runs the mrbench hash suite's cases as Go benchmarks
// (each case times itself on thread CPU time; b.N is not used).
func BenchmarkSuite(b *testing.B) {
	for _, c := range SuiteCases() {
		name := c.Traffic + "/" + c.Mode.String()
		if c.Ref != RefCRC {
			name += "/" + c.Ref
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
			}
			r, err := RunCase(c, 50*time.Millisecond, 3)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.GoNs, "go-ns/pkt")
			b.ReportMetric(r.CNs, "c-ns/pkt")
			b.ReportMetric(r.Ratio, "ratio")
		})
	}
}
