package flowhash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/gomarsio/marsio/internal/pcapgen"
	"golang.org/x/sys/unix"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// refCRC is the documented definition of sym_crc over key bytes, built on
// the standard library (independent of this package's tables and assembly).
func refCRC(seed uint32, key []byte) uint32 {
	return ^crc32.Update(^seed, castagnoli, key)
}

// refXXH is the documented definition of sym_xxhash over key bytes, built on
// cespare/xxhash.
func refXXH(seed uint32, key []byte) uint32 {
	d := xxhash.NewWithSeed(uint64(seed))
	d.Write(key)
	h := d.Sum64()
	return uint32(h) ^ uint32(h>>32)
}

func refHash(kind HashMode, seed uint32, key []byte) uint32 {
	if len(key) == 0 {
		return 0
	}
	if kind == HashSymXXHash {
		return refXXH(seed, key)
	}
	return refCRC(seed, key)
}

func keyBytes(k *key) []byte {
	b := make([]byte, 40)
	for i, w := range k.w {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	return b[:k.n]
}

// wantKey builds the documented key of a tuple, independently of extract.
func wantKey(t pcapgen.Tuple, ports bool) []byte {
	a, b := t.Src.AsSlice(), t.Dst.AsSlice()
	if bytes.Compare(a, b) > 0 {
		a, b = b, a
	}
	k := append(append([]byte{}, a...), b...)
	if ports && t.Ports {
		p, q := t.SrcPort, t.DstPort
		if p > q {
			p, q = q, p
		}
		k = binary.BigEndian.AppendUint16(k, p)
		k = binary.BigEndian.AppendUint16(k, q)
	}
	return k
}

func wantKeyOf(p pcapgen.Packet, mode DistMode) []byte {
	t := p.Inner
	if p.Tunnel && mode < DistInnerTuple2 {
		t = p.Outer
	}
	return wantKey(t, mode&1 != 0)
}

var allModes = []DistMode{DistOuterTuple2, DistOuterTuple4, DistInnerTuple2, DistInnerTuple4}
var allHashes = []HashMode{HashSymCRC, HashSymXXHash}

func genPackets(t testing.TB, seed uint64, flows, packets int) []pcapgen.Packet {
	t.Helper()
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: seed, Flows: flows, Packets: packets})
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

// variants runs f once per kernel this build has (assembly, then pure Go).
func variants(t *testing.T, f func(t *testing.T)) {
	t.Run("best", f)
	if hasAsm() {
		restore := disableFastParse()
		t.Run("go-parse+asm-crc", f)
		restore()
		defer disableSSE42()()
		t.Run("purego", f)
	}
}

