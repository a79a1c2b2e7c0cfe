package marsio

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/fastpath"
)

// PollWait blocks the thread until one of its rx streams on devs has
// packets, timeout passes (≤ 0: no timeout) or ctx ends
// (marsio_poll_wait), following the seed's throttle:
//
//   - poll_wait_enable=0: return at once (pure busy polling);
//   - fewer than poll_wait_throttle_usleep_threshold empty receives in a
//     row (RecvBurst returning 0) since the last packet: return at once;
//   - fewer than poll_wait_throttle_notify_threshold: sleep
//     poll_wait_throttle_usleep_period µs and return;
//   - otherwise set the streams' sleeping flags, fence, re-check the rings
//     (no lost wake-up: the daemon enqueues, fences, then reads the flag and
//     writes the stream's eventfd), and park in Go's netpoller on the
//     thread's epoll until an eventfd fires.
//
// It returns nil when it is time to receive again, ctx.Err() when ctx ended,
// and ErrDaemonGone / ErrClosed when the daemon died or the instance was
// closed meanwhile. A timeout is not an error.
func (t *Thread) PollWait(ctx context.Context, timeout time.Duration, devs ...*Device) error {
	return t.pollWait(ctx, timeout, devs, false)
}

// PollWaitEpoll is PollWait blocking the OS thread in epoll_wait, as the C
// library does (for a dataplane thread pinned to its own CPU). ctx ends the
// wait through an eventfd.
func (t *Thread) PollWaitEpoll(ctx context.Context, timeout time.Duration, devs ...*Device) error {
	return t.pollWait(ctx, timeout, devs, true)
}

func (t *Thread) pollWait(ctx context.Context, timeout time.Duration, devs []*Device, blocking bool) error {
	if ctx == nil {
		return errNilCtx
	}
	for _, d := range devs {
		if d == nil { // refused before entering (quiesce.go)
			return errNilDev
		}
	}
	if !t.enter() {
		if err := t.enterSlow(); err != nil {
			return err
		}
	}
	i := t.inst
	act, err := t.pollArm(ctx, devs)
	usleep := i.cfg.UsleepPeriod
	if act == pollPark {
		i.waiters.Add(1) // inside the call: Close sees it after quiescence
	}
	t.leave() // asleep or not, the thread is offline from here (quiesce.go)
	switch {
	case err != nil:
		return err
	case act == pollUsleep:
		ts := unix.NsecToTimespec(int64(usleep) * 1000)
		for unix.Nanosleep(&ts, &ts) == unix.EINTR {
		}
		return nil
	case act == pollReturn:
		return nil
	}
	if blocking {
		err = t.waitEpoll(ctx, timeout)
	} else {
		err = t.waitNetpoll(ctx, timeout)
	}
	i.waiters.Add(-1)
	// Disarm inside a call: after a re-attach or Close the streams'
	// memory may be gone, and enter says so before we touch it.
	if e := t.enterErr(); e != nil {
		return e
	}
	t.disarm(devs)
	t.leave()
	return err
}

// What pollWait does after pollArm.
const (
	pollReturn = iota // receive again at once
	pollUsleep        // sleep poll_wait_throttle_usleep_period µs, then return
	pollPark          // flags armed: park until an eventfd fires
)

// pollArm is the part of PollWait inside the call: the throttle decision
// and, when the thread is to park, the arming of its sleeping flags with
// the re-check of its rings. The sleeping itself is the caller's, outside
// the call.
func (t *Thread) pollArm(ctx context.Context, devs []*Device) (int, error) {
	i := t.inst
	if err := ctx.Err(); err != nil {
		return pollReturn, err
	}
	c := &i.cfg
	if !c.PollWaitEnable || t.idle < c.UsleepThreshold {
		return pollReturn, nil
	}
	if t.idle < c.NotifyThreshold {
		return pollUsleep, nil
	}
	for _, d := range devs {
		if d.closed.Load() {
			return pollReturn, errDevClosed
		}
		if d.inst != i {
			return pollReturn, errForeignDev
		}
	}
	// Arm: sleeping=1 with a full fence (XCHG), then re-check every ring.
	// Pairs with the daemon's enqueue; fence; load sleeping.
	armed := false
	for _, d := range devs {
		if t.id < len(d.rx) {
			atomic.StoreUint32(d.rx[t.id].sleeping(), 1)
			armed = true
		}
	}
	if !armed {
		return pollReturn, errNoStream
	}
	for _, d := range devs {
		if t.id < len(d.rx) && d.rx[t.id].ring.Count() > 0 {
			t.disarm(devs)
			return pollReturn, nil
		}
	}
	t.sleeps.Add(1)
	for _, d := range devs {
		if t.id < len(d.rx) {
			fastpath.CounterAdd(&d.rx[t.id].st.App.Events, 1)
		}
	}
	return pollPark, nil
}

// disarm clears the thread's sleeping flags on devs (inside a call).
func (t *Thread) disarm(devs []*Device) {
	for _, d := range devs {
		if t.id < len(d.rx) && !d.closed.Load() {
			atomic.StoreUint32(d.rx[t.id].sleeping(), 0)
		}
	}
}

// waitEpoll blocks in epoll_wait on the thread's epoll (EINTR retried).
func (t *Thread) waitEpoll(ctx context.Context, timeout time.Duration) error {
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			var one = [8]byte{1}
			unix.Write(t.cancel, one[:])
		})
		defer stop()
	}
	ms := -1
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return nil
			}
			ms = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		n, err := unix.EpollWait(t.epfd, t.evs[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return errorf("poll wait", ErrInvalid, "", "epoll_wait: %v", err)
		}
		if n == 0 {
			return nil
		}
		return t.consume(ctx, n)
	}
}

// waitNetpoll parks the goroutine in Go's netpoller until the thread's
// epoll is readable; the timeout and ctx become read deadlines.
func (t *Thread) waitNetpoll(ctx context.Context, timeout time.Duration) error {
	if timeout > 0 {
		t.epf.SetReadDeadline(time.Now().Add(timeout))
	} else {
		t.epf.SetReadDeadline(time.Time{})
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { t.epf.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	rc, err := t.epf.SyscallConn()
	if err != nil {
		return errorf("poll wait", ErrInvalid, "", "epoll as file: %v", err)
	}
	n := 0
	rerr := rc.Read(func(fd uintptr) bool {
		for {
			n, err = unix.EpollWait(int(fd), t.evs[:], 0)
			if err != unix.EINTR {
				break
			}
		}
		return err != nil || n > 0
	})
	if rerr != nil {
		if errors.Is(rerr, os.ErrDeadlineExceeded) {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return nil // timeout
		}
		return errorf("poll wait", ErrInvalid, "", "wait: %v", rerr)
	}
	if err != nil {
		return errorf("poll wait", ErrInvalid, "", "epoll_wait: %v", err)
	}
	return t.consume(ctx, n)
}

// consume handles n ready events: drains rx eventfds, reports the
// daemon's death, Close and cancellation.
func (t *Thread) consume(ctx context.Context, n int) error {
	i := t.inst
	var buf [8]byte
	for _, ev := range t.evs[:n] {
		fd := int(ev.Fd)
		switch fd {
		case i.wakefd:
			// Close or the daemon's death: hotCheck below says which.
		case i.liveFD:
			i.markGone("liveness socket hung up")
		case t.cancel:
			unix.Read(fd, buf[:])
			if err := ctx.Err(); err != nil {
				return err
			}
		default:
			unix.Read(fd, buf[:]) // reported readable: does not block
		}
	}
	return i.hotCheck()
}
