package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeNode answers a payment's three calls as fenfu does, and records
// which payments (by out_trade_no) made each call to it.
type fakeNode struct {
	mu    sync.Mutex
	calls map[string][]string // out_trade_no → calls in order
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var no, call string
	switch {
	case r.Method == "POST" && r.URL.Path == "/v3/pay/transactions/native":
		var req struct {
			OutTradeNo string `json:"out_trade_no"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &req)
		no, call = req.OutTradeNo, "create"
		fmt.Fprintf(w, `{"code_url":"https://pay.example/q/%s"}`, no)
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/q/"):
		no, call = strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/q/"), "/pay"), "pay"
		fmt.Fprint(w, `{}`)
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v3/pay/transactions/out-trade-no/"):
		no, call = strings.TrimPrefix(r.URL.Path, "/v3/pay/transactions/out-trade-no/"), "query"
		fmt.Fprint(w, `{"trade_state":"SUCCESS"}`)
	default:
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.calls[no] = append(f.calls[no], call)
	f.mu.Unlock()
}

// TestRunSpreadsWholePaymentsOverNodes: with Nodes, payment i makes all
// three of its calls on node i mod N, and the sample counts each node's.
func TestRunSpreadsWholePaymentsOverNodes(t *testing.T) {
	const n = 30
	var fakes []*fakeNode
	var urls []string
	for range 3 {
		f := &fakeNode{calls: map[string][]string{}}
		srv := httptest.NewServer(f)
		defer srv.Close()
		fakes = append(fakes, f)
		urls = append(urls, srv.URL)
	}
	work := make([]Work, n)
	for i := range work {
		no := fmt.Sprintf("T%04d", i)
		work[i] = Work{OutTradeNo: no, CreateBody: fmt.Appendf(nil, `{"out_trade_no":%q}`, no),
			QueryURI: "/v3/pay/transactions/out-trade-no/" + no, PayBody: []byte(`{}`)}
	}
	s := Run(context.Background(), Config{BaseURL: "http://127.0.0.1:1", Nodes: urls, Concurrency: 4}, work)
	if s.Payments != n || len(s.Errors) != 0 {
		t.Fatalf("%d payments, errors %v; want %d and none", s.Payments, s.Errors, n)
	}
	for node, f := range fakes {
		if len(f.calls) != n/3 || s.NodePayments[node] != n/3 {
			t.Errorf("node %d served %d payments, sample counts %d; want %d", node, len(f.calls), s.NodePayments[node], n/3)
		}
		for no, calls := range f.calls {
			var i int
			fmt.Sscanf(no, "T%04d", &i)
			if i%3 != node || strings.Join(calls, ",") != "create,pay,query" {
				t.Errorf("payment %s made %v on node %d", no, calls, node)
			}
		}
	}
}

// TestParseConflicts reads the retry and lost-claim counters from a
// node's exposition, and refuses one without the retry counter.
func TestParseConflicts(t *testing.T) {
	text := `# HELP fenfu_db_retries_total Write transactions rerun.
# TYPE fenfu_db_retries_total counter
fenfu_db_retries_total{reason="deadlock",store="core"} 0
fenfu_db_retries_total{reason="deadlock",store="credit"} 2
fenfu_db_retries_total{reason="serialization",store="core"} 3
fenfu_db_retries_total{reason="serialization",store="credit"} 0
# TYPE go_goroutines gauge
go_goroutines 12
`
	c, err := ParseConflicts(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if c.Retries["deadlock"] != 2 || c.Retries["serialization"] != 3 || c.RetriesByStore["credit/deadlock"] != 2 ||
		c.RetriesByStore["core/serialization"] != 3 || c.TotalRetries() != 5 {
		t.Fatalf("conflicts %+v", c)
	}
	var sum Conflicts
	sum.Add(c)
	sum.Add(c)
	if sum.Retries["serialization"] != 6 || sum.TotalRetries() != 10 {
		t.Fatalf("two nodes' sum %+v", sum)
	}
	if _, err := ParseConflicts(strings.NewReader("# TYPE go_goroutines gauge\ngo_goroutines 12\n")); err == nil {
		t.Fatal("an exposition without fenfu_db_retries_total was read as no retries")
	}
}
