package marsio

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Quiescence: when may the old daemon's memory be unmapped?
//
// Every fast-path call on a Thread (RecvBurst, SendBurst, SendBurstFlow,
// Alloc, AllocPool, Free, PollWait, SendIP, ToKernel) is bracketed by
// Thread.enter and Thread.leave. enter publishes an odd value in the
// thread's slot t.qs (a fresh one per call: qs = qs|1 + 2) and
// then loads its own state word t.ok (threadOK while the instance is
// usable in the thread's generation: one load and compare); leave publishes qs+1 (even) once the
// call's last access to shared memory is done. The slot is a plain store
// (a MOV on amd64), no sync/atomic XCHG on the fast path.
//
// The re-attacher (and Close) runs the other side of a Dekker handshake,
// carrying both fences itself:
//
//	Q0: every t.ok = threadGone        (markGone, Close: after i.state)
//	Q1: membarrier(PRIVATE_EXPEDITED)  full barrier on every CPU running a
//	                                   thread of this process; a thread not
//	                                   running has passed one at its last
//	                                   context switch
//	Q2: snapshot every t.qs; wait until each odd one changes
//
// Thread side (T0: store qs odd; T1: load t.ok; … T2: store qs even).
// Q1 splits every thread's program at one point. If T0 came before it,
// Q2 sees the odd value (or a later one) and waits for the next store,
// which is T2 of that call (or T0 of a later call whose T1 comes after Q1
// and sees threadGone). If T0 came after it, so does T1, which then sees
// Q0's threadGone and the call returns its typed error without touching shared
// memory. x86 keeps the remaining orders (T0 before T1 in the compiler: the
// atomic load is in the memory chain after the store; every shared-memory
// access of the call before T2: TSO orders load→store and store→store, and
// the call's last access is an assembly call or a store that the compiler
// keeps before T2). Only store→load needed a fence: membarrier gives it,
// once per re-attach (0.4 µs here), instead of an XCHG per call.
//
// Being outside every call is not enough for a daemon's death: an
// application also touches its buffers between calls. The re-attacher
// therefore also waits until every thread in use has been told of the
// death (awaitTold: a call returned ErrDaemonGone since; Thread.told), and
// the dead daemon's ring waits give up (fastpath.AbandonMemory, set at the
// death by memory.orphan) so that no call stays inside for want of a tail
// the daemon will never publish. Close, which the application itself
// calls, waits only for calls to leave.
//
// A call does not panic once inside: the arguments that could make it (a
// nil *Device, a nil context) are refused before enter. Should one panic
// all the same (a bug) and be recovered, the fresh odd value per call
// keeps the protocol sound: the slot stays odd only until the thread's
// next call.
//
// A thread parked in PollWait's sleep has left (qs even): it is offline
// and does not hold a re-attach back; it re-enters on waking and sees the
// new state before it touches its sleeping flags again.
//
// A thread that stays inside a call (descheduled on a starved machine,
// stopped in a debugger, or a call that panicked by a bug, was recovered,
// and the thread never calls again) holds the re-attach back: the old generation
// stays mapped and torn-down state is not touched, so it can never fault.
// After quiesceReport the callback (OnReattach) gets one error wrapping
// ErrBusy naming the threads; the wait goes on until they move (any call on
// such a Thread returns ErrDaemonGone at once and releases it) or Close.
// Close itself waits at most closeQuiesce and then leaks the mapping
// (never unmaps under a thread) rather than risk a fault.
const (
	quiesceReport = time.Second
	closeQuiesce  = 2 * time.Second
)

// membarrier(2) commands (linux/membarrier.h; not in x/sys/unix).
const (
	membarrierCmdGlobal                   = 1 << 0
	membarrierCmdPrivateExpedited         = 1 << 3
	membarrierCmdRegisterPrivateExpedited = 1 << 4
)

var (
	mbOnce sync.Once
	mbCmd  int // the command Q1 uses; 0: none works here
)

