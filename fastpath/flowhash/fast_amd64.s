//go:build amd64 && gc && !purego

#include "textflag.h"

// Registers of fastCRCSSE42.
#define rptrs SI
#define rlens R8
#define routp DI
#define ridx R9
#define rpkt R10
#define rplen R11
#define rcrc R12
#define rpw R13

// Little-endian views of big-endian wire constants.
#define ET_VLAN $0x0081
#define ET_QINQ $0xA888
#define ET_9100 $0x0091
#define ET_IPV4 $0x0008
#define ET_IPV6 $0xDD86
#define PORT_VXLAN $0xB512
#define PORT_GTPU $0x6808

// TPID(taglabel, nextlabel): jump to taglabel when the EtherType AX is a
// VLAN TPID (0x8100, 0x88a8, 0x9100), else to nextlabel.
#define TPID(taglabel, nextlabel) \
	CMPW AX, ET_VLAN \
	JEQ  taglabel \
	CMPW AX, ET_QINQ \
	JEQ  taglabel \
	CMPW AX, ET_9100 \
	JEQ  taglabel \
	JMP  nextlabel

// TUNNEL(slowlabel, nextlabel): in an inner mode, jump to slowlabel when
// the L4 protocol CX (header at rpkt+AX) opens a tunnel: IP-in-IP (4, 41),
// GRE (47), or UDP to port 4789 or 2152. The Go parser then handles it.
// Clobbers DX.
#define TUNNEL(slowlabel, nextlabel) \
	TESTQ $2, mode+24(FP) \
	JZ    nextlabel \
	CMPL  CX, $64 \
	JAE   nextlabel \
	MOVQ  $(1<<4|1<<41|1<<47), DX \
	BTQ   CX, DX \
	JCS   slowlabel \
	CMPL  CX, $17 \
	JNE   nextlabel \
	LEAL  4(AX), DX \
	CMPL  DX, rplen \
	JA    nextlabel \
	MOVWLZX 2(rpkt)(AX*1), DX \
	CMPW  DX, PORT_VXLAN \
	JEQ   slowlabel \
	CMPW  DX, PORT_GTPU \
	JEQ   slowlabel

// PORTS(nextlabel, highlabel, havelabel): in a 4-tuple mode, when the L4
// protocol CX has ports (TCP 6, UDP 17, SCTP 132, UDP-Lite 136: the same set
// as portProtos) and the 4 port bytes at rpkt+AX are inside the packet, set BX to 1 and
// rpw to the two ports in wire order, smaller first. Clobbers DX, rcrc.
//
// Ordering trick (also used for the IPv4 addresses): x = bswap(load) is
// sport<<16 | dport, y = rotate(x, 16) is dport<<16 | sport, and min(x, y)
// is min<<16 | max; bswap turns it back into wire order. Three ALU ops and
// a CMOV, no branch.
#define PORTS(nextlabel, highlabel, havelabel) \
	TESTQ $1, mode+24(FP) \
	JZ    nextlabel \
	CMPL  CX, $64 \
	JAE   highlabel \
	MOVQ  $(1<<6|1<<17), DX \
	BTQ   CX, DX \
	JCC   nextlabel \
	JMP   havelabel \
highlabel: \
	CMPL  CX, $132 \
	JEQ   havelabel \
	CMPL  CX, $136 \
	JNE   nextlabel \
havelabel: \
	LEAL  4(AX), DX \
	CMPL  DX, rplen \
	JA    nextlabel \
	MOVL  (rpkt)(AX*1), DX \
	BSWAPL DX \
	MOVL  DX, rcrc \
	ROLL  $16, rcrc \
	CMPL  DX, rcrc \
	CMOVLHI rcrc, DX \
	BSWAPL DX \
	MOVL  DX, rpw \
	MOVL  $1, BX

// func fastCRCSSE42(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64)
//
// The whole-burst fast path of sym_crc. mode: bit 0 ports (4-tuple), bit 1
// inner. For each packet that is Ethernet, at most two VLAN tags (TPID
// 0x8100, 0x88a8, 0x9100), then IPv4 (any IHL) or IPv6 without extension
// headers (and, in an inner mode, not a tunnel), it parses the tuple,
// orders it branch-free (CMOV), CRCs the key straight from registers or
// packet memory and writes out[i]. Every other packet is left to the Go
// parser: its bit is set in slow and out[i] is not written. n <= 64.
// Consecutive packets are independent, so the out-of-order core keeps
// several packets' CRC chains in flight.
TEXT ·fastCRCSSE42(SB), NOSPLIT, $0-56
	MOVQ ptrs+0(FP), rptrs
	MOVQ lens+8(FP), rlens
	MOVQ out+40(FP), routp
	MOVQ $0, slow+48(FP)
	XORQ ridx, ridx
	CMPQ ridx, n+16(FP)
	JGE  done

	// Every packet first tries the express loops below, which take only
	// untagged IPv4 with a 20-byte header (most traffic; in an inner mode
	// also not a tunnel) and hand any other packet to the general code at
	// next, which comes back here.
