package hashref

import (
	"fmt"
	"io"
	"runtime"
	"time"
	"unsafe"

	"github.com/gomarsio/marsio/fastpath/flowhash"
	"github.com/gomarsio/marsio/internal/pcapgen"
)

// Result is one row of the mrbench "hash" suite, in the mrbench JSON shape.
type Result struct {
	Suite string  `json:"suite"`
	Case  string  `json:"case"`
	GoNs  float64 `json:"go_ns"` // flowhash, per packet, parsing included
	CNs   float64 `json:"c_ns"`  // the C reference, per packet, parsing included
	Ratio float64 `json:"ratio"` // GoNs / CNs
}

// Burst is the burst size the suite hashes.
const Burst = 32

// The C references a case compares flowhash with.
const (
	// RefCRC is the C twin: the same header parsing and symmetric key in
	// C, then rte_hash_crc (HashBurst).
	RefCRC = "crc"
	// RefSoftRSS is the same parsing in C, then DPDK's software Toeplitz
	// hash (rte_softrss_be) over the tuple with the symmetric RSS key
	// (SoftRSSBurst): a second, different-hash reference.
	RefSoftRSS = "softrss"
	// RefXXHash is the C twin of sym_xxhash: the same parsing and key in
	// C, then the xxHash library's XXH64 folded to 32 bits (XXHBurst);
	// flowhash runs with sym_xxhash.
	RefXXHash = "xxhash"
)

// SuiteCase is one traffic mix, distribution mode and C reference.
type SuiteCase struct {
	Traffic string
	Mix     []pcapgen.Kind
	Mode    flowhash.DistMode
	Ref     string // RefCRC, RefSoftRSS or RefXXHash
}

// SuiteCases returns the hash suite's cases: plain IPv4, plain IPv6 and a
// mix of every encapsulation, under each distribution mode against the C
// twin (RefCRC), plus outer_tuple4 against the symmetric software
// Toeplitz hash (RefSoftRSS), then sym_xxhash under each distribution
// mode against its C twin (RefXXHash).
func SuiteCases() []SuiteCase {
	mixes := []struct {
		name string
		mix  []pcapgen.Kind
	}{
		{"plain4", []pcapgen.Kind{pcapgen.Plain4}},
		{"plain6", []pcapgen.Kind{pcapgen.Plain6}},
		{"mixed", []pcapgen.Kind{pcapgen.Plain4, pcapgen.Plain6, pcapgen.VLAN, pcapgen.QinQ, pcapgen.IPIP, pcapgen.GRE,
			pcapgen.NVGRE, pcapgen.VXLAN, pcapgen.GTPU, pcapgen.V6Ext, pcapgen.Frag}},
	}
	var cs []SuiteCase
	for _, m := range mixes {
		for _, mode := range []flowhash.DistMode{flowhash.DistOuterTuple2, flowhash.DistOuterTuple4, flowhash.DistInnerTuple2, flowhash.DistInnerTuple4} {
			cs = append(cs, SuiteCase{Traffic: m.name, Mix: m.mix, Mode: mode, Ref: RefCRC})
		}
		cs = append(cs, SuiteCase{Traffic: m.name, Mix: m.mix, Mode: flowhash.DistOuterTuple4, Ref: RefSoftRSS})
	}
	// After the sym_crc cases, so the existing rows keep their order.
	for _, m := range mixes {
		for _, mode := range []flowhash.DistMode{flowhash.DistOuterTuple2, flowhash.DistOuterTuple4, flowhash.DistInnerTuple2, flowhash.DistInnerTuple4} {
			cs = append(cs, SuiteCase{Traffic: m.name, Mix: m.mix, Mode: mode, Ref: RefXXHash})
		}
	}
	return cs
}

// Case is one case set up for measuring: a burst of Burst generated
// packets and their addresses and lengths, which both sides hash.
type Case struct {
	Name  string // e.g. "plain4/outer_tuple4/burst32", "…/burst32/softrss", "…/burst32/xxhash"
	h     flowhash.Hasher
	ref   string
	pkts  []pcapgen.Packet
	addrs []uintptr
	lens  []uint16
	goOut []uint32
	cOut  []uint32
}

// NewCase prepares c.
func NewCase(c SuiteCase) (*Case, error) {
	gp, err := pcapgen.Generate(pcapgen.Config{Seed: 1, Flows: Burst, Packets: Burst, Mix: c.Mix})
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s/%v/burst%d", c.Traffic, c.Mode, Burst)
	hm := flowhash.HashSymCRC
	switch c.Ref {
	case RefCRC, "":
	case RefSoftRSS:
		name += "/softrss"
	case RefXXHash:
		name += "/xxhash"
		hm = flowhash.HashSymXXHash
	default:
		return nil, fmt.Errorf("hash suite: unknown reference %q", c.Ref)
	}
	h, err := flowhash.New(c.Mode, hm, 0)
	if err != nil {
		return nil, err
	}
	cs := &Case{
		Name: name, h: h, ref: c.Ref, pkts: gp,
		addrs: make([]uintptr, Burst), lens: make([]uint16, Burst),
		goOut: make([]uint32, Burst), cOut: make([]uint32, Burst),
	}
	for i, p := range gp {
		cs.addrs[i] = uintptr(unsafe.Pointer(unsafe.SliceData(p.Data)))
		cs.lens[i] = uint16(len(p.Data))
	}
	return cs, nil
}

