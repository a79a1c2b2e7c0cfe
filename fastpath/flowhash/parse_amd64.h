// Packet parsing shared by the two express kernels, fastCRCSSE42
// (fast_amd64.s, sym_crc) and fastXXH (fastxxh_amd64.s, sym_xxhash):
// their burst registers and entry, the slow-mask exit, and the runs of
// header parsing that both take (IPv4 and VLAN tests, tunnel
// recognition, the IPv6 extension-header walk, GRE and GTP-U headers,
// the IPv6 address order). Each run is one macro; where the two kernels
// keep different registers live, the registers (and every label) are
// macro parameters, so each kernel's machine code is exactly what it was
// when the runs were written out in both files (a change here is a
// change to both kernels: re-measure both, and mind fast_amd64.s's Code
// layout). Go assembler labels are function-scoped: a macro that defines
// a label takes it as a parameter.
//
// The kernels differ in what they keep around a run (fastCRCSSE42 moves
// rpkt on to each header, fastXXH keeps rpkt at the outer frame and an
// offset in BX; their tags are skipped differently), so the runs are the
// pieces both have in the same instructions; the code between them stays
// in each file.

// Registers of both kernels. The three arrays are addressed from their
// ends with a negative index running up to 0 (one INCQ/JNZ per packet).
#define rptrs SI // &ptrs[n]
#define rlens R8 // &lens[n]
#define routp DI // &out[n]
#define ridx R9  // i - n
#define rpkt R10 // the packet, or the header being parsed

// Little-endian views of big-endian wire constants.
#define ET_VLAN $0x0081
#define ET_QINQ $0xA888
#define ET_9100 $0x0091
#define ET_IPV4 $0x0008
#define ET_IPV6 $0xDD86
#define ET_TEB $0x5865
#define PORT_VXLAN $0xB512
#define PORT_GTPU $0x6808

// Protocol sets for BTQ (protocols below 64): those that open a tunnel
// (IP-in-IP 4 and 41, GRE 47; UDP is tested by port), and the IPv6
// extension headers skipped (hop-by-hop 0, routing 43, fragment 44,
// destination options 60).
#define PROTO_TUNNEL $(1<<4|1<<41|1<<47)
#define PROTO_V6EXT $(1<<0|1<<43|1<<44|1<<60)

// BURST_ENTER: the arguments ptrs, lens, out and n of
// func(ptrs *unsafe.Pointer, lens *uint16, n int, ..., out *uint32) (at
// 0, 8, 16 and 40(FP)) into rptrs, rlens, routp (each at the array's end)
// and ridx (n; negated by the caller).
#define BURST_ENTER \
	MOVQ n+16(FP), ridx \
	MOVQ ptrs+0(FP), rptrs \
	MOVQ lens+8(FP), rlens \
	MOVQ out+40(FP), routp \
	LEAQ (rptrs)(ridx*8), rptrs \
	LEAQ (rlens)(ridx*2), rlens \
	LEAQ (routp)(ridx*4), routp

// SLOW_BIT(looplabel): sets packet i's bit in the result slow+48(FP)
// (out[i] is not written) and goes on to the next packet at looplabel;
// falls through after the last. Clobbers AX, CX.
#define SLOW_BIT(looplabel) \
	MOVQ ridx, CX \
	ADDQ n+16(FP), CX \
	MOVQ $1, AX \
	SHLQ CX, AX \
	ORQ  AX, slow+48(FP) \
	INCQ ridx \
	JNZ  looplabel

// IPV4_20(p, faillabel): jump to faillabel unless the Ethernet frame at p
// is IPv4 with a 20-byte header (EtherType 0x0800, version 4, IHL 5).
// Clobbers AX.
#define IPV4_20(p, faillabel) \
	MOVL 12(p), AX \
	ANDL $0xffffff, AX \
	CMPL AX, $0x450008 \
	JNE  faillabel

// TPID_TEST(taglabel): jump to taglabel when the EtherType AX is a VLAN
// TPID (0x8100, 0x88a8); the flags are then those of comparing AX with
// 0x9100 (the caller's JEQ or JNE decides).
#define TPID_TEST(taglabel) \
	CMPW AX, ET_VLAN \
	JEQ  taglabel \
	CMPW AX, ET_QINQ \
	JEQ  taglabel \
	CMPW AX, ET_9100

// PROTO_IN(set, t, inlabel, outlabel): jump to inlabel when the protocol
// CX is in set (PROTO_TUNNEL, PROTO_V6EXT), to outlabel when CX >= 64;
// else fall through. Clobbers t.
#define PROTO_IN(set, t, inlabel, outlabel) \
	CMPL CX, $64 \
	JAE  outlabel \
	MOVQ set, t \
	BTQ  CX, t \
	JCS  inlabel

// UDP_TUNNEL(port, t, tunnellabel): jump to tunnellabel when the UDP
// destination port at memory operand port is 4789 (VXLAN) or 2152
// (GTP-U). Clobbers t.
#define UDP_TUNNEL(port, t, tunnellabel) \
	MOVWLZX port, t \
	CMPW    t, PORT_VXLAN \
	JEQ     tunnellabel \
	CMPW    t, PORT_GTPU \
	JEQ     tunnellabel

