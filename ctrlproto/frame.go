// Package ctrlproto speaks DPDK's multi-process IPC (rte_mp,
// lib/eal/common/eal_common_proc.c) in pure Go: the datagram frame, a
// secondary's socket, requests with replies and handlers for the requests a
// primary sends, wire-compatible with the DPDK version of zz_generated/dpdk.
package ctrlproto

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrFrame: a datagram is not a well-formed mp_msg_internal (wrong
	// size, counts out of range, unterminated name).
	ErrFrame = errors.New("ctrlproto: malformed rte_mp frame")
	// ErrTooLarge: a message does not fit the frame (name, param or fds).
	ErrTooLarge = errors.New("ctrlproto: message too large for an rte_mp frame")
	// ErrNoPrimary: no primary socket to talk to.
	ErrNoPrimary = errors.New("ctrlproto: no DPDK primary socket")
	// ErrTimeout: no reply within the timeout.
	ErrTimeout = errors.New("ctrlproto: timed out waiting for a reply")
	// ErrIgnored: the peer answered MP_IGN (it has no handler yet).
	ErrIgnored = errors.New("ctrlproto: peer ignored the request")
	// ErrBusy: a request with the same name to the same peer is pending.
	ErrBusy = errors.New("ctrlproto: request with this name already pending")
	// ErrClosed: the channel is closed.
	ErrClosed = errors.New("ctrlproto: channel closed")
)

// Type is the mp_msg_internal type word.
type Type int32

// Frame types (enum mp_type in eal_common_proc.c).
const (
	TypeMsg Type = 0 // MP_MSG: one-way message
	TypeReq Type = 1 // MP_REQ: request, the sender waits for a reply
	TypeRep Type = 2 // MP_REP: reply to a request, carries its name
	TypeIgn Type = 3 // MP_IGN: "ignore me" reply from a peer not ready
)

func (t Type) String() string {
	switch t {
	case TypeMsg:
		return "MP_MSG"
	case TypeReq:
		return "MP_REQ"
	case TypeRep:
		return "MP_REP"
	case TypeIgn:
		return "MP_IGN"
	}
	return fmt.Sprintf("MP_TYPE(%d)", int32(t))
}

// Frame limits of the DPDK version this build mirrors.
const (
	MaxNameLen  = dpdk.RTE_MP_MAX_NAME_LEN - 1 // name bytes, NUL excluded
	MaxParamLen = dpdk.RTE_MP_MAX_PARAM_LEN
	MaxFds      = dpdk.RTE_MP_MAX_FD_NUM
	// FrameSize is the datagram length: mp_msg_internal without the fds
	// array (fds travel as SCM_RIGHTS), exactly what send_msg sends and
	// read_msg accepts.
	FrameSize = dpdk.SizeofMpMsgInternal - 4*dpdk.RTE_MP_MAX_FD_NUM
)

// Message is one rte_mp_msg.
type Message struct {
	Type  Type
	Name  string // action name, at most MaxNameLen bytes
	Param []byte // at most MaxParamLen bytes
	Fds   []int  // at most MaxFds file descriptors (SCM_RIGHTS)
}

// AppendFrame appends the FrameSize-byte datagram of m (native byte order,
// as DPDK writes it) to b. The fds go separately as SCM_RIGHTS.
func AppendFrame(b []byte, m *Message) ([]byte, error) {
	if len(m.Name) == 0 || len(m.Name) > MaxNameLen {
		return b, fmt.Errorf("ctrlproto: name %q: %d bytes, want 1..%d: %w", m.Name, len(m.Name), MaxNameLen, ErrTooLarge)
	}
	if len(m.Param) > MaxParamLen {
		return b, fmt.Errorf("ctrlproto: %s: param %d bytes, max %d: %w", m.Name, len(m.Param), MaxParamLen, ErrTooLarge)
	}
	if len(m.Fds) > MaxFds {
		return b, fmt.Errorf("ctrlproto: %s: %d fds, max %d: %w", m.Name, len(m.Fds), MaxFds, ErrTooLarge)
	}
	o := len(b)
	b = append(b, make([]byte, FrameSize)...)
	f := b[o:]
	ne := binary.NativeEndian
	ne.PutUint32(f[dpdk.OffsetofMpMsgInternalType:], uint32(m.Type))
	msg := f[dpdk.OffsetofMpMsgInternalMsg:]
	copy(msg[dpdk.OffsetofMpMsgName:], m.Name)
	ne.PutUint32(msg[dpdk.OffsetofMpMsgLenParam:], uint32(len(m.Param)))
	ne.PutUint32(msg[dpdk.OffsetofMpMsgNumFds:], uint32(len(m.Fds)))
	copy(msg[dpdk.OffsetofMpMsgParam:], m.Param)
	return b, nil
}

// DecodeFrame parses one datagram. fds are the descriptors that came with it
// as SCM_RIGHTS; the message keeps the first num_fds of them (DPDK's
// read_msg copies them into msg.fds). The caller owns fds that are not
// kept. Checks mirror read_msg: exact length, num_fds and len_param in
// range; the name must be NUL-terminated and not empty.
func DecodeFrame(b []byte, fds []int) (*Message, error) {
	if len(b) != FrameSize {
		return nil, fmt.Errorf("ctrlproto: frame of %d bytes, want %d: %w", len(b), FrameSize, ErrFrame)
	}
	ne := binary.NativeEndian
	m := &Message{Type: Type(int32(ne.Uint32(b[dpdk.OffsetofMpMsgInternalType:])))}
	if m.Type < TypeMsg || m.Type > TypeIgn {
		return nil, fmt.Errorf("ctrlproto: frame type %d: %w", m.Type, ErrFrame)
	}
	msg := b[dpdk.OffsetofMpMsgInternalMsg:]
	name := msg[dpdk.OffsetofMpMsgName : dpdk.OffsetofMpMsgName+dpdk.RTE_MP_MAX_NAME_LEN]
	n := 0
	for n < len(name) && name[n] != 0 {
		n++
	}
	if n == 0 || n == len(name) {
		return nil, fmt.Errorf("ctrlproto: frame name empty or unterminated: %w", ErrFrame)
	}
	m.Name = string(name[:n])
	lenParam := int32(ne.Uint32(msg[dpdk.OffsetofMpMsgLenParam:]))
	numFds := int32(ne.Uint32(msg[dpdk.OffsetofMpMsgNumFds:]))
	if lenParam < 0 || lenParam > MaxParamLen {
		return nil, fmt.Errorf("ctrlproto: %s: len_param %d: %w", m.Name, lenParam, ErrFrame)
	}
	if numFds < 0 || numFds > MaxFds || int(numFds) > len(fds) {
		return nil, fmt.Errorf("ctrlproto: %s: num_fds %d with %d received: %w", m.Name, numFds, len(fds), ErrFrame)
	}
	m.Param = append([]byte(nil), msg[dpdk.OffsetofMpMsgParam:dpdk.OffsetofMpMsgParam+int(lenParam)]...)
	if numFds > 0 {
		m.Fds = append([]int(nil), fds[:numFds]...)
	}
	return m, nil
}
