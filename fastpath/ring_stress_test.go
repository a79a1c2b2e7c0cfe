package fastpath

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

// One stress body for every sync mode, as DPDK's test_ring_stress: Go
// producers/consumers (goroutines locked to OS threads) and C pthreads
// running DPDK's inline code share one rte_ring. Checks: per producer FIFO at
// every consumer, no loss, no duplicate, ring empty at the end.

type stressCfg struct {
	name          string
	flags         uint32
	goProd, cProd int
	goCons, cCons int
	mode          int // ModeDefault uses the ring's sync type
	bulk          bool
	single        bool // Go sides use the single-object calls (SPEnqueue, MCDequeue, …)
}

// enqueueOneMode is the single-object enqueue of mode.
func enqueueOneMode(r Ring, mode int, obj uintptr) bool {
	switch mode {
	case ModeSingle:
		return r.SPEnqueue(obj)
	case ModeMulti:
		return r.MPEnqueue(obj)
	}
	return r.Enqueue(obj)
}

// dequeueOneMode is the single-object dequeue of mode.
func dequeueOneMode(r Ring, mode int) (uintptr, bool) {
	switch mode {
	case ModeSingle:
		return r.SCDequeue()
	case ModeMulti:
		return r.MCDequeue()
	}
	return r.Dequeue()
}

func runStress(t *testing.T, c stressCfg, perProducer uint64) {
	requireDPDK(t)
	addr, err := dpdkref.RingCreate(dpdkref.Unique("st"), 256, c.flags)
	if err != nil {
		t.Fatal(err)
	}
	defer dpdkref.RingFree(addr)
	r, err := RingAt(addr)
	if err != nil {
		t.Fatal(err)
	}
	nprod := c.goProd + c.cProd
	total := perProducer * uint64(nprod)
	stalls := stallWaits.Load()
	defer func() { t.Logf("%d tail waits left the kernel for stallWait", stallWaits.Load()-stalls) }()
	cnt := dpdkref.NewCounter()
	defer cnt.Free()

	var cw []*dpdkref.Worker
	id := uint32(1)
	for i := 0; i < c.cProd; i++ {
		cw = append(cw, dpdkref.StartProducer(addr, id, perProducer, 32, c.mode, c.bulk, uint64(id)*7919))
		id++
	}
	var wg sync.WaitGroup
	for i := 0; i < c.goProd; i++ {
		wg.Add(1)
		go func(id uint32) {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			rng := rand.New(rand.NewPCG(uint64(id), 1))
			var buf [32]uintptr
			for seq := uint64(1); seq <= perProducer; {
				b := 1 + rng.Uint64N(32)
				if left := perProducer - seq + 1; b > left {
					b = left
				}
				for k := uint64(0); k < b; k++ {
					buf[k] = uintptr(uint64(id)<<40 | (seq + k))
				}
				var n int
				in := buf[:b]
				switch {
				case c.single:
					for _, v := range in {
						if !enqueueOneMode(r, c.mode, v) {
							break
						}
						n++
					}
				case c.mode == ModeSingle && c.bulk:
					n = r.SPEnqueueBulk(in)
				case c.mode == ModeSingle:
					n = r.SPEnqueueBurst(in)
				case c.mode == ModeMulti && c.bulk:
					n = r.MPEnqueueBulk(in)
				case c.mode == ModeMulti:
					n = r.MPEnqueueBurst(in)
				case c.bulk:
					n = r.EnqueueBulk(in)
				default:
					n = r.EnqueueBurst(in)
				}
				seq += uint64(n)
				if n == 0 {
					runtime.Gosched()
				}
			}
		}(id)
		id++
	}
	var cons []*dpdkref.Worker
	for i := 0; i < c.cCons; i++ {
		cons = append(cons, dpdkref.StartConsumer(addr, cnt, total, 32, c.mode, c.bulk, uint64(i+1)*104729))
	}
	goOut := make([][]uint64, c.goCons)
	for i := 0; i < c.goCons; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			rng := rand.New(rand.NewPCG(uint64(i), 2))
			var buf [32]uintptr
			for cnt.Load() < total {
				out := buf[:1+rng.IntN(32)]
				var n int
				switch {
				case c.single:
					for n < len(out) {
						v, ok := dequeueOneMode(r, c.mode)
						if !ok {
							break
						}
						out[n] = v
						n++
					}
				case c.mode == ModeSingle && c.bulk:
					n = r.SCDequeueBulk(out)
				case c.mode == ModeSingle:
					n = r.SCDequeueBurst(out)
				case c.mode == ModeMulti && c.bulk:
					n = r.MCDequeueBulk(out)
				case c.mode == ModeMulti:
					n = r.MCDequeueBurst(out)
				case c.bulk:
					n = r.DequeueBulk(out)
				default:
					n = r.DequeueBurst(out)
				}
				if n == 0 {
					runtime.Gosched()
					continue
				}
				for _, v := range out[:n] {
					goOut[i] = append(goOut[i], uint64(v))
				}
				cnt.Add(uint64(n))
			}
		}(i)
	}
	wg.Wait()
	var outs [][]uint64
	for _, w := range cw {
		w.Join()
	}
	for _, w := range cons {
		outs = append(outs, w.Join())
	}
	outs = append(outs, goOut...)

	seen := make(map[uint64]bool, total)
	for ci, out := range outs {
		last := map[uint64]uint64{}
		for _, v := range out {
			pid, seq := v>>40, v&(1<<40-1)
			if pid == 0 || pid > uint64(nprod) || seq == 0 || seq > perProducer {
				t.Fatalf("consumer %d: garbage value %#x", ci, v)
			}
			if seq <= last[pid] {
				t.Fatalf("consumer %d: producer %d out of order: %d after %d", ci, pid, seq, last[pid])
			}
			last[pid] = seq
			if seen[v] {
				t.Fatalf("duplicate %#x", v)
			}
			seen[v] = true
		}
	}
	if uint64(len(seen)) != total {
		t.Fatalf("got %d distinct values, want %d (lost %d)", len(seen), total, total-uint64(len(seen)))
	}
	if !r.Empty() || r.Count() != 0 {
		t.Fatalf("ring not empty at end: count %d", r.Count())
	}
}

