package daemon

import (
	"path/filepath"
	"testing"

	"github.com/gomarsio/marsio/internal/daemontest"
)

// TestClientLayout checks internal/daemontest's hand-written mirror of the
// ABI against the C compiler's layout of gen/abi/mrzcpd_abi.h.
func TestClientLayout(t *testing.T) {
	mirror := map[string]uintptr{
		"ABIVersion": daemontest.ABIVersion, "SymbolMax": daemontest.SymbolMax,
		"SizeofRegisterReq": daemontest.SizeofRegisterReq, "SizeofRegisterRep": daemontest.SizeofRegisterRep,
		"SizeofDeregisterReq": daemontest.SizeofDeregisterReq, "SizeofVdevOpenReq": daemontest.SizeofVdevOpenReq,
		"SizeofVdevOpenRep": daemontest.SizeofVdevOpenRep, "SizeofVdevFdsReq": daemontest.SizeofVdevFdsReq,
		"SizeofVdevFdsRep": daemontest.SizeofVdevFdsRep, "SizeofVdevCloseReq": daemontest.SizeofVdevCloseReq,
		"SizeofStatusRep": daemontest.SizeofStatusRep, "OffRegisterReqAppsym": daemontest.OffRegisterReqAppsym,
		"OffRegisterReqMonitFile": daemontest.OffRegisterReqMonitFile, "OffRegisterRepStrerr": daemontest.OffRegisterRepStrerr,
		"OffVdevOpenReqDevsym": daemontest.OffVdevOpenReqDevsym, "OffVdevOpenReqAppsym": daemontest.OffVdevOpenReqAppsym,
		"OffVdevOpenRepStrerr": daemontest.OffVdevOpenRepStrerr, "OffStatusRepStrerr": daemontest.OffStatusRepStrerr,
		"OffRootOwnerDynfield": daemontest.OffRootOwnerDynfield, "OffRootNrPools": daemontest.OffRootNrPools,
		"OffRootPools": daemontest.OffRootPools, "OffRootVdevs": daemontest.OffRootVdevs,
		"SizeofPoolDesc": daemontest.SizeofPoolDesc, "OffPoolDescMempool": daemontest.OffPoolDescMempool,
		"SizeofVdevDesc": daemontest.SizeofVdevDesc, "OffAppZoneCaches": daemontest.OffAppZoneCaches,
		"OffAppZoneStride": daemontest.OffAppZoneStride, "OffInstanceNrRx": daemontest.OffInstanceNrRx,
		"OffInstanceRx": daemontest.OffInstanceRx, "OffInstanceTx": daemontest.OffInstanceTx,
		"SizeofRxStream": daemontest.SizeofRxStream, "SizeofTxStream": daemontest.SizeofTxStream,
		"OffRxStreamSleeping": daemontest.OffRxStreamSleeping,
		"MrEABI":              daemontest.MrEABI, "MrENOSLOT": daemontest.MrENOSLOT, "MrENODEV": daemontest.MrENODEV,
		"MrEBUSY": daemontest.MrEBUSY, "MrEDENIED": daemontest.MrEDENIED, "MrEINVAL": daemontest.MrEINVAL,
		"MrENOMEM": daemontest.MrENOMEM, "MrENOTREG": daemontest.MrENOTREG,
	}
	c := abiLayout()
	for name, want := range c {
		got, ok := mirror[name]
		if !ok {
			t.Errorf("%s: not checked", name)
		} else if got != want {
			t.Errorf("daemontest.%s = %d, C says %d", name, got, want)
		}
	}
	if len(mirror) != len(c) {
		t.Errorf("%d names mirrored, %d checked", len(mirror), len(c))
	}
}

func TestEmbeddedConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, err := EmbeddedConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != filepath.Join(dir, DefaultConfigFile) || !cfg.Vdevs[0].HoldRx || len(cfg.Vdevs) != 1 || cfg.Vdevs[0].Devsym != "vxe0" ||
		cfg.EAL.FilePrefix != "mrzcpd" || cfg.Service.MpCacheSize != 256 {
		t.Errorf("embedded config: %+v", cfg)
	}
}

func TestParseCPUList(t *testing.T) {
	got := parseCPUList("0-2,5")
	if len(got) != 4 || got[0] != 0 || got[2] != 2 || got[3] != 5 {
		t.Errorf("parseCPUList: %v", got)
	}
	if len(parseCPUList("")) != 0 {
		t.Error("empty list")
	}
}
