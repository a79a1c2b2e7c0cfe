package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/gomarsio/marsio/shm"
	"github.com/gomarsio/marsio/zz_generated/abi"
)

// e2eLatEnv, set to "<file prefix> <devsym>", makes mrbench a latency
// reader child: it attaches to the daemon (pure Go: the parent cannot, its
// dpdkref EAL holds the same addresses) and answers each line on stdin with
// a JSON line: the vdev's histogram buckets.
const e2eLatEnv = "MRBENCH_E2E_LAT"

func init() {
	arg := os.Getenv(e2eLatEnv)
	if arg == "" {
		return
	}
	prefix, devsym, _ := strings.Cut(arg, " ")
	l, err := attachE2ELat(prefix, devsym)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mrbench e2e latency reader:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.Encode(l.tscHz)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		b, _ := l.snapshot()
		if enc.Encode(b) != nil {
			break
		}
	}
	l.h.Detach()
	os.Exit(0)
}

// e2eLatReader reads the daemon's port rx → port tx latency histogram of
// one vdev (struct mr_lat_hist in the root memzone), in the reader child
// (h, hist) or, in the parent, through that child (cmd, in, out).
type e2eLatReader struct {
	h     *shm.Handle
	hist  *abi.LatHist
	tscHz uint64

	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *json.Decoder
	exited <-chan error // the child's Wait, on its own thread (startPinned)
	stderr *syncBuf
}

// openE2ELat starts the reader child for devsym of the daemon behind prefix.
func openE2ELat(prefix, devsym string) (*e2eLatReader, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	l := &e2eLatReader{cmd: exec.Command(self), stderr: &syncBuf{}}
	l.cmd.Env = append(os.Environ(), e2eLatEnv+"="+prefix+" "+devsym)
	l.cmd.Stderr = l.stderr
	l.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if l.in, err = l.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// Pdeathsig follows the forking *thread*: started from whatever thread
	// this goroutine is on, the reader was killed as soon as Go threw that
	// thread away (it does when a goroutine that locked it exits, as every
	// startPinned goroutine does after its child), and every later
	// snapshot of the run came out empty. startPinned (no CPU) forks from a
	// thread of its own that lives until the reader exits.
	if l.exited, err = startPinned(l.cmd, -1); err != nil {
		return nil, err
	}
	l.out = json.NewDecoder(out)
	if err := l.out.Decode(&l.tscHz); err != nil {
		l.close()
		return nil, fmt.Errorf("latency reader: %w: %s", err, strings.TrimSpace(l.stderr.String()))
	}
	return l, nil
}

// attachE2ELat attaches to the daemon behind prefix and finds devsym's
// histogram (reader child).
func attachE2ELat(prefix, devsym string) (*e2eLatReader, error) {
	h, err := shm.Attach(shm.Options{FilePrefix: prefix, NoIPC: true})
	if err != nil {
		return nil, fmt.Errorf("attach to the daemon's memory: %w", err)
	}
	mz, err := h.Memzone(abi.MR_ROOT_MEMZONE)
	if err != nil {
		h.Detach()
		return nil, fmt.Errorf("root memzone: %w", err)
	}
	if mz.Len < abi.SizeofRoot {
		h.Detach()
		return nil, fmt.Errorf("root memzone is %d bytes, want %d: daemon of another version", mz.Len, abi.SizeofRoot)
	}
	a := mz.Addr
	r := (*abi.Root)(*(*unsafe.Pointer)(unsafe.Pointer(&a))) // shared memory, not Go heap
	if r.RxtscDynfieldOffset < 0 || r.TscHz == 0 {
		h.Detach()
		return nil, fmt.Errorf("the daemon has no latency stamps (rxtsc dynfield %d, tsc_hz %d)", r.RxtscDynfieldOffset, r.TscHz)
	}
	for i := 0; i < int(r.NrVdevs) && i < len(r.Vdevs); i++ {
		if name, _, _ := bytes.Cut(r.Vdevs[i].Devsym[:], []byte{0}); string(name) == devsym {
			return &e2eLatReader{h: h, hist: &r.Lat[i], tscHz: r.TscHz}, nil
		}
	}
	h.Detach()
	return nil, fmt.Errorf("vdev %s not in the daemon's root", devsym)
}

