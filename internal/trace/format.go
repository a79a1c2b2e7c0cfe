package trace

import (
	"encoding/json"
	"fmt"

	"github.com/gomarsio/marsio/zz_generated/abi"
)

// Drop reasons (Record.Reason with Stage Drop; MR_TRACE_REASON_*). The
// first seven follow struct mr_drops of gen/abi/mrzcpd_abi.h, one per drop
// counter.
const (
	DropNone          = 0
	DropRxRingFull    = abi.MR_TRACE_REASON_RX_RING_FULL     // the daemon found an app's rx stream ring full
	DropNoMbuf        = abi.MR_TRACE_REASON_NO_MBUF          // the port had no mbuf for it
	DropNoApp         = abi.MR_TRACE_REASON_NO_APP           // no application has the vdev open
	DropFiltered      = abi.MR_TRACE_REASON_FILTERED         // refused by a filter
	DropTxRefused     = abi.MR_TRACE_REASON_PORT_TX_REFUSED  // the port's tx burst refused it
	DropAppTxRingFull = abi.MR_TRACE_REASON_APP_TX_RING_FULL // the application found its tx stream ring full
	DropMalformed     = abi.MR_TRACE_REASON_MALFORMED        // too short or malformed
	DropUnresolved    = abi.MR_TRACE_REASON_UNRESOLVED       // send helper: next hop unresolved
)

var reasonNames = [...]string{"", "rx-ring-full", "no-mbuf", "no-app", "filtered", "tx-refused", "app-tx-ring-full", "malformed", "unresolved"}

func reasonName(r uint8) string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", r)
}

// String is the one-line form without a calibration: the time is the
// raw TSC value ("tsc 123…"). Readers show Format with the area's Clock.
func (r *Record) String() string { return r.Format(nil) }

// Format is the one-line form mrtrace shows per event, its time converted
// to wall-clock UTC with c (the area's Clock; nil: the raw TSC value).
func (r *Record) Format(c *Clock) string {
	var s string
	if c != nil && c.valid() {
		s = fmt.Sprintf("%s %-7s vdev %d stream %d", c.Time(r.TSC).UTC().Format("15:04:05.000000000"), r.Stage, r.Vdev, r.Stream)
	} else {
		s = fmt.Sprintf("tsc %d %-7s vdev %d stream %d", r.TSC, r.Stage, r.Vdev, r.Stream)
	}
	if r.Port != 0xffff {
		s += fmt.Sprintf(" port %d", r.Port)
	}
	s += fmt.Sprintf(" len %d hash %#08x %s", r.Len, r.Hash, r.Tuple.String())
	if r.Stage == Drop {
		s += " reason " + reasonName(r.Reason)
	}
	return s
}

type jsonRecord struct {
	Time   *int64 `json:"time_ns,omitempty"` // wall clock, ns since 1970 (with a calibration)
	TSC    uint64 `json:"tsc"`
	Stage  string `json:"stage"`
	Reason string `json:"reason,omitempty"`
	Port   *int   `json:"port,omitempty"`
	Vdev   int    `json:"vdev"`
	Stream int    `json:"stream"`
	Len    uint32 `json:"len"`
	Hash   uint32 `json:"hash"`
	Proto  uint8  `json:"proto,omitempty"`
	Src    string `json:"src,omitempty"`
	Dst    string `json:"dst,omitempty"`
	Sport  uint16 `json:"sport,omitempty"`
	Dport  uint16 `json:"dport,omitempty"`
}

// MarshalJSON writes the record as one JSON object without a calibration:
// the raw "tsc", no "time_ns". Readers use JSON with the area's Clock.
func (r *Record) MarshalJSON() ([]byte, error) { return r.JSON(nil) }

// JSON writes the record as one JSON object (mrtrace's JSON lines):
// "time_ns", the wall clock in ns since 1970 converted with c (the area's
// Clock; absent when c is nil), and "tsc", the raw TSC value.
func (r *Record) JSON(c *Clock) ([]byte, error) {
	j := jsonRecord{TSC: r.TSC, Stage: r.Stage.String(), Vdev: int(r.Vdev), Stream: int(r.Stream), Len: r.Len, Hash: r.Hash}
	if c != nil && c.valid() {
		ns := c.UnixNano(r.TSC)
		j.Time = &ns
	}
	if r.Stage == Drop {
		j.Reason = reasonName(r.Reason)
	}
	if r.Port != 0xffff {
		p := int(r.Port)
		j.Port = &p
	}
	if r.Tuple.Proto != 0 {
		s, d := r.Tuple.Addrs()
		j.Proto, j.Src, j.Dst, j.Sport, j.Dport = r.Tuple.Proto, s.String(), d.String(), r.Tuple.Sport, r.Tuple.Dport
	}
	return json.Marshal(j)
}