top:
	TESTQ $1, mode+24(FP)
	JNZ   express4
	JMP   express2

next:
	MOVQ    (rptrs)(ridx*8), rpkt
	MOVWLZX (rlens)(ridx*2), rplen
	CMPL    rplen, $34
	JB      slow
	MOVWLZX 12(rpkt), AX
	TPID(tag1, l3)

tag1:
	MOVWLZX 16(rpkt), AX
	ADDQ    $4, rpkt
	SUBL    $4, rplen
	CMPL    rplen, $34
	JB      slow
	TPID(tag2, l3)

tag2:
	MOVWLZX 16(rpkt), AX // a third tag goes to the Go parser (not IPv4/IPv6)
	ADDQ    $4, rpkt
	SUBL    $4, rplen
	CMPL    rplen, $34
	JB      slow

l3:
	ADDQ $14, rpkt  // rpkt: the IP header; rplen: bytes from there (>= 20)
	SUBL $14, rplen
	XORL BX, BX    // BX: the key has ports
	CMPW AX, ET_IPV4
	JNE  ipv6

	// IPv4.
	MOVBLZX (rpkt), AX
	MOVL    AX, DX
	ANDL    $0xf0, DX
	CMPL    DX, $0x40
	JNE     slow
	ANDL    $15, AX
	CMPL    AX, $5
	JB      slow
	SHLL    $2, AX          // AX: L4 offset
	MOVBLZX 9(rpkt), CX      // CX: protocol
	TESTW   $0xff3f, 6(rpkt) // MF or fragment offset: addresses only
	JNZ     v4addr
	TUNNEL(slow, v4ports)

v4ports:
	PORTS(v4addr, v4high, v4have)

v4addr:
	MOVQ    12(rpkt), AX // saddr, daddr
	BSWAPQ  AX           // saddr<<32 | daddr
	MOVQ    AX, DX
	ROLQ    $32, DX      // daddr<<32 | saddr
	CMPQ    AX, DX
	CMOVQHI DX, AX       // min<<32 | max
	BSWAPQ  AX           // wire order: min, max
	MOVL    seed+32(FP), rcrc
	CRC32Q  AX, rcrc
	TESTL   BX, BX
	JZ      store
	CRC32L  rpw, rcrc

store:
	MOVL rcrc, (routp)(ridx*4)
	INCQ ridx
	CMPQ ridx, n+16(FP)
	JLT  top

done:
	RET

slow:
	MOVQ $1, AX
	MOVQ ridx, CX
	SHLQ CX, AX
	ORQ  AX, slow+48(FP)
	INCQ ridx
	CMPQ ridx, n+16(FP)
	JLT  top
	RET

	// express2: outer_tuple2 and inner_tuple2. Untagged IPv4 (EtherType 0x0800, version 4,
	// IHL 5; fragments too: the key is the addresses either way).
express2:
	MOVQ    (rptrs)(ridx*8), rpkt
	MOVWLZX (rlens)(ridx*2), rplen
	CMPL    rplen, $34
	JB      next
	MOVL    12(rpkt), AX
	ANDL    $0xffffff, AX
	CMPL    AX, $0x450008 // EtherType 0x0800, version 4, IHL 5
	JNE     next
	TESTQ   $2, mode+24(FP)
	JNZ     x2inner

x2addr:
	MOVQ    26(rpkt), AX  // saddr, daddr
	BSWAPQ  AX
	MOVQ    AX, DX
	ROLQ    $32, DX
	CMPQ    AX, DX
	CMOVQHI DX, AX
	BSWAPQ  AX
	MOVL    seed+32(FP), rcrc
	CRC32Q  AX, rcrc
	MOVL    rcrc, (routp)(ridx*4)
	INCQ    ridx
	CMPQ    ridx, n+16(FP)
	JLT     express2
	RET

	// x2inner: inner_tuple2. A fragment is never opened; IP-in-IP, GRE
	// and UDP to 4789/2152 (when the port is inside the packet) are
	// tunnels for the general code; the rest hash like outer_tuple2.