func TestRingStress(t *testing.T) {
	per := uint64(20000)
	if testing.Short() {
		per = 2000
	}
	cfgs := []stressCfg{
		{name: "SPSC/goProd-cCons", flags: RingSPEnq | RingSCDeq, goProd: 1, cCons: 1},
		{name: "SPSC/cProd-goCons", flags: RingSPEnq | RingSCDeq, cProd: 1, goCons: 1},
		{name: "SPSC/explicit-bulk", flags: 0, goProd: 1, cCons: 1, mode: ModeSingle, bulk: true},
		{name: "MPMC/mixed", flags: 0, goProd: 2, cProd: 2, goCons: 1, cCons: 2},
		{name: "MPMC/mixed-bulk", flags: 0, goProd: 2, cProd: 1, goCons: 2, cCons: 1, bulk: true},
		{name: "MPMC/explicit", flags: RingSPEnq | RingSCDeq, goProd: 2, cProd: 1, goCons: 1, cCons: 1, mode: ModeMulti},
		{name: "MPSC/goCons", flags: RingSCDeq, goProd: 2, cProd: 2, goCons: 1},
		{name: "SPMC/cProd", flags: RingSPEnq, cProd: 1, goCons: 2, cCons: 1},
		{name: "HTS/mixed", flags: RingMPHTSEnq | RingMCHTSDeq, goProd: 2, cProd: 1, goCons: 1, cCons: 1},
		{name: "HTS/mixed-bulk", flags: RingMPHTSEnq | RingMCHTSDeq, goProd: 1, cProd: 2, goCons: 2, cCons: 1, bulk: true},
		{name: "RTS/mixed", flags: RingMPRTSEnq | RingMCRTSDeq, goProd: 2, cProd: 1, goCons: 1, cCons: 1},
		{name: "RTS/mixed-bulk", flags: RingMPRTSEnq | RingMCRTSDeq, goProd: 1, cProd: 2, goCons: 2, cCons: 1, bulk: true},
		{name: "RTSprod-HTScons", flags: RingMPRTSEnq | RingMCHTSDeq, goProd: 2, cProd: 1, goCons: 1, cCons: 1},
		{name: "RTS/explicit-go", flags: RingMPRTSEnq | RingMCRTSDeq, goProd: 2, goCons: 2, mode: ModeSingle},
		{name: "SPSC/single-goProd", flags: RingSPEnq | RingSCDeq, goProd: 1, cCons: 1, single: true},
		{name: "SPSC/single-goCons", flags: 0, cProd: 1, goCons: 1, mode: ModeSingle, single: true},
		{name: "MPMC/single", flags: 0, goProd: 2, cProd: 1, goCons: 2, cCons: 1, mode: ModeMulti, single: true},
		{name: "MPMC/single-default", flags: 0, goProd: 2, cProd: 1, goCons: 1, cCons: 1, single: true},
		{name: "HTS/single", flags: RingMPHTSEnq | RingMCHTSDeq, goProd: 2, cProd: 1, goCons: 1, cCons: 1, single: true},
		{name: "RTS/single", flags: RingMPRTSEnq | RingMCRTSDeq, goProd: 1, cProd: 1, goCons: 2, cCons: 1, single: true},
		// More threads than CPUs: a thread preempted between its head
		// move and its tail store makes the others' tail waits leave the
		// kernel for stallWait (the logged count), which then publishes.
		{name: "MPMC/oversubscribed", flags: 0, goProd: 3, cProd: 1, goCons: 3, cCons: 1},
		{name: "MPMC/oversubscribed-bulk", flags: 0, goProd: 3, cProd: 1, goCons: 3, cCons: 1, bulk: true},
		{name: "MPMC/oversubscribed-single", flags: 0, goProd: 3, cProd: 1, goCons: 3, cCons: 1, mode: ModeMulti, single: true},
	}
	for _, c := range cfgs {
		t.Run(c.name, func(t *testing.T) { runStress(t, c, per) })
	}
}
