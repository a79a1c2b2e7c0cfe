package marsio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/fastpath/flowhash"
	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/pcapgen"
	"github.com/gomarsio/marsio/internal/pcapio"
)

// End-to-end tests against a real mrzcpd (internal/daemontest starts it
// with its own file prefix and run dir and cleans up after it). Under
// `-tags eal` every test runs in its own child process (isolate), since
// EAL initialises once per process.

// pcapConfig: a net_pcap port replaying in.pcap once into vdev vxe0 (held
// until the app opens it) and writing what the app sends to out.pcap.
const pcapConfig = `
[eal]
memory=256
[pool:MZ0]
size=8191
[port:p0]
devargs=net_pcap0,rx_pcap=${RUN_DIR}/in.pcap,tx_pcap=${RUN_DIR}/out.pcap
[vdev:vxe0]
port=p0
hold_rx=1
rx_streams_max=8
tx_streams_max=8
# Every stream ring holds the whole pcap: net_pcap replays as fast as it
# can, and a busy 2-core machine must not turn that into ring-full drops.
ring_size=4096
`

// ringConfig: a net_ring port, a loopback (what the app sends comes back),
// for idle/wake-up and allocation tests.
const ringConfig = `
[eal]
memory=256
[pool:MZ0]
size=8191
[port:r0]
devargs=net_ring0
[vdev:vxe0]
port=r0
rx_streams_max=4
tx_streams_max=4
[port:r1]
devargs=net_ring1
[vdev:vxe1]
port=r1
rx_streams_max=2
tx_streams_max=2
apps=someone_else
[port:r2]
devargs=net_ring2
[vdev:vxe2]
port=r2
rx_streams_max=2
tx_streams_max=2
`

