package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fenfu/fenfu/bench"
)

// The band within which two nodes' payments/s over one node's counts as
// the same throughput: the noise of runs alternated on a shared machine.
const nodesLow, nodesHigh = 0.9, 1.1

// nodeRun is one of scripts/bench.sh's two-node runs:
// dir/two-nodes/pair<P>-nodes<N>.json.
type nodeRun struct {
	name        string
	pair, nodes int
	run         bench.Result
}

var nodeFile = regexp.MustCompile(`^pair(\d+)-nodes(\d+)$`)

// nodeRuns reads dir/two-nodes/pair*-nodes*.json, by pair, then nodes.
func nodeRuns(dir string) []nodeRun {
	var runs []nodeRun
	for _, x := range load(filepath.Join(dir, "two-nodes", "pair*-nodes*.json"), func(a, b result[bench.Result]) int { return 0 }) {
		m := nodeFile.FindStringSubmatch(x.name)
		if m == nil {
			continue
		}
		p, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		runs = append(runs, nodeRun{x.name, p, n, x.run})
	}
	slices.SortFunc(runs, func(a, b nodeRun) int {
		if a.pair != b.pair {
			return a.pair - b.pair
		}
		return a.nodes - b.nodes
	})
	return runs
}

// errorCount sums a run's failed calls.
func errorCount(r bench.Result) int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// twoNodesTarget is the row of two nodes against one at the same total
// load: each pair's payments/s and server CPU per payment, 2 nodes ÷ 1,
// the retries the 2-node runs' nodes counted, and the failed calls.
func twoNodesTarget(dir string) target {
	const name = "Two nodes on one PostgreSQL at one node's total load"
	goal := fmt.Sprintf("payments/s 2 nodes ÷ 1 node within %.1f–%.1f in every pair (the noise band), 0 retries between the nodes", nodesLow, nodesHigh)
	one, two := map[int]bench.Result{}, map[int]bench.Result{}
	for _, x := range nodeRuns(dir) {
		switch x.nodes {
		case 1:
			one[x.pair] = x.run
		case 2:
			two[x.pair] = x.run
		}
	}
	var pairs []int
	for p := range one {
		if _, ok := two[p]; ok {
			pairs = append(pairs, p)
		}
	}
	slices.Sort(pairs)
	if len(pairs) == 0 {
		return unmeasured(name, goal, "no pair of two-nodes/pair<P>-nodes1.json and pair<P>-nodes2.json")
	}
	tlo, thi, clo, chi := math.Inf(1), 0.0, math.Inf(1), 0.0
	var retries bench.Conflicts
	errs, loadLo, loadHi := 0, math.Inf(1), 0.0
	var single []string
	for _, p := range pairs {
		a, b := one[p], two[p]
		switch {
		case len(b.Nodes) != 2:
			return unmeasured(name, goal, fmt.Sprintf("pair %d's 2-node run ran on %d nodes", p, len(b.Nodes)))
		case a.Concurrency != b.Concurrency || a.Rate != b.Rate || a.Scheme != b.Scheme || a.Installments != b.Installments:
			return unmeasured(name, goal, fmt.Sprintf("pair %d's runs were not at the same load", p))
		case a.PaymentsPerS <= 0 || a.CPUPerPayMS <= 0:
			return unmeasured(name, goal, fmt.Sprintf("pair %d's 1-node run did no payments", p))
		case b.Conflicts == nil:
			return unmeasured(name, goal, fmt.Sprintf("pair %d's 2-node run did not read the nodes' retries", p))
		}
		t, c := b.PaymentsPerS/a.PaymentsPerS, b.CPUPerPayMS/a.CPUPerPayMS
		tlo, thi, clo, chi = min(tlo, t), max(thi, t), min(clo, c), max(chi, c)
		retries.Add(*b.Conflicts)
		errs += errorCount(a) + errorCount(b)
		single = append(single, fmt.Sprintf("%.0f", a.PaymentsPerS))
		for _, r := range []bench.Result{a, b} {
			for _, l := range []float64{r.LoadStart[0], r.LoadEnd[0]} {
				if l > 0 {
					loadLo, loadHi = min(loadLo, l), max(loadHi, l)
				}
			}
		}
	}
	fig := fmt.Sprintf("%s× payments/s (%d pairs alternated 1, 2, 1, 2 nodes; one node %s/s); server CPU per payment %s×; retries in the 2-node runs %s; errors %d",
		span(tlo, thi, "%.2f"), len(pairs), strings.Join(single, " and "), span(clo, chi, "%.2f"), bench.ConflictLine(retries), errs)
	if loadHi > 0 {
		fig += "; load average " + span(loadLo, loadHi, "%.1f") + " on " + fmt.Sprint(one[pairs[0]].Machine.Cores) + " cores"
	}
	fig += features(one[pairs[0]])
	return target{name, fig, goal, judge(tlo >= nodesLow && thi <= nodesHigh && retries.TotalRetries() == 0)}
}

// writeNodes writes the two-node runs, dir/two-nodes/pair*-nodes*.json.
func writeNodes(w io.Writer, dir string) {
	runs := nodeRuns(dir)
	if len(runs) == 0 {
		return
	}
	fmt.Fprint(w, nodesHeader)
	fmt.Fprint(w, "| run | nodes | payments/s | server CPU ms/payment | server cores busy | payment p50 / p99 ms | retries | errors | notified | load at start / end | proof |\n")
	fmt.Fprint(w, "|---|---:|---:|---:|---:|---|---|---:|---:|---|---|\n")
	for _, x := range runs {
		r := x.run
		retries := "not read"
		if r.Conflicts != nil {
			retries = bench.ConflictLine(*r.Conflicts)
		}
		load := "–"
		if r.LoadStart[0] > 0 || r.LoadEnd[0] > 0 {
			load = fmt.Sprintf("%.1f / %.1f", r.LoadStart[0], r.LoadEnd[0])
		}
		proof := "ok"
		if !r.ProofOK {
			proof = "**FAILED**"
		}
		busy := 0.0 // the server's CPU seconds per second of the run
		if r.ElapsedS > 0 {
			busy = r.ServerCPUS / r.ElapsedS
		}
		p := r.Calls["payment"]
		fmt.Fprintf(w, "| %s | %d | **%.0f** | %.3f | %.2f | %.0f / %.0f | %s | %d | %d | %s | %s |\n", x.name, len(r.Nodes), r.PaymentsPerS,
			r.CPUPerPayMS, busy, p.P50, p.P99, retries, errorCount(r), r.Notified, load, proof)
	}
}

const nodesHeader = `
## Two nodes on one PostgreSQL

` + "`fenfu bench --nodes N`" + ` starts N ` + "`fenfu serve`" + ` nodes on the same two PostgreSQL databases, gives each whole
payment (create, pay, query) to the next node in turn, sums the nodes' CPU and memory, and reads each
node's ` + "`fenfu_db_retries_total`" + ` (transactions rerun after a serialization failure or deadlock) from its
` + "`/metrics`" + `. ` + "`scripts/bench.sh`" + ` alternates one node and two at the same total load (SM2, the same
concurrency and count, fresh databases each run), 1, 2, 1, 2; each pair's ratio is what the targets
table reads, since other work on the machine moves the absolute figures. *Server cores busy* is the
nodes' CPU seconds per second of the run: on a machine shared with other work, the share of the
cores the server got, which bounds its payments/s.

`
