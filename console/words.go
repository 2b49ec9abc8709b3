package console

import "github.com/fenfu/fenfu/catalog"

// word is a page's word in l; a key with none is shown as itself, which
// TestWords keeps from happening.
func word(l catalog.Lang, key string) string {
	if w, ok := words[key]; ok {
		return w.In(l)
	}
	return key
}

// noticeOf is the word key of what ?done= says was done, "" for none.
func noticeOf(done string) string {
	if done == "" {
		return ""
	}
	if _, ok := words["done-"+done]; ok {
		return "done-" + done
	}
	return ""
}

type text = catalog.Text

// words are the console's own words, by key, in each language; errors
// are said through the catalogue and the staff API's messages.
var words = map[string]text{
	"console":          {ZH: "分付运营后台", EN: "fenfu ops console"},
	"navigation":       {ZH: "导航", EN: "Navigation"},
	"menu":             {ZH: "菜单", EN: "Menu"},
	"home":             {ZH: "首页", EN: "Home"},
	"back":             {ZH: "返回", EN: "Back"},
	"problem":          {ZH: "无法完成", EN: "Could not be done"},
	"login":            {ZH: "登录", EN: "Log in"},
	"logout":           {ZH: "退出", EN: "Log out"},
	"staff-name":       {ZH: "员工账号", EN: "Staff name"},
	"password":         {ZH: "密码", EN: "Password"},
	"totp":             {ZH: "动态验证码（6 位）", EN: "Authenticator code (6 digits)"},
	"login-help":       {ZH: "首次登录：用账号创建时给出的 TOTP 密钥在验证器应用中添加账户，输入其当前验证码。", EN: "First login: add the TOTP secret you were given when your account was made to an authenticator app, and enter its current code."},
	"done-logout":      {ZH: "已退出登录。", EN: "You are logged out."},
	"home-hello":       {ZH: "您好，", EN: "Hello,"},
	"sees-clear":       {ZH: "您的权限可查看明文个人信息", EN: "Your policy shows you personal data in the clear"},
	"sees-masked":      {ZH: "个人信息按权限脱敏显示", EN: "Personal data is masked for you by policy"},
	"your-permissions": {ZH: "您的权限", EN: "Your permissions"},
	"first-page":       {ZH: "第一页", EN: "First page"},
	"next-page":        {ZH: "下一页", EN: "Next page"},
	"csv":              {ZH: "导出 CSV", EN: "Download CSV"},
	"csv-truncated":    {ZH: "已达导出上限，请缩小筛选范围", EN: "the download's limit was reached; narrow the filters"},
	"filter":           {ZH: "筛选", EN: "Filter"},
	"all":              {ZH: "全部", EN: "All"},
	"none-found":       {ZH: "没有符合条件的记录", EN: "Nothing matches"},
	"at":               {ZH: "时间", EN: "At"},
	"actor":            {ZH: "操作人", EN: "By"},
	"reason":           {ZH: "原因", EN: "Reason"},
	"field":            {ZH: "字段", EN: "Field"},

	"dept-risk":        {ZH: "风控部", EN: "Risk"},
	"dept-operations":  {ZH: "运营部", EN: "Operations"},
	"dept-finance":     {ZH: "财务部", EN: "Finance"},
	"dept-support":     {ZH: "客服部", EN: "Support"},
	"dept-engineering": {ZH: "技术部", EN: "Engineering"},
	"rank-staff":       {ZH: "专员", EN: "Staff"},
	"rank-supervisor":  {ZH: "主管", EN: "Supervisor"},
	"rank-manager":     {ZH: "经理", EN: "Manager"},
	"rank-director":    {ZH: "总监", EN: "Director"},

	"nav-merchants":   {ZH: "商户", EN: "Merchants"},
	"nav-risk":        {ZH: "风控", EN: "Risk"},
	"nav-consumers":   {ZH: "消费者", EN: "Consumers"},
	"nav-finance":     {ZH: "财务", EN: "Finance"},
	"nav-engineering": {ZH: "技术", EN: "Engineering"},
	"nav-support":     {ZH: "客服", EN: "Support"},
	"nav-charts":      {ZH: "图表", EN: "Charts"},

	// Merchants and applications.
	"applications":                 {ZH: "入网审核", EN: "Applications"},
	"application":                  {ZH: "入网申请", EN: "Application"},
	"application-id":               {ZH: "申请编号", EN: "Application"},
	"merchant":                     {ZH: "商户", EN: "Merchant"},
	"industry":                     {ZH: "行业", EN: "Industry"},
	"state":                        {ZH: "状态", EN: "State"},
	"submitted-at":                 {ZH: "提交时间", EN: "Submitted"},
	"submitted-from":               {ZH: "提交日期起", EN: "Submitted from"},
	"submitted-to":                 {ZH: "提交日期止", EN: "Submitted to"},
	"search-merchant":              {ZH: "搜索商户", EN: "Search merchants"},
	"name-or-mchid":                {ZH: "名称或商户号", EN: "Name or mchid"},
	"entity-type":                  {ZH: "主体类型", EN: "Entity"},
	"entity-enterprise":            {ZH: "企业", EN: "Enterprise"},
	"entity-individual_business":   {ZH: "个体工商户", EN: "Individual business"},
	"licence":                      {ZH: "营业执照", EN: "Business licence"},
	"legal-person":                 {ZH: "法定代表人", EN: "Legal person"},
	"settlement-account":           {ZH: "结算账户", EN: "Settlement account"},
	"store":                        {ZH: "门店", EN: "Store"},
	"policy-version":               {ZH: "资质政策版本", EN: "Policy version"},
	"checks":                       {ZH: "自动审核", EN: "Automatic checks"},
	"documents":                    {ZH: "资料文件", EN: "Documents"},
	"no-documents":                 {ZH: "未上传资料文件", EN: "No documents uploaded"},
	"review":                       {ZH: "人工审核", EN: "Review"},
	"review-reason":                {ZH: "审核意见（商户可见）", EN: "Reason (the merchant reads it)"},
	"approve":                      {ZH: "通过", EN: "Approve"},
	"reject":                       {ZH: "驳回", EN: "Reject"},
	"request-material":             {ZH: "补充资料", EN: "Ask for material"},
	"done-review-approve":          {ZH: "已通过该申请。", EN: "The application is approved."},
	"done-review-reject":           {ZH: "已驳回该申请。", EN: "The application is rejected."},
	"done-review-request_material": {ZH: "已要求商户补充资料。", EN: "The merchant is asked for more material."},
	"history":                      {ZH: "处理记录", EN: "History"},
	"from-state":                   {ZH: "原状态", EN: "From"},
	"to-state":                     {ZH: "新状态", EN: "To"},
	"unmask":                       {ZH: "查看明文", EN: "Unmask"},
	"unmask-reason":                {ZH: "查看原因（将被记录）", EN: "Why (it is recorded)"},
	"unmask-recorded":              {ZH: "本次查看已记录", EN: "this unmasking is recorded"},

	"industry-ecommerce_retail":    {ZH: "电商零售", EN: "E-commerce retail"},
	"industry-catering":            {ZH: "餐饮", EN: "Catering"},
	"industry-life_services":       {ZH: "生活服务", EN: "Life services"},
	"qual-icp_filing":              {ZH: "ICP 备案号", EN: "ICP filing"},
	"qual-food_business_licence":   {ZH: "食品经营许可证", EN: "Food business licence"},
	"qual-industry_permit":         {ZH: "行业许可证", EN: "Industry permit"},
	"check-licence_status":         {ZH: "营业执照状态", EN: "Licence status"},
	"check-transaction_history":    {ZH: "连续 3 个月交易", EN: "3 months of transactions"},
	"check-industry_qualification": {ZH: "行业资质", EN: "Industry qualification"},
	"check-risk_list":              {ZH: "风险名单", EN: "Risk list"},
	"doc-licence":                  {ZH: "营业执照", EN: "Business licence"},
	"doc-id_card":                  {ZH: "身份证", EN: "Identity card"},
	"doc-store_photo":              {ZH: "门店照片", EN: "Store photo"},
	"doc-permit":                   {ZH: "许可证", EN: "Permit"},

	"state-draft":         {ZH: "草稿", EN: "Draft"},
	"state-submitted":     {ZH: "已提交", EN: "Submitted"},
	"state-checking":      {ZH: "自动审核中", EN: "Checking"},
	"state-in_review":     {ZH: "待人工审核", EN: "In review"},
	"state-more_material": {ZH: "待补充资料", EN: "More material"},
	"state-approved":      {ZH: "已通过", EN: "Approved"},
	"state-rejected":      {ZH: "已驳回", EN: "Rejected"},
	"state-deposit_paid":  {ZH: "保证金已缴", EN: "Deposit paid"},
	"state-active":        {ZH: "已开通", EN: "Active"},
	"state-suspended":     {ZH: "已暂停", EN: "Suspended"},
	"state-closed":        {ZH: "已退出", EN: "Closed"},
}
