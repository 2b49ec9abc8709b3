package access

import (
	"context"
	"fmt"
	"slices"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Permission names what a staff route needs. The policy table grants
// each to departments from a rank up; directors hold every one.
type Permission string

// The permissions the policy knows, each with what it allows.
const (
	Onboarding   Permission = "onboarding"    // the onboarding review queue, rollout and merchants' fees
	RiskRules    Permission = "risk.rules"    // the risk rules, backtests and overview
	RiskQueue    Permission = "risk.queue"    // the queue of alerts and holds, holding and releasing orders
	RiskList     Permission = "risk.list"     // the risk list, merchant history and rescreening
	Settlements  Permission = "settlements"   // settlements, their batches and exception requests
	Credit       Permission = "credit"        // consumers' credit: repayments from partners and the overdue run
	Consumers    Permission = "consumers"     // looking up consumers: by phone or id, their credit account, plans and statements, masked by policy
	CreditLines  Permission = "credit.lines"  // a credit line's limit, rating, freeze and close: a risk decision
	Complaints   Permission = "complaints"    // escalated complaints and support tickets
	Keys         Permission = "keys"          // platform keys and their rotation
	Notify       Permission = "notifications" // the backlog of merchants' notifications
	Sandbox      Permission = "sandbox"       // the clock of a sandbox deployment
	Audit        Permission = "audit"         // the stores' audit logs
	Retention    Permission = "retention"     // legal holds, which keep data from the retention job
	QRVerify     Permission = "qr.verify"     // the marks under any merchant's codes, as an inspector checks them
	StaffAdmin   Permission = "staff"         // staff accounts and their tokens
	PolicyAdmin  Permission = "policy"        // this policy (directors only unless granted)
	PersonalData Permission = "personal_data" // every answer's personal data in the clear
	Unmask       Permission = "unmask"        // one record's field in the clear, with a reason
)

// Permissions lists every permission.
var Permissions = []Permission{Onboarding, RiskRules, RiskQueue, RiskList, Settlements, Credit, Consumers, CreditLines, Complaints,
	Keys, Notify, Sandbox, Audit, Retention, QRVerify, StaffAdmin, PolicyAdmin, PersonalData, Unmask}

// ParsePermission checks a permission's name.
func ParsePermission(s string) (Permission, error) {
	if p := Permission(s); slices.Contains(Permissions, p) {
		return p, nil
	}
	return "", fenfu.FieldError("permission", "unknown permission %q; GET /admin/policy lists them", s)
}

// Grant is one row of the policy: a department holds a permission from a
// rank up.
type Grant struct {
	Permission Permission `json:"permission"`
	Department Department `json:"department"`
	MinRank    Rank       `json:"min_rank"`
	ChangedBy  string     `json:"changed_by,omitempty"`
}

// Policy is the policy as read at one moment.
type Policy []Grant

// Policy reads the policy.
func (s *Service) Policy(ctx context.Context) (Policy, error) {
	p, err := db.All(ctx, s.DB, func(r db.Scanner) (g Grant, err error) {
		err = r.Scan(&g.Permission, &g.Department, &g.MinRank, &g.ChangedBy)
		return g, err
	}, `SELECT permission, department, min_rank, changed_by FROM staff_policy ORDER BY permission, department`)
	if err != nil {
		return nil, fenfu.Internal("access.Policy", err)
	}
	return p, nil
}

// Allows reports whether the policy lets st do what perm allows.
func (p Policy) Allows(st Staff, perm Permission) bool {
	if st.Disabled {
		return false
	}
	if st.Rank == Director {
		return true
	}
	for _, g := range p {
		if g.Permission == perm && g.Department == st.Department && st.Rank.AtLeast(g.MinRank) {
			return true
		}
	}
	return false
}

// Of returns the permissions the policy gives st.
func (p Policy) Of(st Staff) []Permission {
	var out []Permission
	for _, perm := range Permissions {
		if p.Allows(st, perm) {
			out = append(out, perm)
		}
	}
	return out
}

// Holders says who holds perm, for a refusal's remedy.
func (p Policy) Holders(perm Permission) string {
	who := ""
	for _, g := range p {
		if g.Permission == perm {
			who += fmt.Sprintf("%s (%s and above), ", g.Department, g.MinRank)
		}
	}
	return who + "directors"
}

// Forbidden is the refusal of a staff member without perm: it names the
// permission, who holds it and who can grant it.
func (p Policy) Forbidden(st Staff, perm Permission) error {
	e := fenfu.Errorf(fenfu.Forbidden, "staff member %s (%s, %s) lacks the permission %s", st.Name, st.Department, st.Rank, perm)
	e.Remedy = fmt.Sprintf("%s is held by %s. Ask a director to change the policy (POST /admin/policy, or `fenfu staff policy grant`) or to have the work done by someone who holds it.",
		perm, p.Holders(perm))
	return e
}

// SetGrant grants perm to a department from a rank up, replacing the
// department's grant of it, recorded as changed by actor.
func (s *Service) SetGrant(ctx context.Context, actor string, g Grant) error {
	if _, err := ParsePermission(string(g.Permission)); err != nil {
		return err
	}
	if _, err := ParseDepartment(string(g.Department)); err != nil {
		return err
	}
	if _, err := ParseRank(string(g.MinRank)); err != nil {
		return err
	}
	if _, err := s.DB.Exec(ctx, `INSERT INTO staff_policy (permission, department, min_rank, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (permission, department) DO UPDATE SET min_rank = EXCLUDED.min_rank, changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at`,
		string(g.Permission), string(g.Department), string(g.MinRank), actor, db.Micros(s.Clock.Now())); err != nil {
		return fenfu.Internal("access.SetGrant", err)
	}
	return nil
}

// RemoveGrant takes perm from a department: only directors hold it then,
// unless another department does.
func (s *Service) RemoveGrant(ctx context.Context, perm Permission, dept Department) error {
	res, err := s.DB.Exec(ctx, `DELETE FROM staff_policy WHERE permission = $1 AND department = $2`, string(perm), string(dept))
	if err != nil {
		return fenfu.Internal("access.RemoveGrant", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fenfu.Errorf(fenfu.ResourceNotExists, "the policy does not grant %s to %s", perm, dept)
	}
	return nil
}
