// Package pcapio reads and writes classic libpcap files (not pcapng) in pure
// Go: the microsecond and nanosecond magic numbers in either byte order on
// reading, little-endian microsecond files on writing.
package pcapio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// LinkTypeEthernet is LINKTYPE_ETHERNET, the only link type gomarsio writes.
const LinkTypeEthernet = 1

// DefaultSnapLen is the snapshot length written in new files' headers.
const DefaultSnapLen = 262144

const (
	magicMicro        = 0xa1b2c3d4
	magicNano         = 0xa1b23c4d
	fileHeaderLen     = 24
	recordHeaderLen   = 16
	maxRecordCapLen   = 1 << 28 // refuse absurd records instead of allocating them
	versionMajor      = 2
	versionMinor      = 4
	nanosPerMicro     = 1000
	microsPerSecond   = 1000000
	nanosPerSecondInt = 1000000000
)

// ErrFormat is matched (errors.Is) by every error about a malformed file.
var ErrFormat = errors.New("pcapio: malformed pcap file")

// Writer writes packets to a pcap file.
type Writer struct {
	w       *bufio.Writer
	hdr     [recordHeaderLen]byte
	snapLen uint32
}

// NewWriter writes a pcap file header (Ethernet link type, microsecond
// timestamps) to w and returns a Writer. Call Flush when done.
func NewWriter(w io.Writer) (*Writer, error) {
	var h [fileHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], magicMicro)
	binary.LittleEndian.PutUint16(h[4:], versionMajor)
	binary.LittleEndian.PutUint16(h[6:], versionMinor)
	binary.LittleEndian.PutUint32(h[16:], DefaultSnapLen)
	binary.LittleEndian.PutUint32(h[20:], LinkTypeEthernet)
	bw := bufio.NewWriter(w)
	if _, err := bw.Write(h[:]); err != nil {
		return nil, fmt.Errorf("write pcap header: %w", err)
	}
	return &Writer{w: bw, snapLen: DefaultSnapLen}, nil
}

// WritePacket writes one record: captured bytes data, original length
// origLen (at least len(data)), timestamp ts.
func (w *Writer) WritePacket(ts time.Time, data []byte, origLen int) error {
	if origLen < len(data) {
		origLen = len(data)
	}
	if len(data) > int(w.snapLen) {
		return fmt.Errorf("write packet of %d bytes: larger than snaplen %d", len(data), w.snapLen)
	}
	us := ts.UnixMicro()
	binary.LittleEndian.PutUint32(w.hdr[0:], uint32(us/microsPerSecond))
	binary.LittleEndian.PutUint32(w.hdr[4:], uint32(us%microsPerSecond))
	binary.LittleEndian.PutUint32(w.hdr[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(w.hdr[12:], uint32(origLen))
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		return fmt.Errorf("write packet: %w", err)
	}
	if _, err := w.w.Write(data); err != nil {
		return fmt.Errorf("write packet: %w", err)
	}
	return nil
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("flush pcap: %w", err)
	}
	return nil
}

// Record is one packet read from a file.
type Record struct {
	Time    time.Time
	Data    []byte // captured bytes
	OrigLen int    // length on the wire
}

// Reader reads packets from a pcap file.
type Reader struct {
	r        *bufio.Reader
	order    binary.ByteOrder
	nano     bool
	LinkType uint32 // the file's link type
	SnapLen  uint32 // the file's snapshot length
}

// NewReader reads the pcap file header from r.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReader(r)
	var h [fileHeaderLen]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, fmt.Errorf("read pcap header: %w: %w", ErrFormat, err)
	}
	rd := &Reader{r: br}
	switch {
	case binary.LittleEndian.Uint32(h[:]) == magicMicro:
		rd.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h[:]) == magicMicro:
		rd.order = binary.BigEndian
	case binary.LittleEndian.Uint32(h[:]) == magicNano:
		rd.order, rd.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h[:]) == magicNano:
		rd.order, rd.nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("magic %#x: %w", binary.LittleEndian.Uint32(h[:]), ErrFormat)
	}
	rd.SnapLen = rd.order.Uint32(h[16:])
	rd.LinkType = rd.order.Uint32(h[20:])
	return rd, nil
}

// Next returns the next record, or io.EOF after the last one. The returned
// Data is a new slice.
func (r *Reader) Next() (Record, error) {
	var h [recordHeaderLen]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		if err == io.EOF {
			return Record{}, io.EOF
		}
		return Record{}, fmt.Errorf("read record header: %w: %w", ErrFormat, err)
	}
	sec := int64(r.order.Uint32(h[0:]))
	frac := int64(r.order.Uint32(h[4:]))
	capLen := r.order.Uint32(h[8:])
	origLen := r.order.Uint32(h[12:])
	if capLen > maxRecordCapLen {
		return Record{}, fmt.Errorf("record of %d bytes: %w", capLen, ErrFormat)
	}
	data := make([]byte, capLen)
	if _, err := io.ReadFull(r.r, data); err != nil {
		return Record{}, fmt.Errorf("read record: %w: %w", ErrFormat, err)
	}
	if !r.nano {
		frac *= nanosPerMicro
	}
	return Record{Time: time.Unix(sec, frac%nanosPerSecondInt).UTC(), Data: data, OrigLen: int(origLen)}, nil
}