x2inner:
	MOVL    20(rpkt), CX  // fragment word, TTL, protocol
	TESTW   $0xff3f, CX
	JNZ     x2addr
	SHRL    $24, CX
	CMPL    CX, $64
	JAE     x2addr
	MOVQ    $(1<<4|1<<41|1<<47), DX
	BTQ     CX, DX
	JCS     next
	CMPL    CX, $17
	JNE     x2addr
	CMPL    rplen, $38
	JB      x2addr
	MOVWLZX 36(rpkt), DX  // UDP destination port
	CMPW    DX, PORT_VXLAN
	JEQ     next
	CMPW    DX, PORT_GTPU
	JEQ     next
	JMP     x2addr

	// express4: outer_tuple4 and inner_tuple4. Untagged IPv4 with a 20-byte header, not a
	// fragment, a protocol with ports (portProtos), ports inside the packet.
express4:
	MOVQ    (rptrs)(ridx*8), rpkt
	MOVWLZX (rlens)(ridx*2), rplen
	CMPL    rplen, $38
	JB      next
	MOVL    12(rpkt), AX
	ANDL    $0xffffff, AX
	CMPL    AX, $0x450008
	JNE     next
	TESTW   $0xff3f, 20(rpkt) // MF or offset
	JNZ     next
	MOVBLZX 23(rpkt), CX  // protocol
	LEAQ    ·portProtoBytes(SB), AX
	CMPB    (AX)(CX*1), $0 // TCP, UDP, SCTP, UDP-Lite: one load, no branch on the protocol
	JEQ     next
	TESTQ   $2, mode+24(FP)
	JNZ     x4inner

x4addr:
	MOVQ    26(rpkt), AX  // addresses, as in express2
	BSWAPQ  AX
	MOVQ    AX, DX
	ROLQ    $32, DX
	CMPQ    AX, DX
	CMOVQHI DX, AX
	BSWAPQ  AX
	MOVL    34(rpkt), DX  // ports, as in PORTS
	BSWAPL  DX
	MOVL    DX, CX
	ROLL    $16, CX
	CMPL    DX, CX
	CMOVLHI CX, DX
	BSWAPL  DX
	MOVL    seed+32(FP), rcrc
	CRC32Q  AX, rcrc
	CRC32L  DX, rcrc
	MOVL    rcrc, (routp)(ridx*4)
	INCQ    ridx
	CMPQ    ridx, n+16(FP)
	JLT     express4
	RET

	// x4inner: inner_tuple4. Of the protocols with ports only UDP to
	// 4789/2152 is a tunnel (for the general code).
x4inner:
	CMPL    CX, $17
	JNE     x4addr
	MOVWLZX 36(rpkt), DX
	CMPW    DX, PORT_VXLAN
	JEQ     next
	CMPW    DX, PORT_GTPU
	JEQ     next
	JMP     x4addr

ipv6:
	CMPW    AX, ET_IPV6
	JNE     slow
	CMPL    rplen, $40
	JB      slow
	MOVBLZX (rpkt), AX
	ANDL    $0xf0, AX
	CMPL    AX, $0x60
	JNE     slow
	MOVBLZX 6(rpkt), CX // next header
	CMPL    CX, $64
	JAE     v6l4
	MOVQ    $(1<<0|1<<43|1<<44|1<<60), DX
	BTQ     CX, DX
	JCS     slow       // extension headers: the Go parser

v6l4:
	MOVL $40, AX
	TUNNEL(slow, v6ports)

v6ports:
	PORTS(v6addr, v6high, v6have)

v6addr:
	// Order the addresses by their first differing byte (memcmp).
	MOVOU    8(rpkt), X0
	MOVOU    24(rpkt), X1
	PCMPEQB  X1, X0
	PMOVMSKB X0, DX
	XORL     $0x1ffff, DX // bit 16: all equal
	BSFL     DX, DX
	ANDL     $15, DX
	MOVBLZX  8(rpkt)(DX*1), CX
	MOVBLZX  24(rpkt)(DX*1), DX
	LEAQ     8(rpkt), AX   // AX: smaller address
	LEAQ     24(rpkt), rcrc // rcrc: larger address
	MOVQ     AX, rpkt
	CMPL     CX, DX
	CMOVQHI  rcrc, AX
	CMOVQHI  rpkt, rcrc
	MOVQ     rcrc, DX
	MOVL     seed+32(FP), rcrc
	CRC32Q   (AX), rcrc
	CRC32Q   8(AX), rcrc
	CRC32Q   (DX), rcrc
	CRC32Q   8(DX), rcrc
	TESTL    BX, BX
	JZ       store
	CRC32L   rpw, rcrc
	JMP      store
