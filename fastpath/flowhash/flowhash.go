package flowhash

import (
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"strconv"
	"strings"
	"unsafe"
)

// DistMode selects the tuple that is hashed (the seed's [service] distmode).
type DistMode uint8

// Distribution modes, numbered as the seed's distmode key.
const (
	DistOuterTuple2 DistMode = 0 // outer addresses (default)
	DistOuterTuple4 DistMode = 1 // outer addresses and ports
	DistInnerTuple2 DistMode = 2 // inner addresses, outer when not tunnelled
	DistInnerTuple4 DistMode = 3 // inner addresses and ports, outer when not tunnelled

	// DistModeDefault is the distmode used when the config has none.
	DistModeDefault = DistOuterTuple2
	// DistModeMax is the largest valid DistMode.
	DistModeMax = DistInnerTuple4
)

// HashMode selects the hash function (the seed's [service] hashmode).
type HashMode uint8

// Hash modes, numbered as the seed's hashmode key.
const (
	HashSymCRC    HashMode = 0 // symmetric CRC32C, = rte_hash_crc (default)
	HashSymXXHash HashMode = 1 // symmetric XXH64 folded to 32 bits

	// HashModeDefault is the hashmode used when the config has none.
	HashModeDefault = HashSymCRC
	// HashModeMax is the largest valid HashMode.
	HashModeMax = HashSymXXHash
)

var distNames = [...]string{"outer_tuple2", "outer_tuple4", "inner_tuple2", "inner_tuple4"}
var hashNames = [...]string{"sym_crc", "sym_xxhash"}

// String returns the mode's config name, e.g. "outer_tuple2".
func (m DistMode) String() string {
	if m <= DistModeMax {
		return distNames[m]
	}
	return "distmode(" + strconv.Itoa(int(m)) + ")"
}

// String returns the mode's config name, e.g. "sym_crc".
func (m HashMode) String() string {
	if m <= HashModeMax {
		return hashNames[m]
	}
	return "hashmode(" + strconv.Itoa(int(m)) + ")"
}

// ErrInvalidMode is matched (errors.Is) by every error about a distmode or
// hashmode value that is out of range or unknown.
var ErrInvalidMode = errors.New("invalid mode")

// ModeError reports a distmode or hashmode value that is out of range or not
// a known name. It matches [ErrInvalidMode].
type ModeError struct {
	Key   string // "distmode" or "hashmode"
	Value string // the value as given
	Max   int    // the largest valid number
	Names []string
}

// Error returns e.g. "distmode 7 out of range 0..3".
func (e *ModeError) Error() string {
	if _, err := strconv.Atoi(e.Value); err == nil {
		return fmt.Sprintf("%s %s out of range 0..%d", e.Key, e.Value, e.Max)
	}
	return fmt.Sprintf("%s %q unknown (want 0..%d or one of %s)", e.Key, e.Value, e.Max, strings.Join(e.Names, ", "))
}

// Is reports whether target is ErrInvalidMode.
func (e *ModeError) Is(target error) bool { return target == ErrInvalidMode }

func parseMode(key, s string, names []string) (int, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.Atoi(s); err == nil {
		if v < 0 || v >= len(names) {
			return 0, &ModeError{Key: key, Value: s, Max: len(names) - 1, Names: names}
		}
		return v, nil
	}
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i, nil
		}
	}
	return 0, &ModeError{Key: key, Value: s, Max: len(names) - 1, Names: names}
}

// ParseDistMode parses a distmode config value: a number 0..3 or a name
// (outer_tuple2, outer_tuple4, inner_tuple2, inner_tuple4; case-insensitive).
// An invalid value gives a *ModeError matching ErrInvalidMode.
func ParseDistMode(s string) (DistMode, error) {
	v, err := parseMode("distmode", s, distNames[:])
	return DistMode(v), err
}

// ParseHashMode parses a hashmode config value: a number 0..1 or a name
// (sym_crc, sym_xxhash; case-insensitive). An invalid value gives a
// *ModeError matching ErrInvalidMode.
func ParseHashMode(s string) (HashMode, error) {
	v, err := parseMode("hashmode", s, hashNames[:])
	return HashMode(v), err
}

