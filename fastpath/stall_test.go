package fastpath

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gomarsio/marsio/internal/dpdkref"
)

// Ring waits whose peer is dead or slow (AbandonMemory, issue #11).
//
// A peer killed between its head move and its tail store is simulated
// exactly as it leaves the ring: the head of one end is moved by k (a CAS
// for MT, the HTS head, the RTS head {cnt+1, pos+k}) and the tail never
// follows. A live but slow peer does the same, holds the reservation for a
// while, then publishes.
//
// Before AbandonMemory, a call that waits behind such a reservation would
// spin forever inside assembly on the old kernels: not preemptible, so with
// GOMAXPROCS=1 no other goroutine runs and a GC never finishes, and the
// whole process hangs. A test cannot watch for that from inside the hung
// process, so TestStall runs its cases in a child process (this test binary
// again, with GOMAXPROCS=1) and fails if the child stops making progress.

// stallChildEnv marks the child process of TestStall.
const stallChildEnv = "GOMARSIO_STALL_CHILD"

// stallQuiet is how long the child may print nothing before the parent
// declares it hung (every case prints within a few hundred milliseconds).
const stallQuiet = 30 * time.Second

// TestStall runs every dead-peer and slow-peer case in a child process with
// GOMAXPROCS=1 and fails when the child hangs or fails.
func TestStall(t *testing.T) {
	if os.Getenv(stallChildEnv) == "1" {
		runtime.GOMAXPROCS(1)
		stallCases(t)
		return
	}
	args := []string{"-test.run=^TestStall$", "-test.v", "-test.count=1", "-test.timeout=0"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), stallChildEnv+"=1", "GOMAXPROCS=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		// The child's reference EAL (internal/dpdkref), if it was killed
		// before its own cleanup.
		prefix := fmt.Sprintf("gmref%d", pid)
		os.RemoveAll(filepath.Join("/var/run/dpdk", prefix))
		m, _ := filepath.Glob(filepath.Join("/dev/hugepages", prefix+"map_*"))
		for _, f := range m {
			os.Remove(f)
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var log strings.Builder
	var current string
	quiet := time.NewTimer(stallQuiet)
	defer quiet.Stop()
	for open := true; open; {
		select {
		case l, ok := <-lines:
			if !ok {
				open = false
				break
			}
			log.WriteString(l + "\n")
			if s, ok := strings.CutPrefix(strings.TrimSpace(l), "=== RUN"); ok {
				current = strings.TrimSpace(s)
			}
			quiet.Reset(stallQuiet)
		case <-quiet.C:
			cmd.Process.Kill() // our child, by its pid
			cmd.Wait()
			t.Fatalf("child %d hung in %s (nothing printed for %v): a ring call waiting on a peer's reservation neither returned to the Go scheduler nor gave up\n%s",
				pid, current, stallQuiet, log.String())
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, log.String())
	}
	s := log.String()
	if !strings.Contains(s, "--- PASS: TestStall") {
		t.Fatalf("child did not pass:\n%s", s)
	}
	t.Logf("child (GOMAXPROCS=1): %d cases passed, %d skipped", strings.Count(s, "--- PASS: TestStall/"), strings.Count(s, "--- SKIP: TestStall/"))
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "--- SKIP") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

// stallOp is one ring entry point under test: call moves n elements of
// esize bytes between buf and the ring and returns how many it moved.
type stallOp struct {
	name  string
	enq   bool
	n     int
	esize int
	call  func(r Ring, buf []byte) int
}

func u8(b []byte, n int) []uintptr { return unsafe.Slice((*uintptr)(unsafe.Pointer(&b[0])), n) }

func b2i(ok bool) int {
	if ok {
		return 1
	}
	return 0
}

// stallOps lists the entry points that can wait on another party on an end
// with sync type st: MP/MC, generic and sized-element calls on MT ends;
// every call (the explicit SP/SC ones included) on HTS/RTS ends.
func stallOps(st SyncType) []stallOp {
	var ops []stallOp
	type ptrFn func(Ring, []uintptr) int
	enq := []struct {
		name string
		f    ptrFn
	}{
		{"MPEnqueueBulk", Ring.MPEnqueueBulk}, {"MPEnqueueBurst", Ring.MPEnqueueBurst},
		{"EnqueueBulk", Ring.EnqueueBulk}, {"EnqueueBurst", Ring.EnqueueBurst},
	}
	deq := []struct {
		name string
		f    ptrFn
	}{
		{"MCDequeueBulk", Ring.MCDequeueBulk}, {"MCDequeueBurst", Ring.MCDequeueBurst},
		{"DequeueBulk", Ring.DequeueBulk}, {"DequeueBurst", Ring.DequeueBurst},
	}
	if st != SyncMT {
		enq = append(enq, struct {
			name string
			f    ptrFn
		}{"SPEnqueueBurst", Ring.SPEnqueueBurst})
		deq = append(deq, struct {
			name string
			f    ptrFn
		}{"SCDequeueBulk", Ring.SCDequeueBulk})
	}
	for _, n := range []int{1, 5, 40} {
		for _, e := range enq {
			ops = append(ops, stallOp{fmt.Sprintf("%s/%d", e.name, n), true, n, 8,
				func(r Ring, b []byte) int { return e.f(r, u8(b, n)) }})
		}
		for _, d := range deq {
			ops = append(ops, stallOp{fmt.Sprintf("%s/%d", d.name, n), false, n, 8,
				func(r Ring, b []byte) int { return d.f(r, u8(b, n)) }})
		}
	}
	ops = append(ops,
		stallOp{"MPEnqueue", true, 1, 8, func(r Ring, b []byte) int { return b2i(r.MPEnqueue(u8(b, 1)[0])) }},
		stallOp{"Enqueue", true, 1, 8, func(r Ring, b []byte) int { return b2i(r.Enqueue(u8(b, 1)[0])) }},
		stallOp{"MCDequeue", false, 1, 8, func(r Ring, b []byte) int {
			obj, ok := r.MCDequeue()
			u8(b, 1)[0] = obj
			return b2i(ok)
		}},
		stallOp{"Dequeue", false, 1, 8, func(r Ring, b []byte) int {
			obj, ok := r.Dequeue()
			u8(b, 1)[0] = obj
			return b2i(ok)
		}},
	)
	if st != SyncMT {
		ops = append(ops,
			stallOp{"SPEnqueue", true, 1, 8, func(r Ring, b []byte) int { return b2i(r.SPEnqueue(u8(b, 1)[0])) }},
			stallOp{"SCDequeue", false, 1, 8, func(r Ring, b []byte) int {
				obj, ok := r.SCDequeue()
				u8(b, 1)[0] = obj
				return b2i(ok)
			}})
	}
	for _, c := range []struct {
		esize, mode int
		bulk        bool
	}{{4, ModeMulti, true}, {8, ModeDefault, false}, {12, ModeMulti, false}, {16, ModeDefault, true}, {20, ModeMulti, true}} {
		for _, n := range []int{1, 7} {
			name := fmt.Sprintf("Elem%d/mode%d/bulk=%v/%d", c.esize, c.mode, c.bulk, n)
			ops = append(ops,
				stallOp{"Enqueue" + name, true, n, c.esize, func(r Ring, b []byte) int {
					return r.EnqueueElem(b[:n*c.esize], c.esize, c.mode, c.bulk)
				}},
				stallOp{"Dequeue" + name, false, n, c.esize, func(r Ring, b []byte) int {
					return r.DequeueElem(b[:n*c.esize], c.esize, c.mode, c.bulk)
				}})
		}
	}
	return ops
}

// stallSyncs are the ring kinds under test: MT, HTS and RTS on both ends.
var stallSyncs = []struct {
	name  string
	st    SyncType
	flags uint32
}{
	{"MT", SyncMT, 0},
	{"HTS", SyncMTHTS, RingMPHTSEnq | RingMCHTSDeq},
	{"RTS", SyncMTRTS, RingMPRTSEnq | RingMCRTSDeq},
}

const (
	stallCount = 64         // ring size: capacity 63, RTS htd_max 7
	stallK     = 9          // the peer's reservation: more than htd_max
	stallFill  = 60         // elements in the ring before a dequeue case
	stallStart = 0xfffffff8 // indices cross 2^32 inside the reservations
)

// stallCases is the child's body.
func stallCases(t *testing.T) {
	for _, s := range stallSyncs {
		for _, op := range stallOps(s.st) {
			t.Run("dead/"+s.name+"/"+op.name, func(t *testing.T) { testDeadPeer(t, s.flags, op, false) })
		}
	}
	for _, s := range stallSyncs {
		for _, op := range stallOps(s.st) {
			if op.n == 40 || op.esize == 20 {
				continue
			}
			t.Run("slow/"+s.name+"/"+op.name, func(t *testing.T) { testSlowPeer(t, s.flags, op) })
		}
	}
	for _, s := range stallSyncs {
		for _, op := range stallOps(s.st) {
			if op.esize != 8 || op.n != 5 && op.name != "MPEnqueue" && op.name != "MCDequeue" {
				continue
			}
			t.Run("dpdkmem/"+s.name+"/"+op.name, func(t *testing.T) { testDeadPeer(t, s.flags, op, true) })
		}
	}
	for _, ops := range []string{"ring_mp_mc", "ring_mt_hts", "ring_mt_rts"} {
		t.Run("mempool/"+ops, func(t *testing.T) { testDeadPool(t, ops) })
	}
}

// rawMmap maps size bytes of anonymous memory, at addr exactly when addr is
// not 0 (MAP_FIXED_NOREPLACE: a fresh mapping where an unmapped one was).
func rawMmap(t testing.TB, addr uintptr, size int) uintptr {
	t.Helper()
	flags := uintptr(syscall.MAP_PRIVATE | syscall.MAP_ANONYMOUS)
	if addr != 0 {
		flags |= 0x100000 // MAP_FIXED_NOREPLACE
	}
	p, _, e := syscall.Syscall6(syscall.SYS_MMAP, addr, uintptr(size), syscall.PROT_READ|syscall.PROT_WRITE, flags, ^uintptr(0), 0)
	if e != 0 {
		t.Fatalf("mmap %#x+%d: %v", addr, size, e)
	}
	if addr != 0 && p != addr {
		t.Fatalf("mmap at %#x landed at %#x", addr, p)
	}
	return p
}

func rawMunmap(t testing.TB, addr uintptr, size int) {
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, addr, uintptr(size), 0); e != 0 {
		t.Errorf("munmap %#x: %v", addr, e)
	}
}

