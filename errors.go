package fenfu

import "slices"

// Code is a stable, machine-readable error code. Where the WeChat Pay
// protocol defines a code, fenfu uses the same spelling.
type Code string

// Error codes of the answers: every surface (the v3 and v2 APIs, the staff
// API, the cashier's pages and JSON, the commands) answers with them. Each
// has one HTTP status, message and remedy, in the catalogue (codes).
const (
	ParamError        Code = "PARAM_ERROR"         // a field is missing or malformed
	InvalidRequest    Code = "INVALID_REQUEST"     // the request is well-formed but not allowed in this state
	SignError         Code = "SIGN_ERROR"          // the request signature did not verify
	MchNotExists      Code = "MCH_NOT_EXISTS"      // no such merchant
	NoAuth            Code = "NO_AUTH"             // the merchant lacks the permission
	Forbidden         Code = "FORBIDDEN"           // the staff member lacks the permission
	OrderNotExist     Code = "ORDER_NOT_EXIST"     // no such order
	OutTradeNoUsed    Code = "OUT_TRADE_NO_USED"   // out_trade_no reused with different parameters
	OrderPaid         Code = "ORDERPAID"           // the order has already been paid
	OrderClosed       Code = "ORDER_CLOSED"        // the order is closed or expired
	UserPaying        Code = "USERPAYING"          // a payment of the order is in progress
	NotEnough         Code = "NOT_ENOUGH"          // the credit line or balance is short
	RuleLimit         Code = "RULE_LIMIT"          // a business rule forbids the operation
	TradeError        Code = "TRADE_ERROR"         // the trade cannot proceed
	ResourceNotExists Code = "RESOURCE_NOT_EXISTS" // a refund or other resource does not exist
	FrequencyLimited  Code = "FREQUENCY_LIMITED"   // too many requests
	Unauthenticated   Code = "UNAUTHENTICATED"     // a consumer must log in first
	SystemError       Code = "SYSTEM_ERROR"        // an internal failure; safe to retry
	NoStatementExist  Code = "NO_STATEMENT_EXIST"  // the bill asked for does not exist (yet)
	BatchRunning      Code = "BATCH_RUNNING"       // a settlement batch is running on another node
	AuthCodeError     Code = "AUTH_CODE_ERROR"     // auth_code is not the form of a payment code
	AuthCodeInvalid   Code = "AUTH_CODE_INVALID"   // the payment code is unknown or already used
	AuthCodeExpire    Code = "AUTHCODEEXPIRE"      // the payment code expired or was replaced
	InvalidOrderState Code = "INVALID_ORDER_STATE" // a service order's state does not allow the operation
	ReverseExpire     Code = "REVERSE_EXPIRE"      // the order is past its reverse window
)

// API v2's own codes: what the XML API answers that no other surface
// does, in err_code or at the head of return_msg.
const (
	V2AppIDMismatch  Code = "APPID_MCHID_NOT_MATCH" // appid is not the merchant's
	V2OrderReversed  Code = "ORDERREVERSED"         // a code payment sent again after it was reversed
	V2SignError      Code = "SIGNERROR"             // the sign does not verify (return_msg 签名错误)
	V2XMLFormatError Code = "XML_FORMAT_ERROR"      // the body is not the XML of a v2 request
	V2LackParams     Code = "LACK_PARAMS"           // appid, mch_id, nonce_str or sign is missing
	V2BillFailed     Code = "20001"                 // /pay/downloadbill's error_code for a request it refused
	V2NoBill         Code = "20002"                 // /pay/downloadbill's error_code for a bill that does not exist
)

// What fenfu doctor finds wrong with a merchant's integration: no request
// is answered with these, each is a check's finding, with its remedy.
const (
	NotifyURLMissing     Code = "NOTIFY_URL_MISSING"      // there is no notify URL to check
	NotifyNotHTTPS       Code = "NOTIFY_NOT_HTTPS"        // the notify URL is http://
	NotifyDNSFailed      Code = "NOTIFY_DNS_FAILED"       // its host does not resolve
	NotifyPrivateAddress Code = "NOTIFY_PRIVATE_ADDRESS"  // its host resolves to an address fenfu does not deliver to
	NotifyUnreachable    Code = "NOTIFY_UNREACHABLE"      // no connection or no answer in time (the interface timeout)
	NotifyHeaderTooLarge Code = "NOTIFY_HEADER_TOO_LARGE" // its answer's header goes on past what fenfu reads
	NotifyTLSUntrusted   Code = "NOTIFY_TLS_UNTRUSTED"    // its certificate chain does not verify, or names another host
	NotifyTLSExpired     Code = "NOTIFY_TLS_EXPIRED"      // its certificate has expired or is not yet valid
	NotifyTLSExpiring    Code = "NOTIFY_TLS_EXPIRING"     // its certificate expires soon
	NotifyFailing        Code = "NOTIFY_FAILING"          // deliveries of the last day failed
	ClockSkew            Code = "CLOCK_SKEW"              // the merchant's clock is off fenfu's
	PlatformKeyUnstated  Code = "PLATFORM_KEY_UNSTATED"   // the merchant did not say which platform key it holds
	PlatformKeyRetiring  Code = "PLATFORM_KEY_RETIRING"   // it holds the platform key being retired
	PlatformKeyUnknown   Code = "PLATFORM_KEY_UNKNOWN"    // it holds no platform key of fenfu's
	PlatformCertExpiring Code = "PLATFORM_CERT_EXPIRING"  // the platform certificate it holds expires within 30 days
	PlatformCertExpired  Code = "PLATFORM_CERT_EXPIRED"   // the platform certificate it holds has expired
)

