package figures

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/chart"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/settle"
)

type text = catalog.Text

// The figures' words, in Chinese and English.
var (
	period = text{ZH: "%s 至 %s（北京时间）。", EN: "%s to %s, China Standard Time."}

	onboardingTitle = text{ZH: "各行业首次审核通过率与开通天数", EN: "First-time approval rate and days to activation by industry"}
	onboardingDesc  = text{ZH: "按行业比较商户申请的首次审核通过率，以及从首次提交到开通的平均天数。",
		EN: "Compares, per industry, the share of merchant applications approved at their first review and the mean days from first submission to activation."}
	onboardingNote = text{ZH: "首次通过率 = 首次提交后即获批准的申请 ÷ 首次提交后已有结果（批准、拒绝或补充材料）的申请。开通天数 = 从首次提交到开通的平均天数，仅计已开通的申请。统计期间内首次提交的申请。",
		EN: "First-time approval rate = applications approved after their first submission ÷ those with a first outcome (approved, rejected or sent back for material). Days to activation = mean days from first submission to activation, of those activated. Applications first submitted in the period."}
	industry     = text{ZH: "行业", EN: "Industry"}
	approvalRate = text{ZH: "首次通过率", EN: "First-time approval rate"}
	daysToActive = text{ZH: "开通天数", EN: "Days to activation"}

	abTitle = text{ZH: "灰度发布 A/B 对比：商户 %s", EN: "Gray release A/B: merchant %s"}
	abDesc  = text{ZH: "比较提供分付与未提供分付的两组消费者的转化率、退款率、分付占比和客单价。",
		EN: "Compares the consumers offered credit pay with those not yet offered it: conversion, refund rate, credit share and average ticket."}
	abNote = text{ZH: "转化率 = 在收银台看过订单并支付的消费者 ÷ 看过的消费者（每笔订单每位消费者计一次）。退款率 = 退款金额 ÷ 支付金额。分付占比 = 用分付支付的订单 ÷ 已支付订单。客单价 = 平均支付金额。",
		EN: "Conversion = consumers who paid an order they viewed at the cashier ÷ those who viewed it (once per order and consumer). Refund rate = refunded ÷ paid amount. Credit share = orders paid on credit ÷ orders paid. Average ticket = mean amount paid."}
	cohort        = text{ZH: "分组", EN: "Cohort"}
	cohortNames   = map[string]text{merchant.CohortCredit: {ZH: "提供分付", EN: "offered credit"}, merchant.CohortControl: {ZH: "未提供分付（对照）", EN: "not offered (control)"}}
	conversion    = text{ZH: "转化率", EN: "Conversion"}
	refundRate    = text{ZH: "退款率", EN: "Refund rate"}
	creditShare   = text{ZH: "分付占比", EN: "Credit share"}
	averageTicket = text{ZH: "客单价", EN: "Average ticket"}
	share         = text{ZH: "比例", EN: "Share"}

	paymentsTitle = text{ZH: "每小时支付笔数（按渠道）与成功率", EN: "Payments per hour by channel, and success rate"}
	paymentsDesc  = text{ZH: "所有商户每小时创建的订单：已支付的按渠道堆叠，未支付即结束的另列，折线为成功率。",
		EN: "Orders of every merchant by the hour they were created: those paid stacked by channel, those that ended unpaid on top, and the success rate as a line."}
	paymentsNote = text{ZH: "成功率 = 已支付订单 ÷ 已结束订单（已支付，或未支付即关闭、撤销、失败、过期），按订单创建的小时统计；仍未结束的订单不计入。之后退款或撤销的订单仍算支付成功。",
		EN: "Success rate = orders paid ÷ orders ended (paid, or closed, revoked, failed or expired unpaid), by the hour the order was created; orders still open are left out. An order refunded or reversed later still counts as paid."}
	hour         = text{ZH: "订单创建时间（北京时间）", EN: "Hour created (China Standard Time)"}
	orders       = text{ZH: "订单数", EN: "Orders"}
	successRate  = text{ZH: "成功率", EN: "Success rate"}
	paidOn       = text{ZH: "已支付 · %s", EN: "paid · %s"}
	endedUnpaid  = text{ZH: "未支付即结束", EN: "ended unpaid"}
	channelNames = map[string]text{"credit": {ZH: "分付", EN: "credit"}, "ordinary": {ZH: "零钱", EN: "ordinary"}}

	riskTitle = text{ZH: "各风控规则每日复核与拒绝笔数", EN: "Payments each risk rule sent to review or rejected, per day"}
	riskDesc  = text{ZH: "每条规则每天送入风控复核（预警、冻结）和拒绝的支付；每条规则一组堆叠柱。",
		EN: "Per day, the payments each rule sent to the risk queue (alert, hold) and those it rejected; one stack of bars per rule."}
	riskNote = text{ZH: "每条规则只计它运行过的支付（启用且适用于该渠道）。放行 = 未命中，或命中后允许、要求确认；影子模式的命中计入放行。放行笔数见数据表。",
		EN: "A rule counts only the payments it ran on (enabled, and for their channel). Pass = not matched, or matched to allow or confirm; shadow matches count as pass. The passes are in the data table."}
	day      = text{ZH: "日期（北京时间）", EN: "Day (China Standard Time)"}
	payments = text{ZH: "支付笔数", EN: "Payments"}
	review   = text{ZH: "复核", EN: "review"}
	reject   = text{ZH: "拒绝", EN: "reject"}
	pass     = text{ZH: "放行", EN: "pass"}

	settleTitle = text{ZH: "每日结算净额（按渠道）", EN: "Net settled per day, by channel"}
	settleDesc  = text{ZH: "每个营业日的 T+1 批次结算给所有商户的净额（支付 − 退款 − 手续费），按渠道堆叠。",
		EN: "What each business day's T+1 batches settled to every merchant, net of refunds and fees, stacked by channel."}
	settleNote = text{ZH: "净额 = 支付 − 退款 − 手续费（含商户承担的分期手续费），按营业日记录的结算计。",
		EN: "Net = payments − refunds − fees (with the installment fees merchants bore), of the settlements recorded for each business day."}
	netSettled = text{ZH: "结算净额", EN: "Net settled"}
)

