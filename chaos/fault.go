package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Fault is what a cycle does to the system in the middle of its load.
// The kill (Kill) is one; cmd/fenfu adds the others — PostgreSQL
// restarted, the credit store cut off, the disk filled, the clock
// stepped, a settlement batch killed — each with the same checks after
// it.
type Fault struct {
	Name string
	// Outage is how long the fault lasts before it is undone, while the
	// load goes on; the cycle's load is stretched to outlast it. Zero: it
	// is undone when the load ends (a killed node is restarted then).
	Outage time.Duration
	// Plan draws what the fault does this cycle from the run's schedule,
	// so a seed fixes it, and returns it.
	Plan func(rng *rand.Rand, c Cluster) Action
}

// Action is one cycle's fault: Do at its moment of the load, Undo after
// the outage. Note says what it did, for the cycle's line of the log.
type Action struct {
	Note string
	Do   func(ctx context.Context) error
	Undo func(ctx context.Context) error
}

// Cluster is what a fault can do to the run's nodes.
type Cluster interface {
	Nodes() int
	Kill(i int) error                         // SIGKILL node i; its calls now fail
	Restart(ctx context.Context, i int) error // start node i again
}

// Kill is the fault of the first chaos runs: a node, picked at random,
// gets SIGKILL and is started again when the load ends.
func Kill() Fault {
	return Fault{Name: "kill", Plan: func(rng *rand.Rand, c Cluster) Action {
		victim := rng.IntN(c.Nodes())
		return Action{Note: fmt.Sprintf("killed node %d", victim),
			Do:   func(context.Context) error { return c.Kill(victim) },
			Undo: func(ctx context.Context) error { return c.Restart(ctx, victim) }}
	}}
}

// Schedule is the faults of a run in the order the cycles take them: cycle
// n (from 1) gets faults[(n-1) mod len(faults)], so a run of k × len
// cycles does each fault k times.
type Schedule []Fault

// At is the fault of cycle n.
func (s Schedule) At(n int) Fault { return s[(n-1)%len(s)] }

// ParseFaults reads a comma-separated list of fault names, each one of
// known, or "mix" for all of known. Names may repeat, to weight one.
func ParseFaults(list string, known []string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "mix":
			out = append(out, known...)
		case slices.Contains(known, name):
			out = append(out, name)
		default:
			return nil, fmt.Errorf("chaos: unknown fault %q: the faults are %s, or mix", name, strings.Join(known, ", "))
		}
	}
	return out, nil
}
