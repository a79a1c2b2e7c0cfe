package fastpath

import "syscall"

// osYield gives the CPU to another thread (sched_yield(2)). It goes through
// syscall.Syscall, which tells the Go scheduler that the thread is in the
// kernel, unlike the raw SYSCALL the assembly kernels used to make.
func osYield() { syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