// Kind is what kind of code an entry of the catalogue is.
type Kind string

// The kinds of code.
const (
	// KindAnswer is a code requests are answered with, on every surface,
	// with an HTTP status.
	KindAnswer Kind = "answer"
	// KindV2 is one of API v2's own codes.
	KindV2 Kind = "v2"
	// KindFinding is a finding of fenfu doctor.
	KindFinding Kind = "finding"
)

// Phrase is one text in Chinese and in English.
type Phrase struct{ ZH, EN string }

// Page is what a page says to a person (a consumer at the cashier) about
// a code or one of its variants: a title, a message, the next step, and
// the action the page offers (package catalog names the actions and
// variants).
type Page struct {
	Title, Message, Next Phrase
	Action               string
}

// Entry is the catalogue's entry of a code: what fenfu says about it on
// every surface, to each audience, in Chinese and in English (SPEC §8).
type Entry struct {
	Kind Kind
	// Status is the HTTP status the v3, staff, cashier and portal
	// adapters answer the code with (the WeChat Pay v3 status where the
	// protocol defines the code); 0 for the codes of other kinds.
	Status int
	// V2 is the err_code API v2 answers the code with, where its spelling
	// differs from the code's (ORDER_NOT_EXIST is v2's ORDERNOTEXIST).
	V2 string
	// Message and Remedy speak to the developer: what the code means and
	// what to do. Their English is the default message and remedy of the
	// code's errors (Code.Message, Code.Remedy).
	Message, Remedy Phrase
	// Pages speak to a person at a page: the code's own ("") and its
	// variants'.
	Pages map[string]Page
}

func both(zh, en string) Phrase { return Phrase{ZH: zh, EN: en} }

func page(title, message, next Phrase, action string) Page {
	return Page{Title: title, Message: message, Next: next, Action: action}
}

