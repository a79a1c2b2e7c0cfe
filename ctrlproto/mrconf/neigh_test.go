package mrconf

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/ctrlproto/profile"
)

const repBase = `
[port:p0]
devargs=net_null0
[vdev:vxe0]
port=p0
`

func TestRepresentorKeys(t *testing.T) {
	c, err := Parse("r.conf", []byte(repBase+"addrs=10.0.0.1/24, fd00::1/64\nrepresentor=1\nrepresentor_name=rep0\n"))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Vdev("vxe0")
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("fd00::1/64")}
	if !v.Representor || v.RepresentorName != "rep0" || len(v.Addrs) != 2 || v.Addrs[0] != want[0] || v.Addrs[1] != want[1] {
		t.Fatalf("vdev %+v", v)
	}
	if len(v.RepresentorAddrs) != 2 || v.RepresentorAddrs[1] != want[1] {
		t.Fatalf("representor_addrs default to addrs: %v", v.RepresentorAddrs)
	}
	c, err = Parse("r.conf", []byte(repBase+"representor_addrs=10.1.0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Vdev("vxe0"); v.Representor || v.Addrs != nil || v.RepresentorAddrs[0] != netip.MustParsePrefix("10.1.0.1/32") {
		t.Fatalf("vdev %+v", v)
	}
	if s := c.Service; s.NeighMaxEntries != 4096 || s.NeighTimeout != 0 || s.NeighARPInterval != 1000 || s.NeighGratuitousARPs != 3 {
		t.Fatalf("neigh defaults %+v", s)
	}
	for _, tc := range []struct{ text, key string }{
		{"addrs=10.0.0.1/33", "addrs"},
		{"addrs=nonsense", "addrs"},
		{"addrs=224.0.0.1/4", "addrs"},
		{"addrs=10.0.0.1/24,10.0.0.1/16", "addrs"},
		{"representor_addrs=fe80::1%eth0/64", "representor_addrs"},
		{"representor=2", "representor"},
		{"representor_name=a-name-longer-than-15", "representor_name"},
		{"representor_name=bad/name", "representor_name"},
	} {
		_, err := Parse("r.conf", []byte(repBase+tc.text+"\n"))
		var pe *profile.Error
		if !errors.As(err, &pe) || pe.Key != tc.key || !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", tc.text, err)
		}
	}
}

func TestNeighService(t *testing.T) {
	c, err := Parse("n.conf", []byte("[service]\nneigh_max_entries=16\nneigh_timeout=30\nneigh_arp_interval=200\nneigh_gratuitous_arps=0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Service; s.NeighMaxEntries != 16 || s.NeighTimeout != 30 || s.NeighARPInterval != 200 || s.NeighGratuitousARPs != 0 {
		t.Fatalf("%+v", s)
	}
	_, err = Parse("n.conf", []byte("[service]\nneigh_max_entries=0\n"))
	if err == nil || !strings.Contains(err.Error(), "neigh_max_entries") {
		t.Fatalf("neigh_max_entries=0: %v", err)
	}
}
