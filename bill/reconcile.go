package bill

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
)

// Entry is one side's record of a trade for reconciliation: an order's
// payment (State SUCCESS, Amount the amount paid) or its refunds of the
// bill's day (State REFUND, Amount their sum), in fen.
type Entry struct {
	OutTradeNo string    `json:"out_trade_no"`
	State      string    `json:"state"`
	Amount     fenfu.Fen `json:"amount"`
}

type entryKey struct{ no, state string }

// MaxBillSize bounds a bill or record file read for reconciliation.
const MaxBillSize = 256 << 20

// ParseTrade reads a trade bill (text or gzip) into entries: each payment
// row's 订单金额 under SUCCESS, each refund row's 申请退款金额 summed
// under REFUND. It checks the header and that the summary row agrees with
// the detail rows, so a truncated or altered file is refused.
func ParseTrade(r io.Reader) ([]Entry, error) {
	b, err := openBill(r)
	if err != nil {
		return nil, err
	}
	defer b.close()
	next := b.next
	head, ok := next()
	if !ok || head != strings.Join(TradeColumns, ",") {
		return nil, fmt.Errorf("bill: line 1 is not the trade bill's header")
	}
	col := map[string]int{}
	for i, c := range TradeColumns {
		col[c] = i
	}
	sums := map[entryKey]fenfu.Fen{}
	var order []entryKey
	rows := 0
	var totalOrder, totalApplied fenfu.Fen
	summary := strings.Join(TradeSummaryColumns, ",")
	for {
		l, ok := next()
		if !ok {
			return nil, fmt.Errorf("bill: ends without its summary (truncated?)")
		}
		if l == summary {
			break
		}
		f, err := fields(l, len(TradeColumns))
		if err != nil {
			return nil, fmt.Errorf("bill: line %d: %w", b.line, err)
		}
		rows++
		state := f[col["交易状态"]]
		var k entryKey
		var amt fenfu.Fen
		switch state {
		case "SUCCESS":
			amt, err = fenfu.ParseYuan(f[col["订单金额"]])
			totalOrder += amt
		case "REFUND":
			amt, err = fenfu.ParseYuan(f[col["申请退款金额"]])
			totalApplied += amt
		default:
			err = fmt.Errorf("交易状态 %q is neither SUCCESS nor REFUND", state)
		}
		if err != nil {
			return nil, fmt.Errorf("bill: line %d: %w", b.line, err)
		}
		k = entryKey{f[col["商户订单号"]], state}
		if _, seen := sums[k]; !seen {
			order = append(order, k)
		}
		sums[k] += amt
	}
	l, ok := next()
	if !ok {
		return nil, fmt.Errorf("bill: the summary row is missing")
	}
	f, err := fields(l, len(TradeSummaryColumns))
	if err != nil {
		return nil, fmt.Errorf("bill: summary: %w", err)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n != rows {
		return nil, fmt.Errorf("bill: the summary counts %s trades, the file has %d", f[0], rows)
	}
	if o, err := fenfu.ParseYuan(f[5]); err != nil || o != totalOrder {
		return nil, fmt.Errorf("bill: the summary's 订单总金额 %s differs from its rows' %s", f[5], fenfu.Yuan(totalOrder))
	}
	if a, err := fenfu.ParseYuan(f[6]); err != nil || a != totalApplied {
		return nil, fmt.Errorf("bill: the summary's 申请退款总金额 %s differs from its rows' %s", f[6], fenfu.Yuan(totalApplied))
	}
	if err := b.sc.Err(); err != nil {
		return nil, fmt.Errorf("bill: %w", err)
	}
	out := make([]Entry, 0, len(order))
	for _, k := range order {
		out = append(out, Entry{OutTradeNo: k.no, State: k.state, Amount: sums[k]})
	}
	return out, nil
}

// billLines reads a bill's lines, text or gzip, up to MaxBillSize.
type billLines struct {
	sc    *bufio.Scanner
	line  int // the number of the line next returned last
	close func()
}

func openBill(r io.Reader) (*billLines, error) {
	br := bufio.NewReader(io.LimitReader(r, MaxBillSize))
	b := &billLines{close: func() {}}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("bill: gzip: %w", err)
		}
		b.close = func() { zr.Close() }
		br = bufio.NewReader(io.LimitReader(zr, MaxBillSize))
	}
	b.sc = bufio.NewScanner(br)
	b.sc.Buffer(make([]byte, 64<<10), 1<<20)
	return b, nil
}

