// Package catalog is what fenfu says to a person about each error code:
// a title, a message and the next step, in Chinese and in English, and
// which action the page offers for it. Developer messages and remedies
// (fenfu.Code.Message, Remedy) speak to programs; the catalogue speaks to
// the consumer at the cashier. Every code fenfu answers with has an
// entry; a code can have variants where one code covers situations a
// consumer meets differently (a wrong PIN and a session that ended are
// both UNAUTHENTICATED).
package catalog

import (
	"strconv"
	"strings"

	"github.com/fenfu/fenfu"
)

// Lang is a language the catalogue speaks.
type Lang string

// The languages: Chinese first, English available.
const (
	ZH Lang = "zh"
	EN Lang = "en"
)

// Langs are the languages, the default first.
var Langs = []Lang{ZH, EN}

// Tag is the language's BCP 47 tag, for <html lang>.
func (l Lang) Tag() string {
	if l == EN {
		return "en"
	}
	return "zh-CN"
}

// ParseLang reads a language a switch names (zh, en, or a tag such as
// zh-CN or en-GB); ok is false for any other.
func ParseLang(s string) (Lang, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	base, _, _ := strings.Cut(s, "-")
	switch base {
	case "zh":
		return ZH, true
	case "en":
		return EN, true
	}
	return ZH, false
}

// maxAccept bounds how much of an Accept-Language header is read.
const maxAccept = 512