// registerMembarrier registers the process for private expedited
// membarrier (once; Init calls it so the first re-attach does not pay).
// It falls back to MEMBARRIER_CMD_GLOBAL (slower: an RCU grace period).
func registerMembarrier() {
	mbOnce.Do(func() {
		if _, _, e := unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdRegisterPrivateExpedited, 0, 0); e == 0 {
			mbCmd = membarrierCmdPrivateExpedited
			return
		}
		if _, _, e := unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdGlobal, 0, 0); e == 0 {
			mbCmd = membarrierCmdGlobal
		}
	})
}

// fenceThreads is Q1: a full memory barrier on every thread of the process.
// Without membarrier (seccomp, old kernel) it falls back to waiting a
// millisecond, in which any store buffer has long drained (best effort: the
// architecture gives no bound).
func fenceThreads() {
	registerMembarrier()
	if mbCmd != 0 {
		if _, _, e := unix.Syscall(unix.SYS_MEMBARRIER, uintptr(mbCmd), 0, 0); e == 0 {
			return
		}
	}
	time.Sleep(time.Millisecond)
}

// Values of Thread.ok.
const (
	threadGone       uint32 = iota // not usable (not ready, the daemon gone, closed)
	threadOK                       // usable in the thread's generation
	threadReattached               // usable; the thread's first call since a re-attach
	threadOffline                  // usable; the thread went offline (Thread.Offline), its next call brings it back
)

// toldOffline in Thread.told: the thread is offline (holds no buffers), so
// no death has to wait for it (awaitTold). Generations start at 1, so 0
// means told of nothing.
const toldOffline int64 = -1

// setUsable stores v in every thread's state word (after i.state).
func (i *Instance) setUsable(v uint32) {
	for _, t := range i.threads {
		t.ok.Store(v)
	}
}

// enter is T0+T1: the thread is inside a fast-path call from here, then
// the state check. It reports whether the instance is usable in the
// thread's generation; if not, the caller goes on only if enterSlow
// returns nil (on error the thread has left again). Inlined: the fast path
// pays one store, one load of the thread's own line and a compare.
//
// The first call of a thread after a re-attach returns errHotReattached
// (ErrDaemonGone) once: buffers the thread still holds from the old
// generation have the new daemon's addresses and must be dropped, not
// freed or sent, so the thread must learn of the restart even when it
// slept through it without a call.
func (t *Thread) enter() bool {
	publishQS(&t.qs, t.qs|1+2) // a new odd value, also after a call that never left
	return t.ok.Load() == threadOK
}

// enterSlow is enter's answer when the instance was not usable in the
// thread's generation: nil if it became usable meanwhile, otherwise the
// error, and the thread has left again.
func (t *Thread) enterSlow() error {
	var err error
	switch t.ok.Load() {
	case threadOK:
		return nil // it became usable meanwhile
	case threadOffline:
		// Back online: from here on the thread may hold buffers again, so
		// a death waits for it (unmark before the state changes: a
		// re-attacher that reads the mark after it sees this call inside).
		t.told.CompareAndSwap(toldOffline, 0)
		if t.ok.CompareAndSwap(threadOffline, threadOK) {
			return nil
		}
		return t.enterSlow() // a death or Close stored another state meanwhile
	case threadReattached:
		err = errHotReattached
		t.told.CompareAndSwap(toldOffline, 0)           // the thread is online again
		t.ok.CompareAndSwap(threadReattached, threadOK) // once (a new death may have stored threadGone)
	default:
		if err = t.inst.hotCheck(); err == nil {
			err = errHotGone // ready, the word not yet stored
		}
		// The thread learns of the death here: from now on it holds no
		// buffer of the dead generation (the contract of ErrDaemonGone),
		// and every call returns here until the re-attach.
		t.told.Store(t.inst.deadGen.Load())
	}
	t.leave()
	return err
}

// enterErr is enter and enterSlow in one, for paths that are not hot.
func (t *Thread) enterErr() error {
	if t.enter() {
		return nil
	}
	return t.enterSlow()
}

// leave is T2: the call touches no shared memory after it.
func (t *Thread) leave() { publishQS(&t.qs, t.qs+1) }

// stillInside returns the ids of the threads that were inside a call at
// the snapshot snap (Q2) and still are, in the same call.
func (i *Instance) stillInside(snap []uint64) []int {
	var ids []int
	for k, t := range i.threads {
		if snap[k]&1 == 1 && atomic.LoadUint64(&t.qs) == snap[k] {
			ids = append(ids, k)
		}
	}
	return ids
}