// Hasher hashes packets for one (distmode, hashmode, seed) configuration. The
// zero value is the default configuration (outer_tuple2, sym_crc, seed 0). A
// Hasher is immutable and safe for concurrent use.
type Hasher struct {
	dist DistMode
	hash HashMode
	seed uint32
}

// New returns a Hasher for the given modes and seed (the CRC's initial value,
// XXH64's seed). Out-of-range modes give a *ModeError matching
// ErrInvalidMode.
func New(dist DistMode, hash HashMode, seed uint32) (Hasher, error) {
	if dist > DistModeMax {
		return Hasher{}, &ModeError{Key: "distmode", Value: strconv.Itoa(int(dist)), Max: int(DistModeMax), Names: distNames[:]}
	}
	if hash > HashModeMax {
		return Hasher{}, &ModeError{Key: "hashmode", Value: strconv.Itoa(int(hash)), Max: int(HashModeMax), Names: hashNames[:]}
	}
	return Hasher{dist: dist, hash: hash, seed: seed}, nil
}

// DistMode returns the hasher's distribution mode.
func (h Hasher) DistMode() DistMode { return h.dist }

// HashMode returns the hasher's hash mode.
func (h Hasher) HashMode() HashMode { return h.hash }

// Seed returns the hasher's seed.
func (h Hasher) Seed() uint32 { return h.seed }

// Distribute maps a hash to a stream index in [0, n) by multiply-shift:
// (uint64(hash) * uint64(n)) >> 32. It returns 0 when n is 0. Every consumer
// (daemon and library) distributes with this function only.
func Distribute(hash uint32, n uint32) uint32 {
	return uint32((uint64(hash) * uint64(n)) >> 32)
}

// burst is the number of packets handled per kernel call (at most 64: the
// fast path reports its leftovers in a uint64 mask).
const burst = 64

// Hash returns the hash of one packet (an Ethernet frame).
func (h Hasher) Hash(pkt []byte) uint32 {
	var k key
	extract(unsafe.Pointer(unsafe.SliceData(pkt)), len(pkt), h.dist, &k)
	var out [1]uint32
	h.hashKeys(&k, 1, &out[0])
	return out[0]
}

// HashBurst writes the hash of pkts[i] to out[i]. It panics if out is shorter
// than pkts. It does not allocate.
func (h Hasher) HashBurst(pkts [][]byte, out []uint32) {
	out = out[:len(pkts)]
	// unsafe.Pointer, not uintptr: if the packets live on a goroutine
	// stack that moves, the stack copier adjusts these.
	var ptrs [burst]unsafe.Pointer
	var lens [burst]uint16
	for len(pkts) > 0 {
		n := min(len(pkts), burst)
		for i := 0; i < n; i++ {
			ptrs[i] = unsafe.Pointer(unsafe.SliceData(pkts[i]))
			// The parser never reads as far as 64 KiB into a packet except
			// through an unbounded GTP-U extension chain: longer packets
			// are hashed on their own with their full length.
			lens[i] = uint16(min(len(pkts[i]), 0xffff))
		}
		h.hashPtrs(&ptrs[0], &lens[0], n, out[:n])
		for i := 0; i < n; i++ {
			if len(pkts[i]) > 0xffff {
				out[i] = h.Hash(pkts[i])
			}
		}
		pkts, out = pkts[n:], out[n:]
	}
}