// next returns the next line, without its line ending.
func (b *billLines) next() (string, bool) {
	if !b.sc.Scan() {
		return "", false
	}
	b.line++
	return strings.TrimRight(b.sc.Text(), "\r"), true
}

// FlowTotals are a fund-flow bill's movements summed by 业务类型, in
// fen, signed (income positive), with the balance the account closed at.
type FlowTotals struct {
	Lines   int                  `json:"lines"`
	ByKind  map[string]fenfu.Fen `json:"by_kind"`
	Closing fenfu.Fen            `json:"closing"`
	// ByRef nets the lines of each payment and refund (by 微信支付业务单号),
	// settlements left out: what each brought into the account.
	ByRef map[string]fenfu.Fen `json:"-"`
}

// ParseFundFlow reads a fund-flow bill (text or gzip) into its totals. It
// checks the header, that each row's 账户结余 follows from the one before,
// and that the summary row agrees with the detail rows, so a truncated or
// altered file is refused.
func ParseFundFlow(r io.Reader) (FlowTotals, error) {
	t := FlowTotals{ByKind: map[string]fenfu.Fen{}, ByRef: map[string]fenfu.Fen{}}
	b, err := openBill(r)
	if err != nil {
		return t, err
	}
	defer b.close()
	next := b.next
	if head, ok := next(); !ok || head != strings.Join(FundFlowColumns, ",") {
		return t, fmt.Errorf("bill: line 1 is not the fund-flow bill's header")
	}
	summary := strings.Join(FundFlowSummaryColumns, ",")
	var in, out int
	var inSum, outSum fenfu.Fen
	for {
		l, ok := next()
		if !ok {
			return t, fmt.Errorf("bill: ends without its summary (truncated?)")
		}
		if l == summary {
			break
		}
		f, err := fields(l, len(FundFlowColumns))
		if err != nil {
			return t, fmt.Errorf("bill: line %d: %w", b.line, err)
		}
		amt, err := fenfu.ParseYuan(f[6])
		if err != nil {
			return t, fmt.Errorf("bill: line %d: %w", b.line, err)
		}
		bal, err := fenfu.ParseYuan(f[7])
		if err != nil {
			return t, fmt.Errorf("bill: line %d: %w", b.line, err)
		}
		switch f[5] {
		case "收入":
			in++
			inSum += amt
		case "支出":
			out++
			outSum += amt
			amt = -amt
		default:
			return t, fmt.Errorf("bill: line %d: 收支类型 %q is neither 收入 nor 支出", b.line, f[5])
		}
		if t.Lines > 0 && bal != t.Closing+amt {
			return t, fmt.Errorf("bill: line %d: 账户结余 %s does not follow from %s", b.line, f[7], fenfu.Yuan(t.Closing))
		}
		t.Lines++
		t.ByKind[f[4]] += amt
		if f[4] != "结算" {
			t.ByRef[f[1]] += amt
		}
		t.Closing = bal
	}
	l, ok := next()
	if !ok {
		return t, fmt.Errorf("bill: the summary row is missing")
	}
	f, err := fields(l, len(FundFlowSummaryColumns))
	if err != nil {
		return t, fmt.Errorf("bill: summary: %w", err)
	}
	is, ierr := fenfu.ParseYuan(f[2])
	osum, oerr := fenfu.ParseYuan(f[4])
	if f[0] != strconv.Itoa(t.Lines) || f[1] != strconv.Itoa(in) || f[3] != strconv.Itoa(out) ||
		ierr != nil || oerr != nil || is != inSum || osum != outSum {
		return t, fmt.Errorf("bill: the summary %v differs from its rows", f)
	}
	if err := b.sc.Err(); err != nil {
		return t, fmt.Errorf("bill: %w", err)
	}
	return t, nil
}

// SettlementCheck is a settlement set against the BASIC fund-flow bills
// that list what it took: the platform's own reconciliation of what it
// paid a merchant with what it billed. Items counts the payments and
// refunds the settlement took, Billed what their bill lines (trade net of
// fee, refund, installment fee and its refunded share) net to; Gap,
// Billed less the settlement's net, is zero when the two agree to the
// fen, whichever days the items were paid or refunded on (a held payment,
// or a refund finished late, is settled after its own day).
type SettlementCheck struct {
	Settlement settle.Settlement `json:"settlement"`
	Days       []string          `json:"bill_days"`
	Items      int               `json:"items"`
	Billed     fenfu.Fen         `json:"billed"`
	Gap        fenfu.Fen         `json:"gap"`
}