// newBuf returns n zero bytes, 8-byte aligned (pointer elements).
func newBuf(n int) []byte {
	w := make([]uint64, (n+7)/8+1)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
}

// pattern fills b with 4-byte words base, base+1, …
func pattern(b []byte, base uint32) []byte {
	for i := 0; i+4 <= len(b); i += 4 {
		*(*uint32)(unsafe.Pointer(&b[i])) = base + uint32(i/4)
	}
	return b
}

// stallRing initialises a ring of stallCount esize-byte elements at addr
// with its indices at stallStart; a dequeue case finds stallFill elements
// (pattern 0x100000) in it.
func stallRing(t testing.TB, addr uintptr, flags uint32, esize int, enq bool) Ring {
	t.Helper()
	r, err := RingInit(addr, "stall", stallCount, flags)
	if err != nil {
		t.Fatal(err)
	}
	for _, ht := range []uintptr{ringOffProd, ringOffCons} {
		if ld32(r.p, ht+htOffSyncType) == syncMTRTS {
			st32(r.p, ht+rtsOffTailPos, stallStart)
			st32(r.p, ht+rtsOffHeadPos, stallStart)
		} else {
			st32(r.p, ht+htOffHead, stallStart)
			st32(r.p, ht+htOffTail, stallStart)
		}
	}
	if !enq {
		fill := pattern(newBuf(stallFill*esize), 0x100000)
		if got := r.EnqueueElem(fill, esize, ModeDefault, true); got != stallFill {
			t.Fatalf("fill: %d", got)
		}
	}
	return r
}

