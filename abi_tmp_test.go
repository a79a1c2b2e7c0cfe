package marsio

import (
	"testing"
	"unsafe"
)

// TestABILayout pins the temporary ABI mirror to gcc's layout of
// gen/abi/mrzcpd_abi.h (values printed by offsetof/sizeof).
func TestABILayout(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"counters", unsafe.Sizeof(abiCounters{}), 64},
		{"pool", unsafe.Sizeof(abiPoolDesc{}), 128},
		{"vdev", unsafe.Sizeof(abiVdevDesc{}), 320},
		{"vdev.instance", unsafe.Offsetof(abiVdevDesc{}.Instance), 104},
		{"vdev.port_rx", unsafe.Offsetof(abiVdevDesc{}.PortRx), 128},
		{"app", unsafe.Sizeof(abiAppSlot{}), 320},
		{"app.nr_threads", unsafe.Offsetof(abiAppSlot{}.NrThreads), 288},
		{"root", unsafe.Sizeof(abiRoot{}), abiSizeofRoot},
		{"root.pools", unsafe.Offsetof(abiRoot{}.Pools), 256},
		{"root.vdevs", unsafe.Offsetof(abiRoot{}.Vdevs), 1280},
		{"root.apps", unsafe.Offsetof(abiRoot{}.Apps), 11520},
		{"zone", unsafe.Sizeof(abiAppZone{}), 64},
		{"rx", unsafe.Sizeof(abiRxStream{}), 256},
		{"rx.sleeping", unsafe.Offsetof(abiRxStream{}.Sleeping), 128},
		{"rx.app", unsafe.Offsetof(abiRxStream{}.App), 192},
		{"tx", unsafe.Sizeof(abiTxStream{}), 192},
		{"vdi", unsafe.Sizeof(abiVdevInstance{}), abiSizeofInstance},
		{"vdi.rx", unsafe.Offsetof(abiVdevInstance{}.Rx), 64},
		{"vdi.tx", unsafe.Offsetof(abiVdevInstance{}.Tx), 16448},
		{"regreq", unsafe.Sizeof(abiMsgRegisterReq{}), 256},
		{"regrep", unsafe.Sizeof(abiMsgRegisterRep{}), 160},
		{"dereg", unsafe.Sizeof(abiMsgDeregisterReq{}), 16},
		{"openreq", unsafe.Sizeof(abiMsgVdevOpenReq{}), 152},
		{"openrep", unsafe.Sizeof(abiMsgVdevOpenRep{}), 216},
		{"fdsreq", unsafe.Sizeof(abiMsgVdevFdsReq{}), 16},
		{"fdsrep", unsafe.Sizeof(abiMsgVdevFdsRep{}), 16},
		{"closereq", unsafe.Sizeof(abiMsgVdevCloseReq{}), 16},
		{"statusrep", unsafe.Sizeof(abiMsgStatusRep{}), 136},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
}