// table is the figures, in the order staff see them. A figure's
// permission is that of the department that owns its data: operations
// for onboarding, the gray release and the payments production
// verification watches; risk for its rules; finance for settlements. A
// daily figure's period widens to whole days, by up to a day, so its
// longest period leaves its owner's a day to spare.
var table = []figure{
	{name: Onboarding, permission: access.Onboarding, span: 90 * 24 * time.Hour, maxSpan: 366 * 24 * time.Hour,
		title: onboardingTitle, desc: onboardingDesc, note: onboardingNote, kind: chart.Bars,
		x: industry, y: axis{approvalRate, chart.Ratio}, y2: axis{daysToActive, chart.Days},
		draw: drawn((*Service).industryStats, (*Service).industries)},
	{name: AB, permission: access.Onboarding, span: 7 * 24 * time.Hour, maxSpan: 92 * 24 * time.Hour, merchant: true,
		title: abTitle, desc: abDesc, note: abNote, kind: chart.Bars,
		x: cohort, y: axis{share, chart.Ratio}, y2: axis{averageTicket, chart.Money},
		draw: drawn((*Service).cohortStats, (*Service).cohorts)},
	{name: Payments, permission: access.Onboarding, span: 24 * time.Hour, maxSpan: pay.MaxHourlySpan,
		title: paymentsTitle, desc: paymentsDesc, note: paymentsNote, kind: chart.Stacked,
		x: hour, y: axis{orders, chart.Count}, y2: axis{successRate, chart.Ratio},
		draw: drawn((*Service).hourStats, (*Service).hours)},
	{name: Risk, permission: access.RiskRules, span: 14 * 24 * time.Hour, maxSpan: risk.MaxDailySpan - 24*time.Hour, daily: true,
		title: riskTitle, desc: riskDesc, note: riskNote, kind: chart.Stacked,
		x: day, y: axis{payments, chart.Count},
		draw: drawn((*Service).ruleDays, (*Service).rules)},
	{name: Settlements, permission: access.Settlements, span: 14 * 24 * time.Hour, maxSpan: (settle.MaxDailyDays - 1) * 24 * time.Hour, daily: true,
		title: settleTitle, desc: settleDesc, note: settleNote, kind: chart.Stacked,
		x: day, y: axis{netSettled, chart.Money},
		draw: drawn((*Service).dayTotals, (*Service).netByChannel)},
}

// figure is an entry of the table.
type figure struct {
	name       Name
	permission access.Permission
	// span is the period the figure covers when its query names none,
	// ending now; maxSpan bounds it, so no query reads without end.
	span, maxSpan time.Duration
	// merchant: the figure is of one merchant, named in its query and
	// its title.
	merchant bool
	// daily: the figure has a bar a business day, over its period
	// widened to whole days.
	daily bool
	// The chart's words and kind, and its axes: y2 for the series drawn
	// on the right, if any.
	title, desc, note text
	kind              chart.Kind
	x                 text
	y, y2             axis
	// draw reads the figure's numbers from their owner for the period
	// and draws them as the chart's series (and, but for a daily figure,
	// its labels); it answers the numbers.
	draw func(s *Service, ctx context.Context, q Query, c *chart.Chart) (any, error)
}

