package marsio

import (
	"testing"

	"github.com/gomarsio/marsio/internal/daemontest"
)

// BenchmarkPollEmpty is the fast path's fixed cost per call, free of
// cross-core traffic: RecvBurst on an rx stream that stays empty (net_null
// with no-rx: the daemon never enqueues) and SendBurst of no buffers.
func BenchmarkPollEmpty(b *testing.B) {
	d := daemontest.Start(b, daemontest.Options{Config: `
[eal]
memory=128
[pool:MZ0]
size=1023
[port:n0]
devargs=net_null0,no-rx=1
[vdev:vxe0]
port=n0
rx_streams_max=1
tx_streams_max=1
`})
	i := attachApp(b, d, "pollbench", WithThreads(1))
	dev, err := i.OpenDevice("vxe0", 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	th, err := i.ThreadInit()
	if err != nil {
		b.Fatal(err)
	}
	defer th.Release()
	bufs := make([]Buffer, 32)
	b.ResetTimer()
	for range b.N {
		if n, err := th.RecvBurst(dev, bufs); n != 0 || err != nil {
			b.Fatal(n, err)
		}
		if _, err := th.SendBurst(dev, bufs[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
