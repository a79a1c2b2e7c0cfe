package marsio

import (
	"golang.org/x/sys/unix"
)

// bindCPU pins the calling OS thread (tid) to one CPU.
func bindCPU(tid, cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(tid, &set); err != nil {
		return errorf("thread init", ErrInvalid, "is the CPU online and in this process's allowed set (taskset, cgroup cpuset)?",
			"bind thread %d to CPU %d: %v", tid, cpu, err)
	}
	return nil
}

// threadAffinity returns the CPUs the OS thread tid may run on.
func threadAffinity(tid int) ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// cpuSetSize is the number of CPUs a unix.CPUSet can name (CPU_SETSIZE).
const cpuSetSize = 1024
