package marsio

import (
	"os"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/internal/trace"
)

// burstMax bounds the per-call scratch arrays of a Thread; longer bursts
// are processed in pieces of this size.
const burstMax = 64

// Thread is one dataplane thread's handle (what the C library keeps in
// thread-local storage): its id, which is also the rx and tx stream it owns
// on every device, its buffer caches in shared memory and its wake-up
// epoll. Get it from Instance.ThreadInit on the goroutine that will use it;
// its methods must be called from that goroutine only.
type Thread struct {
	inst   *Instance
	id     int
	cpu    int // CPU bound to, -1 if none
	tid    int // OS thread id, 0 until ThreadInit
	caches []fastpath.Cache
	epfd   int      // per-thread epoll: rx eventfds, wake eventfd, liveness socket
	epf    *os.File // epfd for Go's netpoller (PollWait)
	cancel int      // eventfd for context cancellation of PollWaitEpoll
	idle   uint32   // consecutive empty receives (the seed's zero_recv_counter)
	sleeps atomic.Uint64
	tw     *trace.Writer // this thread's trace ring, bound on first use

	// Quiescence (quiesce.go): qs, W: this thread (plain stores), R: the
	// re-attacher and Close, is odd inside a fast-path call (a new value
	// per call) and even outside.
	qs uint64
	// ok is the fast path's state word (quiesce.go), W: the control plane
	// (Instance.setUsable) and the thread's slow path; threadOK: usable.
	ok atomic.Uint32
	// told is the generation whose death this thread has been told of (a
	// call returned ErrDaemonGone since), W: the thread's slow path, R: the
	// re-attacher (quiesce.go, awaitTold): until then the thread may still
	// touch buffers of that generation between calls.
	told atomic.Int64

	evs    [16]unix.EpollEvent
	addrs  [burstMax]uintptr // scratch: data addresses for hashing
	lens   [burstMax]uint16
	hashes [burstMax]uint32
	group  [burstMax]uintptr
	freed  [burstMax]uintptr // scratch of freeWords (never aliases group)
}

// newThread prepares thread id's epoll and caches (at Init, as the seed
// creates its epoll fds in mrapp_rx_notify_init).
func newThread(i *Instance, id int) (*Thread, error) {
	t := &Thread{inst: i, id: id, cpu: -1, epfd: -1, cancel: -1}
	fail := func(what string, err error) (*Thread, error) {
		t.close()
		return nil, errorf("init", ErrNoSpace, "raise the open-files limit (ulimit -n)?", "thread %d: %s: %v", id, what, err)
	}
	var err error
	if t.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fail("epoll_create1", err)
	}
	if t.cancel, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fail("eventfd", err)
	}
	for _, fd := range []int{i.wakefd, t.cancel, i.liveFD} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
		if err := unix.EpollCtl(t.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return fail("epoll_ctl", err)
		}
	}
	// A second descriptor of the same epoll, owned by an *os.File in Go's
	// netpoller (PollWait); the first serves blocking epoll_wait
	// (PollWaitEpoll), which ignores O_NONBLOCK.
	dfd, err := unix.Dup(t.epfd)
	if err != nil {
		return fail("dup", err)
	}
	unix.CloseOnExec(dfd)
	if err := unix.SetNonblock(dfd, true); err != nil {
		unix.Close(dfd)
		return fail("set non-blocking", err)
	}
	t.epf = os.NewFile(uintptr(dfd), "marsio-thread-epoll")
	if err := i.threadCaches(t); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// ID returns the thread's id: 0 ≤ id < Instance.Threads(). It is also the
// rx and tx stream the thread owns on every device.
func (t *Thread) ID() int { return t.id }

// CPU returns the CPU the thread is bound to, or -1.
func (t *Thread) CPU() int { return t.cpu }

// OSThread returns the OS thread id (gettid) the thread runs on.
func (t *Thread) OSThread() int { return t.tid }

// Instance returns the thread's instance.
func (t *Thread) Instance() *Instance { return t.inst }

// Release undoes ThreadInit's runtime.LockOSThread and takes the thread
// offline (Offline); call it on the thread's own goroutine when it stops
// doing dataplane work, holding no buffers (defer it right after
// ThreadInit). Without it, the goroutine's exit terminates its OS thread —
// harmless, except that children started with Pdeathsig from that thread
// get the signal. The thread id stays taken and the handle stays usable
// (from a goroutine that is not pinned): its next call brings it back
// online.
func (t *Thread) Release() {
	t.Offline()
	runtime.UnlockOSThread()
}

// Offline reports that the thread holds no buffers and makes no call for a
// while (as rte_rcu_qsbr_thread_offline): call it on the thread's own
// goroutine, between calls, once every buffer it held is freed or sent. A
// daemon restart then does not wait for it: the dead daemon's memory stays
// mapped only while some thread may still touch its buffers, which a
// thread shows by making no call since the death (WithReattach). Its next
// call brings it back online, at no cost to the calls after it. A thread
// asleep in PollWait needs none of this.
func (t *Thread) Offline() {
	t.told.Store(toldOffline)
	t.ok.CompareAndSwap(threadOK, threadOffline) // other states: the next call sees them anyway
}

// close releases the thread's descriptors (Close, failed Init).
func (t *Thread) close() {
	if t.epf != nil {
		t.epf.Close()
		t.epf = nil
	}
	if t.epfd >= 0 {
		unix.Close(t.epfd)
		t.epfd = -1
	}
	if t.cancel >= 0 {
		unix.Close(t.cancel)
		t.cancel = -1
	}
}
