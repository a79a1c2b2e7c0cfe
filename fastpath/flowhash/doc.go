// Package flowhash computes the flow-distribution hash of packets: the one
// definition used both by the daemon (mrzcpd, to spread received packets over
// an application's rx streams) and by the library. It has one job, hashing
// bursts of packet bytes, and imports nothing from gomarsio.
//
// # Modes
//
// A [Hasher] is configured with a [DistMode] (which tuple is hashed), a
// [HashMode] (which hash function) and a 32-bit seed. The numeric values are
// those of the seed's [service] distmode and hashmode keys (MARSIO's
// LDBC_DIST_* and LDBC_HASH_* enums):
//
//	distmode 0 outer_tuple2  outer IP source and destination addresses (default)
//	distmode 1 outer_tuple4  outer addresses and L4 ports
//	distmode 2 inner_tuple2  inner addresses of tunnelled traffic
//	distmode 3 inner_tuple4  inner addresses and L4 ports of tunnelled traffic
//	hashmode 0 sym_crc       symmetric CRC32C (default)
//	hashmode 1 sym_xxhash    symmetric XXH64 folded to 32 bits
//
// # Parsing
//
// A packet is an Ethernet frame of n bytes; no byte at or past n is ever read.
//
//   - L2: a 14-byte Ethernet header, then any number (at most 8) of VLAN tags
//     with TPID 0x8100, 0x88a8 or 0x9100. The EtherType after the tags must be
//     0x0800 (IPv4) or 0x86DD (IPv6).
//   - IPv4: the 20-byte fixed header must be present, version 4, IHL >= 5. The
//     L4 header starts at IHL*4. The packet is a fragment when MF is set or the
//     fragment offset is not 0. Options and total length are not checked.
//   - IPv6: the 40-byte header must be present, version 6. Extension headers
//     hop-by-hop (0), routing (43), destination options (60) and fragment (44)
//     are skipped (at most 8); a fragment header with a non-zero offset or M
//     set makes the packet a fragment. A truncated extension header chain
//     leaves the packet with addresses only.
//   - Ports: the first 4 bytes of the L4 header (source port, destination
//     port) for TCP (6), UDP (17), SCTP (132) and UDP-Lite (136), when those
//     4 bytes are present and the packet is not a fragment. Otherwise the key
//     has addresses only, even in a 4-tuple mode.
//
// Tunnels (inner modes only; exactly one level is opened):
//
//   - IP-in-IP: protocol / next header 4 (IPv4) or 41 (IPv6) after the outer
//     IPv4 or IPv6 header: 4in4, 6in4, 4in6, 6in6.
//   - GRE (protocol 47), version 0, routing bit clear: a 4-byte header plus 4
//     bytes each for the checksum (C), key (K) and sequence (S) bits. The GRE
//     protocol 0x0800 or 0x86DD carries IP; 0x6558 (transparent Ethernet
//     bridging, also NVGRE) carries an Ethernet frame parsed as above.
//   - VXLAN: UDP destination port 4789; 8 bytes of UDP, 8 of VXLAN, then an
//     Ethernet frame parsed as above.
//   - GTP-U: UDP destination port 2152, GTP version 1, PT 1, message type 255
//     (G-PDU); 8 bytes of header, 4 more if any of E, S, PN is set, then the
//     extension headers while the next-extension type is not 0 (each is
//     4*length bytes, length 0 is malformed). The payload is IPv4 or IPv6 by
//     its version nibble.
//
// An outer packet that is a fragment is never opened. In an inner mode a
// packet that is not tunnelled, or whose tunnel or inner IP header is
// malformed or truncated, is hashed on its outer tuple exactly as in the
// corresponding outer mode (inner_tuple2 falls back to outer_tuple2,
// inner_tuple4 to outer_tuple4).
//
// # The key: exact byte definition
//
// The chosen IP header gives a key of 8, 12, 32 or 36 bytes. Addresses and
// ports are copied as they are on the wire (network byte order). The two
// addresses are ordered so the smaller comes first, comparing them as
// unsigned big-endian integers (memcmp order); the two ports are ordered the
// same way, independently of the addresses. This makes the key, and so the
// hash, identical for both directions of a flow:
//
//	IPv4, addresses only:  min(saddr,daddr)[4] max(saddr,daddr)[4]                              8 bytes
//	IPv4 with ports:       min(saddr,daddr)[4] max(saddr,daddr)[4] min(sp,dp)[2] max(sp,dp)[2]  12 bytes
//	IPv6, addresses only:  min(saddr,daddr)[16] max(saddr,daddr)[16]                            32 bytes
//	IPv6 with ports:       min(saddr,daddr)[16] max(saddr,daddr)[16] min(sp,dp)[2] max(sp,dp)[2] 36 bytes
//
// A packet with no key (not IPv4/IPv6 after the VLAN tags, truncated before
// the end of the fixed IP header, wrong IP version, malformed IHL) hashes to
// 0 in every mode and with every seed, so such packets all go to stream 0.
//
// # The hash: exact definition
//
// sym_crc: the CRC32C (Castagnoli, reflected polynomial 0x82F63B78) of the
// key with the seed as the initial register value and no final inversion,
// i.e. exactly DPDK's rte_hash_crc(key, len, seed): each 8-byte little-endian
// word of the key in order through crc32q, then the remaining 4 bytes
// through crc32l. In terms of Go's hash/crc32 this is
// ^crc32.Update(^seed, crc32.MakeTable(crc32.Castagnoli), key).
//
// sym_xxhash: h := XXH64(key, uint64(seed)) (cespare/xxhash's
// NewWithSeed(seed), Write(key), Sum64()), folded to uint32(h) ^ uint32(h>>32).
//
// # Distribution
//
// [Distribute] maps a hash to one of n streams by multiply-shift,
// (uint64(hash) * n) >> 32, never by modulo: it needs no division and uses
// the hash's high bits. The daemon and the library use only this function.
//
// # Fast path
//
// [Hasher.HashBurst] and [Hasher.HashBurstAddrs] work on up to 64 packets
// per kernel call and never allocate. For sym_crc on amd64 with SSE4.2,
// AVX2, BMI2, MOVBE and POPCNT (x86-64-v3; checked once at start-up with
// github.com/klauspost/cpuid/v2) one assembly call (fast_amd64.s) parses
// and hashes every packet that is Ethernet, at most two VLAN tags, then
// IPv4 or IPv6 (extension headers skipped as above), and in an inner mode
// opens its IP-in-IP, GRE, NVGRE, VXLAN or GTP-U tunnel (the inner frame
// of VXLAN and NVGRE with its own VLAN tags). Express loops per mode take
// the commonest case (untagged IPv4, 20-byte header): the 4-tuple loops
// order the addresses and ports in the vector unit (shuffles to host
// order, unsigned min/max, a blend, a shuffle back to wire order; the
// outer_tuple4 loop two packets at once, one in each YMM half, their
// IPv4 header tests also vector: one VPTEST per pair), keeping the
// integer ALUs for the other header tests and CRC32;
// elsewhere the ordering is branch-free (CMOV), and the CRC32 instructions
// run straight on registers or packet bytes. Consecutive packets are
// independent, so the out-of-order core keeps several packets' CRC chains
// in flight. The call reports in a mask the packets it does not hash
// (anything malformed or truncated on the way, a third VLAN tag): those,
// where the rules above decide between the inner tuple, the outer tuple
// and no key, are parsed in Go (parse.go) into fixed-size keys hashed by a
// second assembly kernel (kernel_amd64.s), which runs four CRC32 chains
// interleaved when it is given several keys. sym_xxhash has its own
// express path (fastxxh_amd64.s: at most two VLAN tags, IPv4 with a
// 20-byte header or IPv6 with its extension headers, and in an inner mode
// the common forms of every tunnel, keys built and XXH64-hashed in
// registers; the parsing runs it has in common with the sym_crc parser
// are one set of macros, parse_amd64.h); the packets it leaves go through the sym_crc assembly
// parser in a keys mode (it writes each packet's key instead of its CRC)
// and a branch-free assembly XXH64 kernel. CPUs without those extensions
// and the pure-Go build (-tags purego, or not amd64) parse every packet in
// Go and use the Go kernels, which are always compiled so tests compare
// every path in one run. All paths give identical results (tests; fuzzing
// of the assembly against the Go parser and cespare/xxhash, and, in
// internal/hashref, of both against the C twins, DPDK's rte_hash_crc and
// the xxHash library's XXH64, on arbitrary bytes).
package flowhash