// reserveHead moves the head of one end of r by k as a peer does before it
// copies (MT: prod/cons.head; HTS: ht.pos.head; RTS: head {cnt+1, pos+k})
// and returns the old head. Nothing else is touched: the room is the
// caller's business.
func reserveHead(r Ring, prod bool, k uint32) uint32 {
	ht := uintptr(ringOffCons)
	if prod {
		ht = ringOffProd
	}
	switch ld32(r.p, ht+htOffSyncType) {
	case syncMTRTS:
		h := (*uint64)(unsafe.Add(r.p, ht+rtsOffHeadRaw))
		v := atomic.LoadUint64(h)
		atomic.StoreUint64(h, mk64(lo32(v)+1, hi32(v)+k))
		return hi32(v)
	case syncMTHTS:
		h := (*uint32)(unsafe.Add(r.p, ht+htsOffHead))
		old := atomic.LoadUint32(h)
		atomic.StoreUint32(h, old+k)
		return old
	}
	h := (*uint32)(unsafe.Add(r.p, ht+htOffHead))
	old := atomic.LoadUint32(h)
	if !atomic.CompareAndSwapUint32(h, old, old+k) {
		panic("reserveHead: concurrent head move")
	}
	return old
}

// publishTail completes the reservation [old, old+k) that reserveHead made
// (the only one in flight before the waiting call's).
func publishTail(r Ring, prod bool, old, k uint32) {
	ht := uintptr(ringOffCons)
	if prod {
		ht = ringOffProd
	}
	switch ld32(r.p, ht+htOffSyncType) {
	case syncMTRTS:
		updateTailRTS(r.p, ht)
	case syncMTHTS:
		atomic.StoreUint32((*uint32)(unsafe.Add(r.p, ht+htsOffTail)), old+k)
	default:
		atomic.StoreUint32((*uint32)(unsafe.Add(r.p, ht+htOffTail)), old+k)
	}
}