// untold returns the ids of the threads in use (claimed by ThreadInit) that
// have not been told of the death of generation gen: no call of theirs has
// returned ErrDaemonGone since. Callers hold i.mu (nextTID).
func (i *Instance) untold(gen int64) []int {
	var ids []int
	for _, t := range i.threads[:i.nextTID] {
		if told := t.told.Load(); told != gen && told != toldOffline {
			ids = append(ids, t.id)
		}
	}
	return ids
}

// awaitTold is the re-attacher's second wait: quiescence keeps memory
// mapped while a call is inside, but an application also touches buffers
// between calls (reading a received packet, filling an allocated one), and
// it may do so until one of its calls returns ErrDaemonGone, after which
// the contract says it drops them. So the dead generation is unmapped only
// when every thread in use has been told: each has made a call since the
// death (a thread asleep in PollWait wakes at the death and is told as it
// returns), or has gone offline (Thread.Offline, Thread.Release: it holds
// no buffers until its next call). A thread that makes no call holds the
// old memory (and so the re-attach, which needs the same addresses) back:
// after quiesceReport the callback gets one ErrBusy error naming it. The dead daemon's files were
// released at the death (memory.orphan), so its successor starts meanwhile.
// It returns false when stop closed first.
func (i *Instance) awaitTold(gen int64, stop <-chan struct{}, report func(int, error)) bool {
	i.mu.Lock()
	next := i.generation + 1 // changes only in this goroutine (reattach)
	i.mu.Unlock()
	var onStuck func([]int)
	if report != nil {
		onStuck = func(ids []int) {
			report(next, errorf("reattach", ErrBusy, "make a call on each thread now and then (it returns ErrDaemonGone and the thread drops its buffers), or take a thread that stops offline (Thread.Offline, Thread.Release)",
				"threads %v made no call since the daemon died %v ago: they may still touch its buffers, so its memory stays mapped and the re-attach waits", ids, quiesceReport))
		}
	}
	_, ok := waitThreads(stop, 0, func() []int {
		i.mu.Lock()
		defer i.mu.Unlock()
		return i.untold(gen)
	}, onStuck)
	return ok
}

// waitThreads polls pending, with a backoff from 20 µs doubling to 5 ms,
// until it names no thread (ok), stop closes or (limit > 0) limit passes;
// then it returns the threads still pending. stuck, if set, gets the
// pending threads once after quiesceReport.
func waitThreads(stop <-chan struct{}, limit time.Duration, pending func() []int, stuck func([]int)) (ids []int, ok bool) {
	start := time.Now()
	wait := 20 * time.Microsecond
	reported := false
	for {
		ids := pending()
		if len(ids) == 0 {
			return nil, true
		}
		el := time.Since(start)
		if limit > 0 && el >= limit {
			return ids, false
		}
		if !reported && stuck != nil && el >= quiesceReport {
			reported = true
			stuck(ids)
		}
		select {
		case <-stop:
			return ids, false
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Millisecond)
	}
}

// quiesce runs Q1 and Q2 after the state left stateReady. It returns
// ok once no thread is inside a call that may still touch the current
// generation's memory; otherwise, when stop closed or (limit > 0) limit
// passed first, the ids of the threads still inside. report, if set, is
// called once with an ErrBusy error after quiesceReport.
func (i *Instance) quiesce(stop <-chan struct{}, limit time.Duration, report func(int, error)) (stuck []int, ok bool) {
	fenceThreads()
	snap := make([]uint64, len(i.threads))
	for k, t := range i.threads {
		snap[k] = atomic.LoadUint64(&t.qs)
	}
	var onStuck func([]int)
	if report != nil {
		onStuck = func(ids []int) {
			report(i.generation+1, errorf("reattach", ErrBusy, "a thread preempted for long, or a call that panicked and was recovered: any call on the thread releases it",
				"threads %v still inside a fast-path call after %v: the old daemon's memory stays mapped until they leave", ids, quiesceReport))
		}
	}
	return waitThreads(stop, limit, func() []int { return i.stillInside(snap) }, onStuck)
}
