package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gomarsio/marsio/internal/attachbench"
	"github.com/gomarsio/marsio/internal/testenv"
)

func init() {
	register(Suite{Name: "attach", Doc: "attach to a dpdk-testpmd primary with 1 GiB of hugepages: pure Go (shm.Attach) vs EAL secondary init (rte_eal_init), same primary, same run", Run: runAttach})
}

// runAttach starts its own dpdk-testpmd (-m 1024, --no-pci, own prefix),
// then times attaches in child processes: this process runs its own EAL
// (the C reference), whose memory sits where the primary's does, and EAL
// can be initialised once per process. Each child times its attach from
// the inside, so process start-up counts for neither path. go_ns and c_ns
// are medians; "c" is the EAL path.
func runAttach(env *Env) ([]Result, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("find the module (the attach suite builds a child with -tags eal): %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	tmp, err := os.MkdirTemp("", "mrbench-attach")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(env.Progress, "  attach: building the children (CGO_ENABLED=0; -tags eal)\n")
	kids, err := attachbench.BuildChildren(root, tmp)
	if err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("gmbench_attach_%d", os.Getpid())
	fmt.Fprintf(env.Progress, "  attach: starting dpdk-testpmd -m 1024 --file-prefix %s\n", prefix)
	tp, err := testenv.LaunchTestpmd(testenv.TestpmdOptions{Prefix: prefix, MemMB: 1024,
		Args: []string{"--forward-mode=io", "--auto-start", "--total-num-mbufs=16384"}})
	if tp != nil {
		defer tp.Close()
	}
	if err != nil {
		return nil, err
	}
	nGo, nEAL := 10*env.Reps+1, env.Reps+2
	fmt.Fprintf(env.Progress, "  attach: %d pure-Go attaches\n", nGo)
	g, err := kids.Run(prefix, "go", nGo)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(env.Progress, "  attach: %d EAL secondary inits\n", nEAL)
	e, err := kids.Run(prefix, "eal", nEAL)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(env.Progress, attachbench.Report(g, e))
	name := fmt.Sprintf("attach %d MiB (%d pages), median", g.Bytes>>20, g.Pages)
	return []Result{result("attach", name, float64(g.Median().Nanoseconds()), float64(e.Median().Nanoseconds()))}, nil
}
