// Package neigh is the application library's neighbour table and its
// ARP (IPv4) and neighbour discovery (IPv6) handling, in pure Go.
//
// One Table per vdev. The control side (static file, learning from received
// ARP/ND, expiry) writes it under a mutex; the send path reads it without
// any lock or allocation: Resolve probes an open-addressed array whose slots
// are read under a per-slot sequence counter (a seqlock), so a reader never
// sees a torn entry and never blocks a writer. Port binds a table to a
// vdev's MAC and addresses: it consumes and answers ARP/ND, learns from it,
// and fills Ethernet headers on the send path (PrepareFrame, Output).
//
// The seed's defaults: 4096 entries, entries never expire (timeout 0), one
// ARP request per next hop per second, 3 gratuitous ARPs when a device with
// an address opens. docs/NEIGH.md describes the static file and the
// policies (unresolved packets are dropped and counted, not held).
package neigh

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The seed's defaults (MRAPP_DEFAULT_NEIGH_* in marsio.c).
const (
	DefaultMaxEntries     = 4096
	DefaultTimeout        = 0 // learned entries never expire
	DefaultARPInterval    = time.Second
	DefaultGratuitousARPs = 3
)

// Sentinel errors; test with errors.Is.
var (
	// ErrTableFull: no room for a new entry (Config.MaxEntries).
	ErrTableFull = errors.New("neigh: table full")
	// ErrStaticConflict: a learned address disagrees with a static entry
	// (the static entry wins).
	ErrStaticConflict = errors.New("neigh: conflicts with a static entry")
	// ErrBadAddress: an IP or MAC address is not usable as a neighbour.
	ErrBadAddress = errors.New("neigh: bad address")
	// ErrBadTable: the static neighbour file is malformed (see ParseError).
	ErrBadTable = errors.New("neigh: bad static table")
	// ErrShortBuffer: the output buffer cannot hold the frame.
	ErrShortBuffer = errors.New("neigh: buffer too short")
	// ErrBadConfig: a Config or Port parameter is invalid.
	ErrBadConfig = errors.New("neigh: bad configuration")
)

// Config holds the table's limits and timers.
type Config struct {
	// MaxEntries bounds the number of entries (static, learned and
	// incomplete together).
	MaxEntries int
	// Timeout expires learned entries that many after their last
	// confirmation; 0 keeps them forever. Static entries never expire.
	Timeout time.Duration
	// ARPInterval is the least time between two requests for one next hop.
	ARPInterval time.Duration
	// GratuitousARPs is how many gratuitous ARPs (unsolicited neighbour
	// advertisements for IPv6) a device announces when it opens.
	GratuitousARPs int
}

// DefaultConfig returns the seed's defaults.
func DefaultConfig() Config {
	return Config{MaxEntries: DefaultMaxEntries, Timeout: DefaultTimeout,
		ARPInterval: DefaultARPInterval, GratuitousARPs: DefaultGratuitousARPs}
}

// State is an entry's state.
type State uint8

// Entry states.
const (
	// Incomplete: a request was sent, no answer yet; Resolve fails.
	Incomplete State = stIncomplete
	// Reachable: learned from ARP/ND; expires after Config.Timeout if set.
	Reachable State = stReachable
	// Static: from the static file or AddStatic; never learned over,
	// never expires.
	Static State = stStatic
)

