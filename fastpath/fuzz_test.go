package fastpath

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

// FuzzRingOps drives twin rings (DPDK's C, the shipped kernel, the Go twin)
// with an operation sequence taken from the input: every result, every
// dequeued byte and the whole ring memory must agree after every step.
func FuzzRingOps(f *testing.F) {
	f.Add([]byte{0x10, 0x85, 0x23, 0xff, 0x07, 0x91}, uint32(0xfffffff0), uint8(1), uint8(0))
	f.Add([]byte{0x3f, 0x3f, 0xbf, 0xbf, 0x01}, uint32(0), uint8(0), uint8(1))
	f.Add([]byte{0x22, 0x41, 0x63, 0x84, 0xa5, 0xc6, 0xe7}, uint32(0x7fffffff), uint8(3), uint8(2))
	f.Fuzz(fuzzRingBody)
}

func fuzzRingBody(t *testing.T, ops []byte, start uint32, esel, fsel uint8) {
	{
		requireDPDK(t)
		esize := []int{4, 8, 12, 16}[esel%4]
		flags := []uint32{0, RingSPEnq | RingSCDeq, RingExactSz, RingSPEnq, RingMPHTSEnq | RingMCHTSDeq,
			RingMPRTSEnq | RingMCRTSDeq | RingExactSz, RingMPRTSEnq | RingSCDeq, RingMCHTSDeq}[fsel%8]
		count := uint32(16)
		if flags&RingExactSz != 0 {
			count = 11
		}
		if len(ops) > 256 {
			ops = ops[:256]
		}
		tr := newTwin(t, count, flags, esize, start, true)
		var seq uint32
		for _, op := range ops {
			// op bits: 0 enqueue/dequeue, 1 bulk, 2-3 mode, 4-7 n (0..15, +op&1 → up to 20).
			enq := op&1 == 0
			bulk := op&2 != 0
			mode := int(op>>2&3) % 3
			n := int(op>>4) + int(op&1)*4
			bufs := [3][]byte{make([]byte, n*esize+8), make([]byte, n*esize+8), make([]byte, n*esize+8)}
			if enq {
				for i := 0; i < n*esize; i += 4 {
					seq++
					for k := range bufs {
						*(*uint32)(unsafe.Pointer(&bufs[k][i])) = seq
					}
				}
			}
			var ra, rb, rc uint32
			if tr.hts {
				mode = ModeDefault
			}
			if enq {
				ra, _ = dpdkref.RingEnqueue(tr.a, unsafe.Pointer(&bufs[0][0]), uint32(esize), uint32(n), mode, bulk)
				rb = shippedEnq(Ring{ptrAt(tr.b)}, bufs[1], esize, n, mode, bulk)
				rc = twinEnq(ptrAt(tr.c), bufs[2], esize, n, mode, bulk)
			} else {
				ra, _ = dpdkref.RingDequeue(tr.a, unsafe.Pointer(&bufs[0][0]), uint32(esize), uint32(n), mode, bulk)
				rb = shippedDeq(Ring{ptrAt(tr.b)}, bufs[1], esize, n, mode, bulk)
				rc = twinDeq(ptrAt(tr.c), bufs[2], esize, n, mode, bulk)
			}
			if ra != rb || rb != rc {
				t.Fatalf("op %#x: C %d, kernel %d, twin %d", op, ra, rb, rc)
			}
			if !bytes.Equal(bufs[0], bufs[1]) || !bytes.Equal(bufs[1], bufs[2]) {
				t.Fatalf("op %#x: data differs", op)
			}
			tr.check(t, "fuzz op")
			r, _ := RingAt(tr.b)
			if r.Count() != dpdkref.RingCount(tr.a) || r.Full() != dpdkref.RingFull(tr.a) || r.Empty() != dpdkref.RingEmpty(tr.a) {
				t.Fatalf("op %#x: count %d vs C %d", op, r.Count(), dpdkref.RingCount(tr.a))
			}
		}
	}
}

