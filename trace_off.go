//go:build notrace

package marsio

// traceCompiled: built with notrace, the data-path trace hooks compile out.
const traceCompiled = false