// axis is a value axis's title and unit.
type axis struct {
	title text
	unit  chart.Unit
}

// lookup is the named figure's entry.
func lookup(n Name) (figure, bool) {
	for _, f := range table {
		if f.name == n {
			return f, true
		}
	}
	return figure{}, false
}

// drawn is a figure's draw: its owner's rows for the period (read),
// drawn as series.
func drawn[T any](read func(*Service, context.Context, Query) ([]T, error), series func(*Service, Query, []T, *chart.Chart)) func(*Service, context.Context, Query, *chart.Chart) (any, error) {
	return func(s *Service, ctx context.Context, q Query, c *chart.Chart) (any, error) {
		rows, err := read(s, ctx, q)
		if err != nil {
			return nil, err
		}
		series(s, q, rows, c)
		return rows, nil
	}
}

// chart is the figure's chart for the query, without its series.
func (f figure) chart(q Query) chart.Chart {
	var args []any
	if f.merchant {
		args = append(args, q.MchID)
	}
	return chart.Chart{Title: in(q, f.title, args...), Desc: describe(q, f.desc), Note: in(q, f.note), Kind: f.kind,
		XTitle: in(q, f.x), Y: f.y.in(q), Y2: f.y2.in(q)}
}

func (a axis) in(q Query) chart.Axis { return chart.Axis{Title: in(q, a.title), Unit: a.unit} }

// in is a text in the query's language, with args filled in.
func in(q Query, t text, args ...any) string {
	if len(args) == 0 {
		return t.In(q.Lang)
	}
	return fmt.Sprintf(t.In(q.Lang), args...)
}

// describe is a figure's description: what it shows and its period.
func describe(q Query, t text) string {
	return in(q, t) + " " + in(q, period, q.From.In(fenfu.Shanghai).Format("2006-01-02 15:04"), q.To.In(fenfu.Shanghai).Format("2006-01-02 15:04"))
}

// or is v, or NaN (not drawn) when there is nothing to measure it by.
func or(v float64, ok bool) float64 {
	if !ok {
		return math.NaN()
	}
	return v
}

func (s *Service) industryStats(ctx context.Context, q Query) ([]onboard.IndustryStats, error) {
	return s.Onboard.Report(ctx, q.From, q.To)
}

// industries are a bar an industry: its first-time approval rate, and
// its days to activation on the right.
func (s *Service) industries(q Query, stats []onboard.IndustryStats, c *chart.Chart) {
	rate := chart.Series{Name: in(q, approvalRate)}
	days := chart.Series{Name: in(q, daysToActive), Right: true}
	for _, st := range stats {
		c.Labels = append(c.Labels, s.industryName(st.Industry, q.Lang))
		rate.Values = append(rate.Values, or(st.FirstTimeApprovalRate, st.Decided > 0))
		days.Values = append(days.Values, or(st.MeanDaysToActivation, st.Activated > 0))
	}
	c.Series = []chart.Series{rate, days}
}

// industryName is the industry's name in the policy, in l.
func (s *Service) industryName(id string, l catalog.Lang) string {
	r, ok := s.Onboard.Policy.Industries[id]
	switch {
	case !ok || r.Name == "":
		return id
	case l == catalog.ZH && r.NameZH != "":
		return r.NameZH
	}
	return r.Name
}

func (s *Service) cohortStats(ctx context.Context, q Query) ([]pay.CohortStats, error) {
	return s.Pay.ABReport(ctx, q.MchID, q.From, q.To)
}

// cohorts are a bar a cohort: its conversion, refund rate and credit
// share, and its average ticket on the right.
func (s *Service) cohorts(q Query, cohorts []pay.CohortStats, c *chart.Chart) {
	conv := chart.Series{Name: in(q, conversion)}
	refunds := chart.Series{Name: in(q, refundRate)}
	credit := chart.Series{Name: in(q, creditShare)}
	ticket := chart.Series{Name: in(q, averageTicket), Right: true}
	for _, st := range cohorts {
		name := st.Cohort
		if t, ok := cohortNames[st.Cohort]; ok {
			name = t.In(q.Lang)
		}
		c.Labels = append(c.Labels, name)
		conv.Values = append(conv.Values, or(st.Conversion, st.Views > 0))
		refunds.Values = append(refunds.Values, or(st.RefundRate, st.Paid > 0))
		credit.Values = append(credit.Values, or(st.CreditShare, st.Paid > 0))
		ticket.Values = append(ticket.Values, or(float64(st.AverageTicket), st.Paid > 0))
	}
	c.Series = []chart.Series{conv, refunds, credit, ticket}
}

func (s *Service) hourStats(ctx context.Context, q Query) ([]pay.HourStats, error) {
	return s.Pay.Hourly(ctx, q.From, q.To)
}

