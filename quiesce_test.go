package marsio

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// quiesceInstance is an instance with n threads and no daemon: enough for
// the protocol of quiesce.go.
func quiesceInstance(n int) *Instance {
	i := &Instance{}
	i.state.Store(stateReady)
	for k := range n {
		i.threads = append(i.threads, &Thread{inst: i, id: k})
	}
	i.setUsable(threadOK)
	return i
}

// setLive moves i to stateReady in generation g (g > 1: re-attached), or
// (g == 0) to stateGone.
func setLive(i *Instance, g uint32) {
	switch {
	case g == 0:
		i.state.Store(stateGone)
		i.setUsable(threadGone)
	case g == 1:
		i.state.Store(stateReady)
		i.setUsable(threadOK)
	default:
		i.state.Store(stateReady)
		i.setUsable(threadReattached)
	}
}

// TestQuiesceWaitsForCall: quiesce does not return while a thread is inside
// a call that began before the state change, returns once it left; a call
// after the change returns ErrDaemonGone without staying inside; a thread
// that never leaves is given up on after a limit, reported once (ErrBusy)
// when there is none; a new call of that thread (after a recovered panic,
// say) releases it.
func TestQuiesceWaitsForCall(t *testing.T) {
	i := quiesceInstance(2)
	th := i.threads[0]
	if err := th.enterErr(); err != nil {
		t.Fatal(err)
	}
	setLive(i, 0)
	stop := make(chan struct{})
	done := make(chan bool, 1)
	go func() { _, ok := i.quiesce(stop, 0, nil); done <- ok }()
	select {
	case <-done:
		t.Fatal("quiesce returned while thread 0 was inside a call")
	case <-time.After(50 * time.Millisecond):
	}
	th.leave()
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("quiesce failed after the thread left")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("quiesce still waiting 5 s after the thread left")
	}
	if err := th.enterErr(); !errors.Is(err, ErrDaemonGone) {
		t.Fatalf("call after the state change: %v, want ErrDaemonGone", err)
	}
	if _, ok := i.quiesce(nil, 100*time.Millisecond, nil); !ok {
		t.Fatal("a refused call left the thread inside")
	}

	// Stuck: inside and never leaving.
	setLive(i, 1)
	if err := th.enterErr(); err != nil {
		t.Fatal(err)
	}
	setLive(i, 0)
	ids, ok := i.quiesce(nil, 30*time.Millisecond, nil)
	if ok || len(ids) != 1 || ids[0] != 0 {
		t.Fatalf("stuck thread: quiesce gave %v %v, want [0] false", ids, ok)
	}
	reports := make(chan error, 2)
	go func() {
		_, ok := i.quiesce(stop, 0, func(_ int, err error) { reports <- err })
		done <- ok
	}()
	select {
	case err := <-reports: // after quiesceReport, once
		if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "threads [0]") {
			t.Fatalf("report %v, want ErrBusy naming thread 0", err)
		}
	case <-time.After(quiesceReport + 5*time.Second):
		t.Fatal("a stuck thread was never reported")
	}
	if err := th.enterErr(); !errors.Is(err, ErrDaemonGone) { // its next call
		t.Fatalf("next call: %v", err)
	}
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("quiesce failed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a new call of the stuck thread did not release quiesce")
	}
	if len(reports) != 0 {
		t.Fatalf("reported twice: %v", <-reports)
	}
	close(stop)
}

// TestQuiesceEpoch: the first call of a thread after a re-attach returns
// ErrDaemonGone once, the next one goes through.
func TestQuiesceEpoch(t *testing.T) {
	i := quiesceInstance(1)
	th := i.threads[0]
	setLive(i, 2)
	if err := th.enterErr(); !errors.Is(err, ErrDaemonGone) || err != errHotReattached {
		t.Fatalf("first call after a re-attach: %v", err)
	}
	if err := th.enterErr(); err != nil {
		t.Fatalf("second call: %v", err)
	}
	th.leave()
}

