package marsio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/gomarsio/marsio"
)

// A receive loop on one dataplane thread, sleeping when idle. It needs a
// running mrzcpd, so it has no checked output.
func Example() {
	inst, err := marsio.New(marsio.WithThreads(1))
	if err != nil {
		log.Fatal(err)
	}
	if err := inst.Init("example"); err != nil {
		log.Fatal(err) // errors.Is(err, marsio.ErrNoDaemon) when mrzcpd is not running
	}
	defer inst.Close()
	dev, err := inst.OpenDevice("vdev0", 1, 1)
	if err != nil {
		log.Fatal(err)
	}
	t, err := inst.ThreadInit()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bufs := make([]marsio.Buffer, 32)
	for ctx.Err() == nil {
		n, err := t.RecvBurst(dev, bufs)
		if err != nil {
			log.Fatal(err)
		}
		if n == 0 {
			t.PollWait(ctx, time.Second, dev)
			continue
		}
		t.SendBurst(dev, bufs[:n]) // echo back
	}
}

// Options from code, environment and flags; reading them back.
func ExampleNew() {
	inst, err := marsio.New(marsio.WithCPUMask(0x6), marsio.WithStatusDir("/tmp/mrzcpd"))
	if err != nil {
		log.Fatal(err)
	}
	o := inst.Options()
	fmt.Println(o.CPUs, o.StatusDir, o.ExitOnError)
}

// Building and sending a packet from a freshly allocated buffer.
func ExampleThread_Alloc() {
	inst, _ := marsio.New()
	if err := inst.Init("sender"); err != nil {
		log.Fatal(err)
	}
	defer inst.Close()
	dev, _ := inst.OpenDevice("vdev0", 0, 1)
	t, _ := inst.ThreadInit()
	bufs := make([]marsio.Buffer, 1)
	if err := t.Alloc(dev, bufs); errors.Is(err, marsio.ErrNoBuffers) {
		log.Fatal("pool empty")
	}
	frame := make([]byte, 60)
	copy(frame[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(frame[6:12], dev.MAC())
	bufs[0].SetData(frame)
	t.SendBurst(dev, bufs)
}

// Reacting to the daemon's death.
func ExampleWithOnDaemonGone() {
	inst, _ := marsio.New(marsio.WithOnDaemonGone(func(err error) {
		log.Printf("daemon gone: %v", err) // every call now returns marsio.ErrDaemonGone
	}))
	_ = inst
}