// String names the state.
func (s State) String() string {
	switch s {
	case Incomplete:
		return "incomplete"
	case Reachable:
		return "reachable"
	case Static:
		return "static"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// slot states (low byte of slot.meta; the MAC is in the upper 48 bits).
const (
	stEmpty = iota
	stTomb
	stIncomplete
	stReachable
	stStatic
)

// slot is one cache line. k0/k1/meta/confirmed are written only by the
// table's writer, inside a seq odd/even bracket; lastReq is a rate-limit
// stamp CASed by senders outside the bracket (a stale value only delays or
// repeats one request).
type slot struct {
	seq       atomic.Uint32 // odd while the writer changes the slot
	_         uint32
	k0, k1    atomic.Uint64 // the IP as 16 bytes (IPv4 mapped), big-endian halves
	meta      atomic.Uint64 // mac<<16 | state
	confirmed atomic.Int64  // table clock when last confirmed
	lastReq   atomic.Int64  // table clock of the last request sent for it
	_         [16]byte
}

// read returns a consistent copy of the writer-owned fields.
//
// S1: the seq load before the fields pairs with W1/W3 of write: an even
// value equal before and after means no write overlapped the field loads
// (sync/atomic is sequentially consistent, so the loads cannot move
// outside the two seq loads).
func (s *slot) read() (k0, k1, meta uint64, conf int64) {
	for spins := 0; ; spins++ {
		q := s.seq.Load()
		if q&1 == 0 {
			k0, k1, meta, conf = s.k0.Load(), s.k1.Load(), s.meta.Load(), s.confirmed.Load()
			if s.seq.Load() == q {
				return
			}
		}
		if spins >= 64 {
			runtime.Gosched() // the writer was preempted mid-write
		}
	}
}

// write replaces the writer-owned fields (writer holds Table.mu).
func (s *slot) write(k0, k1, meta uint64, conf int64) {
	s.seq.Add(1) // W1: odd, readers retry
	s.k0.Store(k0)
	s.k1.Store(k1)
	s.meta.Store(meta)
	s.confirmed.Store(conf)
	s.seq.Add(1) // W3: even again, fields published
}

type slots struct {
	s    []slot
	mask uint64
}

func newSlots(n int) *slots {
	size := 8
	for size < n {
		size <<= 1
	}
	return &slots{s: make([]slot, size), mask: uint64(size - 1)}
}

func key(ip netip.Addr) (uint64, uint64) {
	b := ip.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

func keyAddr(k0, k1 uint64) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k0)
	binary.BigEndian.PutUint64(b[8:], k1)
	return netip.AddrFrom16(b).Unmap()
}

func hash(k0, k1 uint64) uint64 {
	h := (k0*0x9e3779b97f4a7c15 ^ k1) * 0xff51afd7ed558ccd
	return h ^ h>>29
}

// find probes for the key; i is the slot index when ok.
func (a *slots) find(k0, k1 uint64) (i, meta uint64, conf int64, ok bool) {
	i = hash(k0, k1) & a.mask
	for range a.mask + 1 {
		sk0, sk1, m, c := a.s[i].read()
		switch st := m & 0xff; {
		case st == stEmpty:
			return 0, 0, 0, false
		case st != stTomb && sk0 == k0 && sk1 == k1:
			return i, m, c, true
		}
		i = (i + 1) & a.mask
	}
	return 0, 0, 0, false
}

// TableStats are a table's counters.
type TableStats struct {
	Entries         int    // entries now (all states)
	Learned         uint64 // entries created from ARP/ND
	Updated         uint64 // entries whose MAC changed by ARP/ND
	Full            uint64 // inserts refused: table full
	StaticConflicts uint64 // learned MACs that disagreed with a static entry
	Expired         uint64 // entries removed by timeout or as stale incomplete
	Contended       uint64 // send-path inserts skipped because the writer was busy
}

// Table is a neighbour table. Resolve may be called from any number of
// goroutines at once, concurrently with every other method.
type Table struct {
	cfg   Config
	base  time.Time
	clock func() int64 // nanoseconds, never 0; replaced by tests
	arr   atomic.Pointer[slots]

	mu          sync.Mutex // the writer
	live, tombs int
	nLive       atomic.Int64

	learned, updated, full, staticConflicts, expired, contended atomic.Uint64
}

// NewTable makes an empty table. Zero fields of cfg take the defaults
// (Timeout 0 stays "never").
func NewTable(cfg Config) (*Table, error) {
	d := DefaultConfig()
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = d.MaxEntries
	}
	if cfg.ARPInterval == 0 {
		cfg.ARPInterval = d.ARPInterval
	}
	if cfg.MaxEntries < 1 || cfg.MaxEntries > 1<<24 || cfg.Timeout < 0 || cfg.ARPInterval < 0 || cfg.GratuitousARPs < 0 {
		return nil, fmt.Errorf("%w: %+v", ErrBadConfig, cfg)
	}
	t := &Table{cfg: cfg, base: time.Now()}
	t.clock = func() int64 { return int64(time.Since(t.base)) + 1 }
	t.arr.Store(newSlots(2 * cfg.MaxEntries))
	return t, nil
}

// Config returns the table's configuration.
func (t *Table) Config() Config { return t.cfg }

// Resolve returns the MAC of ip if the table has a usable entry (static,
// or learned and not expired). Lock-free and allocation-free.
func (t *Table) Resolve(ip netip.Addr) (MAC, bool) {
	k0, k1 := key(ip)
	_, meta, conf, ok := t.arr.Load().find(k0, k1)
	if !ok {
		return MAC{}, false
	}
	switch meta & 0xff {
	case stStatic:
	case stReachable:
		if t.cfg.Timeout > 0 && t.clock()-conf > int64(t.cfg.Timeout) {
			return MAC{}, false
		}
	default:
		return MAC{}, false
	}
	return wordMAC(meta >> 16), true
}

