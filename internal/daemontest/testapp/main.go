// Command testapp is a tiny mrzcpd application for the daemon's tests,
// written directly against shm, ctrlproto and fastpath (pure Go, no cgo).
//
//	testapp -prefix P -appsym A -devsym D -rx N -tx N -mode forward -expect K -report FILE
//	testapp -prefix P -appsym A -devsym D -mode hold            (then kill -9 it)
//	testapp -prefix P -appsym A -devsym D -mode bench -duration 3s
//	testapp -prefix P -appsym A -devsym D -rx 1 -tx 8 -mode flood -duration 1s -mark K
//	testapp -prefix P -appsym A [-devsym D -open] -mode halfget (then kill -9 it)
//	testapp -prefix P -appsym A [-devsym D -open] -mode halfput (then kill -9 it)
//
// forward: receives until K packets arrived (or -timeout), records which rx
// stream each packet came on, sends each one back out tx stream (rx % ntx),
// waits until the daemon drained the tx rings, closes and deregisters, and
// writes a JSON report. hold: takes mbufs every way an app can hold them
// (unread rx rings, packets received and kept, mbufs allocated from the
// pool through its shared-memory cache), prints "HOLDING", and waits to be
// killed. bench: forwards for -duration and prints the packet count.
// waitgone: registers and waits until the daemon's liveness socket hangs up,
// then prints "DAEMON GONE". flood: allocates UDP frames (dport 54) and
// sends bursts of 32 on every tx stream in turn as fast as it can for
// -duration without reading its rx streams; in the second half it makes
// the last frame of K bursts on the last tx stream a dport 53 frame. It
// then waits until the daemon drained the tx rings, receives until the rx
// streams stay empty for 300 ms, prints "DRAINED {daemontest.FloodReport}",
// waits for a line on stdin, sends 32 frames (dport 55) on tx stream 0,
// receives them back, prints "ECHOED n", closes and deregisters.
// halfget: registers (and with -open opens the vdev, 1 rx / 1 tx stream,
// and does not read it), then does the first half of a multi-consumer dequeue
// of -n objects on pool 0's ring — the CAS of cons.head, not the copy nor
// the tail store — prints "HALFGET cons head H->H+n tail T", and waits to
// be killed: the state a process killed inside a dequeue leaves behind.
// halfput: the same with the CAS of prod.head of a multi-producer enqueue
// ("HALFPUT prod head H->H+n tail T").
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// Report is what forward mode writes.
type Report struct {
	Slot     uint32   `json:"slot"`
	Received int      `json:"received"`
	Sent     int      `json:"sent"`
	Streams  []int    `json:"streams"` // packets per rx stream
	Packets  []Packet `json:"packets"`
}

