package onboard

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
)

// Entity types an applicant may be.
const (
	Enterprise         = "enterprise"          // 企业
	IndividualBusiness = "individual_business" // 个体工商户
)

// Application is what a merchant submits.
type Application struct {
	EntityType     string                   `json:"entity_type"`
	LicenceNumber  string                   `json:"licence_number"` // unified social credit code
	LicenceStatus  string                   `json:"licence_status"` // as registered: normal, revoked, cancelled, abnormal, …
	Industry       string                   `json:"industry"`
	Qualifications map[Qualification]string `json:"qualifications"` // e.g. icp_filing → 京ICP备…号
	Stores         []Store                  `json:"stores,omitempty"`
	Documents      []Document               `json:"documents,omitempty"`
	// SettlementAccount is where settlements are paid. It is stored sealed
	// and read back masked; see Service.SettlementAccount.
	SettlementAccount *BankAccount `json:"settlement_account,omitempty"`
	// LegalPerson is the business's legal representative (法定代表人) or,
	// for an individual business, its operator. It is stored sealed.
	LegalPerson *Person   `json:"legal_person,omitempty"`
	SubmittedAt time.Time `json:"submitted_at"`
}

// Person is a natural person named in an application.
type Person struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"` // resident identity card number
	Phone    string `json:"phone"`
}

// Store is a physical store.
type Store struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// BankAccount is a settlement bank account.
type BankAccount struct {
	Bank          string `json:"bank"`
	AccountName   string `json:"account_name"`
	AccountNumber string `json:"account_number"`
}

// Masked returns the account with all but the last four digits hidden.
func (b BankAccount) Masked() BankAccount {
	n := b.AccountNumber
	if len(n) > 4 {
		n = strings.Repeat("*", len(n)-4) + n[len(n)-4:]
	}
	b.AccountNumber = n
	return b
}

// Document is an uploaded file, known by its content hash.
type Document struct {
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
}

// Facts are what fenfu knows about an applicant beyond the application:
// its successful ordinary (non-credit) payments per calendar month
// ("2006-01" → count, from its own records and imported history), and
// whether the payment-industry risk list names it.
type Facts struct {
	OrdinaryByMonth map[string]int
	Blacklisted     bool
	BlacklistReason string
}

// Check is the result of one automatic check, with a reason a person can
// read.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Reason string `json:"reason"`
}

// Check names.
const (
	CheckLicence   = "licence_status"
	CheckHistory   = "transaction_history"
	CheckIndustry  = "industry_qualification"
	CheckBlacklist = "risk_list"
)

// HistoryMonths returns the full calendar months before the submission,
// oldest first, in Asia/Shanghai: submitted on 2026-11-27, they are
// 2026-08, 2026-09 and 2026-10.
func HistoryMonths(submitted time.Time, n int) []string {
	t := submitted.In(fenfu.Shanghai)
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, fenfu.Shanghai)
	out := make([]string, n)
	for i := range n {
		out[n-1-i] = first.AddDate(0, -(i + 1), 0).Format("2006-01")
	}
	return out
}

// Evaluate runs the automatic checks of SPEC §1 against an application
// under a policy. Every check runs and explains itself, whatever the
// others found, so the applicant sees everything to fix at once.
func Evaluate(p Policy, a Application, f Facts) []Check {
	var out []Check
	// Entity and licence.
	switch {
	case a.EntityType != Enterprise && a.EntityType != IndividualBusiness:
		out = append(out, Check{CheckLicence, false, fmt.Sprintf("the applicant must be an enterprise or an individual business, not %q", a.EntityType)})
	case a.LicenceNumber == "":
		out = append(out, Check{CheckLicence, false, "the business licence number is missing"})
	case a.LicenceStatus != "normal":
		out = append(out, Check{CheckLicence, false, fmt.Sprintf("the business licence's status is %q; only a licence in normal standing is accepted", a.LicenceStatus)})
	default:
		out = append(out, Check{CheckLicence, true, "the business licence is in normal standing"})
	}
	// Three consecutive full months with successful ordinary payments.
	months := HistoryMonths(a.SubmittedAt, p.HistoryMonths)
	var missing []string
	total := 0
	for _, m := range months {
		if f.OrdinaryByMonth[m] == 0 {
			missing = append(missing, m)
		}
		total += f.OrdinaryByMonth[m]
	}
	if len(missing) > 0 {
		out = append(out, Check{CheckHistory, false, fmt.Sprintf("no successful ordinary payments in %v; %d consecutive full months (%v) are required",
			missing, p.HistoryMonths, months)})
	} else {
		out = append(out, Check{CheckHistory, true, fmt.Sprintf("successful ordinary payments in each of %v (%d in all)", months, total)})
	}
	// Industry qualifications.
	rule, ok := p.Industries[a.Industry]
	switch {
	case !ok:
		out = append(out, Check{CheckIndustry, false, fmt.Sprintf("industry %q is not eligible for credit pay under policy %s (eligible: %v)",
			a.Industry, p.Version, p.IndustryIDs())})
	default:
		var problems []string
		for _, q := range rule.Required {
			if a.Qualifications[q] == "" {
				problems = append(problems, fmt.Sprintf("%s requires a %s", rule.Name, q))
			}
		}
		if rule.MinStores > 0 && len(a.Stores) < rule.MinStores {
			problems = append(problems, fmt.Sprintf("%s requires at least %d physical store(s), %d given", rule.Name, rule.MinStores, len(a.Stores)))
		}
		if rule.MinMonthlyAvgTransactions > 0 && len(months) > 0 {
			if avg := total / len(months); avg < rule.MinMonthlyAvgTransactions {
				problems = append(problems, fmt.Sprintf("%s requires a monthly average of at least %d transactions, the last %d months averaged %d",
					rule.Name, rule.MinMonthlyAvgTransactions, len(months), avg))
			}
		}
		if len(problems) > 0 {
			out = append(out, Check{CheckIndustry, false, joinReasons(problems)})
		} else {
			out = append(out, Check{CheckIndustry, true, fmt.Sprintf("%s qualifications complete; risk deposit ¥%s", rule.Name, fenfu.Yuan(rule.DepositFen))})
		}
	}
	// The payment-industry risk list.
	if f.Blacklisted {
		reason := "the applicant is on the payment-industry risk list"
		if f.BlacklistReason != "" {
			reason += ": " + f.BlacklistReason
		}
		out = append(out, Check{CheckBlacklist, false, reason})
	} else {
		out = append(out, Check{CheckBlacklist, true, "not on the payment-industry risk list"})
	}
	return out
}

// Passed reports whether every check passed.
func Passed(cs []Check) bool {
	return !slices.ContainsFunc(cs, func(c Check) bool { return !c.Passed })
}

func joinReasons(ps []string) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += "; "
		}
		s += p
	}
	return s
}
