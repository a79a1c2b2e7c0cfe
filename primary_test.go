package marsio

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/internal/testenv"
)

// TestInitForeignPrimary points Init at a running DPDK primary that is not
// mrzcpd (dpdk-testpmd): attach works, the root memzone is missing, Init
// fails with ErrNoDaemon and leaves nothing mapped or open.
func TestInitForeignPrimary(t *testing.T) {
	if isolate(t) {
		return
	}
	tp := testenv.StartTestpmd(t, testenv.TestpmdOptions{MemMB: 64})
	dir := t.TempDir()
	gcfg := filepath.Join(dir, "mrglobal.conf")
	os.WriteFile(gcfg, nil, 0o644)
	writeDaemonStatus(t, dir, `{"general":{"g_cfgfile":"`+gcfg+`","pid":`+strconv.Itoa(tp.Pid())+`,"file_prefix":"`+tp.Prefix+`"}}`)
	if attachPath != "EAL" { // rte_eal_cleanup keeps some of EAL's descriptors and mappings
		testenv.CheckFDLeaks(t)
	}
	before := len(testenv.MappingsMatching(tp.Prefix))
	i, err := New(WithStatusDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	err = i.Init("app")
	if !errors.Is(err, ErrNoDaemon) || !strings.Contains(err.Error(), abiRootMemzone) {
		t.Fatalf("Init against testpmd: %v", err)
	}
	t.Log(err)
	if after := len(testenv.MappingsMatching(tp.Prefix)); after != before && attachPath != "EAL" {
		t.Fatalf("%d mappings of %s left after a failed Init", after-before, tp.Prefix)
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}