// TestQuiesceUnmapStress plays the re-attach against threads that read
// mapped memory inside calls, as fast as they can: the re-attacher moves
// the state out of ready, quiesces, unmaps the region, maps a new one and
// publishes it, thousands of times. A read of an unmapped region faults
// and kills the test binary; a call must see either its region or the
// typed error.
func TestQuiesceUnmapStress(t *testing.T) {
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	const nth = 2
	i := quiesceInstance(nth)
	page := unix.Getpagesize()
	mapRegion := func(v byte) uintptr {
		b, err := unix.Mmap(-1, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			t.Fatal(err)
		}
		for k := range b {
			b[k] = v
		}
		return uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	}
	var cur atomic.Uintptr // the generation's memory; written only while quiescent
	cur.Store(mapRegion(1))
	var stop atomic.Bool
	var reads, refused [nth]atomic.Uint64
	done := make(chan error, nth)
	for k := range nth {
		go func(th *Thread) {
			var local uint64
			for !stop.Load() {
				if err := th.enterErr(); err != nil {
					if !errors.Is(err, ErrDaemonGone) {
						done <- err
						return
					}
					refused[th.id].Add(1)
					continue
				}
				p := cur.Load()
				for off := 0; off < page; off += 512 {
					local += uint64(*(*byte)(ptrAt(p + uintptr(off))))
				}
				th.leave()
				reads[th.id].Add(1)
			}
			_ = local
			done <- nil
		}(i.threads[k])
	}
	for r := range rounds {
		setLive(i, 0)
		if _, ok := i.quiesce(nil, 10*time.Second, nil); !ok {
			t.Fatalf("round %d: threads did not quiesce in 10 s", r)
		}
		old, next := cur.Load(), mapRegion(byte(r)) // next first: old's range stays a hole
		if err := unix.Munmap(unsafe.Slice((*byte)(ptrAt(old)), page)); err != nil {
			t.Fatal(err)
		}
		cur.Store(next)
		setLive(i, uint32(r+2))
		if r%64 == 0 {
			time.Sleep(100 * time.Microsecond) // let the threads read
		}
	}
	stop.Store(true)
	for range nth {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for k := range nth {
		t.Logf("thread %d: %d calls read the region, %d refused", k, reads[k].Load(), refused[k].Load())
	}
}

// BenchmarkEnterLeave is what the quiescence bracket adds to every
// fast-path call (enter, leave), next to the state check alone that the
// calls made before (hotCheck).
func BenchmarkEnterLeave(b *testing.B) {
	i := quiesceInstance(1)
	th := i.threads[0]
	b.Run("HotCheck", func(b *testing.B) {
		for range b.N {
			if i.hotCheck() != nil {
				b.Fatal("not ready")
			}
		}
	})
	b.Run("EnterLeave", func(b *testing.B) {
		for range b.N {
			if !th.enter() {
				b.Fatal("not usable")
			}
			th.leave()
		}
	})
}

// TestNilRefusedOutside: the arguments that would make a call panic once
// inside (a nil *Device, a nil context) are refused before the thread
// enters, so a recovered panic cannot leave it inside for good.
func TestNilRefusedOutside(t *testing.T) {
	i := quiesceInstance(1)
	th := i.threads[0]
	bufs := make([]Buffer, 4)
	var nilCtx context.Context
	calls := map[string]error{}
	_, calls["RecvBurst"] = th.RecvBurst(nil, bufs)
	_, calls["SendBurst"] = th.SendBurst(nil, bufs)
	_, calls["SendBurstFlow"] = th.SendBurstFlow(nil, bufs)
	calls["Alloc"] = th.Alloc(nil, bufs)
	calls["PollWait nil device"] = th.PollWait(context.Background(), 0, nil)
	calls["PollWait nil context"] = th.PollWait(nilCtx, 0)
	_, calls["SendIP"] = th.SendIP(nil, Buffer{}, netip.MustParseAddr("10.0.0.1"))
	calls["ToKernel"] = th.ToKernel(nil, Buffer{})
	for name, err := range calls {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if q := atomic.LoadUint64(&th.qs); q&1 != 0 {
		t.Fatalf("thread slot %#x: inside a call after refusals", q)
	}
}