// CheckSettlement reads (rendering them if they were not yet) the BASIC
// fund-flow bills of the days x's payments and refunds were billed on,
// checks each file itself (ParseFundFlow) and sets the lines of what x
// took against x.
func (s *Service) CheckSettlement(ctx context.Context, x settle.Settlement) (SettlementCheck, error) {
	took, err := pay.SettledBy(ctx, s.Core, x.ID)
	if err != nil {
		return SettlementCheck{}, fmt.Errorf("bill: what settlement %s took: %w", x.ID, err)
	}
	c := SettlementCheck{Settlement: x, Days: []string{}, Items: len(took)}
	days := map[string]bool{}
	for _, d := range took {
		if !days[d] {
			days[d] = true
			c.Days = append(c.Days, d)
		}
	}
	sort.Strings(c.Days)
	for _, d := range c.Days {
		f, err := s.Get(ctx, Request{MchID: x.MchID, Date: d, Kind: FundFlow, Type: Basic, Channel: x.Channel}, false)
		if err != nil {
			return c, err
		}
		t, err := ParseFundFlow(bytes.NewReader(f.Data))
		if err != nil {
			return c, fmt.Errorf("the fund-flow bill of %s: %w", d, err)
		}
		for ref, amt := range t.ByRef {
			if took[ref] == d {
				c.Billed += amt
			}
		}
	}
	c.Gap = c.Billed - x.Net
	return c, nil
}

// fields splits a bill row of n backtick-prefixed fields.
func fields(l string, n int) ([]string, error) {
	f := strings.Split(l, ",")
	if len(f) != n {
		return nil, fmt.Errorf("%d fields, want %d", len(f), n)
	}
	for i, v := range f {
		if !strings.HasPrefix(v, "`") {
			return nil, fmt.Errorf("field %d does not start with a backtick", i+1)
		}
		f[i] = v[1:]
	}
	return f, nil
}

// ParseMine reads a merchant's own records: CSV lines of out_trade_no,
// amount in yuan (12.34), state (SUCCESS or REFUND), with an optional
// header line. Repeated (out_trade_no, state) pairs add up.
func ParseMine(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(io.LimitReader(r, MaxBillSize))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sums := map[entryKey]fenfu.Fen{}
	var order []entryKey
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if l == "" {
			continue
		}
		f := strings.Split(l, ",")
		for i := range f {
			f[i] = strings.TrimSpace(strings.Trim(strings.TrimSpace(f[i]), "`\""))
		}
		if line == 1 && strings.EqualFold(f[0], "out_trade_no") {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("records: line %d: %d fields, want out_trade_no,amount,state", line, len(f))
		}
		if f[0] == "" {
			return nil, fmt.Errorf("records: line %d: empty out_trade_no", line)
		}
		amt, err := fenfu.ParseYuan(f[1])
		if err != nil {
			return nil, fmt.Errorf("records: line %d: %w", line, err)
		}
		state := strings.ToUpper(f[2])
		if state != "SUCCESS" && state != "REFUND" {
			return nil, fmt.Errorf("records: line %d: state %q must be SUCCESS or REFUND", line, f[2])
		}
		k := entryKey{f[0], state}
		if _, seen := sums[k]; !seen {
			order = append(order, k)
		}
		sums[k] += amt
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	out := make([]Entry, 0, len(order))
	for _, k := range order {
		out = append(out, Entry{OutTradeNo: k.no, State: k.state, Amount: sums[k]})
	}
	return out, nil
}

// Kinds of difference.
const (
	MissingInBill  = "MISSING_IN_BILL" // the merchant has it, the bill does not
	MissingInMine  = "MISSING_IN_MINE" // the bill has it, the merchant does not
	AmountMismatch = "AMOUNT_MISMATCH" // both have it, for different amounts
	StateMismatch  = "STATE_MISMATCH"  // both have the order, in different states
)

// Difference is one disagreement between the bill and the merchant.
type Difference struct {
	Kind       string    `json:"kind"`
	OutTradeNo string    `json:"out_trade_no"`
	BillState  string    `json:"bill_state,omitempty"`
	MineState  string    `json:"mine_state,omitempty"`
	BillAmount fenfu.Fen `json:"bill_amount"`
	MineAmount fenfu.Fen `json:"mine_amount"`
}

// Side totals one side.
type Side struct {
	Entries  int       `json:"entries"`
	Paid     fenfu.Fen `json:"paid"`
	Refunded fenfu.Fen `json:"refunded"`
}

// Report is a reconciliation's outcome.
type Report struct {
	Bill        Side           `json:"bill"`
	Mine        Side           `json:"mine"`
	Matched     int            `json:"matched"`
	Differences []Difference   `json:"differences"`
	Counts      map[string]int `json:"counts"`
}