// HashBurstAddrs writes the hash of the packet of lens[i] bytes at address
// addrs[i] to out[i]: the form for a burst of mbufs (rte_pktmbuf_mtod and
// data_len). The memory must stay mapped for the call and must not be Go
// memory the caller does not otherwise keep alive. It panics if lens or out
// is shorter than addrs. It does not allocate.
func (h Hasher) HashBurstAddrs(addrs []uintptr, lens []uint16, out []uint32) {
	// A burst of at most 64 with sym_crc, the common case, is one call of
	// the assembly fast path from here (no frame to spill to).
	if n := len(addrs); n <= burst && n > 0 && h.hash == HashSymCRC && haveFastCRC() {
		lens, out = lens[:n], out[:n]
		// The address words are read as pointers: the memory is the
		// caller's (mapped hugepages), not the Go heap.
		p := (*unsafe.Pointer)(unsafe.Pointer(&addrs[0]))
		// The fast path's mode bits (0: ports, 1: inner) are DistMode's.
		if slow := fastCRCBurst(p, &lens[0], n, uint64(h.dist), h.seed, &out[0]); slow != 0 {
			h.hashSlow(p, &lens[0], slow, out)
		}
		return
	}
	h.hashBurstAddrs(addrs, lens, out)
}

// fastKeys is the fast path's keys mode (mode bit 2): it writes the keys
// of the packets it parses to keys and returns the mask of the others.
const fastKeys = 4

// hashBurstAddrs is HashBurstAddrs for any burst size and mode.
func (h Hasher) hashBurstAddrs(addrs []uintptr, lens []uint16, out []uint32) {
	lens = lens[:len(addrs)]
	out = out[:len(addrs)]
	for len(addrs) > 0 {
		n := min(len(addrs), burst)
		// The address words are read as pointers: the memory is the
		// caller's (mapped hugepages), not the Go heap.
		h.hashPtrs((*unsafe.Pointer)(unsafe.Pointer(&addrs[0])), &lens[0], n, out[:n])
		addrs, lens, out = addrs[n:], lens[n:], out[n:]
	}
}

// hashPtrs hashes the n <= burst packets ptrs[i] of lens[i] bytes into
// out (len(out) == n). Small and inlined into the burst loops: the common
// case, sym_crc with the assembly fast path taking every packet, is one
// call with no stack frame to spill to.
func (h Hasher) hashPtrs(ptrs *unsafe.Pointer, lens *uint16, n int, out []uint32) {
	// The fast path's mode bits (0: ports, 1: inner) are DistMode's.
	if h.hash == HashSymCRC {
		if slow, ok := fastCRC(ptrs, lens, n, uint64(h.dist), h.seed, &out[0]); ok {
			if slow != 0 {
				h.hashSlow(ptrs, lens, slow, out)
			}
			return
		}
	} else if haveFastCRC() {
		h.xxhFast(ptrs, lens, n, out)
		return
	}
	h.hashGo(ptrs, lens, n, out)
}

// xxhFast is sym_xxhash with the assembly: the express path (fastXXH)
// parses and hashes in registers every packet of the common forms
// (at most two VLAN tags, IPv4 with a 20-byte header, IPv6 with its
// extension headers, the tunnels' common forms), xxhSlow the rest.
//
//go:noinline
func (h Hasher) xxhFast(ptrs *unsafe.Pointer, lens *uint16, n int, out []uint32) {
	if slow := fastXXHBurst(ptrs, lens, n, uint64(h.dist), h.seed, &out[0]); slow != 0 {
		h.xxhSlow(ptrs, lens, slow, out)
	}
}

// xxhSlow hashes the packets of the slow mask left by the sym_xxhash
// express path (IPv4 options, a third VLAN tag, less common tunnel forms,
// anything malformed or truncated), up to 16 at a time: the assembly
// parser in keys mode writes the keys of those it parses, the Go parser
// those it leaves, the XXH64 kernel hashes them all.
//
//go:noinline
func (h Hasher) xxhSlow(ptrs *unsafe.Pointer, lens *uint16, slow uint64, out []uint32) {
	n := len(out) // bits at or above n are never set
	ps := unsafe.Slice(ptrs, n)
	ls := unsafe.Slice(lens, n)
	var keys [16]key
	var cp [16]unsafe.Pointer
	var cl [16]uint16
	var idx [16]uint8
	var hs [16]uint32
	for slow != 0 {
		m := 0
		for ; slow != 0 && m < len(keys); slow &= slow - 1 {
			i := bits.TrailingZeros64(slow)
			cp[m], cl[m], idx[m] = ps[i], ls[i], uint8(i)
			m++
		}
		for left := fastCRCBurst(&cp[0], &cl[0], m, uint64(h.dist)|fastKeys, 0, (*uint32)(unsafe.Pointer(&keys[0]))); left != 0; left &= left - 1 {
			j := bits.TrailingZeros64(left)
			extract(cp[j], int(cl[j]), h.dist, &keys[j])
		}
		xxhKeys(&keys[0], m, h.seed, &hs[0])
		for j := range m {
			out[idx[j]] = hs[j]
		}
	}
}