// snapshot copies the histogram's buckets (the daemon writes them without
// synchronisation: a snapshot may miss the increments of one burst). In
// the parent it asks the reader child.
func (l *e2eLatReader) snapshot() ([]uint64, error) {
	if l.cmd != nil {
		var b []uint64
		if _, err := io.WriteString(l.in, "snap\n"); err != nil {
			return nil, fmt.Errorf("latency reader: %w: %s", err, strings.TrimSpace(l.stderr.String()))
		}
		if err := l.out.Decode(&b); err != nil {
			return nil, fmt.Errorf("latency reader: %w: %s", err, strings.TrimSpace(l.stderr.String()))
		}
		if len(b) != abi.MR_LAT_BUCKETS {
			return nil, fmt.Errorf("latency reader: %d buckets, want %d", len(b), abi.MR_LAT_BUCKETS)
		}
		return b, nil
	}
	out := make([]uint64, abi.MR_LAT_BUCKETS)
	for i := range out {
		out[i] = atomic.LoadUint64(&l.hist.Buckets[i])
	}
	return out, nil
}

// close ends the reader child.
func (l *e2eLatReader) close() {
	l.in.Close()
	<-l.exited
}

// e2eLat are latency percentiles of a run, in nanoseconds (bucket upper
// bounds: log2-linear buckets, within 12.5%).
type e2eLat struct {
	Count                 uint64
	P50, P99, P999, MaxNs float64
}

// latBucketUpper is the largest TSC value of bucket b (see struct mr_lat_hist).
func latBucketUpper(b int) uint64 {
	const sub = abi.MR_LAT_SUB_BITS
	if b < 1<<sub {
		return uint64(b)
	}
	e := b>>sub + sub - 1
	lo := uint64(1)<<e | uint64(b&(1<<sub-1))<<(e-sub)
	return lo + uint64(1)<<(e-sub) - 1
}

// latBucketOf is the daemon's bucket function (lat.h), for the tests.
func latBucketOf(v uint64) int {
	const sub = abi.MR_LAT_SUB_BITS
	if v < 1<<sub {
		return int(v)
	}
	e := 63 - bits.LeadingZeros64(v)
	return (e-sub+1)<<sub + int(v>>(e-sub)&(1<<sub-1))
}

// latDiff turns two snapshots into percentiles.
func latDiff(before, after []uint64, tscHz uint64) e2eLat {
	var l e2eLat
	if len(before) != len(after) {
		return l
	}
	d := make([]uint64, len(after))
	for i := range after {
		if after[i] > before[i] {
			d[i] = after[i] - before[i]
		}
		l.Count += d[i]
	}
	if l.Count == 0 || tscHz == 0 {
		return l
	}
	ns := func(b int) float64 { return float64(latBucketUpper(b)) * 1e9 / float64(tscHz) }
	q := func(p float64) float64 {
		want := uint64(p*float64(l.Count) + 0.5)
		want = max(want, 1)
		var acc uint64
		for i, c := range d {
			acc += c
			if acc >= want {
				return ns(i)
			}
		}
		return ns(len(d) - 1)
	}
	l.P50, l.P99, l.P999 = q(0.50), q(0.99), q(0.999)
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] > 0 {
			l.MaxNs = ns(i)
			break
		}
	}
	return l
}

// e2eGC is what the Go collector did during a phase (Go child only).
type e2eGC struct {
	Pauses  uint64  `json:"pauses"`   // stop-the-world pauses
	MaxNs   float64 `json:"max_ns"`   // longest (histogram bucket upper bound)
	TotalNs float64 `json:"total_ns"` // sum (bucket midpoints)
	Cycles  uint64  `json:"cycles"`   // GC cycles completed
}

var gcSamples = []metrics.Sample{{Name: "/gc/pauses:seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}

// gcSnap reads the runtime's pause histogram and cycle count.
func gcSnap() ([]uint64, []float64, uint64) {
	metrics.Read(gcSamples)
	h := gcSamples[0].Value.Float64Histogram()
	return append([]uint64(nil), h.Counts...), h.Buckets, gcSamples[1].Value.Uint64()
}

// gcDiff is the GC activity between two gcSnap calls.
func gcDiff(c0 []uint64, cy0 uint64, c1 []uint64, buckets []float64, cy1 uint64) e2eGC {
	g := e2eGC{Cycles: cy1 - cy0}
	for i := range c1 {
		n := c1[i] - c0[i]
		if n == 0 {
			continue
		}
		g.Pauses += n
		lo, hi := buckets[i], buckets[i+1]
		if hi > 1e300 {
			hi = lo
		}
		if lo < -1e300 {
			lo = 0
		}
		g.MaxNs = hi * 1e9
		g.TotalNs += float64(n) * (lo + hi) / 2 * 1e9
	}
	return g
}
