package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/internal/testenv"
	"github.com/gomarsio/marsio/shm"
)

func TestInspectTestpmd(t *testing.T) {
	testenv.CheckFDLeaks(t)
	tp := testenv.StartTestpmd(t, testenv.TestpmdOptions{MemMB: 64,
		Args: []string{"--forward-mode=io", "--auto-start", "--total-num-mbufs=4096"}})
	var out, errOut bytes.Buffer
	if err := run([]string{"-file-prefix", tp.Prefix}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, s := range []string{"MEMZONES", "MP_mb_pool_0", "RINGS", "MEMPOOLS", "mb_pool_0", "MP/MC", "22.11"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, out.String())
		}
	}
	out.Reset()
	if err := run([]string{"-file-prefix", tp.Prefix, "-json"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(rep.Mempools) != 1 || rep.Mempools[0].Name != "mb_pool_0" || rep.Mempools[0].Size != 4096 ||
		rep.Mempools[0].OpsRing != "MP_mb_pool_0" || rep.Mempools[0].Available == 0 {
		t.Errorf("mempools %+v", rep.Mempools)
	}
	if len(rep.Rings) == 0 || rep.Rings[0].Capacity == 0 {
		t.Errorf("rings %+v", rep.Rings)
	}
	// Nothing of ours stays in the primary's runtime dir.
	if m := testenv.MappingsMatching(tp.Prefix); len(m) > 0 {
		t.Errorf("still mapped: %+v", m)
	}
}

func TestInspectErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run([]string{"-file-prefix", "gmtest_mrinspect_nobody"}, &out, &errOut)
	if !errors.Is(err, shm.ErrNoPrimary) {
		t.Errorf("no primary: %v", err)
	}
	if err := run([]string{"-bogus"}, &out, &errOut); err == nil {
		t.Error("bad flag accepted")
	}
	if err := run([]string{"extra"}, &out, &errOut); err == nil {
		t.Error("extra argument accepted")
	}
}
