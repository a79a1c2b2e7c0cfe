package hashref

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/fastpath/flowhash"
	"github.com/gomarsio/marsio/internal/pcapgen"
)

// BenchmarkSameRun hashes the same 32 packets' tuples with DPDK's
// rte_hash_crc (one call per key, C loop, keys already extracted: no
// parsing) and with flowhash's batch path (parsing included), in one run.
func BenchmarkSameRun(b *testing.B) {
	for _, kind := range []pcapgen.Kind{pcapgen.Plain4, pcapgen.Plain6} {
		for _, mode := range []flowhash.DistMode{flowhash.DistOuterTuple2, flowhash.DistOuterTuple4} {
			gp, err := pcapgen.Generate(pcapgen.Config{Seed: 3, Flows: 32, Packets: 32, Mix: []pcapgen.Kind{kind}})
			if err != nil {
				b.Fatal(err)
			}
			h, _ := flowhash.New(mode, flowhash.HashSymCRC, 0)
			addrs := make([]uintptr, len(gp))
			lens := make([]uint16, len(gp))
			keyLen := len(h.AppendKey(nil, gp[0].Data))
			keys := make([]byte, 0, 64*len(gp))
			for i, p := range gp {
				addrs[i] = uintptr(unsafe.Pointer(unsafe.SliceData(p.Data)))
				lens[i] = uint16(len(p.Data))
				k := h.AppendKey(nil, p.Data)
				keys = append(keys, append(k, make([]byte, 64-len(k))...)...)
			}
			out := make([]uint32, len(gp))
			b.Run(fmt.Sprintf("%v/%v/dpdk_rte_hash_crc", kind, mode), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				d := BenchKeys(keys, keyLen, 64, 0, b.N, out, true)
				b.ReportMetric(float64(d.Nanoseconds())/float64(b.N*len(out)), "cpu-ns/pkt")
			})
			b.Run(fmt.Sprintf("%v/%v/flowhash_burst", kind, mode), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				t0 := ThreadCPU()
				for b.Loop() {
					h.HashBurstAddrs(addrs, lens, out)
				}
				b.ReportMetric(float64((ThreadCPU()-t0).Nanoseconds())/float64(b.N*len(out)), "cpu-ns/pkt")
			})
			runtime.KeepAlive(gp)
		}
	}
}