// codes is the catalogue: the one table from error code to transport
// status, v2 spelling, message and remedy for the developer, and what the
// pages say to a person. The statuses are HTTP's; the root package names
// them as numbers so that it stays free of I/O packages.
var codes = map[Code]Entry{
	ParamError: {Kind: KindAnswer, Status: 400,
		Message: both("字段缺失或格式不正确", "a field is missing or malformed"),
		Remedy: both("按 API 文档检查所指字段（detail.field）后重新发送请求。",
			"Check the named field against the API reference and send the request again."),
		Pages: map[string]Page{
			"": page(both("填写有误", "Something is not filled in right"),
				both("提交的内容有误或缺少必填项。", "Something in the form is missing or not in the right form."),
				both("请检查后重新提交。", "Check it and send it again."), "retry"),
			"nopin": page(both("请输入支付密码", "Enter your PIN"),
				both("每笔付款都需要输入支付密码确认。", "Every payment is confirmed with your PIN."),
				both("输入 6 位支付密码后再付款。", "Enter your 6-digit PIN and pay again."), "retry"),
		}},
	InvalidRequest: {Kind: KindAnswer, Status: 400,
		Message: both("对象当前的状态不允许此操作", "the operation is not allowed in the object's current state"),
		Remedy: both("重试前先查询对象的当前状态；此操作在该状态下不被允许。",
			"Query the object's current state before retrying; the operation is not allowed in it."),
		Pages: map[string]Page{
			"": page(both("当前不能这样操作", "Not possible now"),
				both("这项操作在当前状态下不允许。", "This cannot be done in the current state."),
				both("刷新页面查看最新状态。", "Reload the page to see where it stands."), "view"),
		}},
	SignError: {Kind: KindAnswer, Status: 401,
		Message: both("请求签名校验失败", "the request signature did not verify"),
		Remedy: both("用所登记 serial_no 对应的私钥对 METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n 签名，每次使用新的 nonce，并让时钟与 fenfu 相差不超过 5 分钟；用 fenfu doctor 检查密钥与时钟。",
			"Sign METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n with the private key of the registered serial_no, use a fresh nonce and a clock within 5 minutes of fenfu's; fenfu doctor checks the key and the clock."),
		Pages: map[string]Page{
			"": page(both("签名错误", "Signature not valid"),
				both("请求的签名校验失败。", "The request's signature did not verify."),
				both("请向商户索取新的付款码。", "Ask the merchant for a new code."), "newcode"),
		}},
	MchNotExists: {Kind: KindAnswer, Status: 400, V2: "MCHID_NOT_EXIST",
		Message: both("商户不存在", "no such merchant"),
		Remedy: both("检查 mchid；沙箱商户用 `fenfu sandbox merchant` 开通。",
			"Check the mchid; provision a merchant with `fenfu sandbox merchant`."),
		Pages: map[string]Page{
			"": page(both("商户不存在", "Merchant not found"),
				both("找不到这个商户。", "This merchant could not be found."),
				both("请向商户索取新的付款码。", "Ask the merchant for a new code."), "newcode"),
		}},
	NoAuth: {Kind: KindAnswer, Status: 403, V2: "NOAUTH",
		Message: both("商户没有此权限", "the merchant lacks the permission"),
		Remedy: both("在产品中心申请该权限，或只操作本商户自己的资源。",
			"Apply for the permission in the product center, or use the merchant's own resources."),
		Pages: map[string]Page{
			"": page(both("无权操作", "Not allowed"),
				both("这项操作不被允许。", "This is not allowed."),
				both("请从收银台页面重新操作。", "Start again from the cashier page."), "retry"),
			"site": page(both("请求来自其他网站", "Request from another site"),
				both("为保护你的账户，来自其他网站的付款或登录请求已被拒绝。", "To protect your account, a payment or login sent from another website was refused."),
				both("请直接打开商户给你的付款链接或扫描付款码。", "Open the merchant's payment link or scan its code directly."), "retry"),
		}},
	Forbidden: {Kind: KindAnswer, Status: 403,
		Message: both("员工没有此权限", "the staff member lacks the permission"),
		Remedy: both("请总监在访问策略中授予该权限，或请持有该权限的人来操作。",
			"Ask a director to grant the permission in the access policy, or have someone who holds it do the work."),
		Pages: map[string]Page{
			"": page(both("无权操作", "Not allowed"),
				both("你没有权限进行这项操作。", "You are not allowed to do this."),
				both("如有疑问请联系平台客服。", "Contact the platform's support if you think this is wrong."), ""),
		}},
	OrderNotExist: {Kind: KindAnswer, Status: 404, V2: "ORDERNOTEXIST",
		Message: both("订单不存在", "no such order"),
		Remedy: both("检查 out_trade_no / transaction_id 与 mchid；订单只对创建它的商户可见。",
			"Check out_trade_no / transaction_id and mchid; orders are only visible to the merchant that created them."),
		Pages: map[string]Page{
			"": page(both("订单不存在", "Order not found"),
				both("找不到这笔订单。", "This order could not be found."),
				both("请向商户索取新的付款码。", "Ask the merchant for a new code."), "newcode"),
		}},
	OutTradeNoUsed: {Kind: KindAnswer, Status: 403,
		Message: both("out_trade_no 已用于参数不同的订单", "out_trade_no was used with different parameters"),
		Remedy: both("换一个新的 out_trade_no，或原样重发原来的参数。",
			"Use a new out_trade_no, or resend the original parameters unchanged."),
		Pages: map[string]Page{
			"": page(both("订单号重复", "Duplicate order"),
				both("商户的订单号已被使用。", "The merchant's order number was already used."),
				both("请向商户索取新的付款码。", "Ask the merchant for a new code."), "newcode"),
		}},
	OrderPaid: {Kind: KindAnswer, Status: 400,
		Message: both("订单已支付", "the order has already been paid"),
		Remedy: both("订单已支付；请查询订单，不要再次支付或关闭。",
			"The order is paid; query it instead of paying or closing it again."),
		Pages: map[string]Page{
			"": page(both("订单已支付", "Already paid"),
				both("这笔订单已经付过款了，不会重复扣款。", "This order is already paid. You will not be charged twice."),
				both("查看订单的支付结果。", "See the order's payment."), "view"),
		}},
	OrderClosed: {Kind: KindAnswer, Status: 400, V2: "ORDERCLOSED",
		Message: both("订单已关闭", "the order is closed"),
		Remedy:  both("用新的 out_trade_no 创建新订单。", "Create a new order with a new out_trade_no."),
		Pages: map[string]Page{
			"": page(both("订单已关闭", "Order closed"),
				both("商户已关闭这笔订单，无法再付款。", "The merchant closed this order; it can no longer be paid."),
				both("请向商户索取新的付款码。", "Ask the merchant for a new code."), "newcode"),
			"expired": page(both("付款码已过期", "Code expired"),
				both("这笔订单已于 {time}（北京时间）过期，无法再付款。", "This order expired at {time} China Standard Time (UTC+8); it can no longer be paid."),
				both("请向商户索取新的付款码。", "Ask the merchant for a new code."), "newcode"),
		}},
	UserPaying: {Kind: KindAnswer, Status: 400,
		Message: both("订单正在支付中", "a payment of the order is in progress"),
		Remedy:  both("等几秒后查询订单。", "Wait a few seconds and query the order."),
		Pages: map[string]Page{
			"": page(both("正在付款", "Payment in progress"),
				both("这笔订单正在付款中。", "A payment of this order is in progress."),
				both("请稍候几秒后刷新页面查看结果，不要重复付款。", "Wait a few seconds and reload the page for its result; do not pay again."), "view"),
		}},
	NotEnough: {Kind: KindAnswer, Status: 403, V2: "NOTENOUGH",
		Message: both("分付额度或余额不足", "the credit line or balance is short"),
		Remedy: both("请付款人改用其他付款方式或更小的金额，并检查分付可用额度或余额；请付款人把付款所用的 App 更新到最新版本。",
			"Choose another payment method or a smaller amount; check the available credit line (the payer's credit quota) or balance, and ask the payer to update the app they pay with to the latest version."),
		Pages: map[string]Page{
			"": page(both("分付额度不足", "Not enough credit"),
				both("你的分付可用额度不够支付这笔订单。", "Your available credit does not cover this order."),
				both("可以改用零钱支付，或先还款恢复额度。", "Pay from your balance instead, or repay to free up credit."), "balance"),
			"balance": page(both("零钱余额不足", "Not enough balance"),
				both("你的零钱余额不够支付这笔订单。", "Your balance does not cover this order."),
				both("可以改用分付支付。", "Pay with credit instead."), "retry"),
			"noline": page(both("尚未开通分付", "No credit line"),
				both("你还没有分付额度。", "You have no credit line yet."),
				both("请使用零钱付款码。", "Show a balance payment code instead."), ""),
		}},
	RuleLimit: {Kind: KindAnswer, Status: 403, V2: "RULELIMIT",
		Message: both("平台规则不允许此操作", "a platform rule forbids the operation"),
		Remedy: both("此操作违反了平台规则，消息中写明是哪一条；付款人可改用零钱支付，或还清逾期款项后再用分付。",
			"The operation breaks a platform rule; see the message for which one. The payer can pay from balance, or on credit again once what is overdue is repaid."),
		Pages: map[string]Page{
			"": page(both("暂时无法使用分付", "Credit not available now"),
				both("出于安全考虑，这笔付款暂时不能使用分付。", "For your safety, this payment cannot be made on credit now."),
				both("可以改用零钱支付。", "Pay from your balance instead."), "balance"),
			"paused": page(both("分付已暂停", "Credit paused"),
				both("你的分付额度暂时不能付款（有逾期未还或已冻结）。", "Your credit line takes no payments now (a repayment is overdue, or the line is frozen)."),
				both("还清逾期款项后即可恢复；这笔可以先用零钱支付。", "Repay what is overdue to use it again; pay this one from your balance."), "repay"),
		}},
	TradeError: {Kind: KindAnswer, Status: 403,
		Message: both("交易无法继续", "the trade cannot proceed"),
		Remedy:  both("见消息；交易无法按请求进行。", "See the message; the trade cannot proceed as requested."),
		Pages: map[string]Page{
			"": page(both("交易无法完成", "The payment cannot go through"),
				both("这笔交易暂时无法完成，本次没有付款。", "This payment cannot go through now. Nothing was paid."),
				both("可以换一种付款方式，或联系商户。", "Try another way to pay, or ask the merchant."), "balance"),
		}},
	ResourceNotExists: {Kind: KindAnswer, Status: 404, V2: "REFUNDNOTEXIST",
		Message: both("资源不存在", "no such resource"),
		Remedy: both("检查标识；资源只对创建它的商户可见。",
			"Check the identifier; the resource is only visible to the merchant that created it."),
		Pages: map[string]Page{
			"": page(both("找不到内容", "Not found"),
				both("找不到你要查看的内容。", "What you asked for could not be found."),
				both("请返回上一页重试。", "Go back and try again."), ""),
			"404": page(both("页面不存在", "Page not found"),
				both("这个地址没有对应的页面。", "There is no page at this address."),
				both("请重新扫描商户的付款码，或打开我的分付。", "Scan the merchant's code again, or open My credit."), "newcode"),
		}},
	FrequencyLimited: {Kind: KindAnswer, Status: 429,
		Message: both("请求太频繁", "too many requests"),
		Remedy:  both("放慢速度，稍停后重试。", "Slow down and retry after a short pause."),
		Pages: map[string]Page{
			"": page(both("操作太频繁", "Too many tries"),
				both("短时间内请求太多次。", "There were too many requests in a short time."),
				both("请稍等片刻再试。", "Wait a moment and try again."), "retry"),
			"pin": page(both("支付密码已锁定", "PIN locked"),
				both("支付密码错误次数太多，已暂时锁定，本次没有付款。", "Too many wrong PINs: it is locked for now. Nothing was paid."),
				both("请在 {until}（北京时间）之后再试。", "Try again after {until} China Standard Time (UTC+8)."), ""),
			"network": page(both("此网络登录失败太多", "Too many failed logins on this network"),
				both("从你所在的网络登录失败的次数太多，暂时不能从这里登录，本次没有付款。你的支付密码没有被锁定。",
					"Too many logins from the network you are on failed, so it cannot log in for now. Nothing was paid. Your PIN is not locked."),
				both("请在 {until}（北京时间）之后再试，或换一个网络（例如手机流量）登录。", "Try again after {until} China Standard Time (UTC+8), or log in from another network (mobile data, say)."), ""),
		}},
	Unauthenticated: {Kind: KindAnswer, Status: 401,
		Message: both("请先登录", "log in first"),
		Remedy: both("用消费者的手机号和支付密码登录（员工：用员工账号登录或带上有效的令牌）。",
			"Log in with the consumer's phone number and PIN (staff: log in, or send a valid token)."),
		Pages: map[string]Page{
			"": page(both("请先登录", "Please log in"),
				both("登录已结束或尚未登录。", "You are not logged in, or your login has ended."),
				both("用手机号和支付密码重新登录，再继续。", "Log in again with your phone number and PIN, then carry on."), "login"),
			"pin": page(both("支付密码不正确", "Wrong PIN"),
				both("手机号或支付密码不正确，本次没有付款。", "The phone number or PIN is not right. Nothing was paid."),
				both("请重新输入。还可以再试 {left} 次，之后将锁定 {lockout}。", "Enter it again. {left} more wrong PINs lock it for {lockout}."), "retry"),
		}},
	SystemError: {Kind: KindAnswer, Status: 500, V2: "SYSTEMERROR",
		Message: both("系统错误，请重试", "system error, please retry"),
		Remedy: both("用相同参数重试；操作是幂等的。持续出现请联系客服。",
			"Retry with the same parameters; the operation is idempotent. Contact support if it persists."),
		Pages: map[string]Page{
			"": page(both("系统繁忙", "Something went wrong"),
				both("系统暂时出了问题，本次操作没有完成。", "Something went wrong on our side; this was not completed."),
				both("请稍后重试；不会重复扣款。", "Try again in a moment; you will not be charged twice."), "retry"),
		}},
	NoStatementExist: {Kind: KindAnswer, Status: 400,
		Message: both("账单不存在", "the bill does not exist"),
		Remedy: both("一天的账单在当天（北京时间）结束后才生成；检查 bill_date，最早只能是 3 个月前。",
			"Bills of a day exist once the day has ended (Asia/Shanghai); check bill_date, which may be at most 3 months old."),
		Pages: map[string]Page{
			"": page(both("账单尚未生成", "No statement yet"),
				both("这个月的账单还没有生成。", "This month's statement has not been made yet."),
				both("账单日之后再来查看。", "Come back after the statement date."), ""),
		}},
	AuthCodeError: {Kind: KindAnswer, Status: 400,
		Message: both("auth_code 不是付款码", "auth_code is not a payment code"),
		Remedy: both("原样发送收银机从消费者付款码扫到的 18 位数字（以 10 至 15 开头）。",
			"Send the 18 digits the till scanned from the consumer's payment code, beginning 10 to 15, unchanged."),
		Pages: map[string]Page{
			"": page(both("付款码无效", "Not a payment code"),
				both("收银员扫描的不是付款码。", "What the cashier scanned is not a payment code."),
				both("请刷新付款码后让收银员重新扫描。", "Refresh your payment code and ask the cashier to scan it again."), "newcode"),
		}},
	AuthCodeInvalid: {Kind: KindAnswer, Status: 400,
		Message: both("付款码无效", "the payment code is not valid"),
		Remedy: both("请消费者出示手机上当前的付款码并重新扫描；一个码只能付一次。",
			"Ask the consumer to show the current payment code on their phone and scan it again; a code pays once."),
		Pages: map[string]Page{
			"": page(both("付款码已失效", "Payment code not valid"),
				both("这个付款码已使用或无效。", "This payment code was used or is not valid."),
				both("请刷新付款码后让收银员重新扫描，一个码只能付一次。", "Show a new payment code and ask the cashier to scan it; a code pays once."), "newcode"),
		}},
	AuthCodeExpire: {Kind: KindAnswer, Status: 400,
		Message: both("付款码已过期", "the payment code has expired"),
		Remedy: both("请消费者刷新手机上的付款码，扫描新的码。",
			"Ask the consumer to refresh the payment code on their phone and scan the new one."),
		Pages: map[string]Page{
			"": page(both("付款码已过期", "Payment code expired"),
				both("付款码每分钟更新，这个码已过期。", "Payment codes change every minute; this one has expired."),
				both("请刷新付款码后让收银员重新扫描。", "Refresh your payment code and ask the cashier to scan the new one."), "newcode"),
		}},
	InvalidOrderState: {Kind: KindAnswer, Status: 400,
		Message: both("服务订单的状态不允许此操作", "the service order's state does not allow the operation"),
		Remedy: both("查询服务订单并按其状态操作：CREATED 的订单由消费者确认，DOING 的订单由商户完结或取消。",
			"Query the service order and follow its state: the consumer confirms a CREATED order, the merchant completes or cancels a DOING one."),
		Pages: map[string]Page{
			"": page(both("订单状态已变化", "The order has changed"),
				both("这笔服务订单当前的状态不能进行此操作。", "This service order's state does not allow this now."),
				both("刷新页面查看最新状态。", "Reload the page to see where it stands."), "view"),
		}},
	ReverseExpire: {Kind: KindAnswer, Status: 400,
		Message: both("订单已不能撤销", "the order can no longer be reversed"),
		Remedy: both("付款码支付只能在创建后的撤销期限内撤销；请改为退款。",
			"A code payment can be reversed within its reverse window after it was created; refund it instead."),
		Pages: map[string]Page{
			"": page(both("无法撤销", "Cannot be reversed"),
				both("这笔付款已过撤销期限。", "This payment can no longer be reversed."),
				both("如需退款请联系商户。", "Ask the merchant for a refund."), ""),
		}},
	BatchRunning: {Kind: KindAnswer, Status: 409,
		Message: both("结算批次正在运行", "a settlement batch is running"),
		Remedy: both("等待运行中的批次结束；其节点停止时它会自行续跑。查询批次状态跟进；结算延迟超过一天，请提交结算异常申请并附交易流水。",
			"Wait for the running batch to finish; it resumes by itself if its node stops. Query the batch's status to follow it; a settlement late by more than a day, file a settlement exception request with the transaction record."),
		Pages: map[string]Page{
			"": page(both("正在处理", "Being processed"),
				both("系统正在处理，请稍候。", "This is being processed."), both("请稍后再试。", "Try again in a moment."), "retry"),
		}},

	V2AppIDMismatch: {Kind: KindV2,
		Message: both("appid 与 mch_id 不匹配", "appid and mch_id do not match"),
		Remedy: both("发送商户开通时登记的 appid；它和 mch_id 一起确定商户。",
			"Send the appid the merchant was provisioned with; together with mch_id it names the merchant.")},
	V2OrderReversed: {Kind: KindV2,
		Message: both("订单已撤销", "the order was reversed"),
		Remedy: both("这笔付款码支付已撤销，不会再扣款；用新的 out_trade_no 重新下单并重新扫码。",
			"The code payment was reversed and will not be charged; make a new order with a new out_trade_no and scan the code again.")},
	V2SignError: {Kind: KindV2,
		Message: both("签名错误", "the sign does not verify"),
		Remedy: both("对非空参数按参数名排序，拼接 &key=API v2 密钥后做 MD5 或 HMAC-SHA256（与 sign_type 一致），结果转大写；确认商户已设置 API v2 密钥（fenfu merchant set-v2-key）。",
			"Sign the sorted non-empty parameters with &key=API v2 key, by MD5 or HMAC-SHA256 as sign_type says, upper-case; check the merchant has an API v2 key (fenfu merchant set-v2-key).")},
	V2XMLFormatError: {Kind: KindV2,
		Message: both("请求不是 API v2 的 XML", "the body is not the XML of an API v2 request"),
		Remedy: both("以 POST 发送 UTF-8 编码的 <xml> 文档，每个参数一个元素，正文不超过 64 KiB。",
			"POST one UTF-8 <xml> document with an element per parameter, at most 64 KiB.")},
	V2LackParams: {Kind: KindV2,
		Message: both("缺少必填参数", "a required parameter is missing"),
		Remedy: both("每个请求都要带 appid、mch_id、nonce_str 和 sign。",
			"Send appid, mch_id, nonce_str and sign with every request.")},
	V2BillFailed: {Kind: KindV2,
		Message: both("账单下载请求被拒绝", "the bill download request was refused"),
		Remedy: both("按 return_msg 修正请求：bill_date 为 yyyyMMdd，bill_type 为 ALL、SUCCESS 或 REFUND，tar_type 为 GZIP 或不传。",
			"Correct the request by its return_msg: bill_date is yyyyMMdd, bill_type ALL, SUCCESS or REFUND, tar_type GZIP or absent.")},
	V2NoBill: {Kind: KindV2,
		Message: both("账单不存在", "the bill does not exist"),
		Remedy: both("一天的账单在当天（北京时间）结束后才生成，没有交易的日子没有账单；bill_date 最早只能是 3 个月前。",
			"A day's bill exists once the day has ended (Asia/Shanghai) and only for a day with trades; bill_date may be at most 3 months old.")},

	NotifyURLMissing: {Kind: KindFinding,
		Message: both("没有可检查的回调地址", "there is no notify URL to check"),
		Remedy: both("在 notify_url 参数中给出要检查的回调地址，或先下一笔带 notify_url 的订单。",
			"Name the URL to check in the notify_url parameter, or make an order with a notify_url first.")},
	NotifyNotHTTPS: {Kind: KindFinding,
		Message: both("回调地址不是 HTTPS", "the notify URL is not HTTPS"),
		Remedy: both("生产环境的回调地址必须是 https://；在回调服务器上配置有效证书后改用 https:// 地址。",
			"Production notify URLs must be https://: put a valid certificate on the notify server and use its https:// URL.")},
	NotifyDNSFailed: {Kind: KindFinding,
		Message: both("回调地址的主机名无法解析", "the notify URL's host does not resolve"),
		Remedy: both("检查主机名拼写，并在公共 DNS 中为它配置 A 或 AAAA 记录。",
			"Check the host name's spelling and give it an A or AAAA record in public DNS.")},
	NotifyPrivateAddress: {Kind: KindFinding,
		Message: both("回调地址解析到内网地址", "the notify URL resolves to a private address"),
		Remedy: both("fenfu 只向公网地址发送通知：把回调服务放在公网地址上（或由平台为内部部署开启 --notify-private）。",
			"fenfu delivers only to public addresses: serve the notify URL on a public address (or have the platform run serve with --notify-private for on-premise merchants).")},
	NotifyUnreachable: {Kind: KindFinding,
		Message: both("回调地址连不上或超时（接口超时）", "the notify URL does not connect or answer in time (interface timeout)"),
		Remedy: both("检查 HTTPS 证书是否有效，并调整网络防火墙规则放行 fenfu 的访问；确认回调服务在该端口监听，且 5 秒内应答。",
			"Check the HTTPS certificate is valid and change the firewall rules to let fenfu in; make sure the notify server listens on the port and answers within 5 seconds.")},
	NotifyHeaderTooLarge: {Kind: KindFinding,
		Message: both("回调地址应答的头部过大", "the notify URL's answer has too large a header"),
		Remedy: both("回调服务的应答头（状态行和全部头部）须小于 64 KiB：超过时 fenfu 不再读取，按未应答处理，通知会失败重试。",
			"Keep the notify server's answer header (the status line and every header) under 64 KiB: fenfu reads no further, counts it as no answer, and the notification fails and is retried.")},
	NotifyTLSUntrusted: {Kind: KindFinding,
		Message: both("回调地址的证书链校验失败", "the notify URL's certificate chain does not verify"),
		Remedy: both("使用公认 CA 签发、包含该主机名的证书，并在服务器上配置完整的中间证书链。",
			"Use a certificate from a public CA that names the host, and serve the full chain with its intermediate certificates.")},
	NotifyTLSExpired: {Kind: KindFinding,
		Message: both("回调地址的证书已过期", "the notify URL's certificate has expired"),
		Remedy: both("立即续期证书并在回调服务器上部署；证书过期期间通知无法送达。",
			"Renew the certificate and install it on the notify server now; no notification is delivered while it is expired.")},
	NotifyTLSExpiring: {Kind: KindFinding,
		Message: both("回调地址的证书即将过期", "the notify URL's certificate expires soon"),
		Remedy: both("在到期前续期证书并部署，最好设置自动续期。",
			"Renew and install the certificate before it expires; renew it automatically if you can.")},
	NotifyFailing: {Kind: KindFinding,
		Message: both("最近的通知投递失败", "recent notification deliveries failed"),
		Remedy: both("按最后的错误修复回调服务：应在 5 秒内以 HTTP 2xx 应答；修复后可用 POST /v3/fenfu/notifications/{event_id}/resend 重发。",
			"Fix the notify server by the last error: it must answer HTTP 2xx within 5 seconds; then resend with POST /v3/fenfu/notifications/{event_id}/resend.")},
	ClockSkew: {Kind: KindFinding,
		Message: both("商户时钟与 fenfu 的时钟相差过大", "the merchant's clock is off fenfu's"),
		Remedy: both("用 NTP 同步服务器时钟；请求的时间戳必须在 fenfu 时钟前后 5 分钟内，否则签名被拒（SIGN_ERROR）。",
			"Synchronise the server's clock with NTP; a request's timestamp must be within 5 minutes of fenfu's clock, or it is refused as SIGN_ERROR.")},
	PlatformKeyUnstated: {Kind: KindFinding,
		Message: both("没有说明持有哪把平台密钥", "the merchant did not say which platform key it holds"),
		Remedy: both("在 Wechatpay-Serial 请求头（SDK 会自动带上）或 platform_serial 参数中给出所持平台公钥 ID 或证书序列号。",
			"Send the ID of the platform public key or the serial of the certificate you hold in the Wechatpay-Serial header (the SDKs do) or the platform_serial parameter.")},
	PlatformKeyRetiring: {Kind: KindFinding,
		Message: both("持有的平台密钥即将停用", "the platform key held is being retired"),
		Remedy: both("下载当前平台证书（GET /v3/certificates）或公钥并替换；旧密钥停用后，应答与通知将无法验签。",
			"Download the current platform certificate (GET /v3/certificates) or public key and use it; once the old key is retired, answers and notifications no longer verify with it.")},
	PlatformKeyUnknown: {Kind: KindFinding,
		Message: both("持有的不是 fenfu 的平台密钥", "the platform key held is not one of fenfu's"),
		Remedy: both("下载当前平台证书（GET /v3/certificates）或平台公钥，用它验证应答和通知的签名。",
			"Download the current platform certificate (GET /v3/certificates) or public key, and verify answers and notifications with it.")},
	PlatformCertExpiring: {Kind: KindFinding,
		Message: both("持有的平台证书将在 30 天内过期", "the platform certificate held expires within 30 days"),
		Remedy: both("在过期前重新下载平台证书（GET /v3/certificates），或改用平台公钥验签；过期后，校验证书有效期的 SDK 将拒绝应答与通知。",
			"Download the platform certificate again before it expires (GET /v3/certificates), or verify with the platform public key; once it expires, SDKs that check the certificate's validity refuse answers and notifications.")},
	PlatformCertExpired: {Kind: KindFinding,
		Message: both("持有的平台证书已过期", "the platform certificate held has expired"),
		Remedy: both("重新下载平台证书（GET /v3/certificates），或改用平台公钥验签。",
			"Download the platform certificate again (GET /v3/certificates), or verify with the platform public key.")},
}

