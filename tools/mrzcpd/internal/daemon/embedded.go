package daemon

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomarsio/marsio/ctrlproto/mrconf"
	"github.com/gomarsio/marsio/internal/pcapgen"
)

// EmbeddedName labels the built-in config text before it is written out.
const EmbeddedName = "<embedded>"

// DefaultConfigFile is where EmbeddedConfig writes the built-in config, in
// the run dir: the status file's general.g_cfgfile names it, so
// applications read [eal]/[service] from a real file (and look for
// mrapp.<appsym>.conf beside it), as with any other config.
const DefaultConfigFile = "mrzcpd-default.conf"

// Names of the files the embedded config uses, in the run dir.
const (
	DefaultRxPcap = "mrzcpd-default-rx.pcap" // generated at start-up
	DefaultTxPcap = "mrzcpd-default-tx.pcap" // what applications send out
)

// EmbeddedConfigText returns the built-in config: one pool, one net_pcap
// port replaying runDir/mrzcpd-default-rx.pcap forever (infinite_rx) and
// writing what applications send to runDir/mrzcpd-default-tx.pcap, exposed
// as vdev "vxe0" to every application (up to 8 rx / 8 tx streams). The
// port is polled only while an application has vxe0 open (hold_rx), so an
// idle daemon does not spin replaying the pcap into the void.
func EmbeddedConfigText(runDir string) string {
	return fmt.Sprintf(`# mrzcpd embedded default config (mrzcpd -print-config)
[eal]
file_prefix=mrzcpd
lcores=0
memory=256

[service]
poll_wait_enable=1
poll_wait_throttle_usleep_threshold=32
poll_wait_throttle_usleep_period=5
poll_wait_throttle_notify_threshold=256
vdev_buffer_size=512
mp_cache_size=256
distmode=0
hashmode=0
workers=1
burst=32

[pool:MZ0]
size=8191
cache=256
data_room=2176

[port:pcap0]
devargs="net_pcap0,rx_pcap=%s,tx_pcap=%s,infinite_rx=1"

[vdev:vxe0]
port=pcap0
rx_streams_max=8
tx_streams_max=8
ring_size=1024
apps=*
hold_rx=1
`, filepath.Join(runDir, DefaultRxPcap), filepath.Join(runDir, DefaultTxPcap))
}

// EmbeddedConfig writes the default traffic pcap and the built-in config
// (DefaultConfigFile) into runDir and returns the config read back from
// that file.
func EmbeddedConfig(runDir string) (*mrconf.Config, error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 1, Flows: 64, Packets: 1024})
	if err != nil {
		return nil, fmt.Errorf("default traffic: %w", err)
	}
	frames := make([][]byte, len(pkts))
	for i, p := range pkts {
		frames[i] = p.Data
	}
	if err := WritePcap(filepath.Join(runDir, DefaultRxPcap), frames); err != nil {
		return nil, err
	}
	text := EmbeddedConfigText(runDir)
	if _, err := mrconf.Parse(EmbeddedName, []byte(text)); err != nil {
		return nil, err // a bug: the built-in text must be valid
	}
	path := filepath.Join(runDir, DefaultConfigFile)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("default config: %w", err)
	}
	return mrconf.Load(path)
}

// WritePcap writes frames as a classic pcap file (microsecond timestamps,
// Ethernet link type), one frame per millisecond.
func WritePcap(path string, frames [][]byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("pcap: %w", err)
	}
	w := bufio.NewWriter(f)
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // LINKTYPE_ETHERNET
	w.Write(hdr[:])
	for i, fr := range frames {
		var rh [16]byte
		binary.LittleEndian.PutUint32(rh[0:], uint32(1700000000+i/1000))
		binary.LittleEndian.PutUint32(rh[4:], uint32(i%1000)*1000)
		binary.LittleEndian.PutUint32(rh[8:], uint32(len(fr)))
		binary.LittleEndian.PutUint32(rh[12:], uint32(len(fr)))
		w.Write(rh[:])
		w.Write(fr)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("pcap %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pcap %s: %w", path, err)
	}
	return nil
}