// Reconcile compares the bill's entries with the merchant's and lists
// every difference, in out_trade_no order.
func Reconcile(billEntries, mine []Entry) Report {
	rep := Report{Counts: map[string]int{}, Differences: []Difference{}}
	tally := func(s *Side, es []Entry) map[entryKey]fenfu.Fen {
		m := make(map[entryKey]fenfu.Fen, len(es))
		for _, e := range es {
			m[entryKey{e.OutTradeNo, e.State}] += e.Amount
			s.Entries++
			if e.State == "REFUND" {
				s.Refunded += e.Amount
			} else {
				s.Paid += e.Amount
			}
		}
		return m
	}
	b, m := tally(&rep.Bill, billEntries), tally(&rep.Mine, mine)
	onlyBill, onlyMine := map[string][]entryKey{}, map[string][]entryKey{}
	for k, amt := range b {
		mv, ok := m[k]
		switch {
		case !ok:
			onlyBill[k.no] = append(onlyBill[k.no], k)
		case mv != amt:
			rep.Differences = append(rep.Differences, Difference{Kind: AmountMismatch, OutTradeNo: k.no, BillState: k.state,
				MineState: k.state, BillAmount: amt, MineAmount: mv})
		default:
			rep.Matched++
		}
	}
	for k := range m {
		if _, ok := b[k]; !ok {
			onlyMine[k.no] = append(onlyMine[k.no], k)
		}
	}
	for no, bks := range onlyBill {
		mks := onlyMine[no]
		for len(bks) > 0 && len(mks) > 0 {
			rep.Differences = append(rep.Differences, Difference{Kind: StateMismatch, OutTradeNo: no, BillState: bks[0].state,
				MineState: mks[0].state, BillAmount: b[bks[0]], MineAmount: m[mks[0]]})
			bks, mks = bks[1:], mks[1:]
		}
		for _, k := range bks {
			rep.Differences = append(rep.Differences, Difference{Kind: MissingInMine, OutTradeNo: no, BillState: k.state, BillAmount: b[k]})
		}
		onlyMine[no] = mks
	}
	for no, mks := range onlyMine {
		for _, k := range mks {
			rep.Differences = append(rep.Differences, Difference{Kind: MissingInBill, OutTradeNo: no, MineState: k.state, MineAmount: m[k]})
		}
	}
	sort.Slice(rep.Differences, func(i, j int) bool {
		a, c := rep.Differences[i], rep.Differences[j]
		if a.OutTradeNo != c.OutTradeNo {
			return a.OutTradeNo < c.OutTradeNo
		}
		return a.Kind+a.BillState+a.MineState < c.Kind+c.BillState+c.MineState
	})
	for _, d := range rep.Differences {
		rep.Counts[d.Kind]++
	}
	return rep
}

// Text formats a report for people.
func (rep Report) Text() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "bill:    %d entries, paid %s, refunded %s yuan\n", rep.Bill.Entries, fenfu.Yuan(rep.Bill.Paid), fenfu.Yuan(rep.Bill.Refunded))
	fmt.Fprintf(&b, "records: %d entries, paid %s, refunded %s yuan\n", rep.Mine.Entries, fenfu.Yuan(rep.Mine.Paid), fenfu.Yuan(rep.Mine.Refunded))
	fmt.Fprintf(&b, "matched: %d; differences: %d\n", rep.Matched, len(rep.Differences))
	for _, d := range rep.Differences {
		switch d.Kind {
		case MissingInBill:
			fmt.Fprintf(&b, "  %-16s %s %s %s yuan in your records, not in the bill\n", d.Kind, d.OutTradeNo, d.MineState, fenfu.Yuan(d.MineAmount))
		case MissingInMine:
			fmt.Fprintf(&b, "  %-16s %s %s %s yuan in the bill, not in your records\n", d.Kind, d.OutTradeNo, d.BillState, fenfu.Yuan(d.BillAmount))
		case AmountMismatch:
			fmt.Fprintf(&b, "  %-16s %s %s bill %s yuan, records %s yuan\n", d.Kind, d.OutTradeNo, d.BillState, fenfu.Yuan(d.BillAmount), fenfu.Yuan(d.MineAmount))
		case StateMismatch:
			fmt.Fprintf(&b, "  %-16s %s bill %s %s yuan, records %s %s yuan\n", d.Kind, d.OutTradeNo, d.BillState, fenfu.Yuan(d.BillAmount),
				d.MineState, fenfu.Yuan(d.MineAmount))
		}
	}
	return b.String()
}