// Codes returns every error code fenfu answers requests with, the codes
// of KindAnswer.
func Codes() []Code {
	out := make([]Code, 0, len(codes))
	for c, e := range codes {
		if e.Kind == KindAnswer {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// Catalogue returns every code of the catalogue, of every kind, sorted.
func Catalogue() []Code {
	out := make([]Code, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Lookup is the catalogue's entry of a code, found by the code or by its
// API v2 spelling.
func Lookup(c Code) (Entry, bool) {
	if e, ok := codes[c]; ok {
		return e, true
	}
	for _, e := range codes {
		if e.V2 != "" && e.V2 == string(c) {
			return e, true
		}
	}
	return Entry{}, false
}

// HTTPStatus is the HTTP status every surface answers the code with; an
// unknown code is an internal error, 500.
func (c Code) HTTPStatus() int {
	if i, ok := codes[c]; ok && i.Status != 0 {
		return i.Status
	}
	return 500
}

// V2 is the err_code API v2 answers the code with: its v2 spelling, else
// the code itself; SYSTEMERROR for a code the catalogue does not have.
func (c Code) V2() string {
	switch e, ok := codes[c]; {
	case !ok:
		return codes[SystemError].V2
	case e.V2 != "":
		return e.V2
	}
	return string(c)
}

// Message is the code's default message, safe to show to the caller.
func (c Code) Message() string { return codes[c].Message.EN }

// Remedy is the code's default advice to the caller.
func (c Code) Remedy() string { return codes[c].Remedy.EN }

// Problem is one of the common problems of SPEC §8 (seed §8): what a
// merchant calls it, the remedy, how soon the platform answers a request
// for help with it, and the codes it shows as.
type Problem struct {
	ID            string // its anchor, "interface-timeout"
	Title, Remedy Phrase
	Response      Phrase
	Codes         []Code
}

// problems are the common problems, in the seed's order.
var problems = []Problem{
	{ID: "interface-timeout", Title: both("接口超时错误", "Interface timeout"),
		Remedy: both("检查 HTTPS 证书有效性，调整网络防火墙规则，放行 fenfu 对回调地址的访问；用 fenfu doctor 检查回调地址、证书和时钟。",
			"Check that the HTTPS certificate is valid and change the firewall rules to let fenfu reach the notify URL; fenfu doctor checks the notify URL, its certificate and the clock."),
		Response: both("30 分钟内", "within 30 minutes"),
		Codes:    []Code{NotifyUnreachable, NotifyTLSUntrusted, NotifyTLSExpired, NotifyFailing}},
	{ID: "payment-failed", Title: both("用户支付失败", "Payment failed"),
		Remedy: both("引导用户把付款所用的 App 更新到最新版本，检查分付额度；额度不足时可改用零钱支付或先还款。",
			"Ask the payer to update the app they pay with to the latest version, and check their credit quota (分付额度); short of credit, they can pay from balance or repay first."),
		Response: both("实时响应", "in real time"),
		Codes:    []Code{NotEnough, RuleLimit, TradeError, AuthCodeError, AuthCodeInvalid, AuthCodeExpire}},
	{ID: "settlement-delayed", Title: both("资金结算延迟", "Settlement delayed"),
		Remedy: both("提交分付结算异常申请（POST /v3/fenfu/settlement-exceptions），附交易流水：填写 settle_date 或 out_trade_no，并把交易流水（账单摘录或截图）作为附件。",
			"File a settlement exception request (POST /v3/fenfu/settlement-exceptions) with the transaction record: its settle_date or out_trade_no, and the transaction flow (a bill extract or a screenshot) as the attachment."),
		Response: both("24 小时内反馈", "an answer within 24 hours"),
		Codes:    []Code{BatchRunning}},
}

// Problems returns the common problems.
func Problems() []Problem {
	out := slices.Clone(problems)
	for i := range out {
		out[i].Codes = slices.Clone(out[i].Codes)
	}
	return out
}