// Len is the number of entries in every state.
func (t *Table) Len() int { return int(t.nLive.Load()) }

func checkNeighbour(ip netip.Addr, mac MAC) error {
	if !ip.IsValid() || ip.Zone() != "" || ip.IsUnspecified() || ip.IsMulticast() ||
		ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return fmt.Errorf("%w: IP %v is not a unicast neighbour", ErrBadAddress, ip)
	}
	if !mac.IsUnicast() {
		return fmt.Errorf("%w: MAC %v is not a unicast address", ErrBadAddress, mac)
	}
	return nil
}

// AddStatic adds or replaces a static entry.
func (t *Table) AddStatic(ip netip.Addr, mac MAC) error {
	if err := checkNeighbour(ip, mac); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, err := t.setLocked(ip, mac, stStatic, true)
	return err
}

// Learn records that ip is at mac (an ARP/ND message said so), creating
// the entry if needed. It returns whether the MAC is new or changed. A
// static entry is not changed: a different MAC gives ErrStaticConflict.
func (t *Table) Learn(ip netip.Addr, mac MAC) (changed bool, err error) {
	return t.learn(ip, mac, true)
}

// Update is Learn for existing entries only (ARP seen but not addressed
// to us: refresh what we know, don't grow the table). ok is false when
// there was no entry.
func (t *Table) Update(ip netip.Addr, mac MAC) (changed bool, err error) {
	return t.learn(ip, mac, false)
}

func (t *Table) learn(ip netip.Addr, mac MAC, create bool) (bool, error) {
	if err := checkNeighbour(ip, mac); err != nil {
		return false, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.setLocked(ip, mac, stReachable, create)
}

// setLocked writes an entry. Caller holds mu.
func (t *Table) setLocked(ip netip.Addr, mac MAC, st uint64, create bool) (bool, error) {
	k0, k1 := key(ip)
	a := t.arr.Load()
	now := t.clock()
	meta := macWord(mac)<<16 | st
	if i, old, _, ok := a.find(k0, k1); ok {
		oldSt, oldMAC := old&0xff, old>>16
		if oldSt == stStatic && st != stStatic {
			if oldMAC != macWord(mac) {
				t.staticConflicts.Add(1)
				return false, fmt.Errorf("%w: %v is at %v (static), not %v", ErrStaticConflict, ip, wordMAC(oldMAC), mac)
			}
			return false, nil
		}
		changed := oldSt == stIncomplete || oldMAC != macWord(mac)
		if changed && oldSt != stIncomplete {
			t.updated.Add(1)
		}
		if changed && oldSt == stIncomplete {
			t.learned.Add(1)
		}
		a.s[i].write(k0, k1, meta, now)
		return changed, nil
	}
	if !create {
		return false, nil
	}
	if err := t.insertLocked(k0, k1, meta, now, 0); err != nil {
		return false, fmt.Errorf("add %v: %w", ip, err)
	}
	if st == stReachable {
		t.learned.Add(1)
	}
	return true, nil
}

// insertLocked adds a key known to be absent. Caller holds mu.
func (t *Table) insertLocked(k0, k1, meta uint64, conf, lastReq int64) error {
	if t.live >= t.cfg.MaxEntries {
		t.reclaimLocked(t.clock())
		if t.live >= t.cfg.MaxEntries {
			t.full.Add(1)
			return fmt.Errorf("%w (%d entries)", ErrTableFull, t.cfg.MaxEntries)
		}
	}
	a := t.arr.Load()
	if uint64(t.live+t.tombs+1) > (a.mask+1)*3/4 {
		t.rebuildLocked()
		a = t.arr.Load()
	}
	i := hash(k0, k1) & a.mask
	for {
		_, _, m, _ := a.s[i].read()
		st := m & 0xff
		if st == stEmpty || st == stTomb {
			if st == stTomb {
				t.tombs--
			}
			a.s[i].lastReq.Store(lastReq)
			a.s[i].write(k0, k1, meta, conf)
			t.live++
			t.nLive.Store(int64(t.live))
			return nil
		}
		i = (i + 1) & a.mask
	}
}

// removeLocked turns slot i into a tombstone. Caller holds mu.
func (t *Table) removeLocked(a *slots, i uint64) {
	k0, k1, _, _ := a.s[i].read()
	a.s[i].write(k0, k1, stTomb, 0)
	t.live--
	t.tombs++
	t.nLive.Store(int64(t.live))
}

// rebuildLocked copies the live entries into a fresh array (dropping
// tombstones) and publishes it; readers still on the old array see a
// consistent, slightly older table.
func (t *Table) rebuildLocked() {
	old := t.arr.Load()
	a := newSlots(len(old.s))
	for i := range old.s {
		k0, k1, m, c := old.s[i].read()
		if st := m & 0xff; st == stEmpty || st == stTomb {
			continue
		}
		j := hash(k0, k1) & a.mask
		for a.s[j].meta.Load()&0xff != stEmpty {
			j = (j + 1) & a.mask
		}
		a.s[j].lastReq.Store(old.s[i].lastReq.Load())
		a.s[j].write(k0, k1, m, c)
	}
	t.tombs = 0
	t.arr.Store(a)
}

// reclaimLocked removes expired learned entries (Timeout > 0) and
// incomplete entries nobody asked for in 3 request intervals.
func (t *Table) reclaimLocked(now int64) int {
	a := t.arr.Load()
	n := 0
	for i := range a.s {
		_, _, m, c := a.s[i].read()
		switch m & 0xff {
		case stReachable:
			if t.cfg.Timeout <= 0 || now-c <= int64(t.cfg.Timeout) {
				continue
			}
		case stIncomplete:
			if now-a.s[i].lastReq.Load() <= 3*int64(t.cfg.ARPInterval) {
				continue
			}
		default:
			continue
		}
		t.removeLocked(a, uint64(i))
		n++
	}
	t.expired.Add(uint64(n))
	return n
}

// Expire removes expired learned entries and stale incomplete ones and
// returns how many; call it from the control loop (e.g. every second).
func (t *Table) Expire() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reclaimLocked(t.clock())
}

