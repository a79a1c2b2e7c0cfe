package marsio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/shm"
	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// reattachConfig: a net_pcap port replaying one pcap forever (traffic
// without a sender).
const reattachConfig = `
[eal]
memory=256
[pool:MZ0]
size=8191
[port:p0]
devargs=net_pcap0,rx_pcap=${RUN_DIR}/in.pcap,infinite_rx=1
[vdev:vxe0]
port=p0
rx_streams_max=4
tx_streams_max=4
`

// manyFlows returns 32 UDP flows: enough for the daemon's distribution to
// reach every rx stream of a vdev with a few streams.
func manyFlows() [][]byte {
	var frames [][]byte
	for f := range 32 {
		frames = append(frames, udpFrame([4]byte{10, 0, 1, byte(f)}, [4]byte{10, 0, 2, byte(3 * f)}, uint16(1000+f), uint16(2000+7*f), 64))
	}
	return frames
}

// waitWorkers polls cond every millisecond for up to 20 s while worker
// goroutines run; a worker's error on errs, or the timeout, stops the
// workers (stop) and fails the test.
func waitWorkers(t *testing.T, what string, errs <-chan error, stop *atomic.Bool, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		select {
		case err := <-errs:
			stop.Store(true)
			t.Fatalf("waiting for %s: %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			stop.Store(true)
			t.Fatalf("timeout waiting for %s", what)
		}
	}
}

// grown returns a condition that holds once every counter has grown by n
// since grown was called.
func grown(n uint64, ctrs ...*atomic.Uint64) func() bool {
	base := make([]uint64, len(ctrs))
	for k, c := range ctrs {
		base[k] = c.Load()
	}
	return func() bool {
		for k, c := range ctrs {
			if c.Load() < base[k]+n {
				return false
			}
		}
		return true
	}
}

