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
	CNs   float64 `json:"c_ns"`  // rte_hash_crc, per packet, on the pre-extracted key
	Ratio float64 `json:"ratio"` // GoNs / CNs
}

// Burst is the burst size the suite hashes.
const Burst = 32

// keyStride is the spacing of pre-extracted keys for the C loop.
const keyStride = 64

// SuiteCase is one traffic mix and distribution mode.
type SuiteCase struct {
	Traffic string
	Mix     []pcapgen.Kind
	Mode    flowhash.DistMode
}

// SuiteCases returns the hash suite's cases: plain IPv4, plain IPv6 and a
// mix of every encapsulation, under each distribution mode.
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
			cs = append(cs, SuiteCase{Traffic: m.name, Mix: m.mix, Mode: mode})
		}
	}
	return cs
}

// Case is one case set up for measuring: a burst of Burst generated
// packets, their addresses and lengths for flowhash, and their keys
// extracted beforehand for the C loop.
type Case struct {
	Name    string // e.g. "plain4/outer_tuple4/burst32"
	h       flowhash.Hasher
	pkts    []pcapgen.Packet
	addrs   []uintptr
	lens    []uint16
	keys    []byte
	keyLens []uint32
	goOut   []uint32
	cOut    []uint32
}

// NewCase prepares c.
func NewCase(c SuiteCase) (*Case, error) {
	gp, err := pcapgen.Generate(pcapgen.Config{Seed: 1, Flows: Burst, Packets: Burst, Mix: c.Mix})
	if err != nil {
		return nil, err
	}
	h, err := flowhash.New(c.Mode, flowhash.HashSymCRC, 0)
	if err != nil {
		return nil, err
	}
	cs := &Case{
		Name: fmt.Sprintf("%s/%v/burst%d", c.Traffic, c.Mode, Burst), h: h, pkts: gp,
		addrs: make([]uintptr, Burst), lens: make([]uint16, Burst),
		keys: make([]byte, Burst*keyStride), keyLens: make([]uint32, Burst),
		goOut: make([]uint32, Burst), cOut: make([]uint32, Burst),
	}
	for i, p := range gp {
		cs.addrs[i] = uintptr(unsafe.Pointer(unsafe.SliceData(p.Data)))
		cs.lens[i] = uint16(len(p.Data))
		cs.keyLens[i] = uint32(copy(cs.keys[i*keyStride:], h.AppendKey(nil, p.Data)))
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

// CBursts hashes the burst's pre-extracted keys iters times with
// rte_hash_crc in a C loop and returns the thread CPU time it took.
func (c *Case) CBursts(iters uint64) time.Duration {
	return BenchKeys(c.keys, c.keyLens, keyStride, 0, int(iters), c.cOut, true)
}

// Check reports an error unless the last GoBursts and CBursts produced the
// same hashes.
func (c *Case) Check() error {
	for i := range c.goOut {
		if c.goOut[i] != c.cOut[i] {
			return fmt.Errorf("%s: packet %d: flowhash %#x, rte_hash_crc %#x", c.Name, i, c.goOut[i], c.cOut[i])
		}
	}
	return nil
}

// RunCase measures one case: flowhash's HashBurstAddrs over a burst of
// Burst generated packets (header parsing included) against DPDK's
// rte_hash_crc called once per packet on the same packets' keys, extracted
// beforehand (no parsing: the C side does strictly less work). Both sides
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