// Negotiate picks the language an Accept-Language header prefers: the
// supported language of the highest weight, the earlier on a tie, and
// Chinese when none is supported or the header is empty or malformed.
func Negotiate(header string) Lang {
	if len(header) > maxAccept {
		header = header[:maxAccept]
	}
	best, bestQ := ZH, -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		l, ok := ParseLang(tag)
		if !ok {
			continue
		}
		q := 1.0
		if v, found := strings.CutPrefix(strings.TrimSpace(params), "q="); found {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// Text is one text in each language.
type Text struct{ ZH, EN string }

// In is the text in l.
func (t Text) In(l Lang) string {
	if l == EN {
		return t.EN
	}
	return t.ZH
}

// Action is the next step a page offers as a button or link.
type Action string

// The actions.
const (
	None    Action = ""
	Login   Action = "login"   // log in again
	Balance Action = "balance" // pay from balance instead: the form preselected on it
	Repay   Action = "repay"   // repay on the credit account page
	NewCode Action = "newcode" // ask the merchant for a new code
	Retry   Action = "retry"   // try the same again
	View    Action = "view"    // see the order as it is now
)

// Variants of codes, where one code covers situations a consumer meets
// differently.
const (
	WrongPIN   = "pin"     // UNAUTHENTICATED, FREQUENCY_LIMITED: the PIN was wrong, or too many were
	Network    = "network" // FREQUENCY_LIMITED: too many failed logins from the consumer's network
	Expired    = "expired" // ORDER_CLOSED: the order's time ran out
	Paused     = "paused"  // RULE_LIMIT: the credit line takes no payment now (frozen, overdue)
	OfBalance  = "balance" // NOT_ENOUGH: the balance, not the credit line, is short
	NotFound   = "404"     // RESOURCE_NOT_EXISTS: a cashier address that is no page
	CrossSite  = "site"    // NO_AUTH: a form another site sent
	NoLine     = "noline"  // NOT_ENOUGH: the consumer has no credit line
	CodeTaken  = "taken"   // ORDERPAID: the order was paid, by this consumer or another
	NoPINCheck = "nopin"   // PARAM_ERROR: a payment without the PIN it needs
)

// Entry is what a page says about one code (or variant). Texts may name
// {time}, {until}, {left} and {lockout}, which the page fills in.
type Entry struct {
	Title, Message, Next Text
	Action               Action
}

// Said is an entry in one language with its blanks filled.
type Said struct {
	Code          fenfu.Code
	Title         string
	Message, Next string
	Action        Action
}

// Say is what the page says in l about code (of the variant, if it has
// one, else the code's own entry), its blanks filled from args.
func Say(l Lang, code fenfu.Code, variant string, args map[string]string) Said {
	e, ok := Lookup(code, variant)
	if !ok {
		e = entries[key{fenfu.SystemError, ""}]
	}
	pairs := make([]string, 0, 2*len(args))
	for k, v := range args {
		pairs = append(pairs, "{"+k+"}", v)
	}
	fill := strings.NewReplacer(pairs...).Replace
	return Said{Code: code, Title: fill(e.Title.In(l)), Message: fill(e.Message.In(l)), Next: fill(e.Next.In(l)), Action: e.Action}
}

// Lookup is the entry of code's variant, or of the code when the variant
// has none.
func Lookup(code fenfu.Code, variant string) (Entry, bool) {
	if e, ok := entries[key{code, variant}]; ok {
		return e, true
	}
	e, ok := entries[key{code, ""}]
	return e, ok
}

// Keys are the codes and variants of every entry.
func Keys() [][2]string {
	out := make([][2]string, 0, len(entries))
	for k := range entries {
		out = append(out, [2]string{string(k.code), k.variant})
	}
	return out
}

type key struct {
	code    fenfu.Code
	variant string
}

func t(zh, en string) Text { return Text{ZH: zh, EN: en} }

// entries is the catalogue.
var entries = map[key]Entry{
	{fenfu.Unauthenticated, ""}: {t("请先登录", "Please log in"),
		t("登录已结束或尚未登录。", "You are not logged in, or your login has ended."),
		t("用手机号和支付密码重新登录，再继续。", "Log in again with your phone number and PIN, then carry on."), Login},
	{fenfu.Unauthenticated, WrongPIN}: {t("支付密码不正确", "Wrong PIN"),
		t("手机号或支付密码不正确，本次没有付款。", "The phone number or PIN is not right. Nothing was paid."),
		t("请重新输入。还可以再试 {left} 次，之后将锁定 {lockout}。", "Enter it again. {left} more wrong PINs lock it for {lockout}."), Retry},
	{fenfu.FrequencyLimited, ""}: {t("操作太频繁", "Too many tries"),
		t("短时间内请求太多次。", "There were too many requests in a short time."),
		t("请稍等片刻再试。", "Wait a moment and try again."), Retry},
	{fenfu.FrequencyLimited, WrongPIN}: {t("支付密码已锁定", "PIN locked"),
		t("支付密码错误次数太多，已暂时锁定，本次没有付款。", "Too many wrong PINs: it is locked for now. Nothing was paid."),
		t("请在 {until}（北京时间）之后再试。", "Try again after {until} China Standard Time (UTC+8)."), None},
	{fenfu.FrequencyLimited, Network}: {t("此网络登录失败太多", "Too many failed logins on this network"),
		t("从你所在的网络登录失败的次数太多，暂时不能从这里登录，本次没有付款。你的支付密码没有被锁定。",
			"Too many logins from the network you are on failed, so it cannot log in for now. Nothing was paid. Your PIN is not locked."),
		t("请在 {until}（北京时间）之后再试，或换一个网络（例如手机流量）登录。", "Try again after {until} China Standard Time (UTC+8), or log in from another network (mobile data, say)."), None},
	{fenfu.NotEnough, ""}: {t("分付额度不足", "Not enough credit"),
		t("你的分付可用额度不够支付这笔订单。", "Your available credit does not cover this order."),
		t("可以改用零钱支付，或先还款恢复额度。", "Pay from your balance instead, or repay to free up credit."), Balance},
	{fenfu.NotEnough, OfBalance}: {t("零钱余额不足", "Not enough balance"),
		t("你的零钱余额不够支付这笔订单。", "Your balance does not cover this order."),
		t("可以改用分付支付。", "Pay with credit instead."), Retry},
	{fenfu.NotEnough, NoLine}: {t("尚未开通分付", "No credit line"),
		t("你还没有分付额度。", "You have no credit line yet."),
		t("请使用零钱付款码。", "Show a balance payment code instead."), None},
	{fenfu.OrderPaid, ""}: {t("订单已支付", "Already paid"),
		t("这笔订单已经付过款了，不会重复扣款。", "This order is already paid. You will not be charged twice."),
		t("查看订单的支付结果。", "See the order's payment."), View},
	{fenfu.OrderClosed, ""}: {t("订单已关闭", "Order closed"),
		t("商户已关闭这笔订单，无法再付款。", "The merchant closed this order; it can no longer be paid."),
		t("请向商户索取新的付款码。", "Ask the merchant for a new code."), NewCode},
	{fenfu.OrderClosed, Expired}: {t("付款码已过期", "Code expired"),
		t("这笔订单已于 {time}（北京时间）过期，无法再付款。", "This order expired at {time} China Standard Time (UTC+8); it can no longer be paid."),
		t("请向商户索取新的付款码。", "Ask the merchant for a new code."), NewCode},
	{fenfu.UserPaying, ""}: {t("正在付款", "Payment in progress"),
		t("这笔订单正在付款中。", "A payment of this order is in progress."),
		t("请稍候几秒后刷新页面查看结果，不要重复付款。", "Wait a few seconds and reload the page for its result; do not pay again."), View},
	{fenfu.RuleLimit, ""}: {t("暂时无法使用分付", "Credit not available now"),
		t("出于安全考虑，这笔付款暂时不能使用分付。", "For your safety, this payment cannot be made on credit now."),
		t("可以改用零钱支付。", "Pay from your balance instead."), Balance},
	{fenfu.RuleLimit, Paused}: {t("分付已暂停", "Credit paused"),
		t("你的分付额度暂时不能付款（有逾期未还或已冻结）。", "Your credit line takes no payments now (a repayment is overdue, or the line is frozen)."),
		t("还清逾期款项后即可恢复；这笔可以先用零钱支付。", "Repay what is overdue to use it again; pay this one from your balance."), Repay},
	{fenfu.NoAuth, ""}: {t("无权操作", "Not allowed"),
		t("这项操作不被允许。", "This is not allowed."),
		t("请从收银台页面重新操作。", "Start again from the cashier page."), Retry},
	{fenfu.NoAuth, CrossSite}: {t("请求来自其他网站", "Request from another site"),
		t("为保护你的账户，来自其他网站的付款或登录请求已被拒绝。", "To protect your account, a payment or login sent from another website was refused."),
		t("请直接打开商户给你的付款链接或扫描付款码。", "Open the merchant's payment link or scan its code directly."), Retry},
	{fenfu.ParamError, ""}: {t("填写有误", "Something is not filled in right"),
		t("提交的内容有误或缺少必填项。", "Something in the form is missing or not in the right form."),
		t("请检查后重新提交。", "Check it and send it again."), Retry},
	{fenfu.ParamError, NoPINCheck}: {t("请输入支付密码", "Enter your PIN"),
		t("每笔付款都需要输入支付密码确认。", "Every payment is confirmed with your PIN."),
		t("输入 6 位支付密码后再付款。", "Enter your 6-digit PIN and pay again."), Retry},
	{fenfu.SystemError, ""}: {t("系统繁忙", "Something went wrong"),
		t("系统暂时出了问题，本次操作没有完成。", "Something went wrong on our side; this was not completed."),
		t("请稍后重试；不会重复扣款。", "Try again in a moment; you will not be charged twice."), Retry},
	{fenfu.OrderNotExist, ""}: {t("订单不存在", "Order not found"),
		t("找不到这笔订单。", "This order could not be found."),
		t("请向商户索取新的付款码。", "Ask the merchant for a new code."), NewCode},
	{fenfu.ResourceNotExists, ""}: {t("找不到内容", "Not found"),
		t("找不到你要查看的内容。", "What you asked for could not be found."),
		t("请返回上一页重试。", "Go back and try again."), None},
	{fenfu.ResourceNotExists, NotFound}: {t("页面不存在", "Page not found"),
		t("这个地址没有对应的页面。", "There is no page at this address."),
		t("请重新扫描商户的付款码，或打开我的分付。", "Scan the merchant's code again, or open My credit."), NewCode},
	{fenfu.AuthCodeError, ""}: {t("付款码无效", "Not a payment code"),
		t("收银员扫描的不是付款码。", "What the cashier scanned is not a payment code."),
		t("请刷新付款码后让收银员重新扫描。", "Refresh your payment code and ask the cashier to scan it again."), NewCode},
	{fenfu.AuthCodeInvalid, ""}: {t("付款码已失效", "Payment code not valid"),
		t("这个付款码已使用或无效。", "This payment code was used or is not valid."),
		t("请刷新付款码后让收银员重新扫描，一个码只能付一次。", "Show a new payment code and ask the cashier to scan it; a code pays once."), NewCode},
	{fenfu.AuthCodeExpire, ""}: {t("付款码已过期", "Payment code expired"),
		t("付款码每分钟更新，这个码已过期。", "Payment codes change every minute; this one has expired."),
		t("请刷新付款码后让收银员重新扫描。", "Refresh your payment code and ask the cashier to scan the new one."), NewCode},
	{fenfu.InvalidOrderState, ""}: {t("订单状态已变化", "The order has changed"),
		t("这笔服务订单当前的状态不能进行此操作。", "This service order's state does not allow this now."),
		t("刷新页面查看最新状态。", "Reload the page to see where it stands."), View},
	{fenfu.TradeError, ""}: {t("交易无法完成", "The payment cannot go through"),
		t("这笔交易暂时无法完成，本次没有付款。", "This payment cannot go through now. Nothing was paid."),
		t("可以换一种付款方式，或联系商户。", "Try another way to pay, or ask the merchant."), Balance},
	{fenfu.InvalidRequest, ""}: {t("当前不能这样操作", "Not possible now"),
		t("这项操作在当前状态下不允许。", "This cannot be done in the current state."),
		t("刷新页面查看最新状态。", "Reload the page to see where it stands."), View},
	{fenfu.Forbidden, ""}: {t("无权操作", "Not allowed"),
		t("你没有权限进行这项操作。", "You are not allowed to do this."),
		t("如有疑问请联系平台客服。", "Contact the platform's support if you think this is wrong."), None},
	{fenfu.MchNotExists, ""}: {t("商户不存在", "Merchant not found"),
		t("找不到这个商户。", "This merchant could not be found."),
		t("请向商户索取新的付款码。", "Ask the merchant for a new code."), NewCode},
	{fenfu.OutTradeNoUsed, ""}: {t("订单号重复", "Duplicate order"),
		t("商户的订单号已被使用。", "The merchant's order number was already used."),
		t("请向商户索取新的付款码。", "Ask the merchant for a new code."), NewCode},
	{fenfu.SignError, ""}: {t("签名错误", "Signature not valid"),
		t("请求的签名校验失败。", "The request's signature did not verify."),
		t("请向商户索取新的付款码。", "Ask the merchant for a new code."), NewCode},
	{fenfu.NoStatementExist, ""}: {t("账单尚未生成", "No statement yet"),
		t("这个月的账单还没有生成。", "This month's statement has not been made yet."),
		t("账单日之后再来查看。", "Come back after the statement date."), None},
	{fenfu.BatchRunning, ""}: {t("正在处理", "Being processed"),
		t("系统正在处理，请稍候。", "This is being processed."), t("请稍后再试。", "Try again in a moment."), Retry},
	{fenfu.ReverseExpire, ""}: {t("无法撤销", "Cannot be reversed"),
		t("这笔付款已过撤销期限。", "This payment can no longer be reversed."),
		t("如需退款请联系商户。", "Ask the merchant for a refund."), None},
}