// resetHeads drops every unpublished reservation of r: head = tail on both
// ends.
func resetHeads(r Ring) {
	for _, ht := range []uintptr{ringOffProd, ringOffCons} {
		switch ld32(r.p, ht+htOffSyncType) {
		case syncMTRTS:
			atomic.StoreUint64((*uint64)(unsafe.Add(r.p, ht+rtsOffHeadRaw)), atomic.LoadUint64((*uint64)(unsafe.Add(r.p, ht+rtsOffTailRaw))))
		case syncMTHTS:
			atomic.StoreUint32((*uint32)(unsafe.Add(r.p, ht+htsOffHead)), ld32(r.p, ht+htsOffTail))
		default:
			atomic.StoreUint32((*uint32)(unsafe.Add(r.p, ht+htOffHead)), ld32(r.p, ht+htOffTail))
		}
	}
}

// slot returns the bytes of element idx of r.
func slot(r Ring, idx uint32, esize int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(r.p, ringHeaderSize+uintptr(idx&ld32(r.p, ringOffMask))*uintptr(esize))), esize)
}

// startCall runs call on a locked OS thread (as dataplane callers are) and
// delivers its result.
func startCall(call func() int) <-chan int {
	done := make(chan int, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- call()
	}()
	return done
}

// expectWaiting checks that the call behind done is still waiting while,
// with GOMAXPROCS=1, other goroutines run and garbage collections complete.
func expectWaiting[T any](t *testing.T, done <-chan T, rounds int) {
	t.Helper()
	for i := 0; i < rounds; i++ {
		ran := make(chan struct{})
		go func() { close(ran) }()
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatal("another goroutine did not run while a ring call waited (GOMAXPROCS=1)")
		}
		gc := make(chan struct{})
		go func() { runtime.GC(); close(gc) }()
		select {
		case <-gc:
		case <-time.After(10 * time.Second):
			t.Fatal("runtime.GC did not complete while a ring call waited")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case v := <-done:
		t.Fatalf("the call returned %v while the reservation before it is unpublished", v)
	default:
	}
}

// wantSoon waits for the call's result.
func wantSoon[T any](t *testing.T, done <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-done:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the call did not return within 10s", what)
	}
	panic("unreachable")
}

// ringMem provides the memory of a dead-peer case: mmap'ed (remappable at
// the same address) or a DPDK memzone from rte_ring_create.
type ringMem struct {
	addr uintptr
	size int
}

