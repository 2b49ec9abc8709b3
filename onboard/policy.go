// Package onboard owns how a merchant becomes a credit-pay merchant: the
// application with its documents, the qualification policy (versioned
// data, not code), the automatic checks with their reasons, manual review,
// the risk deposit, and activation. This file holds the policy; checks.go
// the automatic checks, which are pure functions of an application and
// the facts gathered about it.
package onboard

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/fenfu/fenfu"
)

//go:embed policy/default.json
var policies embed.FS

// Qualification names a document or permit an industry requires.
type Qualification string

// Qualifications the default policy knows.
const (
	ICPFiling           Qualification = "icp_filing"            // ICP 备案号
	FoodBusinessLicence Qualification = "food_business_licence" // 食品经营许可证
	IndustryPermit      Qualification = "industry_permit"       // 行业许可/特许经营证照
)

// IndustryRule is what the policy asks of one industry class.
type IndustryRule struct {
	Name string `json:"name"`
	// NameZH is the industry's name in Chinese, for pages and charts;
	// Name stands in for it when it is empty.
	NameZH                    string          `json:"name_zh,omitempty"`
	Required                  []Qualification `json:"required"`
	MinMonthlyAvgTransactions int             `json:"min_monthly_avg_transactions,omitempty"`
	MinStores                 int             `json:"min_stores,omitempty"`
	DepositFen                fenfu.Fen       `json:"deposit_fen"`
}

// Policy is a version of the qualification policy.
type Policy struct {
	Version       string                  `json:"version"`
	Description   string                  `json:"description"`
	HistoryMonths int                     `json:"history_months"`
	Industries    map[string]IndustryRule `json:"industries"`
}

// DefaultPolicy returns the built-in policy (SPEC §1).
func DefaultPolicy() Policy {
	b, err := policies.ReadFile("policy/default.json")
	if err != nil {
		panic(err)
	}
	p, err := ParsePolicy(b)
	if err != nil {
		panic(err)
	}
	return p
}

// ParsePolicy reads and validates a policy file.
func ParsePolicy(b []byte) (Policy, error) {
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("onboard: policy is not valid JSON: %w", err)
	}
	if p.Version == "" {
		return p, fmt.Errorf("onboard: policy has no version")
	}
	if p.HistoryMonths < 0 || p.HistoryMonths > 24 {
		return p, fmt.Errorf("onboard: policy history_months must be 0 to 24")
	}
	if len(p.Industries) == 0 {
		return p, fmt.Errorf("onboard: policy admits no industry")
	}
	for id, r := range p.Industries {
		if r.DepositFen < 0 || r.MinMonthlyAvgTransactions < 0 || r.MinStores < 0 {
			return p, fmt.Errorf("onboard: policy industry %s has a negative figure", id)
		}
	}
	return p, nil
}

// IndustryIDs lists the eligible industries, sorted.
func (p Policy) IndustryIDs() []string {
	ids := make([]string, 0, len(p.Industries))
	for id := range p.Industries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
