package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/testenv"
)

// TestDeadAppMidRingOp: an application killed between the head CAS and the
// tail store of a multi-consumer dequeue on the shared pool's ring (testapp
// -mode halfget: a real CAS of cons.head on the real ring) leaves
// cons.tail stuck, and the daemon's worker — allocating rx mbufs from that
// ring all the time (net_pcap infinite_rx, no hold_rx) — spins forever
// inside DPDK. The stall watchdog must see it within -stall-timeout, log
// the worker and the pool ring's stuck cons end, leave the stall in the
// status file, shut down without the worker (no runtime dir or hugepage
// files left; a live app sees it go) and exit 3; a new daemon with the same file prefix then
// starts and serves.
//
// In the second run the dead app had the vdev open: its teardown closes
// the vdev, and the quiesce that waits for the stalled worker gives up
// (the instance is left unfreed) instead of hanging the control plane.
//
// halfput_vdev_open: the app dies inside a multi-producer enqueue instead:
// the worker stalls freeing mbufs, and the dead app's reclaim (putting its
// tagged mbufs back) spins in C with the control lock held; the shutdown
// must not wait for that lock for ever either.
func TestDeadAppMidRingOp(t *testing.T) {
	t.Run("registered", func(t *testing.T) { testDeadAppMidRingOp(t, "halfget", false) })
	t.Run("vdev_open", func(t *testing.T) { testDeadAppMidRingOp(t, "halfget", true) })
	t.Run("halfput_vdev_open", func(t *testing.T) { testDeadAppMidRingOp(t, "halfput", true) })
}