// hours are a stack an hour: the orders paid on each channel and those
// ended unpaid, and the success rate as a line on the right.
func (s *Service) hours(q Query, hours []pay.HourStats, c *chart.Chart) {
	var series []chart.Series
	for _, ch := range pay.Channels {
		series = append(series, chart.Series{Name: in(q, paidOn, channelNames[ch.Name()].In(q.Lang)), Stack: "orders"})
	}
	unpaid := chart.Series{Name: in(q, endedUnpaid), Stack: "orders"}
	rate := chart.Series{Name: in(q, successRate), Right: true, Line: true}
	for _, h := range hours {
		c.Labels = append(c.Labels, h.Hour.In(fenfu.Shanghai).Format("01-02 15:00"))
		for i, ch := range pay.Channels {
			series[i].Values = append(series[i].Values, float64(h.Paid[ch.Name()]))
		}
		n := 0
		for _, v := range h.Unpaid {
			n += v
		}
		unpaid.Values = append(unpaid.Values, float64(n))
		if h.SuccessRate != nil {
			rate.Values = append(rate.Values, *h.SuccessRate)
		} else {
			rate.Values = append(rate.Values, math.NaN())
		}
	}
	c.Series = append(series, unpaid, rate)
}

func (s *Service) ruleDays(ctx context.Context, q Query) ([]risk.RuleDay, error) {
	return s.Risk.RuleDays(ctx, q.From, q.To)
}

// rules are a stack a rule and day: the payments it sent to review and
// those it rejected; its passes are in the data table only.
func (s *Service) rules(q Query, days []risk.RuleDay, c *chart.Chart) {
	index := map[string]int{}
	for i, l := range c.Labels {
		index[l] = i
	}
	var rules []string
	seen := map[string]bool{}
	for _, d := range days {
		if !seen[d.Rule] {
			seen[d.Rule] = true
			rules = append(rules, d.Rule)
		}
	}
	sort.Strings(rules)
	// Each rule that stopped a payment has its stack; if none did, every
	// rule's stack is drawn, empty, rather than no chart at all.
	var quiet, passes []chart.Series
	for _, r := range rules {
		rev := chart.Series{Name: r + " · " + in(q, review), Stack: r, Values: nans(len(c.Labels))}
		rej := chart.Series{Name: r + " · " + in(q, reject), Stack: r, Values: nans(len(c.Labels))}
		ps := chart.Series{Name: r + " · " + in(q, pass), TableOnly: true, Values: nans(len(c.Labels))}
		stops := false
		for _, d := range days {
			i, ok := index[d.Day[5:]]
			if d.Rule != r || !ok {
				continue
			}
			rev.Values[i], rej.Values[i], ps.Values[i] = float64(d.Review), float64(d.Reject), float64(d.Pass)
			stops = stops || d.Review > 0 || d.Reject > 0
		}
		if stops {
			c.Series = append(c.Series, rev, rej)
		} else {
			quiet = append(quiet, rev, rej)
		}
		passes = append(passes, ps)
	}
	if len(c.Series) == 0 {
		c.Series = quiet
	}
	c.Series = append(c.Series, passes...)
}

// nans are n values not drawn.
func nans(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// dayLabels are the business days the query covers, as MM-DD, and the
// period they make: from the start of the first to the end of the last.
func dayLabels(q Query) ([]string, time.Time, time.Time) {
	from := fenfu.DayStart(q.From)
	to := fenfu.DayStart(q.To.Add(-time.Microsecond)).AddDate(0, 0, 1)
	var out []string
	for d := from; d.Before(to) && len(out) < 400; d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format("01-02"))
	}
	return out, from, to
}

func (s *Service) dayTotals(ctx context.Context, q Query) ([]settle.DayTotal, error) {
	return s.Settle.Daily(ctx, q.From.Format(time.DateOnly), q.To.AddDate(0, 0, -1).Format(time.DateOnly))
}

// netByChannel are a stack a business day: the net settled on each
// channel.
func (s *Service) netByChannel(q Query, totals []settle.DayTotal, c *chart.Chart) {
	index := map[string]int{}
	for i, d := 0, q.From; i < len(c.Labels); i, d = i+1, d.AddDate(0, 0, 1) {
		index[d.Format(time.DateOnly)] = i
	}
	for _, ch := range pay.Channels {
		sr := chart.Series{Name: channelNames[ch.Name()].In(q.Lang), Stack: "net", Values: make([]float64, len(c.Labels))}
		for _, t := range totals {
			if i, ok := index[t.Date]; ok && t.Channel == ch.Name() {
				sr.Values[i] += float64(t.Net)
			}
		}
		c.Series = append(c.Series, sr)
	}
}
