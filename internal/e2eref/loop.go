package e2eref

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Touch reads the IPv4 4-tuple of an untagged Ethernet frame and folds it
// into st (Sum, IPv4), exactly as the C reference's touch does: source and
// destination address, and for TCP and UDP the two ports.
func Touch(p []byte, st *Stats) {
	// Written to stay under the inliner's budget, so that the caller's loop
	// over a burst runs without a call per packet, as the C touch is inlined
	// in its loop: word loads through ld (each after a length check that
	// covers all its bytes), both addresses in one 64-bit load (the xor of
	// its halves is the xor of the two 32-bit words).
	if len(p) < 34 || *(*[2]byte)(unsafe.Pointer(&p[12])) != [2]byte{0x08, 0x00} {
		return
	}
	a := *(*uint64)(unsafe.Pointer(&p[26]))
	sum := uint32(a) ^ uint32(a>>32)
	if o := 14 + int(p[14]&0x0f)*4; 1<<p[23]&(1<<6|1<<17) != 0 && o+4 <= len(p) {
		sum ^= *(*uint32)(unsafe.Pointer(&p[o]))
	}
	st.Sum += uint64(sum)
	st.IPv4++
}

// Phase drives the timing of a Go loop the way e2e_run_c does in C: an
// unmeasured warm-up, then a measured phase; the clock is read on an empty
// poll and every 256 busy polls; an empty poll sleeps, and the thread CPU
// spent in the sleep is counted apart. Use it from the loop's locked
// thread:
//
//	var ph e2eref.Phase
//	ph.Start(warm, dur)
//	for {
//		n := dequeue()
//		if ph.Poll(n, sleep) { break }
//		if n == 0 { continue }
//		… touch into ph.Stats(), send, count ph.Stats().Pkts …
//	}
//	st := ph.Finish()
type Phase struct{ phase }

// Start begins the warm-up.
func (p *Phase) Start(warm, dur time.Duration) { p.start(warm, dur) }

// Poll takes the result of one poll; true means the measured phase is over.
func (p *Phase) Poll(n int, sleep time.Duration) bool { return p.poll(n, sleep) }

// Stats is where the loop counts (warm-up counts are discarded).
func (p *Phase) Stats() *Stats { return p.c }

// Finish returns the measured phase's statistics.
func (p *Phase) Finish() Stats { return p.finish() }

type phase struct {
	c        *Stats // where counts go: warm during the warm-up, st after
	st, warm Stats
	deadline int64
	dur      int64
	wall0    int64
	cpu0     int64
	counting bool
	iter     uint32
}

func (p *phase) start(warm, dur time.Duration) {
	*p = phase{dur: int64(dur)}
	p.c = &p.warm
	p.deadline = monoNs() + int64(warm)
}

func (p *phase) poll(n int, sleep time.Duration) bool {
	if n != 0 {
		p.iter++
		if p.iter&255 != 0 {
			return false
		}
	}
	t := monoNs()
	if t >= p.deadline {
		if p.counting {
			return true
		}
		p.counting = true
		p.c = &p.st
		p.wall0 = t
		p.cpu0 = ThreadCPUNs()
		p.deadline = t + p.dur
	}
	if n == 0 {
		a := ThreadCPUNs()
		Sleep(sleep)
		p.c.SleepCPUNs += uint64(ThreadCPUNs() - a)
		p.c.SleepWall += uint64(monoNs() - t)
		p.c.Sleeps++
	}
	return false
}

func (p *phase) finish() Stats {
	p.st.CPUNs = uint64(ThreadCPUNs() - p.cpu0)
	p.st.WallNs = uint64(monoNs() - p.wall0)
	return p.st
}

var epoch = time.Now()

func monoNs() int64 { return int64(time.Since(epoch)) }

// ThreadCPUNs is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
func ThreadCPUNs() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

// Sleep is the idle sleep of every loop: one nanosleep on this thread, as
// the C loop does (not Go's timer, which would park the goroutine).
func Sleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	unix.Nanosleep(&ts, nil)
}

// SetTimerSlack makes the calling thread's sleeps as short as asked (1 µs
// of slack instead of the default 50 µs), as the C side does.
func SetTimerSlack() { unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0) }