// Delete removes ip's entry, whatever its state, and reports whether there
// was one.
func (t *Table) Delete(ip netip.Addr) bool {
	k0, k1 := key(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.arr.Load()
	i, _, _, ok := a.find(k0, k1)
	if ok {
		t.removeLocked(a, i)
	}
	return ok
}

// requestDue reports whether the send path should send a request for ip
// now: the next hop has no usable entry and no request went out within
// ARPInterval. It records the request (an incomplete entry for a new next
// hop). Lock-free except for a TryLock when the next hop is new; if the
// writer is busy, it skips this time (counted as Contended).
func (t *Table) requestDue(ip netip.Addr) bool {
	k0, k1 := key(ip)
	now := t.clock()
	a := t.arr.Load()
	if i, _, _, ok := a.find(k0, k1); ok {
		s := &a.s[i]
		last := s.lastReq.Load()
		if last != 0 && now-last < int64(t.cfg.ARPInterval) {
			return false
		}
		return s.lastReq.CompareAndSwap(last, now)
	}
	if !t.mu.TryLock() {
		t.contended.Add(1)
		return false
	}
	defer t.mu.Unlock()
	if _, _, _, ok := t.arr.Load().find(k0, k1); ok {
		return false // another sender just added it
	}
	return t.insertLocked(k0, k1, stIncomplete, 0, now) == nil
}

// Entry is one table entry as reported by Entries.
type Entry struct {
	IP    netip.Addr
	MAC   MAC // zero when Incomplete
	State State
	// Age is the time since the entry was last confirmed (0 for static
	// and incomplete entries).
	Age time.Duration
}

// Entries returns a snapshot of the table, sorted by IP.
func (t *Table) Entries() []Entry {
	now := t.clock()
	a := t.arr.Load()
	var out []Entry
	for i := range a.s {
		k0, k1, m, c := a.s[i].read()
		st := m & 0xff
		if st == stEmpty || st == stTomb {
			continue
		}
		e := Entry{IP: keyAddr(k0, k1), MAC: wordMAC(m >> 16), State: State(st)}
		if st == stReachable {
			e.Age = time.Duration(now - c)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(x, y Entry) int { return cmp.Compare(x.IP.Compare(y.IP), 0) })
	return out
}

// Stats returns the counters.
func (t *Table) Stats() TableStats {
	return TableStats{Entries: t.Len(), Learned: t.learned.Load(), Updated: t.updated.Load(),
		Full: t.full.Load(), StaticConflicts: t.staticConflicts.Load(), Expired: t.expired.Load(),
		Contended: t.contended.Load()}
}
