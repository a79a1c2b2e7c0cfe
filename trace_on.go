//go:build !notrace

package marsio

// traceCompiled: the data-path trace hooks are built in (build tag notrace
// removes them).
const traceCompiled = true
