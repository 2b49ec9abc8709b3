package portal

import (
	"fmt"
	"html/template"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
	"github.com/fenfu/fenfu/web"
)

// funcs are the template functions of language l.
func funcs(l catalog.Lang, css template.CSS) template.FuncMap {
	fm := template.FuncMap{
		"t":     func(key string) string { return word(l, key) },
		"lang":  func() string { return l.Tag() },
		"in":    func() string { return string(l) },
		"other": func() catalog.Lang { return web.OtherLang(l) },
		"css":   func() template.CSS { return css },
		"yuan":  web.Money,
		"plain": fenfu.Yuan,
		"stamp": stamp,
		"pct":   func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
		"zone":  func() string { return zoneName.In(l) },
		// say is a value's name in the page's language (catalog.Named):
		// a ticket's SLA, type, status or event, an order's trade state.
		"say": func(v catalog.Named) string { return v.Text().In(l) },
		// who names the actor of a ticket's event to the merchant.
		"who": func(actor string) string { return ticket.Who(actor, ticket.Merchant("")).In(l) },
		// maxText is the most a ticket's text field takes.
		"maxText": func() int { return ticket.MaxText },
		"zh":      func() bool { return l == catalog.ZH },
		// settlementStates are the states a settlement is listed by.
		"settlementStates": func() []string { return []string{settle.Pending, settle.Settled} },
	}
	for k, f := range stateFuncs {
		fm[k] = f
	}
	return fm
}

// stamp is a time as a page shows it, to the second, Asia/Shanghai; the
// zero time is a dash.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(fenfu.Shanghai).Format(time.DateTime)
}

// zoneName names Shanghai time in each language, as pages print it after
// a time.
var zoneName = catalog.Text{ZH: "北京时间", EN: "China Standard Time (UTC+8)"}

// word is a page's word in l; a key with none is shown as itself, which
// TestWords keeps from happening.
func word(l catalog.Lang, key string) string {
	if w, ok := words[key]; ok {
		return w.In(l)
	}
	return key
}

