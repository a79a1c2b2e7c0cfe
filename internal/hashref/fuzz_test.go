package hashref

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/fastpath/flowhash"
	"github.com/gomarsio/marsio/internal/pcapgen"
)

// guardSlots is slots pages, each followed by an inaccessible page: a
// packet placed at the end of a slot faults if anything reads past it.
type guardSlots struct {
	mem []byte
	ps  int
}

func newGuardSlots(t testing.TB, slots int) *guardSlots {
	ps := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 2*slots*ps, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatalf("mmap guard: %v", err)
	}
	for i := 0; i < slots; i++ {
		if err := unix.Mprotect(mem[(2*i+1)*ps:(2*i+2)*ps], unix.PROT_NONE); err != nil {
			t.Fatalf("mprotect guard: %v", err)
		}
	}
	t.Cleanup(func() { _ = unix.Munmap(mem) })
	return &guardSlots{mem: mem, ps: ps}
}

// place copies p (at most a page) to the end of slot i and returns its
// address.
func (g *guardSlots) place(i int, p []byte) uintptr {
	end := (2*i + 1) * g.ps
	dst := g.mem[end-len(p) : end]
	copy(dst, p)
	return uintptr(unsafe.Pointer(unsafe.SliceData(dst)))
}

// FuzzCTwin: arbitrary bytes, cut into up to 64 packets of arbitrary
// lengths, each at the end of a page followed by an inaccessible one. In
// every distribution and hash mode and with the fuzzed seed, flowhash's
// burst (on amd64 the assembly fast path, and the Go parser for what it
// leaves), flowhash's Hash of each packet alone (the Go parser) and the C
// twin (its own parser, then rte_hash_crc or the xxHash library's XXH64)
// must give the same hash, and none may read past a packet's end.
func FuzzCTwin(f *testing.F) {
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 31, Flows: 60, Packets: 120})
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range pkts {
		f.Add(p.Data, uint8(len(p.Data)), uint32(p.Flow))
	}
	const slots = 64
	g := newGuardSlots(f, slots)
	f.Fuzz(func(t *testing.T, data []byte, cut uint8, seed uint32) {
		if len(data) > g.ps {
			data = data[:g.ps]
		}
		ps := [][]byte{data}
		for n := 0; n < len(data) && len(ps) < slots-1; n += int(cut) + 1 {
			ps = append(ps, data[:n])
		}
		if int(cut) < len(data) {
			ps = append(ps, data[cut:])
		}
		addrs := make([]uintptr, len(ps))
		lens := make([]uint16, len(ps))
		for i, p := range ps {
			addrs[i] = g.place(i, p)
			lens[i] = uint16(len(p))
		}
		goOut := make([]uint32, len(ps))
		cOut := make([]uint32, len(ps))
		for _, hm := range allHashes {
			for _, mode := range allModes {
				h, err := flowhash.New(mode, hm, seed)
				if err != nil {
					t.Fatal(err)
				}
				h.HashBurstAddrs(addrs, lens, goOut)
				twinBurst(hm, mode, seed, addrs, lens, cOut)
				for i, p := range ps {
					if one := h.Hash(p); goOut[i] != cOut[i] || one != cOut[i] {
						t.Fatalf("%v %v seed %#x packet %d (%x): burst %#x, Hash %#x, C twin %#x", hm, mode, seed, i, p, goOut[i], one, cOut[i])
					}
				}
			}
		}
	})
}