// hashGo hashes the n packets with the Go parser (sym_xxhash, or no
// assembly fast path).
//
//go:noinline
func (h Hasher) hashGo(ptrs *unsafe.Pointer, lens *uint16, n int, out []uint32) {
	ps := unsafe.Slice(ptrs, n)
	ls := unsafe.Slice(lens, n)
	if h.hash == HashSymXXHash {
		// One key at a time: no key array to zero.
		var k key
		for i := range ps {
			extract(ps[i], int(ls[i]), h.dist, &k)
			out[i] = 0
			if k.n != 0 {
				out[i] = xxhKey(&k, uint64(h.seed))
			}
		}
		return
	}
	var keys [burst]key
	for i := range ps {
		extract(ps[i], int(ls[i]), h.dist, &keys[i])
	}
	h.hashKeys(&keys[0], n, &out[0])
}

// hashSlow hashes the packets of the slow mask with the Go parser, up to
// 8 keys per kernel call (a small key array: cheap to zero, and the kernel
// overlaps the keys' CRC chains; one call per key cost more on tunnelled
// traffic, where most of a burst is slow).
//
//go:noinline
func (h Hasher) hashSlow(ptrs *unsafe.Pointer, lens *uint16, slow uint64, out []uint32) {
	n := len(out) // bits at or above n are never set
	ps := unsafe.Slice(ptrs, n)
	ls := unsafe.Slice(lens, n)
	var ks [8]key
	var idx [8]uint8
	var hs [8]uint32
	for slow != 0 {
		m := 0
		for ; slow != 0 && m < len(ks); slow &= slow - 1 {
			i := bits.TrailingZeros64(slow)
			extract(ps[i], int(ls[i]), h.dist, &ks[m])
			idx[m] = uint8(i)
			m++
		}
		h.hashKeys(&ks[0], m, &hs[0])
		for j := range m {
			out[idx[j]] = hs[j]
		}
	}
}

// hashKeys hashes n keys starting at k into out.
func (h Hasher) hashKeys(k *key, n int, out *uint32) {
	if h.hash == HashSymXXHash {
		xxhKeys(k, n, h.seed, out)
		return
	}
	crcKeys(k, n, h.seed, out)
}

// AppendKey appends the packet's canonical key (see the package doc: 0, 8,
// 12, 32 or 36 bytes) to dst and returns the extended slice. Hash(pkt) is
// CRC(key, seed) (sym_crc) or the folded XXH64 of the key (sym_xxhash), and
// 0 when the key is empty. For diagnostics and for C twins of the hash.
func (h Hasher) AppendKey(dst []byte, pkt []byte) []byte {
	var k key
	extract(unsafe.Pointer(unsafe.SliceData(pkt)), len(pkt), h.dist, &k)
	for i := 0; i < int(k.n); i += 4 {
		w := uint32(k.w[i/8] >> (8 * (i % 8)))
		dst = append(dst, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	return dst
}

// CRC returns the CRC32C of b with initial value seed and no final
// inversion: DPDK's rte_hash_crc(b, len(b), seed), the sym_crc core.
func CRC(b []byte, seed uint32) uint32 {
	return ^crc32.Update(^seed, castagnoliTable, b)
}

// castagnoliTable selects hash/crc32's Castagnoli implementation (SSE4.2
// where present).
var castagnoliTable = crc32.MakeTable(crc32.Castagnoli)