// testDeadPeer: the peer before us on the end is dead. The call waits (and
// everything else runs); AbandonMemory makes it return 0; after release, a
// fresh ring in the same memory works normally.
func testDeadPeer(t *testing.T, flags uint32, op stallOp, dpdkMem bool) {
	size, err := RingMemSize(stallCount, op.esize, flags)
	if err != nil {
		t.Fatal(err)
	}
	var m ringMem
	if dpdkMem {
		requireDPDK(t)
		a, err := dpdkref.RingCreateElem(dpdkref.Unique("stall"), uint32(op.esize), stallCount, flags)
		if err != nil {
			t.Fatal(err)
		}
		// stallRing re-initialises the header: rte_ring_free needs its
		// memzone field back.
		hdr := *(*[ringHeaderSize]byte)(ptrAt(a))
		t.Cleanup(func() {
			*(*[ringHeaderSize]byte)(ptrAt(a)) = hdr
			dpdkref.RingFree(a)
		})
		m = ringMem{a, size}
	} else {
		m = ringMem{rawMmap(t, 0, size), size}
		t.Cleanup(func() { rawMunmap(t, m.addr, m.size) })
	}
	r := stallRing(t, m.addr, flags, op.esize, op.enq)
	reserveHead(r, op.enq, stallK)
	buf := pattern(newBuf(op.n*op.esize), 0x200000)
	done := startCall(func() int { return op.call(r, buf) })
	var release func()
	t.Cleanup(func() {
		// On failure: free the call before the memory goes.
		if release == nil {
			AbandonMemory(m.addr, m.addr+uintptr(m.size))()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
			}
		}
	})
	expectWaiting(t, done, 3)
	// Abandon an unrelated range first: the call keeps waiting.
	other := AbandonMemory(m.addr+uintptr(m.size)+4096, m.addr+uintptr(m.size)+8192)
	expectWaiting(t, done, 1)
	other()
	release = AbandonMemory(m.addr, m.addr+uintptr(m.size))
	if !Abandoned(m.addr) || !Abandoned(m.addr+uintptr(m.size)-1) || Abandoned(m.addr+uintptr(m.size)) {
		t.Fatal("Abandoned disagrees with AbandonMemory")
	}
	if n := wantSoon(t, done, "after AbandonMemory"); n != 0 {
		t.Fatalf("after AbandonMemory the call returned %d, want 0", n)
	}
	release()
	release() // a second call does nothing
	if Abandoned(m.addr) {
		t.Fatal("still abandoned after release")
	}
	// A fresh ring where the dead one was.
	if !dpdkMem {
		rawMunmap(t, m.addr, m.size)
		rawMmap(t, m.addr, m.size)
	}
	r = stallRing(t, m.addr, flags, op.esize, op.enq)
	if got := op.call(r, buf); got != op.n {
		t.Fatalf("fresh ring: moved %d, want %d", got, op.n)
	}
	checkRing(t, r, op, buf, 0)
}

// checkRing checks the ring and buf after op moved op.n elements on a
// ring made by stallRing, after a peer moved k elements before it.
func checkRing(t *testing.T, r Ring, op stallOp, buf []byte, k int) {
	t.Helper()
	es := op.esize
	if op.enq {
		// The peer's k elements (pattern 0x300000), then ours.
		want := append(pattern(make([]byte, k*es), 0x300000), pattern(make([]byte, op.n*es), 0x200000)...)
		got := newBuf((k + op.n) * es)
		if n := r.DequeueElem(got, es, ModeDefault, true); n != k+op.n || !bytes.Equal(got, want) {
			t.Fatalf("ring holds (%d) %x, want %x", n, got, want)
		}
	} else {
		fill := pattern(make([]byte, stallFill*es), 0x100000)
		if !bytes.Equal(buf, fill[k*es:(k+op.n)*es]) {
			t.Fatalf("dequeued %x, want %x", buf, fill[k*es:(k+op.n)*es])
		}
		rest := newBuf((stallFill - k - op.n) * es)
		if n := r.DequeueElem(rest, es, ModeDefault, true); n != stallFill-k-op.n || !bytes.Equal(rest, fill[(k+op.n)*es:]) {
			t.Fatalf("rest of the ring: %d elements %x", n, rest)
		}
	}
	if !r.Empty() {
		t.Fatalf("ring not empty: %d", r.Count())
	}
}

// testSlowPeer: the peer before us is alive but slow (it holds its
// reservation across several scheduler rounds and collections, then
// publishes). The call waits for it, exactly as DPDK does, even with
// other memory abandoned, and completes with the right count and contents.
func testSlowPeer(t *testing.T, flags uint32, op stallOp) {
	size, err := RingMemSize(stallCount, op.esize, flags)
	if err != nil {
		t.Fatal(err)
	}
	addr := rawMmap(t, 0, size)
	t.Cleanup(func() { rawMunmap(t, addr, size) })
	other := AbandonMemory(addr+uintptr(size)+4096, addr+uintptr(size)+8192)
	defer other()
	r := stallRing(t, addr, flags, op.esize, op.enq)
	old := reserveHead(r, op.enq, stallK)
	peer := pattern(make([]byte, stallK*op.esize), 0x300000)
	for i := uint32(0); i < stallK; i++ {
		s := slot(r, old+i, op.esize)
		if op.enq {
			copy(s, peer[int(i)*op.esize:])
		} else {
			copy(peer[int(i)*op.esize:], s)
		}
	}
	buf := pattern(newBuf(op.n*op.esize), 0x200000)
	done := startCall(func() int { return op.call(r, buf) })
	published := false
	t.Cleanup(func() {
		if !published {
			publishTail(r, op.enq, old, stallK)
			<-done
		}
	})
	expectWaiting(t, done, 2)
	publishTail(r, op.enq, old, stallK)
	published = true
	if n := wantSoon(t, done, "after the peer published"); n != op.n {
		t.Fatalf("moved %d, want %d", n, op.n)
	}
	if !op.enq && !bytes.Equal(peer, pattern(make([]byte, stallK*op.esize), 0x100000)) {
		t.Fatalf("the peer read %x", peer)
	}
	checkRing(t, r, op, buf, stallK)
}