// IPV6_VERSION(vbyte): AX = the high nibble of the byte at memory operand
// vbyte (an IPv6 header's first byte), compared with 6: the caller's JEQ
// or JNE decides.
#define IPV6_VERSION(vbyte) \
	MOVBLZX vbyte, AX \
	ANDL    $0xf0, AX \
	CMPL    AX, $0x60

// V6_CLASS(t, class): class = v6NextClass[CX] (0: an extension header,
// a tunnel or unknown, for the general walk; 1: a protocol without
// ports; 2: with ports), its flags set for the caller's JZ or JNZ.
// Clobbers t.
#define V6_CLASS(t, class) \
	LEAQ    ·v6NextClass(SB), t \
	MOVBLZX (t)(CX*1), class \
	TESTL   class, class

// V6_EXT_SKIP(p, off, len, t, shortlabel): step over the IPv6 extension
// header (hop-by-hop, routing or destination options: 8 bytes plus 8 per
// its length byte) at p+off: CX = its next header, off = the header after
// it; jump to shortlabel when its first two bytes are not inside the len
// bytes from p. Clobbers t.
#define V6_EXT_SKIP(p, off, len, t, shortlabel) \
	LEAL    2(off), t \
	CMPL    t, len \
	JA      shortlabel \
	MOVBLZX 1(p)(off*1), t \
	MOVBLZX (p)(off*1), CX \
	LEAL    8(off)(t*8), off

// V6_ORDER(p): AX = the smaller and BX = the larger of the two IPv6
// addresses of the IPv6 header at p+14 (untagged frame at p), compared
// as 128-bit big-endian numbers: CF = daddr < saddr, from a subtraction
// of the low and the high halves. Clobbers CX.
#define V6_ORDER(p) \
	MOVBEQQ 30(p), CX \
	MOVBEQQ 46(p), AX \
	SUBQ    CX, AX \
	MOVBEQQ 22(p), CX \
	MOVBEQQ 38(p), AX \
	SBBQ    CX, AX \
	LEAQ    22(p), AX \
	LEAQ    38(p), BX \
	MOVQ    AX, CX \
	CMOVQCS BX, AX \
	CMOVQCS CX, BX

// GRE_OPTS(flags, slowlabel): DX = the number of 4-byte optional fields
// (checksum, key, sequence) of the GRE header whose flags word is at
// memory operand flags; jump to slowlabel when routing is present or the
// version is not 0.
#define GRE_OPTS(flags, slowlabel) \
	MOVWLZX flags, DX \
	TESTL   $0x0740, DX \
	JNZ     slowlabel \
	ANDL    $0xb0, DX \
	POPCNTL DX, DX

// GRE_NEXT(v4label, v6label, ethlabel, otherlabel): jump by the GRE
// protocol type CX: IPv4, IPv6, Ethernet (0x6558, NVGRE), anything else.
#define GRE_NEXT(v4label, v6label, ethlabel, otherlabel) \
	CMPW CX, ET_IPV4 \
	JEQ  v4label \
	CMPW CX, ET_IPV6 \
	JEQ  v6label \
	CMPW CX, ET_TEB \
	JEQ  ethlabel \
	JMP  otherlabel

// GTP_HDR(flags, msgtype, t, slowlabel): DX = the GTP-U flags byte at
// memory operand flags; jump to slowlabel unless version 1, PT 1 and the
// message type at msgtype is G-PDU (0xff). Clobbers t.
#define GTP_HDR(flags, msgtype, t, slowlabel) \
	MOVBLZX flags, DX \
	MOVL    DX, t \
	ANDL    $0xf0, t \
	CMPL    t, $0x30 \
	JNE     slowlabel \
	CMPB    msgtype, $0xff \
	JNE     slowlabel

// GTP_EXT(p, off, len, t, looplabel, iplabel, slowlabel): the GTP-U
// extension headers at p+off, CX the next extension type: while it is not
// 0, step over 4*length bytes (length 0 is malformed) and take the next
// type from the header's last byte; then jump to iplabel, off at the
// inner IP header. Jumps to slowlabel when a header is not inside the len
// bytes from p. Defines looplabel. Clobbers t.
#define GTP_EXT(p, off, len, t, looplabel, iplabel, slowlabel) \
looplabel: \
	TESTL   CX, CX \
	JZ      iplabel \
	CMPL    off, len \
	JAE     slowlabel \
	MOVBLZX (p)(off*1), t \
	SHLL    $2, t \
	JZ      slowlabel \
	ADDL    t, off \
	CMPL    off, len \
	JA      slowlabel \
	MOVBLZX -1(p)(off*1), CX \
	JMP     looplabel

// IP_VERSION(vbyte, t, v4label, v6label, otherlabel): jump by the version
// nibble of the byte at memory operand vbyte: 4, 6, anything else.
// Clobbers t.
#define IP_VERSION(vbyte, t, v4label, v6label, otherlabel) \
	MOVBLZX vbyte, t \
	SHRL    $4, t \
	CMPL    t, $4 \
	JEQ     v4label \
	CMPL    t, $6 \
	JEQ     v6label \
	JMP     otherlabel