// Packet is one received packet.
type Packet struct {
	Stream int    `json:"s"`
	Data   string `json:"d"` // hex
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("testapp", flag.ContinueOnError)
	prefix := fs.String("prefix", "", "daemon's file prefix")
	appsym := fs.String("appsym", "testapp", "appsym")
	devsym := fs.String("devsym", "vxe0", "vdev")
	nrx := fs.Uint("rx", 4, "rx streams")
	ntx := fs.Uint("tx", 4, "tx streams")
	mode := fs.String("mode", "forward", "forward, hold, bench, waitgone, flood, halfget, halfput")
	expect := fs.Int("expect", 0, "forward: packets to receive")
	timeout := fs.Duration("timeout", 20*time.Second, "forward: give up after")
	duration := fs.Duration("duration", 3*time.Second, "bench, flood: run time")
	report := fs.String("report", "", "forward: report file")
	mark := fs.Int("mark", 0, "flood: dport 53 frames on the last tx stream")
	nget := fs.Uint("n", 4, "halfget, halfput: slots to take")
	open := fs.Bool("open", false, "halfget, halfput: open the vdev first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := daemontest.Register(*prefix, *appsym, 1, 256)
	if err != nil {
		return err
	}
	if *mode == "waitgone" {
		fmt.Println("REGISTERED")
		for !c.DaemonGone() {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Println("DAEMON GONE")
		return nil
	}
	if *mode == "halfget" || *mode == "halfput" {
		if *open {
			if _, err := c.Open(*devsym, 1, 1); err != nil {
				c.Deregister()
				return err
			}
		}
		return halfOp(c, *mode == "halfput", uint32(*nget))
	}
	v, err := c.Open(*devsym, uint32(*nrx), uint32(*ntx))
	if err != nil {
		c.Deregister()
		return err
	}
	switch *mode {
	case "forward":
		return forward(c, v, *expect, *timeout, *report)
	case "bench":
		return bench(c, v, *duration)
	case "hold":
		return hold(c, v)
	case "flood":
		return flood(c, v, *duration, *mark)
	}
	return fmt.Errorf("unknown mode %q", *mode)
}

// send enqueues objs to tx stream s, waiting while the ring is full; it
// gives up (returning the rest) at the deadline.
func send(v *daemontest.Vdev, s int, objs []uintptr, deadline time.Time) []uintptr {
	for spins := 0; len(objs) > 0; spins++ {
		n := v.Tx[s].SPEnqueueBurst(objs)
		objs = objs[n:]
		if n == 0 && spins&1023 == 1023 && time.Now().After(deadline) {
			return objs
		}
	}
	return nil
}

func forward(c *daemontest.Client, v *daemontest.Vdev, expect int, timeout time.Duration, path string) error {
	rep := Report{Slot: c.Slot, Streams: make([]int, len(v.Rx))}
	buf := make([]uintptr, 32)
	deadline := time.Now().Add(timeout)
	idle := 0
	for rep.Received < expect && time.Now().Before(deadline) {
		got := 0
		for i, r := range v.Rx {
			n := r.SCDequeueBurst(buf)
			for _, m := range fastpath.MbufsOf(buf[:n]) {
				rep.Packets = append(rep.Packets, Packet{Stream: i, Data: hex.EncodeToString(m.Data())})
			}
			rep.Streams[i] += n
			rep.Received += n
			got += n
			if len(v.Tx) > 0 && n > 0 {
				left := send(v, i%len(v.Tx), buf[:n], deadline)
				rep.Sent += n - len(left)
			}
		}
		if got == 0 {
			idle++
			if idle > 100 {
				v.Wait(0, 5*time.Millisecond) // exercise the sleep/wake protocol
			}
		} else {
			idle = 0
		}
	}
	for _, t := range v.Tx { // let the daemon drain what we sent
		for !t.Empty() && time.Now().Before(deadline.Add(5*time.Second)) {
			time.Sleep(time.Millisecond)
		}
	}
	if err := v.Close(); err != nil {
		return err
	}
	if err := c.Deregister(); err != nil {
		return err
	}
	data, _ := json.Marshal(rep)
	if path != "" {
		return os.WriteFile(path, data, 0o644)
	}
	return nil
}

func bench(c *daemontest.Client, v *daemontest.Vdev, d time.Duration) error {
	buf := make([]uintptr, 64)
	n := 0
	end := time.Now().Add(d)
	var dropped []uintptr
	for k := 0; dropped == nil; k++ {
		if k&1023 == 0 && time.Now().After(end) {
			break
		}
		for i, r := range v.Rx {
			m := r.SCDequeueBurst(buf)
			if m > 0 {
				left := send(v, i%len(v.Tx), buf[:m], end.Add(5*time.Second))
				n += m - len(left)
				if len(left) > 0 {
					dropped = left // the daemon stopped draining: the test reports it
					break
				}
			}
		}
	}
	if dropped != nil {
		return fmt.Errorf("tx ring stayed full: the daemon stopped draining it (%d forwarded)", n)
	}
	fmt.Printf("FORWARDED %d\n", n)
	v.Close()
	return c.Deregister()
}

func hold(c *daemontest.Client, v *daemontest.Vdev) error {
	// Packets received and kept (tagged by the daemon).
	buf := make([]uintptr, 64)
	kept := 0
	for kept < 64 {
		kept += v.Rx[0].SCDequeueBurst(buf[kept:])
		time.Sleep(time.Millisecond)
	}
	// Mbufs allocated through the shared-memory cache, tagged by us.
	mp, cache, err := c.Pool(0, 0)
	if err != nil {
		return err
	}
	objs := make([]uintptr, 100)
	if err := mp.GetBulk(objs, cache); err != nil {
		return err
	}
	for _, o := range objs {
		c.SetOwner(o, c.Slot+1)
	}
	// Half go back through the cache (free: clear the tag first).
	for _, o := range objs[50:] {
		c.SetOwner(o, 0)
	}
	mp.PutBulk(objs[50:], cache)
	fmt.Printf("HOLDING kept=%d allocated=50 cache=%d\n", kept, cache.Len())
	for {
		time.Sleep(time.Hour) // rx rings keep filling until we are killed
	}
}

func flood(c *daemontest.Client, v *daemontest.Vdev, d time.Duration, mark int) error {
	mp, cache, err := c.Pool(0, 0)
	if err != nil {
		return err
	}
	rep := daemontest.FloodReport{PerTx: make([]uint64, len(v.Tx))}
	ms := make([]fastpath.Mbuf, 32)
	objs := make([]uintptr, 32)
	// fill allocates a burst of frames to dport (dport 53 for the last
	// one when marked: the end of a burst is what a port refuses first);
	// false when the pool is empty.
	fill := func(dport byte, marked bool) bool {
		if mp.AllocMbufs(ms, cache) != nil {
			return false
		}
		for i, m := range ms {
			c.SetOwner(uintptr(m), c.Slot+1) // ours until the daemon takes it
			b, _ := m.Append(60)
			p := dport
			if marked && i == len(ms)-1 {
				p = 53
			}
			copy(b, daemontest.UDPFrame(p))
			objs[i] = uintptr(m)
		}
		return true
	}
	// free returns mbufs to the pool (the owner tag cleared first, as the
	// library does: a tagged mbuf would be reclaimed a second time).
	free := func(ms []fastpath.Mbuf) {
		for _, m := range ms {
			c.SetOwner(uintptr(m), 0)
		}
		mp.FreeMbufs(ms, cache)
	}
	start := time.Now()
	end := start.Add(d)
	last := len(v.Tx) - 1
	for k := 0; ; k++ {
		if k&63 == 0 && time.Now().After(end) {
			break
		}
		s := k % len(v.Tx)
		marked := s == last && rep.Marked < mark && time.Since(start) > d/2
		if !fill(54, marked) {
			continue // the daemon frees what it drops; try again
		}
		n := v.Tx[s].SPEnqueueBurst(objs)
		if n < len(objs) {
			free(ms[n:]) // not sent: the ring was full
		}
		rep.Sent += uint64(n)
		rep.PerTx[s] += uint64(n)
		if marked && n == len(objs) {
			rep.Marked++
		}
	}
	for _, t := range v.Tx { // the daemon drains (or refuses) everything sent
		for !t.Empty() {
			time.Sleep(time.Millisecond)
		}
	}
	// recv receives until the rx streams stay empty for idle.
	recv := func(idle time.Duration, want uint64) uint64 {
		var got uint64
		for last := time.Now(); time.Since(last) < idle && (want == 0 || got < want); {
			for _, r := range v.Rx {
				if n := r.SCDequeueBurst(objs); n > 0 {
					free(fastpath.MbufsOf(objs[:n]))
					got += uint64(n)
					last = time.Now()
				}
			}
		}
		return got
	}
	rep.Received = recv(300*time.Millisecond, 0)
	data, _ := json.Marshal(rep)
	fmt.Printf("DRAINED %s\n", data)
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("flood: stdin: %w", err)
	}
	for !fill(55, false) {
		time.Sleep(time.Millisecond)
	}
	if n := v.Tx[0].SPEnqueueBurst(objs); n != len(objs) {
		return fmt.Errorf("flood: echo burst: %d of %d enqueued", n, len(objs))
	}
	fmt.Printf("ECHOED %d\n", recv(5*time.Second, 32))
	if err := v.Close(); err != nil {
		return err
	}
	return c.Deregister()
}

// halfOp moves pool 0's ring's cons.head (put: prod.head) by n with a CAS,
// as the first step of rte_ring's multi-consumer dequeue (multi-producer
// enqueue) does (__rte_ring_move_cons_head / _prod_head, with at least n
// entries / free slots), and stops there: no copy, no tail store. Then it
// waits to be killed.
func halfOp(c *daemontest.Client, put bool, n uint32) error {
	mp, _, err := c.Pool(0, 0)
	if err != nil {
		return err
	}
	r := mp.Ring()
	if r.ConsSync() != fastpath.SyncMT || r.ProdSync() != fastpath.SyncMT {
		return fmt.Errorf("pool %s: ring %s: sync types %v/%v, want MT", mp.Name(), r.Name(), r.ProdSync(), r.ConsSync())
	}
	at := func(off uintptr) *uint32 {
		a := r.Addr() + off
		return *(**uint32)(unsafe.Pointer(&a)) // shared memory, not Go's
	}
	consHead := at(dpdk.OffsetofRingCons + dpdk.OffsetofRingHeadtailHead)
	consTail := at(dpdk.OffsetofRingCons + dpdk.OffsetofRingHeadtailTail)
	prodHead := at(dpdk.OffsetofRingProd + dpdk.OffsetofRingHeadtailHead)
	prodTail := at(dpdk.OffsetofRingProd + dpdk.OffsetofRingHeadtailTail)
	head, tail, other, name := consHead, consTail, prodTail, "cons"
	if put {
		head, tail, other, name = prodHead, prodTail, consTail, "prod"
	}
	capacity := uint32(r.Capacity())
	for {
		h := atomic.LoadUint32(head)
		o := atomic.LoadUint32(other)
		avail := o - h // entries between cons.head and prod.tail
		if put {
			avail = capacity + o - h // free slots between prod.head and cons.tail
		}
		if avail < n {
			time.Sleep(time.Millisecond) // not enough yet: the daemon's workers hold them
			continue
		}
		if atomic.CompareAndSwapUint32(head, h, h+n) {
			fmt.Printf("HALF%s %s head %d->%d tail %d\n", map[bool]string{false: "GET", true: "PUT"}[put], name, h, h+n, atomic.LoadUint32(tail))
			break
		}
	}
	for { // killed here, between the head move and the tail store
		time.Sleep(time.Hour)
	}
}