func testDeadAppMidRingOp(t *testing.T, mode string, open bool) {
	_, in := genPcap(t, 20, 200)
	d := daemontest.Start(t, daemontest.Options{Config: dropConfig, Files: map[string][]byte{"in.pcap": in},
		Args: []string{"-status-interval", "50ms", "-stall-timeout", "1s"}})
	if _, ok := d.WaitStatus(t, 10*time.Second, func(s *monit.Daemon) bool { return s.Vdevs[0].Drops.NoApp > 100 }); !ok {
		t.Fatal("the port does not receive")
	}
	// A live app: it must see the daemon go (its liveness socket hangs up).
	waiter := exec.Command(testApp(t), "-prefix", d.Prefix, "-appsym", "waiter", "-mode", "waitgone")
	wout, _ := waiter.StdoutPipe()
	waiter.Stderr = os.Stderr
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { waiter.Process.Kill(); waiter.Wait() }()
	waiterLines := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(wout)
		for sc.Scan() {
			waiterLines <- sc.Text()
		}
		close(waiterLines)
	}()
	if l := <-waiterLines; l != "REGISTERED" {
		t.Fatalf("testapp -mode waitgone: %q", l)
	}

	args := []string{"-prefix", d.Prefix, "-appsym", "halfget", "-mode", mode, "-n", "4"}
	if open {
		args = append(args, "-open")
	}
	cmd := exec.Command(testApp(t), args...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "HALF") {
				line <- sc.Text()
				return
			}
		}
		close(line)
	}()
	var half string
	select {
	case half = <-line:
	case <-time.After(20 * time.Second):
		t.Fatalf("testapp -mode %s printed nothing", mode)
	}
	if half == "" {
		t.Fatalf("testapp -mode %s ended without its line: %v", mode, cmd.Wait())
	}
	t.Logf("testapp: %s", half)
	if open {
		// Let the worker reach the ring (its next rx allocation) first, so
		// that the teardown's close of the vdev finds it stalled: otherwise
		// a close right after the CAS may still see the worker finish the
		// loop it was in, and frees the instance normally.
		time.Sleep(500 * time.Millisecond)
	}
	cmd.Process.Kill() // between its head move and its tail store
	cmd.Wait()
	killed = true
	killedAt := time.Now()

	select {
	case <-d.Exited():
	case <-time.After(15 * time.Second):
		t.Fatalf("mrzcpd still running %v after the app died mid dequeue", time.Since(killedAt))
	}
	t.Logf("mrzcpd exited %v after the kill: %v", time.Since(killedAt).Round(time.Millisecond), d.ExitErr())
	var ee *exec.ExitError
	if !errors.As(d.ExitErr(), &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want exit status 3", d.ExitErr())
	}
	log := d.Log()
	if !regexp.MustCompile(`ERROR: worker 0 stalled: .*ports p0, vdevs vxe0`).MatchString(log) {
		t.Errorf("log does not name the stalled worker, its port and vdev:\n%s", log)
	}
	re := `pool MZ0 ring: prod head \d+ tail \d+, cons head (\d+) tail (\d+) \(head ≠ tail, unchanged`
	if mode == "halfput" {
		re = `pool MZ0 ring: prod head (\d+) tail (\d+) \(head ≠ tail, unchanged`
	}
	if m := regexp.MustCompile(re).FindStringSubmatch(log); m == nil || m[1] == m[2] {
		t.Errorf("log does not show the pool ring's stuck end:\n%s", log)
	}
	if open && !strings.Contains(log, "vdev vxe0: a worker is stalled: its instance's rings, memzone and eventfds are left unfreed") {
		t.Errorf("closing the dead app's vdev did not give up on the stalled worker:\n%s", log)
	}
	if !strings.Contains(log, "(suspects): halfget (pid") {
		t.Errorf("log does not name the app that died shortly before:\n%s", log)
	}
	if !strings.Contains(log, "exiting with status 3") || !strings.Contains(log, "restart mrzcpd") {
		t.Errorf("no last line saying what happened:\n%s", log)
	}
	select {
	case l := <-waiterLines:
		if l != "DAEMON GONE" {
			t.Errorf("live app: %q, want DAEMON GONE", l)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("live app did not see the daemon go")
	}
	st, err := monit.ReadDaemon(d.StatusPath())
	if err != nil {
		t.Fatalf("status file after the stall: %v", err)
	}
	if len(st.StalledWorkers) != 1 || st.StalledWorkers[0].Worker != 0 || st.StalledWorkers[0].Cause == "" ||
		fmt.Sprint(st.StalledWorkers[0].Vdevs) != "[vxe0]" {
		t.Errorf("status file stalled_workers: %+v", st.StalledWorkers)
	}
	if r := st.Pools[0].Ring; r == nil || mode == "halfget" && r.ConsHead == r.ConsTail || mode == "halfput" && r.ProdHead == r.ProdTail {
		t.Errorf("status file pool ring: %+v, want head ≠ tail on the end %s left", r, mode)
	}
	if files := testenv.HugepageFiles(d.Prefix); len(files) != 0 {
		t.Errorf("hugepage files left: %v", files)
	}
	if _, err := os.Stat("/var/run/dpdk/" + d.Prefix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("runtime dir left: %v", err)
	}

	// A supervisor restarts it: same file prefix, and it serves.
	d2 := daemontest.Start(t, daemontest.Options{Config: dropConfig, Files: map[string][]byte{"in.pcap": in},
		Prefix: d.Prefix, Args: []string{"-status-interval", "50ms", "-stall-timeout", "1s"}})
	out, err := exec.Command(testApp(t), "-prefix", d2.Prefix, "-appsym", "after", "-mode", "bench",
		"-rx", "1", "-tx", "1", "-duration", "500ms").CombinedOutput()
	if err != nil {
		t.Fatalf("testapp on the restarted daemon: %v\n%s", err, out)
	}
	var n int
	for _, l := range strings.Split(string(out), "\n") {
		fmt.Sscanf(l, "FORWARDED %d", &n)
	}
	if n == 0 {
		t.Fatalf("restarted daemon: nothing forwarded: %s", out)
	}
	if err := d2.Stop(); err != nil {
		t.Fatalf("restarted daemon: %v", err)
	}
	if strings.Contains(d2.Log(), "stalled") {
		t.Errorf("restarted daemon reported a stall:\n%s", d2.Log())
	}
}

// TestStallWatchdogQuiet: a busy daemon never trips the watchdog, even at
// its shortest timeout: net_null rx and tx at full speed through an app
// forwarding on 4 streams, vdev closes (each one quiesces the workers) and
// opens in between, then a clean stop with exit status 0.
func TestStallWatchdogQuiet(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Config: fmt.Sprintf(benchConfig, 4, 4),
		Args: []string{"-status-interval", "50ms", "-stall-timeout", "500ms"}})
	for i := 0; i < 3; i++ {
		out, err := exec.Command(testApp(t), "-prefix", d.Prefix, "-appsym", fmt.Sprint("busy", i), "-mode", "bench",
			"-rx", "4", "-tx", "4", "-duration", "1s").CombinedOutput()
		if err != nil {
			t.Fatalf("testapp: %v\n%s", err, out)
		}
	}
	st := d.Status(t)
	if len(st.StalledWorkers) != 0 {
		t.Errorf("stalled_workers on a healthy daemon: %+v", st.StalledWorkers)
	}
	if r := st.Pools[0].Ring; r == nil {
		t.Errorf("status file: no pool ring ends")
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if strings.Contains(d.Log(), "stalled") {
		t.Errorf("healthy daemon reported a stall:\n%s", d.Log())
	}
}
