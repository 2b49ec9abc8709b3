package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CallStats are one call's latencies in milliseconds.
type CallStats struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// StatsOf summarises a histogram.
func StatsOf(h *Histogram) CallStats {
	return CallStats{Count: h.Count(), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)),
		Max: ms(h.Max()), Mean: ms(h.Mean())}
}

// Result is a bench run's full report, written as JSON.
type Result struct {
	Label        string  `json:"label"`
	Time         string  `json:"time"`
	Machine      Machine `json:"machine"`
	Store        string  `json:"store"`
	Synchronous  string  `json:"sqlite_synchronous,omitempty"`
	Scheme       string  `json:"scheme"`
	Server       string  `json:"server"`
	Merchants    int     `json:"merchants"`
	Consumers    int     `json:"consumers"`
	Concurrency  int     `json:"concurrency,omitempty"`
	Rate         float64 `json:"rate,omitempty"`
	Installments float64 `json:"installment_share,omitempty"`
	// InstallmentPayments counts the payments made in installments, each
	// with its plan in the credit store.
	InstallmentPayments int                  `json:"installment_payments"`
	Payments            int                  `json:"payments"`
	ElapsedS            float64              `json:"elapsed_s"`
	PaymentsPerS        float64              `json:"payments_per_s"`
	Calls               map[string]CallStats `json:"calls"`
	Errors              map[string]int       `json:"errors"`
	ServerCPUS          float64              `json:"server_cpu_s"`
	CPUScope            string               `json:"cpu_scope"`
	CPUPerPayMS         float64              `json:"server_cpu_ms_per_payment"`
	GeneratorCPUS       float64              `json:"generator_cpu_s,omitempty"`
	PeakMemoryMB        float64              `json:"peak_memory_mb"`
	CryptoPerPay        float64              `json:"crypto_cpu_ms_per_payment"`
	CeilingPerS         float64              `json:"crypto_ceiling_payments_per_s"`
	Efficiency          float64              `json:"efficiency"`
	Notified            int64                `json:"notifications_delivered"`
	// RoundTrips counts the server's database round trips per payment,
	// on PostgreSQL (nil on SQLite, which makes none).
	RoundTrips *RoundTrips `json:"roundtrips_per_payment,omitempty"`
	Proof      string      `json:"proof"`
	ProofOK    bool        `json:"proof_ok"`
	// Nodes are the servers the run spread its payments over (spawn mode,
	// --nodes), each with its share, CPU, memory and conflict counts;
	// ServerCPUS and PeakMemoryMB are their sums.
	Nodes []Node `json:"nodes,omitempty"`
	// LoadStart and LoadEnd are the machine's load averages over 1, 5 and
	// 15 minutes when the timed payments began and when they ended: on a
	// machine shared with other work they say how far its figures can be
	// trusted. Zero in runs made before they were recorded.
	LoadStart [3]float64 `json:"load_average_start"`
	LoadEnd   [3]float64 `json:"load_average_end"`
	// Conflicts are the nodes' conflict counts summed: writes rerun after
	// a transient conflict by reason (retries, retries_by_store).
	// Absent when the servers' /metrics were not read.
	*Conflicts
}

// Machine describes where a run happened.
type Machine struct {
	Cores int    `json:"cores"`
	CPU   string `json:"cpu"`
	Go    string `json:"go"`
	OS    string `json:"os"`
}

// ThisMachine describes the current machine.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// Table writes the result for people.
func (r Result) Table(w io.Writer) {
	fmt.Fprintf(w, "\n%s — %s store, %s, server %s\n", r.Label, r.Store, r.Scheme, r.Server)
	load := fmt.Sprintf("concurrency %d", r.Concurrency)
	if r.Rate > 0 {
		load = fmt.Sprintf("arrival rate %.0f/s", r.Rate)
	}
	if r.Installments > 0 {
		load += fmt.Sprintf(", %.0f %% in installments", r.Installments*100)
	}
	fmt.Fprintf(w, "%d merchants, %d consumers, %s, %d payments in %.2fs\n\n", r.Merchants, r.Consumers, load, r.Payments, r.ElapsedS)
	fmt.Fprintf(w, "  payments/s      %10.0f\n", r.PaymentsPerS)
	fmt.Fprintf(w, "  %-14s %8s %8s %8s %8s %8s\n", "call (ms)", "p50", "p90", "p99", "max", "count")
	for _, c := range Calls {
		s := r.Calls[c]
		fmt.Fprintf(w, "  %-14s %8.2f %8.2f %8.2f %8.2f %8d\n", c, s.P50, s.P90, s.P99, s.Max, s.Count)
	}
	if len(r.Errors) == 0 {
		fmt.Fprintf(w, "  errors          none\n")
	}
	for _, k := range SortedErrors(r.Errors) {
		fmt.Fprintf(w, "  error %-40s %d\n", k, r.Errors[k])
	}
	fmt.Fprintf(w, "  CPU             %.2f s (%s), %.3f ms per payment\n", r.ServerCPUS, r.CPUScope, r.CPUPerPayMS)
	if r.GeneratorCPUS > 0 {
		fmt.Fprintf(w, "  generator CPU   %.2f s\n", r.GeneratorCPUS)
	}
	fmt.Fprintf(w, "  peak memory     %.1f MB\n", r.PeakMemoryMB)
	if r.Conflicts != nil {
		fmt.Fprintf(w, "  retries         %s\n", ConflictLine(*r.Conflicts))
	}
	if len(r.Nodes) > 1 {
		for i, n := range r.Nodes {
			fmt.Fprintf(w, "  node %-10d %d payments, CPU %.2f s, peak memory %.1f MB, retries %s\n", i+1, n.Payments, n.ServerCPUS, n.PeakMemoryMB, ConflictLine(n.Conflicts))
		}
	}
	fmt.Fprintf(w, "  crypto ceiling  %.3f ms CPU per payment → %.0f payments/s on %d cores\n", r.CryptoPerPay, r.CeilingPerS, r.Machine.Cores)
	fmt.Fprintf(w, "  efficiency      %.2f\n", r.Efficiency)
	fmt.Fprintf(w, "  notifications   %d delivered to the merchants' notify_url\n", r.Notified)
	if r.RoundTrips != nil {
		tripsTable(w, r.RoundTrips)
	}
	if r.InstallmentPayments > 0 {
		fmt.Fprintf(w, "  installments    %d payments with a plan\n", r.InstallmentPayments)
	}
	if r.LoadStart != ([3]float64{}) || r.LoadEnd != ([3]float64{}) {
		fmt.Fprintf(w, "  load average    %.2f at the start, %.2f at the end (1 minute)\n", r.LoadStart[0], r.LoadEnd[0])
	}
	fmt.Fprintf(w, "  ledger proof    %s\n", r.Proof)
}

// ProcStat reads a process's CPU time and peak resident memory from /proc.
func ProcStat(pid int) (cpu time.Duration, peakRSS int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("bench: short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	cpu = time.Duration(ut+st) * time.Second / 100 // USER_HZ
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				peakRSS = kb * 1024
			}
		}
	}
	return cpu, peakRSS, nil
}

// SelfCPU returns this process's CPU time and peak resident memory.
func SelfCPU() (time.Duration, int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpu, ru.Maxrss * 1024
}