// words are the pages' own words, by key, in each language; errors'
// titles are the catalogue's.
var words = map[string]catalog.Text{
	"portal":                 {ZH: "商户平台", EN: "Merchant portal"},
	"login":                  {ZH: "登录", EN: "Log in"},
	"logout":                 {ZH: "退出", EN: "Log out"},
	"mchid":                  {ZH: "商户号", EN: "Merchant number"},
	"name":                   {ZH: "用户名", EN: "User name"},
	"password":               {ZH: "密码", EN: "Password"},
	"totp":                   {ZH: "动态验证码", EN: "Authenticator code"},
	"totp-hint":              {ZH: "6 位数字；未开启二次验证可不填", EN: "6 digits; leave empty if you have no second factor"},
	"orders":                 {ZH: "订单", EN: "Orders"},
	"order":                  {ZH: "订单详情", EN: "Order"},
	"bills":                  {ZH: "账单下载", EN: "Bills"},
	"notifications":          {ZH: "通知记录", EN: "Notifications"},
	"settlements":            {ZH: "结算记录", EN: "Settlements"},
	"fees":                   {ZH: "手续费账单", EN: "Fee statements"},
	"keys":                   {ZH: "密钥与回调", EN: "Keys and notify URL"},
	"doctor":                 {ZH: "接入检查", EN: "Integration check"},
	"doctor-intro":           {ZH: "检查回调地址能否解析、以 HTTPS 应答、证书链与有效期，持有的平台密钥，以及最近一天的通知失败；每项给出处理建议。签名与时钟请在商户服务器上运行 fenfu doctor 检查。", EN: "Checks that the notify URL resolves and answers over HTTPS, its certificate chain and expiry, the platform key your code holds, and the last day's failed notifications, each with what to do. Your signing key and clock are checked by running fenfu doctor on your server."},
	"doctor-url-hint":        {ZH: "不填则检查已登记的地址", EN: "empty: the one registered"},
	"doctor-platform-serial": {ZH: "代码持有的平台公钥 ID 或证书序列号（可不填）", EN: "Platform public key ID or certificate serial your code holds (optional)"},
	"doctor-run":             {ZH: "开始检查", EN: "Run the checks"},
	"doctor-report":          {ZH: "检查结果", EN: "Result"},
	"doctor-check":           {ZH: "检查项", EN: "Check"},
	"doctor-verdict":         {ZH: "结论", EN: "Verdict"},
	"doctor-detail":          {ZH: "详情", EN: "Detail"},
	"verdict-pass":           {ZH: "通过", EN: "Pass"},
	"verdict-warn":           {ZH: "警告", EN: "Warning"},
	"verdict-fail":           {ZH: "失败", EN: "Fail"},
	"verdict-skip":           {ZH: "未检查", EN: "Not checked"},
	"check-notify_url":       {ZH: "回调地址", EN: "Notify URL"},
	"check-dns":              {ZH: "域名解析", EN: "DNS"},
	"check-https":            {ZH: "HTTPS 应答", EN: "HTTPS answer"},
	"check-tls_chain":        {ZH: "证书链", EN: "Certificate chain"},
	"check-tls_expiry":       {ZH: "证书有效期", EN: "Certificate expiry"},
	"check-clock":            {ZH: "时钟", EN: "Clock"},
	"check-merchant_key":     {ZH: "商户密钥", EN: "Merchant key"},
	"check-platform_key":     {ZH: "平台密钥", EN: "Platform key"},
	"check-notifications":    {ZH: "通知记录", EN: "Notifications"},
	"sandbox":                {ZH: "沙箱测试报告", EN: "Sandbox test report"},
	"rollout":                {ZH: "灰度发布", EN: "Gray release"},
	"complaints":             {ZH: "消费者投诉", EN: "Complaints"},
	"complaint":              {ZH: "投诉详情", EN: "Complaint"},
	"users":                  {ZH: "用户管理", EN: "Users"},
	"error":                  {ZH: "出错了", EN: "Something went wrong"},
	"back":                   {ZH: "返回", EN: "Back"},
	"search":                 {ZH: "查询", EN: "Search"},
	"export-csv":             {ZH: "导出 CSV", EN: "Export CSV"},
	"next-page":              {ZH: "下一页", EN: "Next page"},
	"first-page":             {ZH: "第一页", EN: "First page"},
	"none":                   {ZH: "没有记录", EN: "Nothing to show"},
	"all":                    {ZH: "全部", EN: "All"},
	"from":                   {ZH: "起始日期", EN: "From"},
	"to":                     {ZH: "结束日期", EN: "To"},
	"state":                  {ZH: "状态", EN: "State"},
	"channel":                {ZH: "支付方式", EN: "Channel"},
	"credit":                 {ZH: "分付", EN: "Credit"},
	"ordinary":               {ZH: "普通支付", EN: "Ordinary"},
	"out_trade_no":           {ZH: "商户订单号", EN: "out_trade_no"},
	"transaction_id":         {ZH: "微信支付订单号", EN: "transaction_id"},
	"created":                {ZH: "创建时间", EN: "Created"},
	"paid-at":                {ZH: "支付时间", EN: "Paid at"},
	"total":                  {ZH: "订单金额", EN: "Total"},
	"refunded":               {ZH: "已退款", EN: "Refunded"},
	"fee":                    {ZH: "手续费", EN: "Fee"},
	"description":            {ZH: "商品描述", EN: "Description"},
	"refunds":                {ZH: "退款记录", EN: "Refunds"},
	"out_refund_no":          {ZH: "商户退款单号", EN: "out_refund_no"},
	"refund_id":              {ZH: "退款单号", EN: "refund_id"},
	"amount":                 {ZH: "金额", EN: "Amount"},
	"amount-yuan":            {ZH: "退款金额（元）", EN: "Amount to refund (¥)"},
	"reason":                 {ZH: "退款原因", EN: "Reason"},
	"issue-refund":           {ZH: "发起退款", EN: "Issue refund"},
	"refund-issued":          {ZH: "退款已受理：", EN: "Refund accepted: "},
	"refundable":             {ZH: "可退金额", EN: "Refundable"},
	"refund-same-no":         {ZH: "同一商户退款单号重复提交只退款一次。", EN: "The same out_refund_no submitted again refunds once."},
	"bill-date":              {ZH: "账单日期", EN: "Bill date"},
	"bill-kind":              {ZH: "账单类型", EN: "Bill"},
	"tradebill":              {ZH: "交易账单", EN: "Trade bill"},
	"fundflowbill":           {ZH: "资金账单", EN: "Fund-flow bill"},
	"bill-type":              {ZH: "交易类型 / 资金账户", EN: "Trade type / account"},
	"gzip":                   {ZH: "GZIP 压缩", EN: "GZIP"},
	"download":               {ZH: "下载", EN: "Download"},
	"bills-note":             {ZH: "与 API 下载的账单逐字节相同；当日账单于次日生成。", EN: "The same bytes the API's bill download serves; a day's bill exists once the day has ended."},
	"event":                  {ZH: "通知 ID", EN: "Event"},
	"event-type":             {ZH: "通知类型", EN: "Type"},
	"attempt":                {ZH: "第几次", EN: "Attempt"},
	"at":                     {ZH: "时间", EN: "Time"},
	"http-status":            {ZH: "HTTP 状态", EN: "HTTP status"},
	"latency":                {ZH: "耗时", EN: "Latency"},
	"error-text":             {ZH: "错误", EN: "Error"},
	"failed-only":            {ZH: "只看失败", EN: "Failed only"},
	"resend":                 {ZH: "重新发送", EN: "Resend"},
	"resent":                 {ZH: "已安排重新发送：", EN: "Resend scheduled: "},
	"notify-url":             {ZH: "回调地址", EN: "Notify URL"},
	"settle_date":            {ZH: "结算日", EN: "Business day"},
	"payments":               {ZH: "支付笔数", EN: "Payments"},
	"payment-amount":         {ZH: "支付金额", EN: "Paid"},
	"payment-fees":           {ZH: "支付手续费", EN: "Fees"},
	"inst-fees":              {ZH: "分期手续费", EN: "Installment fees"},
	"refund-count":           {ZH: "退款笔数", EN: "Refunds"},
	"refund-amount":          {ZH: "退款金额", EN: "Refunded"},
	"refund-fees":            {ZH: "退还手续费", EN: "Fees returned"},
	"net":                    {ZH: "结算金额", EN: "Net"},
	"net-fees":               {ZH: "净手续费", EN: "Net fees"},
	"settled-at":             {ZH: "结算时间", EN: "Settled at"},
	"month":                  {ZH: "月份", EN: "Month"},
	"month-total":            {ZH: "本月合计", EN: "Month total"},
	"fees-note":              {ZH: "按已结算的营业日统计；未结算的日期不在其中。", EN: "From the business days already settled; a day not yet settled is not in it."},
	"serial":                 {ZH: "证书序列号", EN: "Serial"},
	"algorithm":              {ZH: "算法", EN: "Algorithm"},
	"retire":                 {ZH: "停用", EN: "Retire"},
	"public-keys":            {ZH: "商户公钥", EN: "Public keys"},
	"add-key":                {ZH: "上传公钥", EN: "Register a public key"},
	"key-pem":                {ZH: "RSA-2048 或 SM2 公钥（PEM）", EN: "RSA-2048 or SM2 public key (PEM)"},
	"key-added":              {ZH: "公钥已登记，序列号：", EN: "Key registered, serial: "},
	"key-retired":            {ZH: "公钥已停用：", EN: "Key retired: "},
	"apiv3-key":              {ZH: "APIv3 密钥", EN: "API v3 key"},
	"rotate-apiv3":           {ZH: "更换 APIv3 密钥", EN: "Rotate the API v3 key"},
	"apiv3-warn":             {ZH: "新密钥立即生效，旧密钥立即失效，请先准备好更新服务器配置。", EN: "The new key works at once and the old one stops at once: be ready to update your servers."},
	"apiv3-new":              {ZH: "新的 APIv3 密钥（只显示这一次）", EN: "The new API v3 key (shown this once)"},
	"notify-url-set":         {ZH: "回调地址已保存。", EN: "Notify URL saved."},
	"notify-url-hint":        {ZH: "生产环境必须为 https://；沙箱可用 http://", EN: "https:// in production; http:// only in the sandbox"},
	"save":                   {ZH: "保存", EN: "Save"},
	"scenario":               {ZH: "测试场景", EN: "Scenario"},
	"passed":                 {ZH: "通过", EN: "Passed"},
	"not-passed":             {ZH: "未通过", EN: "Not yet"},
	"hint":                   {ZH: "如何通过", EN: "How to pass"},
	"calls":                  {ZH: "已记录调用", EN: "Calls recorded"},
	"rollout-percent":        {ZH: "分付灰度比例（%）", EN: "Consumers offered credit (%)"},
	"rollout-set":            {ZH: "灰度比例已更新。", EN: "Rollout updated."},
	"ab-report":              {ZH: "A/B 对比", EN: "A/B report"},
	"cohort":                 {ZH: "分组", EN: "Cohort"},
	"views":                  {ZH: "浏览", EN: "Views"},
	"paid":                   {ZH: "支付", EN: "Paid"},
	"conversion":             {ZH: "转化率", EN: "Conversion"},
	"avg-ticket":             {ZH: "客单价", EN: "Average ticket"},
	"refund-rate":            {ZH: "退款率", EN: "Refund rate"},
	"credit-share":           {ZH: "分付占比", EN: "Credit share"},
	"problem-type":           {ZH: "问题类型", EN: "Problem"},
	"detail":                 {ZH: "投诉内容", EN: "Detail"},
	"respond-by":             {ZH: "需在此前回复", EN: "Answer by"},
	"history":                {ZH: "协商记录", EN: "History"},
	"respond":                {ZH: "回复用户", EN: "Answer the consumer"},
	"response":               {ZH: "回复内容", EN: "Answer"},
	"send":                   {ZH: "提交", EN: "Send"},
	"complete":               {ZH: "处理完成", EN: "Mark handled"},
	"responded":              {ZH: "回复已提交。", EN: "Answer sent."},
	"completed":              {ZH: "投诉已标记为处理完成。", EN: "Complaint marked handled."},
	"role":                   {ZH: "角色", EN: "Role"},
	"add-user":               {ZH: "添加用户", EN: "Add a user"},
	"with-totp":              {ZH: "开启二次验证（管理员和开发者必须开启）", EN: "Second factor (always for owners and developers)"},
	"disable":                {ZH: "停用", EN: "Disable"},
	"disabled":               {ZH: "已停用", EN: "disabled"},
	"user-added":             {ZH: "用户已添加。请把以下信息交给对方，只显示这一次：", EN: "User added. Give them this, shown this once:"},
	"user-disabled":          {ZH: "用户已停用：", EN: "User disabled: "},
	"totp-secret":            {ZH: "二次验证密钥", EN: "TOTP secret"},
	"totp-url":               {ZH: "验证器链接", EN: "Authenticator link"},
	"yes":                    {ZH: "是", EN: "yes"},
	"no":                     {ZH: "否", EN: "no"},
	"code":                   {ZH: "错误码", EN: "Code"},
	"remedy":                 {ZH: "处理建议", EN: "What to do"},
	"tickets":                {ZH: "工单", EN: "Tickets"},
	"ticket":                 {ZH: "工单详情", EN: "Ticket"},
	"open-ticket":            {ZH: "提交工单", EN: "Open a ticket"},
	"ticket-type":            {ZH: "问题类型", EN: "Type"},
	"subject":                {ZH: "标题", EN: "Subject"},
	"description-t":          {ZH: "问题描述", EN: "What happened"},
	"order-no":               {ZH: "相关订单（商户订单号或微信支付订单号，可不填）", EN: "The order (out_trade_no or transaction_id; optional)"},
	"contact-name":           {ZH: "联系人（可不填）", EN: "Contact (optional)"},
	"contact-phone":          {ZH: "联系电话（可不填）", EN: "Contact phone (optional)"},
	"attachment":             {ZH: "附件（最多 3 个：图片、PDF、文本，每个 40 KB 以内，可不填）", EN: "Files (up to 3: pictures, PDFs or text, 40 KB each; optional)"},
	"sla":                    {ZH: "响应时限", EN: "SLA"},
	"due":                    {ZH: "应答截止", EN: "Due"},
	"overdue":                {ZH: "已超时", EN: "overdue"},
	"ticket-opened":          {ZH: "工单已提交：", EN: "Ticket opened: "},
	"ticket-replied":         {ZH: "回复已提交。", EN: "Reply sent."},
	"history-omitted":        {ZH: "更早的记录未列出，条数：", EN: "Earlier events not listed:"},
	"reply":                  {ZH: "回复", EN: "Reply"},
	"lanes":                  {ZH: "各类问题的响应时限", EN: "How soon each type is answered"},
	"advice":                 {ZH: "您可以先", EN: "Meanwhile"},
	"resolution":             {ZH: "处理结果", EN: "Resolution"},
	"files":                  {ZH: "附件", EN: "Files"},
	"account":                {ZH: "我的账户", EN: "My account"},
	"set-role":               {ZH: "修改角色", EN: "Change role"},
	"reset-password":         {ZH: "重置密码", EN: "Reset password"},
	"reset-totp":             {ZH: "重新绑定验证器", EN: "Re-enrol authenticator"},
	"users-note":             {ZH: "修改角色、重置密码或验证器后，该用户已登录的会话全部失效。至少保留一名可登录的管理员。", EN: "Changing a role, or resetting a password or authenticator, ends the user's sessions. The merchant always keeps one owner who can log in."},
	"user-role-set":          {ZH: "角色已修改：", EN: "Role changed: "},
	"user-totp-reset":        {ZH: "验证器已重置，下次登录时重新绑定：", EN: "Authenticator reset; enrolled anew at the next login: "},
	"password-reset":         {ZH: "密码已重置。请把临时密码交给对方，只显示这一次；对方登录后须立即修改：", EN: "Password reset. Give them the temporary password, shown this once; they must change it when they log in:"},
	"temporary-password":     {ZH: "临时密码", EN: "Temporary password"},
	"must-change-password":   {ZH: "须修改密码", EN: "must change password"},
	"must-change-note":       {ZH: "您使用的是管理员设置的临时密码，请先设置自己的密码。", EN: "You logged in with a temporary password an owner set: choose your own before anything else."},
	"totp-enrolling":         {ZH: "待绑定", EN: "to enrol"},
	"change-password":        {ZH: "修改密码", EN: "Change password"},
	"current-password":       {ZH: "当前密码", EN: "Current password"},
	"new-password":           {ZH: "新密码（至少 12 位）", EN: "New password (12 characters or more)"},
	"new-password-again":     {ZH: "再次输入新密码", EN: "New password again"},
	"password-changed":       {ZH: "密码已修改。", EN: "Password changed."},
	"totp-enrol":             {ZH: "绑定验证器", EN: "Set up your authenticator"},
	"totp-enrol-note":        {ZH: "管理员已重置您的二次验证，请绑定新的验证器后继续使用。", EN: "An owner reset your second factor: set up an authenticator app to go on."},
	"totp-start":             {ZH: "生成新的验证密钥", EN: "Make a new secret"},
	"totp-enrol-scan":        {ZH: "把以下密钥或链接添加到验证器应用，然后输入它显示的 6 位验证码。", EN: "Add this secret or link to your authenticator app, then type the 6-digit code it shows."},
	"totp-confirm":           {ZH: "确认绑定", EN: "Confirm"},
	"totp-enrolled":          {ZH: "验证器已绑定，今后登录需输入验证码。", EN: "Authenticator set up: your logins now need its code."},
	"role-owner":             {ZH: "管理员", EN: "owner"},
	"role-finance":           {ZH: "财务", EN: "finance"},
	"role-developer":         {ZH: "开发者", EN: "developer"},
	"role-support":           {ZH: "客服", EN: "support"},
}