func pcapFile(t *testing.T, frames [][]byte) []byte {
	var b bytes.Buffer
	w, err := pcapio.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for k, f := range frames {
		if err := w.WritePacket(ts.Add(time.Duration(k)*time.Microsecond), f, len(f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readPcap(t *testing.T, path string) [][]byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapio.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		out = append(out, rec.Data)
	}
	return out
}

// attachApp creates and initialises an instance against d.
func attachApp(t testing.TB, d *daemontest.Daemon, appsym string, opts ...Option) *Instance {
	t.Helper()
	i, err := New(append([]Option{WithStatusDir(d.RunDir)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := i.Init(appsym); err != nil {
		t.Fatalf("Init(%s): %v", appsym, err)
	}
	t.Cleanup(func() { i.Close() })
	return i
}

// oneThreadApp attaches appsym with one thread, opens vxe0 with one rx and
// tx tx streams (and opts) and claims the calling goroutine as the thread
// (released when the test ends, before the instance closes).
func oneThreadApp(t *testing.T, d *daemontest.Daemon, appsym string, tx int, opts ...DeviceOption) (*Instance, *Device, *Thread) {
	t.Helper()
	i := attachApp(t, d, appsym, WithThreads(1))
	dev, err := i.OpenDevice("vxe0", 1, tx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	th, err := i.ThreadInit()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(th.Release)
	return i, dev, th
}

// poolAvail returns the daemon's view of pool 0's free mbufs.
func poolAvail(t *testing.T, d *daemontest.Daemon) uint32 {
	return d.Status(t).Pools[0].Available
}

// echo runs n threads that send back on vxe0 whatever they receive, until
// want packets have been received; it returns, per packet received, its
// bytes and the receiving thread.
func echo(t *testing.T, i *Instance, dev *Device, want int) (pkts [][]byte, thread []int) {
	t.Helper()
	var mu sync.Mutex
	var got atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, i.Threads())
	for k := 0; k < i.Threads(); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th, err := i.ThreadInit()
			if err != nil {
				errs <- err
				return
			}
			defer th.Release()
			bufs := make([]Buffer, 32)
			hashes := make([]uint32, len(bufs))
			for got.Load() < int64(want) && ctx.Err() == nil {
				n, err := th.RecvBurst(dev, bufs)
				if err != nil {
					errs <- err
					return
				}
				if n == 0 {
					if err := th.PollWait(ctx, 50*time.Millisecond, dev); err != nil && ctx.Err() == nil {
						errs <- err
						return
					}
					continue
				}
				// One definition, two consumers: the hash the daemon
				// distributed each packet by (hash.rss) is the library's,
				// one at a time and by the burst.
				th.FlowHashBurst(bufs[:n], hashes)
				for k, b := range bufs[:n] {
					if b.Hash() != hashes[k] || th.FlowHash(b) != hashes[k] {
						errs <- fmt.Errorf("daemon hash %#x, FlowHashBurst %#x, FlowHash %#x for % x",
							b.Hash(), hashes[k], th.FlowHash(b), b.Data()[:min(48, len(b.Data()))])
						return
					}
				}
				mu.Lock()
				for _, b := range bufs[:n] {
					pkts = append(pkts, append([]byte(nil), b.Data()...))
					thread = append(thread, th.ID())
				}
				mu.Unlock()
				got.Add(int64(n))
				if sent, err := th.SendBurst(dev, bufs[:n]); err != nil || sent != n {
					errs <- errors.Join(err, errors.New("tx ring full"))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got.Load() != int64(want) {
		t.Fatalf("received %d packets, want %d", got.Load(), want)
	}
	return pkts, thread
}

// testPcapEcho runs the echo over the pcapgen capture with the given
// distribution and hash modes (set in the config's [service] section when
// not the defaults).
func testPcapEcho(t *testing.T, threads int, dm flowhash.DistMode, hm flowhash.HashMode) {
	service := ""
	if dm != flowhash.DistModeDefault || hm != flowhash.HashModeDefault {
		service = fmt.Sprintf("[service]\ndistmode=%d\nhashmode=%d\n", dm, hm)
	}
	gen, err := pcapgen.Generate(pcapgen.Config{Seed: 7, Flows: 48, Packets: 3000})
	if err != nil {
		t.Fatal(err)
	}
	frames := make([][]byte, len(gen))
	flowOf := map[string]int{} // well-formed members of a flow only (malformed packets hash alone)
	for k, p := range gen {
		frames[k] = p.Data
		if p.Symmetric {
			flowOf[string(p.Data)] = p.Flow
		} else {
			flowOf[string(p.Data)] = -1
		}
	}
	d := daemontest.Start(t, daemontest.Options{Config: pcapConfig + service, Files: map[string][]byte{"in.pcap": pcapFile(t, frames)}})
	before := poolAvail(t, d)
	i := attachApp(t, d, "echo", WithThreads(threads))
	if h := i.Hasher(); h.DistMode() != dm || h.HashMode() != hm {
		t.Fatalf("the app hashes with %v/%v, the config says %v/%v", h.DistMode(), h.HashMode(), dm, hm)
	}
	dev, err := i.OpenDevice("vxe0", threads, threads)
	if err != nil {
		t.Fatal(err)
	}
	pkts, thread := echo(t, i, dev, len(frames))

	// Every packet's thread is the one its flow hash selects, and both
	// directions of every flow met on that thread.
	h := i.Hasher()
	flowThread := map[int]int{}
	perThread := make([]int, threads)
	for k, p := range pkts {
		want := int(flowhash.Distribute(h.Hash(p), uint32(threads)))
		if thread[k] != want {
			t.Fatalf("packet %d on thread %d, its hash selects %d", k, thread[k], want)
		}
		f, ok := flowOf[string(p)]
		if !ok {
			t.Fatalf("received a packet that is not in the pcap: % x", p[:min(32, len(p))])
		}
		if f >= 0 {
			if ft, seen := flowThread[f]; seen && ft != thread[k] {
				t.Fatalf("flow %d on threads %d and %d", f, ft, thread[k])
			}
			flowThread[f] = thread[k]
		}
		perThread[thread[k]]++
	}
	t.Logf("%d threads, packets per thread %v, %d flows", threads, perThread, len(flowThread))

	// Wait until the daemon sent everything to the port, then stop it so
	// net_pcap flushes out.pcap.
	// (Read from the vdev's port_tx counters in shared memory.)
	portTx := func() uint64 { return atomic.LoadUint64(&dev.desc.PortTx.Pkts) }
	for deadline := time.Now().Add(60 * time.Second); portTx() < uint64(len(frames)) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := portTx(); n != uint64(len(frames)) {
		t.Fatalf("daemon sent %d of %d packets to the port", n, len(frames))
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.WaitStatus(t, 15*time.Second, func(s *monit.Daemon) bool { return s.Pools[0].Available == before }); !ok {
		t.Errorf("pool has %d free mbufs after Close, %d before the app", poolAvail(t, d), before)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	out := readPcap(t, filepath.Join(d.RunDir, "out.pcap"))
	if len(out) != len(frames) {
		t.Fatalf("out.pcap has %d packets, in.pcap %d", len(out), len(frames))
	}
	if threads == 1 {
		// One stream: FIFO all the way, so the files are identical packet by packet.
		for k := range frames {
			if !bytes.Equal(out[k], frames[k]) {
				t.Fatalf("packet %d differs:\n in % x\nout % x", k, frames[k], out[k])
			}
		}
		return
	}
	// Several streams: per flow the order holds; overall compare as multisets.
	count := map[string]int{}
	for _, f := range frames {
		count[string(f)]++
	}
	for k, o := range out {
		if count[string(o)] == 0 {
			t.Fatalf("out packet %d not in the input (or duplicated): % x", k, o[:min(32, len(o))])
		}
		count[string(o)]--
	}
}

// TestPcapEchoOneThread: pcap in → app → pcap out, byte-identical for every
// packet, in order.
func TestPcapEchoOneThread(t *testing.T) {
	if isolate(t) {
		return
	}
	testPcapEcho(t, 1, flowhash.DistModeDefault, flowhash.HashModeDefault)
}

// TestPcapEchoThreads: three threads each get only their stream's packets
// (the ones their flow hash selects) and both directions of a flow meet on
// one thread; out.pcap holds every input packet exactly once.
func TestPcapEchoThreads(t *testing.T) {
	if isolate(t) {
		return
	}
	testPcapEcho(t, 3, flowhash.DistModeDefault, flowhash.HashModeDefault)
}

// TestPcapEchoInnerXXHash is TestPcapEchoThreads with distmode inner
// 4-tuple and hashmode symmetric xxhash: the daemon and the library read
// the modes from the same config and agree on every packet (tunnels
// included).
func TestPcapEchoInnerXXHash(t *testing.T) {
	if isolate(t) {
		return
	}
	testPcapEcho(t, 3, flowhash.DistInnerTuple4, flowhash.HashSymXXHash)
}

// udpFrame builds an IPv4/UDP frame from src to dst.
func udpFrame(src, dst [4]byte, sport, dport uint16, payload int) []byte {
	f := make([]byte, 14+20+8+payload)
	copy(f[0:6], []byte{0x02, 0, 0, 0, 0, 2})
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+payload))
	ip[8] = 64
	ip[9] = 17
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+payload))
	return f
}

// frameFor returns a frame whose flow hash selects stream s of n.
func frameFor(h flowhash.Hasher, s, n int, seed byte) []byte {
	for a := 1; ; a++ {
		f := udpFrame([4]byte{10, seed, byte(a >> 8), byte(a)}, [4]byte{10, 99, 0, 1}, 1000, 2000, 18)
		if int(flowhash.Distribute(h.Hash(f), uint32(n))) == s {
			return f
		}
	}
}

// threadCPU returns the calling OS thread's CPU time.
func threadCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestPollWaitIdleAndWake: an idle thread sleeps in PollWait (netpoller)
// and in PollWaitEpoll with near-zero CPU (measured with getrusage over a
// window and reported; the only assertion is a generous sanity bound) and
// wakes when traffic arrives.
func TestPollWaitIdleAndWake(t *testing.T) {
	if isolate(t) {
		return
	}
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	i := attachApp(t, d, "sleeper", WithThreads(2))
	dev, err := i.OpenDevice("vxe0", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	const window = 1500 * time.Millisecond
	type result struct {
		mode         string
		cpu, procCPU time.Duration
		waits        int
		got          []byte
		wake         time.Duration
		err          error
	}
	modes := []string{"netpoll", "epoll"}
	rxID := make(chan int, 1)
	ready := make(chan struct{})
	sentAt := make(chan time.Time)
	res := make(chan result)
	go func() {
		th, err := i.ThreadInit()
		if err != nil {
			res <- result{err: err}
			return
		}
		defer th.Release()
		rxID <- th.ID()
		bufs := make([]Buffer, 8)
		ctx := context.Background()
		for _, mode := range modes {
			r := result{mode: mode}
			wait := th.PollWait
			if mode == "epoll" {
				wait = th.PollWaitEpoll
			}
			// Spin through the throttle until the thread sleeps, then
			// measure a window of sleeping.
			for k := 0; k < 300; k++ {
				th.RecvBurst(dev, bufs)
				wait(ctx, time.Millisecond, dev)
			}
			c0, p0 := threadCPU(), processCPU()
			end := time.Now().Add(window)
			for time.Now().Before(end) && r.err == nil {
				th.RecvBurst(dev, bufs)
				r.err = wait(ctx, time.Until(end), dev)
				r.waits++
			}
			r.cpu, r.procCPU = threadCPU()-c0, processCPU()-p0
			ready <- struct{}{}
			// Wake-up: block without a timeout until the packet comes.
			t0 := <-sentAt
			for r.err == nil {
				n, err := th.RecvBurst(dev, bufs)
				if err != nil {
					r.err = err
					break
				}
				if n > 0 {
					r.wake = time.Since(t0)
					r.got = append([]byte(nil), bufs[0].Data()...)
					th.Free(bufs[:n]...)
					break
				}
				r.err = wait(ctx, 0, dev)
			}
			res <- r
		}
	}()
	var id int
	select {
	case id = <-rxID:
	case r := <-res:
		t.Fatal(r.err)
	}
	tx, err := i.ThreadInit() // the test goroutine is the sender thread
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Release()
	for k := range modes {
		<-ready
		frame := frameFor(i.Hasher(), id, 2, byte(k))
		bufs := make([]Buffer, 1)
		if err := tx.Alloc(dev, bufs); err != nil {
			t.Fatal(err)
		}
		if err := bufs[0].SetData(frame); err != nil {
			t.Fatal(err)
		}
		sentAt <- time.Now()
		if n, err := tx.SendBurst(dev, bufs); n != 1 || err != nil {
			t.Fatalf("send: %d %v", n, err)
		}
		var r result
		select {
		case r = <-res:
		case <-time.After(10 * time.Second):
			t.Fatal("the sleeping thread did not wake up on traffic")
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !bytes.Equal(r.got, frame) {
			t.Fatalf("woke with % x, sent % x", r.got, frame)
		}
		t.Logf("%s: idle %v: sleeping thread CPU %v (%.2f%%), whole process %v (%.2f%% of one core), %d waits; wake-up latency %v",
			r.mode, window, r.cpu, 100*r.cpu.Seconds()/window.Seconds(), r.procCPU, 100*r.procCPU.Seconds()/window.Seconds(), r.waits, r.wake)
		if r.cpu > window/5 {
			t.Errorf("%s: idle thread used %v CPU in %v: not sleeping", r.mode, r.cpu, window)
		}
	}
	st, _ := dev.RxStats(id)
	if st.Events == 0 {
		t.Errorf("rx stream %d counted no sleeps", id)
	}
}

// TestDaemonKilled: kill -9 of the daemon gives every blocked call (netpoller
// and epoll waits) and every later call a typed ErrDaemonGone, the callback
// fires once, and Close still releases everything.
func TestDaemonKilled(t *testing.T) {
	if isolate(t) {
		return
	}
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	gone := make(chan error, 2)
	i := attachApp(t, d, "victim", WithThreads(2), WithOnDaemonGone(func(err error) { gone <- err }))
	dev, err := i.OpenDevice("vxe0", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	statusFile := filepath.Join(d.RunDir, AppStatusPrefix+"victim")
	errs := make(chan error, 2)
	var blocked sync.WaitGroup
	for _, epoll := range []bool{false, true} {
		blocked.Add(1)
		go func() {
			th, err := i.ThreadInit()
			if err != nil {
				errs <- err
				return
			}
			defer th.Release()
			bufs := make([]Buffer, 4)
			for k := 0; k < 300; k++ { // through the throttle
				th.RecvBurst(dev, bufs)
				th.PollWait(context.Background(), time.Millisecond, dev)
			}
			blocked.Done()
			for {
				if _, err := th.RecvBurst(dev, bufs); err != nil {
					errs <- err
					return
				}
				wait := th.PollWait
				if epoll {
					wait = th.PollWaitEpoll
				}
				if err := wait(context.Background(), time.Minute, dev); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	blocked.Wait()
	time.Sleep(100 * time.Millisecond) // both inside their wait
	d.Kill()
	for k := 0; k < 2; k++ {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrDaemonGone) {
				t.Fatalf("blocked call returned %v, want ErrDaemonGone", err)
			}
			t.Logf("blocked call: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("a blocked PollWait did not return after the daemon died")
		}
	}
	select {
	case err := <-gone:
		if !errors.Is(err, ErrDaemonGone) {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnDaemonGone not called")
	}
	if _, err := i.OpenDevice("vxe1", 1, 1); !errors.Is(err, ErrDaemonGone) {
		t.Fatalf("OpenDevice after the daemon died: %v", err)
	}
	if _, err := i.ThreadInit(); !errors.Is(err, ErrDaemonGone) {
		t.Fatalf("ThreadInit after the daemon died: %v", err)
	}
	if !errors.Is(i.Err(), ErrDaemonGone) {
		t.Fatal(i.Err())
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(statusFile); !os.IsNotExist(err) {
		t.Fatalf("status file after Close: %v", err)
	}
	select {
	case err := <-gone:
		t.Fatalf("callback fired twice: %v", err)
	default:
	}
}

// TestLiveBadInput: refusals by the daemon and by the library come back as
// typed errors, and nothing leaks (descriptors, mbufs).
func TestLiveBadInput(t *testing.T) {
	if isolate(t) {
		return
	}
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	before := poolAvail(t, d)
	fds := len(openFDs())
	i := attachApp(t, d, "picky", WithThreads(1))

	// appsym already live.
	j, _ := New(WithStatusDir(d.RunDir))
	if err := j.Init("picky"); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Init with a live appsym: %v", err)
	} else {
		t.Log(err)
	}
	j.Close()
	dev, err := i.OpenDevice("vxe0", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dev      string
		rx, tx   int
		want     error
		wantText string
	}{
		{"vxe0", 1, 1, ErrBusy, "already open"},
		{"nope", 1, 1, ErrNoDevice, "nope"},
		{"vxe1", 1, 1, ErrDenied, "vxe1"},
		{"vxe0/x", 1, 1, ErrInvalid, "contains"},
		{"vxe0", 65, 1, ErrInvalid, "65 rx"},
	} {
		if _, err := i.OpenDevice(c.dev, c.rx, c.tx); !errors.Is(err, c.want) {
			t.Errorf("OpenDevice(%s, %d, %d): %v, want %v", c.dev, c.rx, c.tx, err, c.want)
		} else {
			t.Log(err)
		}
	}
	// More streams than the vdev grants (rx_streams_max=2), and a vdev
	// another application holds.
	if _, err := i.OpenDevice("vxe2", 3, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("3 rx streams of 2: %v", err)
	} else {
		t.Log(err)
	}
	i2 := attachApp(t, d, "greedy")
	if _, err := i2.OpenDevice("vxe0", 1, 1); !errors.Is(err, ErrBusy) {
		t.Errorf("vdev held by another app: %v", err)
	} else {
		t.Log(err)
	}
	i2.Close()

	th, err := i.ThreadInit()
	if err != nil {
		t.Fatal(err)
	}
	defer th.Release()
	if _, err := i.ThreadInit(); !errors.Is(err, ErrThread) {
		t.Errorf("second ThreadInit on one thread: %v", err)
	}
	errc := make(chan error)
	go func() {
		th, err := i.ThreadInit()
		if err == nil {
			th.Release()
		}
		errc <- err
	}()
	if err := <-errc; !errors.Is(err, ErrThread) {
		t.Errorf("more ThreadInits than threads: %v", err)
	}
	if _, err := i.Thread(5); !errors.Is(err, ErrInvalid) {
		t.Errorf("Thread(5): %v", err)
	}
	if got, err := i.Thread(0); err != nil || got != th {
		t.Errorf("Thread(0): %v", err)
	}

	bufs := make([]Buffer, 4)
	if err := th.Alloc(dev, bufs); err != nil {
		t.Fatal(err)
	}
	if err := th.Free(bufs...); err != nil {
		t.Fatal(err)
	}
	if err := th.Free(bufs[0]); !errors.Is(err, ErrBadBuffer) {
		t.Errorf("double free: %v", err)
	}
	// A buffer this application does not own (a fake mbuf in Go memory
	// tagged as ours but from an unknown pool).
	fake := make([]uint64, 32)
	fb := BufferAt(uintptr(unsafePointer(&fake[0])))
	*i.ownerTag(fb.Addr()) = i.owner
	if err := th.Free(fb); !errors.Is(err, ErrBadBuffer) {
		t.Errorf("buffer from an unknown pool: %v", err)
	}
	*i.ownerTag(fb.Addr()) = 0
	if err := th.Free(fb); !errors.Is(err, ErrBadBuffer) {
		t.Errorf("buffer not ours: %v", err)
	}
	if err := th.Alloc(dev, make([]Buffer, 9000)); !errors.Is(err, ErrInvalid) {
		t.Errorf("alloc more than the pool: %v", err)
	}
	if _, err := th.SendBurstFlow(dev, bufs[:0]); !errors.Is(err, ErrInvalid) {
		t.Errorf("SendBurstFlow without SharedTx: %v", err)
	}

	// Context cancellation ends a sleeping PollWait (both ways of waiting).
	for _, wait := range []func(context.Context, time.Duration, ...*Device) error{th.PollWait, th.PollWaitEpoll} {
		for k := 0; k < 300; k++ { // through the throttle
			th.RecvBurst(dev, bufs)
			wait(context.Background(), time.Millisecond, dev)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		t0 := time.Now()
		if err := wait(ctx, time.Minute, dev); !errors.Is(err, context.Canceled) {
			t.Errorf("PollWait with a cancelled context: %v", err)
		}
		if el := time.Since(t0); el > 30*time.Second {
			t.Errorf("cancellation took %v", el)
		}
	}

	// Device.Close really releases the vdev at the daemon: another
	// application can open it, and this one can no longer use the handle.
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dev.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := th.RecvBurst(dev, bufs); !errors.Is(err, ErrClosed) {
		t.Errorf("RecvBurst on a closed device: %v", err)
	}
	if _, ok := i.Device("vxe0"); ok {
		t.Error("closed device still listed")
	}
	i3 := attachApp(t, d, "heir")
	if _, err := i3.OpenDevice("vxe0", 1, 1); err != nil {
		t.Errorf("open after the first app closed it: %v", err)
	}
	i3.Close()
	if dev, err = i.OpenDevice("vxe0", 1, 1); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if got, ok := i.Device("vxe0"); !ok || got != dev {
		t.Error("Device lookup")
	}

	// Close: twice is fine, everything after it is ErrClosed.
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := th.RecvBurst(dev, bufs); !errors.Is(err, ErrClosed) {
		t.Errorf("RecvBurst after Close: %v", err)
	}
	if err := th.PollWait(context.Background(), time.Second, dev); !errors.Is(err, ErrClosed) {
		t.Errorf("PollWait after Close: %v", err)
	}
	if _, err := i.OpenDevice("vxe0", 1, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("OpenDevice after Close: %v", err)
	}
	if err := dev.Close(); err != nil {
		t.Errorf("Device.Close after Close: %v", err)
	}
	if _, ok := d.WaitStatus(t, 5*time.Second, func(s *monit.Daemon) bool { return s.Pools[0].Available == before }); !ok {
		t.Errorf("pool has %d free mbufs, %d before", poolAvail(t, d), before)
	}
	// DPDK's rte_eal_cleanup keeps EAL's own descriptors (interrupt thread,
	// fbarrays): the count is checked on the pure-Go path only.
	if n := len(openFDs()); n != fds && attachPath != "EAL" {
		t.Errorf("%d descriptors open after Close, %d before", n, fds)
	}
}

func openFDs() []os.DirEntry {
	ents, _ := os.ReadDir("/proc/self/fd")
	return ents
}

// TestStatusFile: mrmonit.app.<appsym> shows devices, per-stream counters and
// threads while the app runs, and disappears at Close.
func TestStatusFile(t *testing.T) {
	if isolate(t) {
		return
	}
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	i, dev, th := oneThreadApp(t, d, "watched", 1)
	bufs := make([]Buffer, 3)
	if err := th.Alloc(dev, bufs); err != nil {
		t.Fatal(err)
	}
	for _, b := range bufs {
		b.SetData(udpFrame([4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1, 2, 50))
	}
	th.SendBurst(dev, bufs)
	got := 0
	for deadline := time.Now().Add(5 * time.Second); got < 3 && time.Now().Before(deadline); {
		n, _ := th.RecvBurst(dev, bufs)
		th.Free(bufs[:n]...)
		got += n
	}
	path := filepath.Join(d.RunDir, AppStatusPrefix+"watched")
	var a *monit.App
	var err error
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if a, err = monit.ReadApp(path); err == nil && len(a.Devices) == 1 && a.Devices[0].Rx[0].Pkts == 3 && len(a.Threads) == 1 {
			break
		}
	}
	if err != nil || len(a.Devices) != 1 || a.Devices[0].Devsym != "vxe0" || a.Devices[0].Rx[0].Pkts != 3 ||
		a.Devices[0].Tx[0].Pkts != 3 || a.Devices[0].Tx[0].Bytes != 3*92 || len(a.Threads) != 1 || a.Threads[0].TID != th.OSThread() {
		t.Fatalf("status %+v: %v", a, err)
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("status file after Close: %v", err)
	}
}

// TestNoAllocs: the fast path allocates nothing on the Go heap.
func TestNoAllocs(t *testing.T) {
	if isolate(t) {
		return
	}
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	_, dev, th := oneThreadApp(t, d, "frugal", 1, SharedTx())
	bufs := make([]Buffer, 32)
	hashes := make([]uint32, len(bufs))
	frame := udpFrame([4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1, 2, 50)
	ctx := context.Background()
	for name, f := range map[string]func(){
		"Alloc+Free": func() {
			if err := th.Alloc(dev, bufs); err != nil {
				t.Fatal(err)
			}
			if err := th.Free(bufs...); err != nil {
				t.Fatal(err)
			}
		},
		"Alloc+SendBurst+RecvBurst+Free": func() {
			th.Alloc(dev, bufs)
			for _, b := range bufs {
				b.SetData(frame)
			}
			th.SendBurst(dev, bufs)
			for got := 0; got < len(bufs); {
				n, err := th.RecvBurst(dev, bufs[got:])
				if err != nil {
					t.Fatal(err)
				}
				got += n
			}
			th.Free(bufs...)
		},
		"SendBurstFlow": func() {
			th.Alloc(dev, bufs)
			th.SendBurstFlow(dev, bufs)
			for got := 0; got < len(bufs); {
				n, _ := th.RecvBurst(dev, bufs[got:])
				got += n
			}
			th.Free(bufs...)
		},
		"PollWait(throttled)": func() { th.PollWait(ctx, time.Millisecond, dev) },
		"FlowHash+FlowHashBurst": func() {
			th.Alloc(dev, bufs)
			for _, b := range bufs {
				b.SetData(frame)
			}
			th.FlowHashBurst(bufs, hashes)
			hashes[0] = th.FlowHash(bufs[0])
			th.Free(bufs...)
		},
	} {
		if a := testing.AllocsPerRun(200, f); a != 0 {
			t.Errorf("%s: %v allocs per run", name, a)
		}
	}
}

// BenchmarkRecvSend32 is the application's receive+send loop at burst 32 on a
// net_ring loopback: packets circulate app → daemon → port → daemon → app.
func BenchmarkRecvSend32(b *testing.B) {
	d := daemontest.Start(b, daemontest.Options{Config: ringConfig})
	i, err := New(WithStatusDir(d.RunDir), WithThreads(1))
	if err != nil {
		b.Fatal(err)
	}
	if err := i.Init("bench"); err != nil {
		b.Fatal(err)
	}
	defer i.Close()
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
	frame := udpFrame([4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1, 2, 18)
	for k := 0; k < 16; k++ { // 512 packets in flight
		if err := th.Alloc(dev, bufs); err != nil {
			b.Fatal(err)
		}
		for _, x := range bufs {
			x.SetData(frame)
		}
		th.SendBurst(dev, bufs)
	}
	pkts := 0
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		n, _ := th.RecvBurst(dev, bufs)
		if n > 0 {
			th.SendBurst(dev, bufs[:n])
		}
		pkts += n
	}
	b.StopTimer()
	b.ReportMetric(float64(pkts)/float64(b.N), "pkts/op")
}

// BenchmarkBurst32 isolates the library's per-burst cost at burst 32 with
// the daemon out of the receive path: the vdev's port is net_null with
// no-rx (the daemon only drains tx and frees), the benchmark plays the
// daemon's part on the rx ring (SP enqueue of 32 mbufs), and the
// application does RecvBurst 32 + SendBurst 32. "Alloc+Free" is the cost of
// making the 32 mbufs, to subtract.
func BenchmarkBurst32(b *testing.B) {
	d := daemontest.Start(b, daemontest.Options{Config: `
[eal]
memory=256
[pool:MZ0]
size=8191
[port:n0]
devargs=net_null0,no-rx=1
[vdev:vxe0]
port=n0
rx_streams_max=1
tx_streams_max=1
ring_size=4096
`})
	i, err := New(WithStatusDir(d.RunDir), WithThreads(1))
	if err != nil {
		b.Fatal(err)
	}
	if err := i.Init("burst"); err != nil {
		b.Fatal(err)
	}
	defer i.Close()
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
	rx := dev.rx[0].ring
	b.Run("Alloc+Free", func(b *testing.B) {
		for k := 0; k < b.N; k++ {
			th.Alloc(dev, bufs)
			th.Free(bufs...)
		}
	})
	b.Run("Alloc+Enqueue+RecvBurst+SendBurst", func(b *testing.B) {
		sent := 0
		for k := 0; k < b.N; k++ {
			if err := th.Alloc(dev, bufs); err != nil {
				b.Fatal(err)
			}
			rx.SPEnqueueBurst(asWords(bufs)) // the daemon's part
			n, _ := th.RecvBurst(dev, bufs)
			m, _ := th.SendBurst(dev, bufs[:n])
			sent += m
		}
		b.ReportMetric(float64(sent)/float64(b.N), "sent/op")
	})
}

// TestSendBurstFlowStreams: SendBurstFlow puts every packet of the pcapgen
// capture (both directions of every flow, every encapsulation, malformed
// and truncated packets) on the tx stream its flow hash selects, so both
// directions of a flow leave on one stream; the daemon loops them back
// (net_ring) and distributes them by the same hash.
func TestSendBurstFlowStreams(t *testing.T) {
	if isolate(t) {
		return
	}
	const txStreams = 4
	gen, err := pcapgen.Generate(pcapgen.Config{Seed: 11, Flows: 64, Packets: 640})
	if err != nil {
		t.Fatal(err)
	}
	d := daemontest.Start(t, daemontest.Options{Config: ringConfig})
	i, dev, th := oneThreadApp(t, d, "flowsend", txStreams, SharedTx())

	h := i.Hasher()
	var want [txStreams]uint64
	flowStream := map[int]uint32{}
	for _, p := range gen {
		s := flowhash.Distribute(h.Hash(p.Data), txStreams)
		want[s]++
		if !p.Symmetric {
			continue
		}
		if fs, ok := flowStream[p.Flow]; ok && fs != s {
			t.Fatalf("flow %d hashes to streams %d and %d", p.Flow, fs, s)
		}
		flowStream[p.Flow] = s
	}
	bufs := make([]Buffer, 32)
	for k := 0; k < len(gen); k += len(bufs) {
		n := min(len(bufs), len(gen)-k)
		if err := th.Alloc(dev, bufs[:n]); err != nil {
			t.Fatal(err)
		}
		for j, b := range bufs[:n] {
			if err := b.SetData(gen[k+j].Data); err != nil {
				t.Fatal(err)
			}
		}
		if sent, err := th.SendBurstFlow(dev, bufs[:n]); err != nil || sent != n {
			t.Fatalf("SendBurstFlow sent %d of %d: %v", sent, n, err)
		}
	}
	for s := range txStreams {
		st, err := dev.TxStats(s)
		if err != nil {
			t.Fatal(err)
		}
		if st.Pkts != want[s] {
			t.Errorf("tx stream %d carried %d packets, the flow hash selects %d for it", s, st.Pkts, want[s])
		}
	}
	t.Logf("packets per tx stream %v, %d flows", want, len(flowStream))

	// Back through the loop: the daemon's hash is the library's.
	hashes := make([]uint32, len(bufs))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for got := 0; got < len(gen); {
		n, err := th.RecvBurst(dev, bufs)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			if err := th.PollWait(ctx, 50*time.Millisecond, dev); err != nil {
				t.Fatalf("%d of %d packets back: %v", got, len(gen), err)
			}
			continue
		}
		th.FlowHashBurst(bufs[:n], hashes)
		for k, b := range bufs[:n] {
			if b.Hash() != hashes[k] {
				t.Fatalf("daemon hash %#x, library %#x", b.Hash(), hashes[k])
			}
		}
		if err := th.Free(bufs[:n]...); err != nil {
			t.Fatal(err)
		}
		got += n
	}
}