// testDeadPool: a dead peer in the middle of a get (cons head moved) or a
// put (prod head moved) on a DPDK mempool's ring; every mempool call that
// needs the ring waits, then gives up once the ring's memory is abandoned:
// GetBulk and AllocMbufs with ErrAbandoned, PutBulk, Flush and FreeMbufs by
// returning.
func testDeadPool(t *testing.T, ops string) {
	requireDPDK(t)
	const size = 1023 // ring of 1024: RTS htd_max 127
	const k = 200
	type poolCall struct {
		name string
		prod bool
		call func(mp Mempool) error
	}
	calls := []poolCall{
		{"GetBulk/nocache", false, func(mp Mempool) error { return mp.GetBulk(make([]uintptr, 32), Cache{}) }},
		{"GetBulk/refill", false, func(mp Mempool) error {
			c, _ := NewCache(64)
			err := mp.GetBulk(make([]uintptr, 8), c)
			if c.Len() != 0 {
				return fmt.Errorf("cache holds %d after an abandoned get", c.Len())
			}
			return err
		}},
		{"AllocMbufs", false, func(mp Mempool) error { return mp.AllocMbufs(make([]Mbuf, 16), Cache{}) }},
		{"AllocMbuf/cache", false, func(mp Mempool) error {
			c, _ := NewCache(32)
			_, err := mp.AllocMbuf(c)
			return err
		}},
		{"PutBulk/nocache", true, func(mp Mempool) error { mp.PutBulk(make([]uintptr, 32), Cache{}); return nil }},
		{"PutBulk/flush", true, func(mp Mempool) error {
			c, _ := NewCache(64)
			objs := make([]uintptr, 90)
			for i := range objs {
				objs[i] = uintptr(i + 1)
			}
			mp.PutBulk(objs[:60], c)
			mp.PutBulk(objs[60:], c) // 90 <= flushthresh 96: in the cache
			mp.PutBulk(objs[:10], c) // 100 > 96: the cache goes to the ring
			return nil
		}},
		{"FreeMbufs", true, func(mp Mempool) error {
			ms := make([]Mbuf, 32)
			if err := mp.AllocMbufs(ms, Cache{}); err != nil { // a get: not behind the producer
				return err
			}
			return mp.FreeMbufs(ms, Cache{})
		}},
		{"Flush", true, func(mp Mempool) error {
			c, _ := NewCache(64)
			mp.PutBulk(make([]uintptr, 40), c)
			mp.Flush(c)
			return nil
		}},
	}
	for _, pc := range calls {
		t.Run(pc.name, func(t *testing.T) {
			addr := newPool(t, size, 0, ops)
			mp, err := MempoolAt(addr)
			if err != nil {
				t.Fatal(err)
			}
			r := mp.Ring()
			// rte_mempool_free dequeues the pool's objects one by one with
			// DPDK's C, which would wait forever behind the dead
			// reservations: put the heads back before it runs.
			t.Cleanup(func() { resetHeads(r) })
			if pc.prod {
				// Room for the dead producer and for ours.
				if err := mp.GetBulk(make([]uintptr, 512), Cache{}); err != nil {
					t.Fatal(err)
				}
			}
			reserveHead(r, pc.prod, k)
			done := make(chan error, 1)
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				done <- pc.call(mp)
			}()
			var release func()
			lo, hi := r.Addr(), r.Addr()+uintptr(ringHeaderSize+8*r.Size())
			t.Cleanup(func() {
				if release == nil { // on failure: free the call before the pool goes
					AbandonMemory(lo, hi)()
					select {
					case <-done:
					case <-time.After(10 * time.Second):
					}
				}
			})
			expectWaiting(t, done, 3)
			release = AbandonMemory(lo, hi)
			defer release()
			err = wantSoon(t, done, "after AbandonMemory")
			if pc.prod {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrAbandoned) {
				t.Fatalf("got %v, want ErrAbandoned", err)
			}
		})
	}
}