// TestReattach: kill -9 of the daemon under traffic; the thread's calls
// return ErrDaemonGone; a new daemon with the same config, prefix and run
// dir starts; the instance re-attaches by itself (callback with generation
// 2), the old Device handle returns ErrClosed, the reopened device (same
// stream counts) receives again. Reports the time from the new daemon's
// status file to the first packet.
func TestReattach(t *testing.T) {
	if isolate(t) {
		return
	}
	frames := [][]byte{udpFrame([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 1000, 2000, 64)}
	files := map[string][]byte{"in.pcap": pcapFile(t, frames)}
	d := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files})
	reattached := make(chan int, 4)
	cbErrs := make(chan error, 4)
	i := attachApp(t, d, "phoenix", WithReattach(true), WithReattachCallback(func(gen int, err error) {
		if err != nil {
			cbErrs <- err
			return
		}
		reattached <- gen
	}))
	if g := i.Generation(); g != 1 {
		t.Fatalf("generation %d after Init", g)
	}
	dev, err := i.OpenDevice("vxe0", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	var (
		pkts     atomic.Uint64
		goneSeen atomic.Bool
		closedOK atomic.Bool
		firstNew atomic.Int64 // UnixNano of the first packet after re-attach
		stop     atomic.Bool
		done     = make(chan error, 1)
	)
	go func() {
		th, err := i.ThreadInit()
		if err != nil {
			done <- err
			return
		}
		defer th.Release()
		bufs := make([]Buffer, 32)
		cur := dev
		for !stop.Load() {
			n, err := th.RecvBurst(cur, bufs)
			switch {
			case err == nil:
				if n > 0 {
					if cur != dev && firstNew.Load() == 0 {
						firstNew.Store(time.Now().UnixNano())
					}
					pkts.Add(uint64(n))
					if err := th.Free(bufs[:n]...); err != nil {
						done <- err
						return
					}
				}
			case errors.Is(err, ErrDaemonGone):
				goneSeen.Store(true)
				time.Sleep(100 * time.Microsecond)
			case errors.Is(err, ErrClosed) && cur == dev:
				closedOK.Store(true) // the old generation's handle
				if nd, ok := i.Device("vxe0"); ok {
					cur = nd
				}
			default:
				done <- err
				return
			}
		}
		done <- nil
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timeout waiting for %s", what)
			}
		}
	}
	waitFor("traffic", func() bool { return pkts.Load() > 1000 })
	d.Kill()
	waitFor("ErrDaemonGone", goneSeen.Load)
	before := pkts.Load()

	d2 := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files, RunDir: d.RunDir, Prefix: d.Prefix})
	ready := time.Now()
	select {
	case gen := <-reattached:
		if gen != 2 {
			t.Errorf("callback generation %d, want 2", gen)
		}
	case err := <-cbErrs:
		t.Fatalf("re-attach: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("no re-attach 10 s after the new daemon (pid %d) was ready", d2.Pid())
	}
	waitFor("packets on the new daemon", func() bool { return firstNew.Load() != 0 })
	lag := time.Unix(0, firstNew.Load()).Sub(ready)
	t.Logf("packets flowing again %v after the new daemon's status file appeared (%d packets before the kill)", lag.Round(time.Millisecond), before)
	if !closedOK.Load() {
		t.Error("the old Device handle never returned ErrClosed")
	}
	if g := i.Generation(); g != 2 {
		t.Errorf("Generation %d, want 2", g)
	}
	if nd, ok := i.Device("vxe0"); !ok || nd.RxStreams() != 1 || nd.TxStreams() != 1 {
		t.Errorf("reopened device: %v %v", nd, ok)
	}
	stop.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReattachOtherABI: the daemon that appears after a restart has
// another ABI version (a real mrzcpd whose root the test patches before its
// status file is published to the app). The callback gets one ErrVersion
// naming both versions, the app keeps retrying (calls return
// ErrDaemonGone, nothing crashes), and a daemon of the right version that
// appears afterwards is taken (generation 2).
func TestReattachOtherABI(t *testing.T) {
	if isolate(t) {
		return
	}
	frames := [][]byte{udpFrame([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 1000, 2000, 64)}
	files := map[string][]byte{"in.pcap": pcapFile(t, frames)}
	d := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files})
	events := make(chan error, 16)
	gens := make(chan int, 16)
	i := attachApp(t, d, "chimera", WithReattach(true), WithReattachCallback(func(gen int, err error) {
		gens <- gen
		events <- err
	}))
	dev, err := i.OpenDevice("vxe0", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	d.Kill()
	th, err := i.ThreadInit()
	if err != nil && !errors.Is(err, ErrDaemonGone) {
		t.Fatal(err)
	}
	bufs := make([]Buffer, 8)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if th == nil {
			break
		}
		if _, err := th.RecvBurst(dev, bufs); errors.Is(err, ErrDaemonGone) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no ErrDaemonGone after kill -9")
		}
	}

	// The other-version daemon: its own run dir (the app does not see it
	// yet), root patched, then its status file copied where the app looks.
	d2 := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files, Prefix: d.Prefix})
	h, err := shm.Attach(shm.Options{FilePrefix: d.Prefix, NoIPC: true})
	if err != nil {
		t.Fatal(err)
	}
	mz, err := h.Memzone(abiRootMemzone)
	if err != nil {
		h.Detach()
		t.Fatal(err)
	}
	atomic.StoreUint32(&(*abiRoot)(ptrAt(mz.Addr)).AbiVersion, abiVersion+7)
	if err := h.Detach(); err != nil { // before the app maps the same addresses
		t.Fatal(err)
	}
	st, err := os.ReadFile(d2.StatusPath())
	if err != nil {
		t.Fatal(err)
	}
	tmp := d.StatusPath() + ".tmp"
	if err := os.WriteFile(tmp, st, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, d.StatusPath()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-events:
		if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), fmt.Sprint(abiVersion+7)) {
			t.Fatalf("callback error %v, want ErrVersion naming version %d", err, abiVersion+7)
		}
		t.Logf("callback (generation %d): %v", <-gens, err)
	case <-time.After(10 * time.Second):
		t.Fatal("no callback for the other-version daemon")
	}
	// Still retrying, still failing the same way: no new callback (same
	// error), calls keep returning ErrDaemonGone.
	time.Sleep(3 * reattachMaxBackoff)
	select {
	case err := <-events:
		t.Fatalf("second callback %v (same error should be reported once)", err)
	default:
	}
	if th != nil {
		if _, err := th.RecvBurst(dev, bufs); !errors.Is(err, ErrDaemonGone) {
			t.Fatalf("RecvBurst while the daemon has another version: %v, want ErrDaemonGone", err)
		}
	}
	if g := i.Generation(); g != 1 {
		t.Fatalf("generation %d while only a wrong-version daemon runs", g)
	}

	// A daemon of our version replaces it.
	if err := d2.Stop(); err != nil {
		t.Logf("stop the other-version daemon: %v", err)
	}
	d3 := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files, RunDir: d.RunDir, Prefix: d.Prefix})
	for {
		select {
		case err := <-events:
			gen := <-gens
			if err != nil {
				t.Logf("callback while the right daemon starts (generation %d): %v", gen, err)
				continue
			}
			if gen != 2 {
				t.Fatalf("generation %d, want 2", gen)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no re-attach to daemon %d", d3.Pid())
		}
		break
	}
	if nd, ok := i.Device("vxe0"); !ok || nd.RxStreams() != 1 {
		t.Fatalf("device after re-attach: %v %v", nd, ok)
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReattachHammer: two threads hammer RecvBurst, SendBurst, Alloc,
// Free and PollWait, and touch their buffers between calls (every received
// byte read, allocated buffers filled), while the daemon is stopped and
// restarted several times, with SIGTERM and kill -9 in turn (kill -9 can
// land between a multi-producer ring's head and tail moves: the app's
// waits on that ring give up once it has seen the death, see
// TestReattachDeadRingReservation). The daemon's graceful shutdown must
// leave a live app's rings alone (it used to drain them, racing with the
// app's own dequeues: NULL mbufs). Nothing may fault (a SIGSEGV kills the
// test binary), and every call returns data or a typed error: ErrDaemonGone
// while the daemon is away and once per thread after each re-attach,
// ErrClosed from a device of an old generation (the thread then looks the
// reopened one up), ErrNoBuffers if the pool runs dry. Anything else fails
// the test.
func TestReattachHammer(t *testing.T) {
	if isolate(t) {
		return
	}
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	frames := manyFlows()
	files := map[string][]byte{"in.pcap": pcapFile(t, frames)}
	d := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files})
	gens := make(chan int, 64)
	i := attachApp(t, d, "hammer", WithThreads(2), WithReattach(true), WithReattachCallback(func(gen int, err error) {
		if err != nil {
			t.Logf("re-attach callback (generation %d): %v", gen, err)
			return
		}
		gens <- gen
	}))
	dev0, err := i.OpenDevice("vxe0", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	const nth = 2
	type counts struct {
		calls, pkts, gone, closed, nobufs, sum atomic.Uint64
	}
	var (
		cnt  [nth]counts
		stop atomic.Bool
		errs = make(chan error, 2*nth)
		done = make(chan struct{}, nth)
	)
	hammer := func(k int) {
		defer func() { done <- struct{}{} }()
		th, err := i.ThreadInit()
		if err != nil {
			errs <- err
			return
		}
		defer th.Release()
		c := &cnt[k]
		cur := dev0
		bufs := make([]Buffer, 32)
		ab := make([]Buffer, 8)
		ctx := context.Background()
		// ok sorts a call's error: true to go on with the buffers.
		ok := func(op string, err error) bool {
			c.calls.Add(1)
			switch {
			case err == nil:
				return true
			case errors.Is(err, ErrDaemonGone):
				c.gone.Add(1)
				time.Sleep(20 * time.Microsecond)
			case errors.Is(err, ErrClosed):
				c.closed.Add(1)
				if nd, found := i.Device("vxe0"); found && nd != cur {
					cur = nd
				}
			case errors.Is(err, ErrNoBuffers):
				c.nobufs.Add(1)
			default:
				errs <- fmt.Errorf("thread %d: %s: %w", k, op, err)
				stop.Store(true)
			}
			return false
		}
		for it := 0; !stop.Load(); it++ {
			n, err := th.RecvBurst(cur, bufs)
			if !ok("RecvBurst", err) {
				continue
			}
			if n > 0 {
				c.pkts.Add(uint64(n))
				// Read every received byte between calls: the old
				// generation stays mapped until this thread has been
				// told (awaitTold), not only until the call returned.
				for _, b := range bufs[:n] {
					for _, x := range b.Data() {
						c.sum.Add(uint64(x))
					}
				}
				m := n / 2
				if _, err := th.SendBurst(cur, bufs[:m]); !ok("SendBurst", err) {
					continue // the rest is dropped with the old generation
				}
				if !ok("Free", th.Free(bufs[m:n]...)) {
					continue
				}
			}
			// Fill allocated buffers between calls (their memory is
			// touched outside any call), then send them.
			if ok("Alloc", th.Alloc(cur, ab)) {
				for _, b := range ab {
					if err := b.SetData(frames[it%len(frames)]); err != nil {
						errs <- fmt.Errorf("thread %d: SetData: %w", k, err)
						stop.Store(true)
					}
				}
				_, err := th.SendBurst(cur, ab) // what the stream refuses is freed
				ok("SendBurst", err)
			}
			if it%64 == 0 {
				ok("PollWait", th.PollWait(ctx, 200*time.Microsecond, cur))
			}
		}
	}
	for k := range nth {
		go hammer(k)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		waitWorkers(t, what, errs, &stop, cond)
	}
	flowing := func() func() bool { return grown(200, &cnt[0].pkts, &cnt[1].pkts) }
	waitFor("traffic on both threads", flowing())
	for r := range rounds {
		var goneBase [nth]uint64
		for k := range nth {
			goneBase[k] = cnt[k].gone.Load()
		}
		how := "SIGTERM"
		if r%2 == 1 {
			how = "kill -9"
			d.Kill()
		} else {
			d.Stop()
		}
		waitFor("ErrDaemonGone on both threads", func() bool {
			for k := range nth {
				if cnt[k].gone.Load() == goneBase[k] {
					return false
				}
			}
			return true
		})
		d = daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files, RunDir: d.RunDir, Prefix: d.Prefix})
		ready := time.Now()
		var gen int
		waitFor("re-attach", func() bool {
			select {
			case gen = <-gens:
				return true
			default:
				return false
			}
		})
		if gen != r+2 {
			t.Fatalf("round %d: generation %d, want %d", r, gen, r+2)
		}
		waitFor("traffic on both threads after the re-attach", flowing())
		t.Logf("round %d (%s): generation %d, both threads moving packets again %v after the new daemon was ready", r, how, gen, time.Since(ready).Round(time.Millisecond))
	}
	stop.Store(true)
	for range nth {
		<-done
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	for k := range nth {
		c := &cnt[k]
		t.Logf("thread %d: %d calls, %d packets, %d ErrDaemonGone, %d ErrClosed, %d ErrNoBuffers", k, c.calls.Load(), c.pkts.Load(), c.gone.Load(), c.closed.Load(), c.nobufs.Load())
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReattachWaitsForHeldBuffers: a thread that holds buffers between
// calls keeps the dead daemon's memory mapped until a call of its own tells
// it of the death. The daemon is killed (kill -9: its runtime dir and
// files stay) while thread 0 holds four filled buffers and makes no call;
// the new daemon starts all the same (the app released its locks on the
// old files at the death: EAL refuses fbarray files another process holds
// locked), the re-attach waits and reports ErrBusy naming thread 0 through
// the callback, thread 0 still reads and writes its buffers without a
// fault, and once its next call has returned ErrDaemonGone the re-attach
// goes through. Thread 0 went offline once before it took its buffers (its
// next call brought it back online); thread 2 did some work and went
// offline for good (Release): the re-attach waits for thread 0 alone.
func TestReattachWaitsForHeldBuffers(t *testing.T) {
	if isolate(t) {
		return
	}
	frames := manyFlows()
	files := map[string][]byte{"in.pcap": pcapFile(t, frames)}
	d := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files})
	gens := make(chan int, 4)
	busy := make(chan error, 4)
	i := attachApp(t, d, "holder", WithThreads(3), WithReattach(true), WithReattachCallback(func(gen int, err error) {
		switch {
		case err == nil:
			gens <- gen
		case errors.Is(err, ErrBusy):
			busy <- err
		default:
			t.Logf("re-attach callback (generation %d): %v", gen, err)
		}
	}))
	dev, err := i.OpenDevice("vxe0", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	payload := frames[0]

	// Thread 0 fills four buffers, then makes no call until resume.
	held, resume, holderErr := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		th, err := i.ThreadInit()
		if err == nil && th.ID() != 0 {
			err = fmt.Errorf("first ThreadInit gave thread %d", th.ID())
		}
		if err != nil {
			holderErr <- err
			close(held)
			return
		}
		defer th.Release()
		th.Offline() // and back online with the next call
		bufs := make([]Buffer, 4)
		if err := th.Alloc(dev, bufs); err != nil {
			holderErr <- err
			close(held)
			return
		}
		for _, b := range bufs {
			if err := b.SetData(payload); err != nil {
				holderErr <- err
				close(held)
				return
			}
		}
		close(held)
		<-resume
		// The old memory is still mapped: read and write the buffers.
		for k, b := range bufs {
			if got := b.Data(); string(got) != string(payload) {
				holderErr <- fmt.Errorf("buffer %d changed while held: %x", k, got)
				return
			}
			b.Data()[0] ^= 0xff
		}
		// Told: drop them (never Free a buffer of a dead generation).
		if _, err := th.RecvBurst(dev, bufs); !errors.Is(err, ErrDaemonGone) {
			holderErr <- fmt.Errorf("first call after the death: %v, want ErrDaemonGone", err)
			return
		}
		holderErr <- nil
	}()
	<-held

	// Thread 1 receives on, so it is told as soon as the daemon dies.
	var stop atomic.Bool
	var pkts atomic.Uint64
	recvErr := make(chan error, 1)
	go func() {
		th, err := i.ThreadInit()
		if err != nil {
			recvErr <- err
			return
		}
		defer th.Release()
		bufs := make([]Buffer, 32)
		cur := dev
		for !stop.Load() {
			n, err := th.RecvBurst(cur, bufs)
			switch {
			case err == nil:
				pkts.Add(uint64(n))
				if err := th.Free(bufs[:n]...); err != nil && !errors.Is(err, ErrDaemonGone) {
					recvErr <- err
					return
				}
			case errors.Is(err, ErrDaemonGone):
				time.Sleep(100 * time.Microsecond)
			case errors.Is(err, ErrClosed):
				if nd, ok := i.Device("vxe0"); ok {
					cur = nd
				}
			default:
				recvErr <- err
				return
			}
		}
		recvErr <- nil
	}()
	for deadline := time.Now().Add(10 * time.Second); pkts.Load() < 1000; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no traffic")
		}
	}
	// Thread 2 allocates and frees, then stops (Release: offline).
	retired := make(chan error, 1)
	go func() {
		th, err := i.ThreadInit()
		if err == nil && th.ID() != 2 {
			err = fmt.Errorf("third ThreadInit gave thread %d", th.ID())
		}
		if err != nil {
			retired <- err
			return
		}
		defer th.Release()
		bufs := make([]Buffer, 8)
		if err := th.Alloc(dev, bufs); err != nil {
			retired <- err
			return
		}
		retired <- th.Free(bufs...)
	}()
	if err := <-retired; err != nil {
		t.Fatal(err)
	}

	d.Kill()
	// Once the app has seen the death (its liveness goroutine then
	// releases the old files at once), a new daemon may start.
	for deadline := time.Now().Add(10 * time.Second); i.Err() == nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the app did not see the daemon die")
		}
	}
	time.Sleep(50 * time.Millisecond)
	// The new daemon starts while the app still maps the old one's memory.
	d2 := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files, RunDir: d.RunDir, Prefix: d.Prefix})
	select {
	case err := <-busy:
		if !strings.Contains(err.Error(), "threads [0]") {
			t.Errorf("ErrBusy report does not name thread 0 alone: %v", err)
		}
		t.Logf("callback while thread 0 holds its buffers: %v", err)
	case gen := <-gens:
		t.Fatalf("re-attached (generation %d) while thread 0 still held buffers of the dead daemon", gen)
	case <-time.After(10 * time.Second):
		t.Fatal("no ErrBusy report 10 s after the kill")
	}
	if g := i.Generation(); g != 1 {
		t.Fatalf("generation %d while thread 0 holds buffers", g)
	}
	close(resume)
	if err := <-holderErr; err != nil {
		t.Fatal(err)
	}
	select {
	case gen := <-gens:
		if gen != 2 {
			t.Errorf("generation %d, want 2", gen)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no re-attach to the new daemon (pid %d) 10 s after thread 0 was told", d2.Pid())
	}
	base := pkts.Load()
	for deadline := time.Now().Add(10 * time.Second); pkts.Load() < base+1000; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			select {
			case err := <-recvErr:
				t.Fatalf("no traffic after the re-attach: the receiving thread stopped: %v", err)
			default:
				t.Fatal("no traffic after the re-attach")
			}
		}
	}
	stop.Store(true)
	if err := <-recvErr; err != nil {
		t.Fatal(err)
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReattachDeadRingReservation: the daemon dies holding a reservation
// on the shared mempool's multi-producer ring (its head moved, its tail
// never will: what kill -9 between the two leaves). The test makes that
// state for real: it stops the daemon (SIGSTOP), moves the pool ring's
// producer head by one as the daemon's half-done enqueue would, and kills
// it. Two threads allocating and freeing through their caches reach the
// ring and wait for the tail; while they wait the process stays responsive
// (a garbage collection completes: the waits come back to Go), and once the
// app has seen the death (fastpath.AbandonMemory on the dead memory) their
// calls return, the instance re-attaches to a new daemon and the threads
// allocate again.
func TestReattachDeadRingReservation(t *testing.T) {
	if isolate(t) {
		return
	}
	// Traffic too: the daemon works on the pool's ring as well.
	files := map[string][]byte{"in.pcap": pcapFile(t, [][]byte{udpFrame([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 1000, 2000, 64)})}
	d := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files})
	gens := make(chan int, 4)
	i := attachApp(t, d, "stall", WithThreads(2), WithReattach(true), WithReattachCallback(func(gen int, err error) {
		if err != nil {
			t.Logf("re-attach callback (generation %d): %v", gen, err)
			return
		}
		gens <- gen
	}))
	dev, err := i.OpenDevice("vxe0", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	i.mu.Lock()
	ring := i.pools[0].mp.Ring()
	i.mu.Unlock()

	const nth = 2
	var (
		allocs [nth]atomic.Uint64
		gone   [nth]atomic.Uint64
		stop   atomic.Bool
		errs   = make(chan error, nth)
	)
	for k := range nth {
		go func() {
			th, err := i.ThreadInit()
			if err != nil {
				errs <- err
				return
			}
			defer th.Release()
			// More than a cache holds: every Alloc takes from the ring,
			// every Free puts to it (DPDK's mempool rule for big bursts).
			bufs := make([]Buffer, 512)
			cur := dev
			for !stop.Load() {
				err := th.Alloc(cur, bufs)
				if err == nil {
					allocs[k].Add(1)
					err = th.Free(bufs...)
				}
				switch {
				case err == nil:
				case errors.Is(err, ErrDaemonGone):
					gone[k].Add(1)
					time.Sleep(50 * time.Microsecond)
				case errors.Is(err, ErrClosed):
					if nd, ok := i.Device("vxe0"); ok {
						cur = nd
					}
				case errors.Is(err, ErrNoBuffers):
				default:
					errs <- fmt.Errorf("thread %d: %w", k, err)
					return
				}
			}
			errs <- nil
		}()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		waitWorkers(t, what, errs, &stop, cond)
	}
	moving := func() func() bool { return grown(100, &allocs[0], &allocs[1]) }
	waitFor("both threads allocating", moving())

	// The daemon's half-done enqueue: head moved by one, tail left behind.
	if err := syscall.Kill(d.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Kill) // a stopped daemon ignores the SIGTERM of Stop
	head := (*uint32)(ptrAt(ring.Addr() + dpdk.OffsetofRingProd + dpdk.OffsetofRingHeadtailHead))
	for {
		h := atomic.LoadUint32(head)
		if atomic.CompareAndSwapUint32(head, h, h+1) {
			break
		}
	}
	// Every thread's next flush to the ring now waits for that tail.
	var stuck [nth]uint64
	for k := range nth {
		stuck[k] = allocs[k].Load()
	}
	time.Sleep(300 * time.Millisecond)
	for k := range nth {
		if n := allocs[k].Load(); n > stuck[k]+1 {
			t.Errorf("thread %d still allocating (%d → %d) after the ring's tail stopped", k, stuck[k], n)
		}
	}
	gcDone := make(chan struct{})
	go func() { runtime.GC(); close(gcDone) }()
	select {
	case <-gcDone:
	case <-time.After(10 * time.Second):
		t.Fatal("a garbage collection did not complete while threads wait on the ring: the waits do not come back to Go")
	}
	waitFor("both threads waiting on the ring", func() bool {
		a, b := allocs[0].Load(), allocs[1].Load()
		time.Sleep(50 * time.Millisecond)
		return allocs[0].Load() == a && allocs[1].Load() == b
	})

	d.Kill() // SIGKILL ends a stopped process too
	waitFor("ErrDaemonGone on both threads (their waits gave up)", func() bool { return gone[0].Load() > 0 && gone[1].Load() > 0 })
	d2 := daemontest.Start(t, daemontest.Options{Config: reattachConfig, Files: files, RunDir: d.RunDir, Prefix: d.Prefix})
	select {
	case gen := <-gens:
		if gen != 2 {
			t.Errorf("generation %d, want 2", gen)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no re-attach to the new daemon (pid %d)", d2.Pid())
	}
	waitFor("both threads allocating from the new daemon's pool", moving())
	stop.Store(true)
	for range nth {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}
