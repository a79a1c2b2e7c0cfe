package mrconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/ctrlproto/profile"
)

const full = `
[eal]
virtaddr=0x7f0000000000
nohuge=0
loglevel=7
file_prefix=mr1
lcores=0-1
memory=512
huge_dir=/dev/hugepages
extra_args=--single-file-segments  --log-level=pmd:info

[service]
mp_cache_size=128
distmode=1
workers=2

[pool:MZ0]
size=4095
cache=128

[pool:MZbig]
size=1023
data_room=9216

[port:p0]
devargs=net_pcap0,rx_pcap=/tmp/in.pcap,infinite_rx=1,tx_pcap=/tmp/out.pcap

[port:p1]
pci=0000:03:00.0
pool=MZbig
rx_queues=2

[vdev:vxe0]
port=p0
rx_streams_max=4
apps=app1, app2

[vdev:vxe1]
port=p1
ring_size=4096
hold_rx=1
`

func TestFull(t *testing.T) {
	c, err := Parse("full.conf", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	e := c.EAL
	if e.Virtaddr != 0x7f0000000000 || e.LogLevel != 7 || e.FilePrefix != "mr1" || e.Lcores != "0-1" ||
		e.MemoryMB != 512 || len(e.ExtraArgs) != 2 {
		t.Errorf("eal %+v", e)
	}
	want := DefaultService()
	want.MpCacheSize, want.DistMode, want.Workers = 128, 1, 2
	if c.Service != want {
		t.Errorf("service %+v", c.Service)
	}
	if len(c.Pools) != 2 || c.Pools[1].DataRoom != 9216 || c.Pools[0].Cache != 128 || c.Pools[1].Socket != -1 {
		t.Errorf("pools %+v", c.Pools)
	}
	if c.Ports[0].Driver() != "net_pcap0" || !c.Ports[0].IsVdev() || c.Ports[1].DeviceArg() != "0000:03:00.0" ||
		c.Ports[1].RxQueues != 2 || !c.HasPCI() {
		t.Errorf("ports %+v", c.Ports)
	}
	v0, v1 := c.Vdev("vxe0"), c.Vdev("vxe1")
	if v0.RxStreamsMax != 4 || v0.TxStreamsMax != 8 || v0.Pool != "MZ0" || !v0.Allows("app2") || v0.Allows("app3") {
		t.Errorf("vxe0 %+v", v0)
	}
	if v1.Pool != "MZbig" || v1.RingSize != 4096 || !v1.Allows("anything") || !v1.HoldRx || v0.HoldRx {
		t.Errorf("vxe1 %+v", v1)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("empty", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Service
	if !s.PollWaitEnable || s.PollWaitThrottleUsleepThreshold != 32 || s.PollWaitThrottleUsleepPeriod != 5 ||
		s.PollWaitThrottleNotifyThreshold != 256 || s.VdevBufferSize != 512 || s.MpCacheSize != 256 ||
		s.DistMode != 0 || s.HashMode != 0 {
		t.Errorf("seed defaults: %+v", s)
	}
	if c.EAL.FilePrefix != "rte" || len(c.Pools) != 1 || c.Pools[0].Name != "MZ0" {
		t.Errorf("%+v", c)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"[service]\nmp_cache_size=9999\n", "config f: [service] mp_cache_size=9999: must be <= 512"},
		{"[eal]\nloglevel=9\n", "config f: [eal] loglevel=9: must be between LOG_EMERG(1) and LOG_DEBUG(8)"},
		{"[eal]\nloglevel=x\n", "config f: [eal] loglevel=x: not an unsigned integer"},
		{"[service]\ndistmode=7\n", "config f: [service] distmode=7: must be 0..3 (outer 2-tuple, outer 4-tuple, inner 2-tuple, inner 4-tuple)"},
		{"[service]\nhashmode=2\n", "config f: [service] hashmode=2: must be 0..1 (symmetric CRC, symmetric xxhash)"},
		{"[service]\npoll_wait_enable=2\n", "config f: [service] poll_wait_enable=2: must be 0 or 1"},
		{"[service]\nmp_cache=1\n", "config f: [service] mp_cache=1: unknown key"},
		{"[bogus]\n", "config f: [bogus]: unknown section"},
		{"[pool:X0]\n", "config f: [pool:X0]: pool name must start with MZ"},
		{"[pool:MZ0]\nsize=100\ncache=100\n", "config f: [pool:MZ0] cache=100: must be <= size/1.5 (66)"},
		{"[port:p]\n", "config f: [port:p]: needs devargs"},
		{"[port:p]\ndevargs=pcap0\n", "config f: [port:p] devargs=pcap0: must start with a vdev name"},
		{"[port:p]\npci=zz\n", "config f: [port:p] pci=zz: must be a PCI address"},
		{"[port:p]\ndevargs=net_null0\n[port:q]\ndevargs=net_null0\n", "config f: [port:q] devargs=net_null0: device net_null0 already used by [port:p]"},
		{"[port:p]\ndevargs=net_null0\npool=MZ9\n", "config f: [port:p] pool=MZ9: no such [pool:MZ9]"},
		{"[vdev:v]\n", "config f: [vdev:v]: needs port=NAME"},
		{"[vdev:v]\nport=nope\n", "config f: [vdev:v] port=nope: no such [port:nope]"},
		{"[port:p]\ndevargs=net_null0\n[vdev:v]\nport=p\nring_size=1000\n", "config f: [vdev:v] ring_size=1000: must be a power of two"},
		{"[port:p]\ndevargs=net_null0\n[vdev:v]\nport=p\nrx_streams_max=65\n", "config f: [vdev:v] rx_streams_max=65: must be <= 64"},
		{"[port:p]\ndevargs=net_null0\n[vdev:v]\nport=p\n[vdev:w]\nport=p\n", "config f: [vdev:w] port=p: port already used by [vdev:v]"},
		{"[port:p]\ndevargs=net_null0\n[vdev:v]\nport=p\napps=a b\n", `config f: [vdev:v] apps=a b: appsym "a b" is not`},
		{"[eal\n", "config f:1: section header without ']'"},
	} {
		_, err := Parse("f", []byte(c.text))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || !errors.Is(err, ErrConfig) {
			t.Errorf("%q:\n got %v\nwant %s…", c.text, err, c.want)
		}
		if err != nil && !errors.Is(err, profile.ErrInvalid) && !errors.Is(err, profile.ErrSyntax) {
			t.Errorf("%q: not a profile error: %v", c.text, err)
		}
	}
}

func TestLoadApp(t *testing.T) {
	dir := t.TempDir()
	g := filepath.Join(dir, "mrglobal.conf")
	os.WriteFile(g, []byte("[eal]\nloglevel=6\n[service]\nmp_cache_size=64\nvdev_buffer_size=128\n[port:p]\ndevargs=net_null0\n"), 0o644)
	ap := AppConfigPath(g, "app1")
	if ap != filepath.Join(dir, "mrapp.app1.conf") {
		t.Fatal(ap)
	}
	a, err := LoadApp(g, ap) // no app file: global values
	if err != nil || a.Service.MpCacheSize != 64 || a.EAL.LogLevel != 6 {
		t.Fatalf("%+v %v", a, err)
	}
	os.WriteFile(ap, []byte("[service]\nmp_cache_size=32\n"), 0o644)
	a, err = LoadApp(g, ap)
	if err != nil || a.Service.MpCacheSize != 32 || a.Service.VdevBufferSize != 128 {
		t.Fatalf("%+v %v", a, err)
	}
	os.WriteFile(ap, []byte("[service]\nmp_cache_size=600\n"), 0o644)
	if _, err = LoadApp(g, ap); err == nil || !strings.HasPrefix(err.Error(), "config "+ap+": [service] mp_cache_size=600: must be <= 512") {
		t.Fatalf("app error names the app file: %v", err)
	}
	os.WriteFile(ap, []byte("[port:x]\ndevargs=net_null0\n"), 0o644)
	if _, err = LoadApp(g, ap); err == nil || !strings.Contains(err.Error(), "unknown section in an application config") {
		t.Fatalf("%v", err)
	}
	if _, err = LoadApp(filepath.Join(dir, "none"), ap); !errors.Is(err, os.ErrNotExist) || !errors.Is(err, ErrConfig) {
		t.Fatalf("missing global: %v", err)
	}
	t.Setenv(EnvConfig, g)
	if GlobalConfigPath() != g {
		t.Fatal("env")
	}
	e := DefaultEAL()
	t.Setenv(EnvFilePrefix, "pfx")
	e.ApplyEnv()
	if e.FilePrefix != "pfx" {
		t.Fatal("env prefix")
	}
}