var fuzzPool uintptr

// FuzzMbufEdit applies prepend/append/adj/trim/chain sequences to a
// C-edited mbuf and a Go-edited twin: results and fields must agree, and
// freeing both chains must return the pool to full.
func FuzzMbufEdit(f *testing.F) {
	f.Add([]byte{0x00, 0x10, 0x41, 0x82, 0xc3, 0x04, 0x45, 0x86, 0xc7})
	f.Add([]byte{0xff, 0xfe, 0xfd, 0xfc, 0x04, 0x04, 0x04, 0x04})
	f.Add([]byte{0x01, 0x81, 0x05, 0xc2, 0x43})
	f.Fuzz(func(t *testing.T, ops []byte) {
		requireDPDK(t)
		if fuzzPool == 0 {
			p, err := dpdkref.PoolCreate(dpdkref.Unique("fz"), 1023, 0, 0, 2048+128, "")
			if err != nil {
				t.Fatal(err)
			}
			fuzzPool = p
		}
		mp, err := MempoolAt(fuzzPool)
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) > 64 {
			ops = ops[:64]
		}
		// Relative: a failed input may have leaked mbufs before t.Fatal.
		avail := mp.AvailCount()
		a := dpdkref.PktmbufAlloc(fuzzPool)
		b, err := mp.AllocMbuf(Cache{})
		if err != nil || a == 0 {
			t.Fatal("alloc", err)
		}
		for _, op := range ops {
			// op: low 3 bits the operation, high 5 bits a length scale.
			n := int(op>>3) * 70
			var ca, cb int
			switch op & 7 {
			case 0, 5:
				ca = dpdkref.PktmbufPrepend(a, uint16(n%200))
				_, e := b.Prepend(n % 200)
				cb = errInt(e)
				ca = min(ca, 0)
			case 1, 6:
				ca = dpdkref.PktmbufAppend(a, uint16(n))
				_, e := b.Append(n)
				cb = errInt(e)
				ca = min(ca, 0)
			case 2:
				ca = min(dpdkref.PktmbufAdj(a, uint16(n%300)), 0)
				cb = errInt(b.Adj(n % 300))
			case 3:
				ca = dpdkref.PktmbufTrim(a, uint16(n%300))
				cb = errInt(b.Trim(n % 300))
			case 4, 7:
				ta := dpdkref.PktmbufAlloc(fuzzPool)
				tb, err := mp.AllocMbuf(Cache{})
				if err != nil || ta == 0 {
					t.Fatal("alloc tail", err)
				}
				dpdkref.PktmbufAppend(ta, uint16(n%1000))
				if _, err := tb.Append(n % 1000); err != nil {
					t.Fatal(err)
				}
				ca = dpdkref.PktmbufChain(a, ta)
				cb = errInt(b.Chain(tb))
				ca = min(ca, 0)
				if ca != 0 {
					dpdkref.PktmbufFree(ta)
					dpdkref.PktmbufFree(uintptr(tb))
				}
			}
			if ca != cb {
				t.Fatalf("op %#x: C %d, Go %d", op, ca, cb)
			}
			for sa, sb := Mbuf(a), b; sa != 0 || sb != 0; sa, sb = sa.Next(), sb.Next() {
				if sa == 0 || sb == 0 || mbufFields(sa) != mbufFields(sb) {
					t.Fatalf("op %#x: segments differ", op)
				}
			}
		}
		if err := dpdkref.MbufCheck(uintptr(b), true); err != nil {
			t.Fatal(err)
		}
		dpdkref.PktmbufFree(a)
		if err := mp.FreeMbuf(b, Cache{}); err != nil {
			t.Fatal(err)
		}
		if got := mp.AvailCount(); got != avail {
			t.Fatalf("pool has %d after freeing, %d before", got, avail)
		}
	})
}

func errInt(e error) int {
	if e != nil {
		return -1
	}
	return 0
}