func TestParseModes(t *testing.T) {
	for s, want := range map[string]DistMode{"0": 0, "1": 1, " 3 ": 3, "outer_tuple2": 0, "INNER_TUPLE4": 3, "inner_tuple2": 2} {
		got, err := ParseDistMode(s)
		if err != nil || got != want {
			t.Errorf("ParseDistMode(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for s, want := range map[string]HashMode{"0": 0, "1": 1, "sym_crc": 0, "Sym_XXHash": 1} {
		got, err := ParseHashMode(s)
		if err != nil || got != want {
			t.Errorf("ParseHashMode(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	_, err := ParseDistMode("7")
	if err == nil || err.Error() != "distmode 7 out of range 0..3" || !errors.Is(err, ErrInvalidMode) {
		t.Errorf("ParseDistMode(7): %v", err)
	}
	_, err = ParseHashMode("-1")
	if err == nil || err.Error() != "hashmode -1 out of range 0..1" || !errors.Is(err, ErrInvalidMode) {
		t.Errorf("ParseHashMode(-1): %v", err)
	}
	_, err = ParseDistMode("tuple5")
	var me *ModeError
	if !errors.As(err, &me) || me.Key != "distmode" || !errors.Is(err, ErrInvalidMode) {
		t.Errorf("ParseDistMode(tuple5): %v", err)
	}
	if _, err := New(4, 0, 0); !errors.Is(err, ErrInvalidMode) {
		t.Errorf("New(4, 0): %v", err)
	}
	if _, err := New(0, 2, 0); err == nil || err.Error() != "hashmode 2 out of range 0..1" {
		t.Errorf("New(0, 2): %v", err)
	}
	if DistInnerTuple4.String() != "inner_tuple4" || HashSymCRC.String() != "sym_crc" || DistMode(9).String() != "distmode(9)" {
		t.Error("String")
	}
	var zero Hasher
	if zero.DistMode() != DistModeDefault || zero.HashMode() != HashModeDefault || zero.Seed() != 0 {
		t.Error("zero Hasher is not the default configuration")
	}
}

func TestDistribute(t *testing.T) {
	for _, c := range []struct{ h, n, want uint32 }{
		{0, 8, 0}, {0xffffffff, 8, 7}, {0x80000000, 8, 4}, {0x7fffffff, 8, 3}, {12345, 0, 0}, {0xffffffff, 1, 0}, {0xffffffff, 0xffffffff, 0xfffffffe},
	} {
		if got := Distribute(c.h, c.n); got != c.want {
			t.Errorf("Distribute(%#x, %d) = %d, want %d", c.h, c.n, got, c.want)
		}
	}
	// Every stream gets a share of uniformly spread hashes.
	var cnt [7]int
	for i := uint32(0); i < 7000; i++ {
		cnt[Distribute(i*613566757, 7)]++
	}
	for s, c := range cnt {
		if c < 900 || c > 1100 {
			t.Errorf("stream %d got %d of 7000", s, c)
		}
	}
}

func TestCRCCore(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 200)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for n := 0; n <= len(buf); n++ {
		seed := rng.Uint32()
		if got, want := crcBytesGeneric(buf[:n], seed), refCRC(seed, buf[:n]); got != want {
			t.Fatalf("len %d seed %#x: %#x, want %#x", n, seed, got, want)
		}
	}
}

func TestXXHCore(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []uint32{4, 8, 12, 16, 20, 24, 28, 32, 36, 40} {
		for range 50 {
			var k key
			for i := range k.w {
				k.w[i] = rng.Uint64()
			}
			k.n = n
			b := keyBytes(&k)
			for i := range k.w { // bytes past n must be zero in a real key
				k.w[i] = 0
			}
			for i := 0; i < len(b); i += 4 {
				k.w[i/8] |= uint64(binary.LittleEndian.Uint32(b[i:])) << (8 * (i % 8))
			}
			seed := rng.Uint32()
			want := refXXH(seed, b)
			if got := xxhKey(&k, uint64(seed)); got != want {
				t.Fatalf("len %d: %#x, want %#x", n, got, want)
			}
			var a, g [2]uint32 // the kernels, and nothing written past n
			a[1], g[1] = 0x5a5a5a5a, 0x5a5a5a5a
			xxhKeysGeneric(&k, 1, seed, &g[0])
			if g != [2]uint32{want, 0x5a5a5a5a} {
				t.Fatalf("len %d: Go kernel %#x, want %#x", n, g, want)
			}
			if n == 8 || n == 12 || n == 32 || n == 36 { // the assembly's lengths: the parsers'
				asmXXHKeys(&k, 1, seed, &a[0])
				if a != g {
					t.Fatalf("len %d: assembly kernel %#x, want %#x", n, a, want)
				}
			}
		}
	}
}

// TestKeys checks extract against keys built from pcapgen's own record of
// each packet's tuples, and the hashes against the reference definitions.
func TestKeys(t *testing.T) {
	pkts := genPackets(t, 7, 300, 3000)
	variants(t, func(t *testing.T) {
		for _, p := range pkts {
			if !p.Symmetric {
				continue
			}
			for _, mode := range allModes {
				var k key
				extract(unsafe.Pointer(unsafe.SliceData(p.Data)), len(p.Data), mode, &k)
				want := wantKeyOf(p, mode)
				if got := keyBytes(&k); !bytes.Equal(got, want) {
					t.Fatalf("%v flow %d dir %d mode %v: key\n%x\nwant\n%x\npacket %x", p.Kind, p.Flow, p.Dir, mode, got, want, p.Data)
				}
				for _, hm := range allHashes {
					for _, seed := range []uint32{0, 0xdeadbeef} {
						h, _ := New(mode, hm, seed)
						if got, want := h.Hash(p.Data), refHash(hm, seed, want); got != want {
							t.Fatalf("%v %v %v seed %#x: %#x, want %#x", p.Kind, mode, hm, seed, got, want)
						}
					}
				}
			}
		}
	})
}

// TestSymmetric: both directions of every well-formed flow hash equal in
// every mode, and the modes see what they should (inner differs from outer
// on tunnels).
func TestSymmetric(t *testing.T) {
	pkts := genPackets(t, 11, 500, 4000)
	variants(t, func(t *testing.T) {
		for _, mode := range allModes {
			for _, hm := range allHashes {
				h, err := New(mode, hm, 0x1234)
				if err != nil {
					t.Fatal(err)
				}
				first := map[int]uint32{}
				dirs := map[int]int{}
				for _, p := range pkts {
					if !p.Symmetric {
						continue
					}
					v := h.Hash(p.Data)
					if v == 0 {
						t.Fatalf("%v %v: well-formed %v packet hashed to 0", mode, hm, p.Kind)
					}
					if f, ok := first[p.Flow]; !ok {
						first[p.Flow] = v
					} else if f != v {
						t.Fatalf("%v %v: flow %d (%v) dir %d hash %#x, first packet %#x", mode, hm, p.Flow, p.Kind, p.Dir, v, f)
					}
					dirs[p.Flow] |= 1 << p.Dir
				}
				both := 0
				for _, d := range dirs {
					if d == 3 {
						both++
					}
				}
				if both < 400 {
					t.Fatalf("only %d flows seen in both directions", both)
				}
			}
		}
	})
}

// TestNonIP pins the documented value of packets without a key.
func TestNonIP(t *testing.T) {
	arp := make([]byte, 60)
	binary.BigEndian.PutUint16(arp[12:], 0x0806)
	v4 := make([]byte, 34)
	binary.BigEndian.PutUint16(v4[12:], 0x0800)
	v4[14] = 0x45
	for _, mode := range allModes {
		for _, hm := range allHashes {
			h, _ := New(mode, hm, 99)
			for _, p := range [][]byte{nil, {}, arp, arp[:13], v4[:33]} {
				if got := h.Hash(p); got != 0 {
					t.Errorf("%v %v: %d-byte non-IP packet hashed to %#x, want 0", mode, hm, len(p), got)
				}
			}
			if h.Hash(v4) == 0 {
				t.Errorf("%v %v: minimal IPv4 packet hashed to 0", mode, hm)
			}
		}
	}
}

// hashAll hashes pkts every way: single, burst of slices, burst of
// addresses (through guard-paged memory), with bursts of size bs.
func checkAllPaths(t *testing.T, h Hasher, pkts [][]byte, bs int, g *guard) {
	t.Helper()
	single := make([]uint32, len(pkts))
	for i, p := range pkts {
		single[i] = h.Hash(p)
	}
	out := make([]uint32, len(pkts))
	for i := 0; i < len(pkts); i += bs {
		j := min(i+bs, len(pkts))
		h.HashBurst(pkts[i:j], out[i:j])
	}
	for i := range out {
		if out[i] != single[i] {
			t.Fatalf("%v %v burst %d: packet %d burst hash %#x, single %#x (%x)", h.dist, h.hash, bs, i, out[i], single[i], pkts[i])
		}
	}
	if g == nil {
		return
	}
	for i, p := range pkts {
		addr := g.place(p)
		h.HashBurstAddrs([]uintptr{addr}, []uint16{uint16(len(p))}, out[i:i+1])
		if out[i] != single[i] {
			t.Fatalf("%v %v: packet %d addr hash %#x, single %#x", h.dist, h.hash, i, out[i], single[i])
		}
	}
}

// guard is a page followed by an inaccessible page: a packet placed at the
// end of the first page faults if any byte past its length is read.
type guard struct{ mem []byte }

func newGuard(t testing.TB) *guard {
	ps := unix.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 2*ps, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatalf("mmap guard: %v", err)
	}
	if err := unix.Mprotect(mem[ps:], unix.PROT_NONE); err != nil {
		t.Fatalf("mprotect guard: %v", err)
	}
	t.Cleanup(func() { _ = unix.Munmap(mem) })
	return &guard{mem: mem[:ps]}
}

// place copies p to the end of the accessible page and returns its address.
func (g *guard) place(p []byte) uintptr {
	dst := g.mem[len(g.mem)-len(p):]
	copy(dst, p)
	return uintptr(unsafe.Pointer(unsafe.SliceData(dst))) + 0
}

func TestBurstPaths(t *testing.T) {
	gp := genPackets(t, 5, 200, 1500)
	pkts := make([][]byte, len(gp))
	for i, p := range gp {
		pkts[i] = p.Data
	}
	g := newGuard(t)
	variants(t, func(t *testing.T) {
		for _, mode := range allModes {
			for _, hm := range allHashes {
				h, _ := New(mode, hm, 0xabcdef01)
				for _, bs := range []int{1, 3, 4, 5, 31, 32, 33, 64, 100, len(pkts)} {
					checkAllPaths(t, h, pkts, bs, g)
				}
			}
		}
	})
	// The kernels agree with each other on the same keys.
	if hasAsm() {
		rng := rand.New(rand.NewPCG(9, 9))
		var keys [67]key
		for i := range keys {
			keys[i].n = []uint32{0, 8, 12, 32, 36}[rng.IntN(5)]
			if rng.IntN(3) == 0 && i > 0 {
				keys[i].n = keys[i-1].n // runs of equal lengths take the 4-wide path
			}
			for j := 0; j < int(keys[i].n+7)/8; j++ {
				keys[i].w[j] = rng.Uint64()
			}
			if keys[i].n&4 != 0 {
				keys[i].w[keys[i].n/8] &= 0xffffffff
			}
		}
		for n := 0; n <= len(keys); n++ {
			var a, b [len(keys) + 1]uint32
			a[n], b[n] = 0x5a5a5a5a, 0x5a5a5a5a
			crcKeysGeneric(&keys[0], n, 77, &a[0])
			asmCRCKeys(&keys[0], n, 77, &b[0])
			if a != b {
				t.Fatalf("n=%d: assembly %x\ngo %x", n, b[:n+1], a[:n+1])
			}
			for i := 0; i < n; i++ {
				if want := refHash(HashSymCRC, 77, keyBytes(&keys[i])); a[i] != want {
					t.Fatalf("key %d: %#x want %#x", i, a[i], want)
				}
			}
			xxhKeysGeneric(&keys[0], n, 78, &a[0])
			asmXXHKeys(&keys[0], n, 78, &b[0])
			if a != b {
				t.Fatalf("xxhash n=%d: assembly %x\ngo %x", n, b[:n+1], a[:n+1])
			}
			for i := 0; i < n; i++ {
				if want := refHash(HashSymXXHash, 78, keyBytes(&keys[i])); a[i] != want {
					t.Fatalf("xxhash key %d: %#x want %#x", i, a[i], want)
				}
			}
		}
	}
}

// TestNoOverread hashes every prefix of every generated packet placed just
// before an inaccessible page.
func TestNoOverread(t *testing.T) {
	gp := genPackets(t, 13, 130, 650)
	g := newGuard(t)
	var out [1]uint32
	for _, mode := range allModes {
		h, _ := New(mode, HashSymCRC, 1)
		for _, p := range gp {
			for n := 0; n <= len(p.Data); n++ {
				addr := g.place(p.Data[:n])
				h.HashBurstAddrs([]uintptr{addr}, []uint16{uint16(n)}, out[:])
				if want := h.Hash(p.Data[:n]); out[0] != want {
					t.Fatalf("%v prefix %d of %v: %#x vs %#x", mode, n, p.Kind, out[0], want)
				}
			}
		}
	}
}

func TestAllocs(t *testing.T) {
	gp := genPackets(t, 1, 32, 32)
	pkts := make([][]byte, len(gp))
	addrs := make([]uintptr, len(gp))
	lens := make([]uint16, len(gp))
	for i, p := range gp {
		pkts[i] = p.Data
		addrs[i] = uintptr(unsafe.Pointer(unsafe.SliceData(p.Data)))
		lens[i] = uint16(len(p.Data))
	}
	out := make([]uint32, len(pkts))
	for _, mode := range allModes {
		for _, hm := range allHashes {
			h, _ := New(mode, hm, 0)
			if n := testing.AllocsPerRun(100, func() { h.HashBurst(pkts, out) }); n != 0 {
				t.Errorf("%v %v HashBurst: %v allocs", mode, hm, n)
			}
			if n := testing.AllocsPerRun(100, func() { h.HashBurstAddrs(addrs, lens, out) }); n != 0 {
				t.Errorf("%v %v HashBurstAddrs: %v allocs", mode, hm, n)
			}
			if n := testing.AllocsPerRun(100, func() { out[0] = h.Hash(pkts[0]) }); n != 0 {
				t.Errorf("%v %v Hash: %v allocs", mode, hm, n)
			}
		}
	}
	keepAlive(gp)
}

//go:noinline
func keepAlive(any) {}

// FuzzHashBurst: arbitrary bytes, cut into packets of arbitrary lengths;
// every kernel and every path must agree, and nothing may read past a
// packet's end.
func FuzzHashBurst(f *testing.F) {
	for _, p := range genPackets(f, 21, 60, 120) {
		f.Add(p.Data, uint8(len(p.Data)), uint32(p.Flow))
	}
	g := newGuard(f)
	f.Fuzz(func(t *testing.T, data []byte, cut uint8, seed uint32) {
		if len(data) > 4000 {
			data = data[:4000]
		}
		// Packets: data itself, every prefix at multiples of cut, and the
		// suffix from cut (a shifted parse).
		pkts := [][]byte{data}
		step := int(cut) + 1
		for n := 0; n < len(data); n += step {
			pkts = append(pkts, data[:n])
		}
		if int(cut) < len(data) {
			pkts = append(pkts, data[cut:])
		}
		for _, mode := range allModes {
			for _, hm := range allHashes {
				h, _ := New(mode, hm, seed)
				out := make([]uint32, len(pkts))
				h.HashBurst(pkts, out)
				var purego, goparse []uint32
				if hasAsm() {
					restore := disableFastParse()
					goparse = make([]uint32, len(pkts))
					h.HashBurst(pkts, goparse)
					restore()
					restore = disableSSE42()
					purego = make([]uint32, len(pkts))
					h.HashBurst(pkts, purego)
					restore()
				}
				for i, p := range pkts {
					var k key
					extract(unsafe.Pointer(unsafe.SliceData(p)), len(p), mode, &k)
					want := refHash(hm, seed, keyBytes(&k))
					if out[i] != want || (purego != nil && (purego[i] != want || goparse[i] != want)) || h.Hash(p) != want {
						t.Fatalf("%v %v packet %d (%x): burst %#x, want %#x", mode, hm, i, p, out[i], want)
					}
					var a [1]uint32
					h.HashBurstAddrs([]uintptr{g.place(p)}, []uint16{uint16(len(p))}, a[:])
					if a[0] != want {
						t.Fatalf("%v %v: addr path %#x want %#x", mode, hm, a[0], want)
					}
				}
			}
		}
	})
}

func benchPackets(b testing.TB, mix []pcapgen.Kind) ([][]byte, []uintptr, []uint16) {
	gp, err := pcapgen.Generate(pcapgen.Config{Seed: 3, Flows: 32, Packets: 32, Mix: mix})
	if err != nil {
		b.Fatal(err)
	}
	pkts := make([][]byte, len(gp))
	addrs := make([]uintptr, len(gp))
	lens := make([]uint16, len(gp))
	for i, p := range gp {
		pkts[i] = p.Data
		addrs[i] = uintptr(unsafe.Pointer(unsafe.SliceData(p.Data)))
		lens[i] = uint16(len(p.Data))
	}
	return pkts, addrs, lens
}

// BenchmarkHashBurst32 hashes a burst of 32 packets per mode; traffic
// "plain4" is Ethernet/IPv4/L4, "tunnels" a mix of every encapsulation.
func BenchmarkHashBurst32(b *testing.B) {
	traffic := []struct {
		name string
		mix  []pcapgen.Kind
	}{
		{"plain4", []pcapgen.Kind{pcapgen.Plain4}},
		{"plain6", []pcapgen.Kind{pcapgen.Plain6}},
		{"mixed", []pcapgen.Kind{pcapgen.Plain4, pcapgen.Plain6, pcapgen.VLAN, pcapgen.QinQ, pcapgen.IPIP, pcapgen.GRE, pcapgen.NVGRE, pcapgen.VXLAN, pcapgen.GTPU, pcapgen.V6Ext, pcapgen.Frag}},
	}
	for _, tr := range traffic {
		pkts, addrs, lens := benchPackets(b, tr.mix)
		out := make([]uint32, len(pkts))
		for _, hm := range allHashes {
			for _, mode := range allModes {
				h, _ := New(mode, hm, 0)
				b.Run(fmt.Sprintf("%s/%v/%v", tr.name, hm, mode), func(b *testing.B) {
					cpu := startCPU(b)
					for b.Loop() {
						h.HashBurstAddrs(addrs, lens, out)
					}
					cpu.report(b, len(pkts))
				})
			}
		}
		keepAlive(pkts)
	}
}

// BenchmarkCRCKeys32 is the CRC kernel alone over 32 prepared 12-byte keys.
func BenchmarkCRCKeys32(b *testing.B) {
	var keys [32]key
	for i := range keys {
		keys[i] = key{w: [5]uint64{uint64(i) * 0x9e3779b97f4a7c15, uint64(i)}, n: 12}
	}
	var out [32]uint32
	run := func(b *testing.B) {
		cpu := startCPU(b)
		for b.Loop() {
			crcKeys(&keys[0], 32, 0, &out[0])
		}
		cpu.report(b, 32)
	}
	b.Run("best", run)
	if hasAsm() {
		defer disableSSE42()()
		b.Run("purego", run)
	}
}

// cpuClock measures the benchmark goroutine's thread CPU time as well as
// wall time: on a shared machine the wall-clock ns/op includes time spent
// descheduled, the thread CPU time does not.
type cpuClock struct{ start int64 }

func threadCPU() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return ts.Nano()
}

func startCPU(b *testing.B) *cpuClock {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	return &cpuClock{start: threadCPU()}
}

// report adds ns/pkt (wall) and cpu-ns/pkt (thread CPU time) metrics.
func (c *cpuClock) report(b *testing.B, perOp int) {
	cpu := threadCPU() - c.start
	n := float64(b.N * perOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/pkt")
	b.ReportMetric(float64(cpu)/n, "cpu-ns/pkt")
}

func TestExportedCore(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	b := make([]byte, 300)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for n := 0; n <= len(b); n++ {
		s := rng.Uint32()
		if CRC(b[:n], s) != crcBytesGeneric(b[:n], s) {
			t.Fatalf("CRC len %d", n)
		}
	}
	for _, p := range genPackets(t, 17, 100, 500) {
		for _, mode := range allModes {
			for _, hm := range allHashes {
				h, _ := New(mode, hm, 3)
				k := h.AppendKey(nil, p.Data)
				if got, want := h.Hash(p.Data), refHash(hm, 3, k); got != want {
					t.Fatalf("%v %v %v: Hash %#x, hash of AppendKey %#x", p.Kind, mode, hm, got, want)
				}
				if hm == HashSymCRC && len(k) > 0 && CRC(k, 3) != h.Hash(p.Data) {
					t.Fatal("CRC of key")
				}
			}
		}
	}
}