// GoBursts hashes the burst iters times with flowhash's HashBurstAddrs
// (header parsing included).
func (c *Case) GoBursts(iters uint64) {
	for i := uint64(0); i < iters; i++ {
		c.h.HashBurstAddrs(c.addrs, c.lens, c.goOut)
	}
	runtime.KeepAlive(c.pkts)
}

// CBursts hashes the same burst iters times with the case's C reference
// in a C loop (one cgo call; header parsing included) and returns the
// thread CPU time it took.
func (c *Case) CBursts(iters uint64) time.Duration {
	defer runtime.KeepAlive(c.pkts)
	switch c.ref {
	case RefSoftRSS:
		return BenchSoftRSS(c.h.DistMode(), c.addrs, c.lens, int(iters), c.cOut, true)
	case RefXXHash:
		return BenchXXH(c.h.DistMode(), c.h.Seed(), c.addrs, c.lens, int(iters), c.cOut, true)
	}
	return BenchBurst(c.h.DistMode(), c.h.Seed(), c.addrs, c.lens, int(iters), c.cOut, true)
}

// Check reports an error unless the last GoBursts and CBursts produced the
// same hashes (for the softrss reference: unless CBursts produced
// rte_softrss's hashes, a different function from flowhash's).
func (c *Case) Check() error {
	want := c.goOut
	if c.ref == RefSoftRSS {
		want = make([]uint32, len(c.cOut))
		SoftRSSBurst(c.h.DistMode(), false, c.addrs, c.lens, want)
		runtime.KeepAlive(c.pkts)
	}
	for i := range want {
		if want[i] != c.cOut[i] {
			return fmt.Errorf("%s: packet %d: want %#x, C reference %#x", c.Name, i, want[i], c.cOut[i])
		}
	}
	return nil
}

// RunCase measures one case: flowhash's HashBurstAddrs over a burst of
// Burst generated packets (header parsing included) against the C
// reference doing the same work on the same packets (the same parsing and
// key, then rte_hash_crc; rte_softrss_be for RefSoftRSS; XXH64 for
// RefXXHash, flowhash then running sym_xxhash). Both sides
// run on the calling thread, each for about d, and are timed on thread CPU
// time (the machine is shared; wall time would count other processes);
// the best of rounds repetitions of each is kept. Results are per packet.
// It checks that both sides produced the same hashes.
func RunCase(sc SuiteCase, d time.Duration, rounds int) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c, err := NewCase(sc)
	if err != nil {
		return Result{}, err
	}
	goRun := func(iters int) time.Duration {
		t0 := ThreadCPU()
		c.GoBursts(uint64(iters))
		return ThreadCPU() - t0
	}
	cRun := func(iters int) time.Duration { return c.CBursts(uint64(iters)) }
	best := func(run func(int) time.Duration) float64 {
		iters := 1000
		for el := run(iters); el < d/10 && iters < 1<<30; el = run(iters) {
			iters *= 4
		}
		if el := run(iters); el > 0 {
			iters = max(1, int(float64(iters)*float64(d)/float64(el)))
		}
		b := 0.0
		for r := 0; r < max(1, rounds); r++ {
			ns := float64(run(iters).Nanoseconds()) / float64(iters*Burst)
			if r == 0 || ns < b {
				b = ns
			}
		}
		return b
	}
	res := Result{Suite: "hash", Case: c.Name}
	res.GoNs = best(goRun)
	res.CNs = best(cRun)
	if err := c.Check(); err != nil {
		return res, err
	}
	if res.CNs > 0 {
		res.Ratio = res.GoNs / res.CNs
	}
	return res, nil
}

// RunSuite runs every case of SuiteCases, printing one line per case to
// progress (if not nil), and returns the results.
func RunSuite(d time.Duration, rounds int, progress io.Writer) ([]Result, error) {
	var rs []Result
	for _, c := range SuiteCases() {
		r, err := RunCase(c, d, rounds)
		if err != nil {
			return rs, err
		}
		if progress != nil {
			fmt.Fprintf(progress, "%-32s go %6.2f ns/pkt  c %6.2f ns/pkt  ratio %.2f\n", r.Case, r.GoNs, r.CNs, r.Ratio)
		}
		rs = append(rs, r)
	}
	return rs, nil
}
