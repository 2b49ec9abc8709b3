// Package bench is fenfu's load generator: it drives the payment path
// (signed v3 create → consumer pays on credit → signed v3 query) against a
// running server at a fixed concurrency or arrival rate, records each
// call's latency in HDR-style histograms, counts errors by code, and
// measures the server's CPU and memory and the crypto ceiling a payment's
// signatures impose.
package bench
