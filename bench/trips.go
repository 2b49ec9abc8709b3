package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Trips is a reading of a server's database round trip counters from its
// /metrics: every round trip by store, and those made serving requests by
// store and route.
type Trips struct {
	Store map[string]float64            // fenfu_db_roundtrips_total, by store
	Route map[string]map[string]float64 // fenfu_db_request_roundtrips_total, by store then route
}

// RoundTrips is a run's database round trips per payment, on PostgreSQL:
// in all, by store, and by store and call (create, pay, query, and other:
// what no call of the run made, such as delivering the notifications).
type RoundTrips struct {
	Total float64                       `json:"total"`
	Calls map[string]float64            `json:"calls"`
	Store map[string]map[string]float64 `json:"stores"`
}

// TripCalls are the parts of a payment RoundTrips counts apart, in order.
var TripCalls = []string{"create", "pay", "query", "other"}

// callOf names the call of a payment a route serves, or "other".
func callOf(route string) string {
	switch {
	case route == "POST /v3/pay/transactions/native":
		return "create"
	case route == "POST /q/{token}/pay":
		return "pay"
	case route == "GET /v3/pay/transactions/out-trade-no/{out_trade_no}":
		return "query"
	}
	return "other"
}

var labelRE = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

// ReadTrips reads the round trip counters of the server at base. A server
// on SQLite has none: Store is then empty.
func ReadTrips(ctx context.Context, base string) (Trips, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return Trips{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Trips{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Trips{}, fmt.Errorf("bench: /metrics answered HTTP %d", resp.StatusCode)
	}
	return parseTrips(resp.Body)
}

func parseTrips(r io.Reader) (Trips, error) {
	t := Trips{Store: map[string]float64{}, Route: map[string]map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, "{")
		if !ok || name != "fenfu_db_roundtrips_total" && name != "fenfu_db_request_roundtrips_total" {
			continue
		}
		sp := strings.LastIndexByte(rest, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(rest[sp+1:], 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, m := range labelRE.FindAllStringSubmatch(rest[:sp], -1) {
			labels[m[1]] = strings.ReplaceAll(strings.ReplaceAll(m[2], `\"`, `"`), `\\`, `\`)
		}
		store := labels["store"]
		if name == "fenfu_db_roundtrips_total" {
			t.Store[store] += v
			continue
		}
		if t.Route[store] == nil {
			t.Route[store] = map[string]float64{}
		}
		t.Route[store][labels["route"]] += v
	}
	return t, sc.Err()
}

// PerPayment is the round trips made between two readings, per payment;
// nil when the server counted none (SQLite) or no payment was made.
func PerPayment(before, after Trips, payments int) *RoundTrips {
	if len(after.Store) == 0 || payments <= 0 {
		return nil
	}
	n := float64(payments)
	rt := &RoundTrips{Calls: map[string]float64{}, Store: map[string]map[string]float64{}}
	stores := make([]string, 0, len(after.Store))
	for s := range after.Store {
		stores = append(stores, s)
	}
	sort.Strings(stores)
	for _, s := range stores {
		total := after.Store[s] - before.Store[s]
		per := map[string]float64{"total": total / n}
		rest := total
		for route, v := range after.Route[s] {
			c := callOf(route)
			if c == "other" {
				continue
			}
			d := v - before.Route[s][route]
			per[c] += d / n
			rest -= d
		}
		per["other"] = rest / n
		for _, c := range TripCalls {
			per[c] += 0 // every call present, zero or not
			rt.Calls[c] += per[c]
		}
		rt.Store[s] = per
		rt.Total += total / n
	}
	return rt
}

// tripsTable writes rt for people.
func tripsTable(w io.Writer, rt *RoundTrips) {
	fmt.Fprintf(w, "  round trips     %.2f per payment", rt.Total)
	for _, c := range TripCalls {
		fmt.Fprintf(w, ", %s %.2f", c, rt.Calls[c])
	}
	fmt.Fprintln(w)
	stores := make([]string, 0, len(rt.Store))
	for s := range rt.Store {
		stores = append(stores, s)
	}
	sort.Strings(stores)
	for _, s := range stores {
		fmt.Fprintf(w, "    %-12s  %.2f", s, rt.Store[s]["total"])
		for _, c := range TripCalls {
			fmt.Fprintf(w, ", %s %.2f", c, rt.Store[s][c])
		}
		fmt.Fprintln(w)
	}
}
