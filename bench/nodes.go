package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Node is one server of a run and what it did.
type Node struct {
	URL          string  `json:"url"`
	Payments     int     `json:"payments"`
	ServerCPUS   float64 `json:"server_cpu_s"`
	PeakMemoryMB float64 `json:"peak_memory_mb"`
	Conflicts
}

// Conflicts are what a node counted of its conflicts with the other
// writers on its stores (other nodes, or itself): the writes it reran,
// by reason and by store and reason, and the due notifications another
// worker claimed first.
type Conflicts struct {
	// Retries are fenfu_db_retries_total summed over the stores, by
	// reason (serialization, deadlock; busy, locked on SQLite).
	Retries map[string]int64 `json:"retries"`
	// RetriesByStore are fenfu_db_retries_total by "store/reason".
	RetriesByStore map[string]int64 `json:"retries_by_store,omitempty"`
}

// Add adds o's counts to c's.
func (c *Conflicts) Add(o Conflicts) {
	if c.Retries == nil {
		c.Retries = map[string]int64{}
	}
	if c.RetriesByStore == nil {
		c.RetriesByStore = map[string]int64{}
	}
	for k, v := range o.Retries {
		c.Retries[k] += v
	}
	for k, v := range o.RetriesByStore {
		c.RetriesByStore[k] += v
	}
}

// TotalRetries is the sum of c.Retries.
func (c Conflicts) TotalRetries() int64 {
	var n int64
	for _, v := range c.Retries {
		n += v
	}
	return n
}

// ReadConflicts reads a server's conflict counters from its /metrics.
// A server that does not export them (an older release) is an error, so
// a run never reports "no retries" that it could not see.
func ReadConflicts(ctx context.Context, base string) (Conflicts, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(base, "/")+"/metrics", nil)
	if err != nil {
		return Conflicts{}, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Conflicts{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Conflicts{}, fmt.Errorf("bench: %s/metrics answered HTTP %d", base, resp.StatusCode)
	}
	return ParseConflicts(resp.Body)
}

// ParseConflicts reads the conflict counters from a Prometheus text
// exposition.
func ParseConflicts(r io.Reader) (Conflicts, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Conflicts{}, fmt.Errorf("bench: reading /metrics: %w", err)
	}
	mf, ok := mfs["fenfu_db_retries_total"]
	if !ok {
		return Conflicts{}, fmt.Errorf("bench: the server exports no fenfu_db_retries_total")
	}
	c := Conflicts{Retries: map[string]int64{}, RetriesByStore: map[string]int64{}}
	for _, m := range mf.GetMetric() {
		var store, reason string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "store":
				store = l.GetValue()
			case "reason":
				reason = l.GetValue()
			}
		}
		n := int64(m.GetCounter().GetValue())
		c.Retries[reason] += n
		c.RetriesByStore[store+"/"+reason] += n
	}
	return c, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ConflictLine writes c's retries as "0 (deadlock 0, serialization 0)",
// or "0 (none)" when no reason was counted.
func ConflictLine(c Conflicts) string {
	var parts []string
	for _, k := range sortedKeys(c.Retries) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c.Retries[k]))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	return fmt.Sprintf("%d (%s)", c.TotalRetries(), strings.Join(parts, ", "))
}
