package onboard

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// IndustryStats are onboarding figures for one industry over a period.
type IndustryStats struct {
	Industry string `json:"industry"`
	// Submitted counts applications first submitted in the period.
	Submitted int `json:"submitted"`
	// Decided counts those that reached a first outcome (approved,
	// rejected — by the checks or by staff — or sent back for material).
	Decided int `json:"decided"`
	// FirstTimeApproved counts those approved on their first submission,
	// without being sent back for material.
	FirstTimeApproved int `json:"first_time_approved"`
	// FirstTimeApprovalRate is FirstTimeApproved ÷ Decided.
	FirstTimeApprovalRate float64 `json:"first_time_approval_rate"`
	// Activated counts those that became active; MeanDaysToActivation is
	// the mean time from first submission to activation, in days.
	Activated            int     `json:"activated"`
	MeanDaysToActivation float64 `json:"mean_days_to_activation"`
}

// Report computes onboarding analytics for applications first submitted
// in [from, to), per industry, from the recorded transitions.
func (s *Service) Report(ctx context.Context, from, to time.Time) ([]IndustryStats, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT a.id, a.industry, e.to_state, e.at FROM applications a
		JOIN application_events e ON e.application_id = a.id
		WHERE a.id IN (SELECT application_id FROM application_events WHERE from_state = 'draft' AND to_state = 'submitted'
		               AND at >= $1 AND at < $2)
		ORDER BY a.id, e.seq`, db.Micros(from), db.Micros(to))
	if err != nil {
		return nil, fenfu.Internal("onboard.Report", err)
	}
	defer rows.Close()
	type life struct {
		industry  string
		submitted time.Time
		outcomes  []State // states after the first submission, in order
		activated time.Time
	}
	lives := map[string]*life{}
	var order []string
	for rows.Next() {
		var id, industry string
		var to State
		var at int64
		if err := rows.Scan(&id, &industry, &to, &at); err != nil {
			return nil, fenfu.Internal("onboard.Report", err)
		}
		l := lives[id]
		if l == nil {
			l = &life{industry: industry}
			lives[id] = l
			order = append(order, id)
		}
		switch to {
		case Submitted:
			if l.submitted.IsZero() {
				l.submitted = db.Time(at)
			}
		case Active:
			if l.activated.IsZero() {
				l.activated = db.Time(at)
			}
		}
		l.outcomes = append(l.outcomes, to)
	}
	if err := rows.Err(); err != nil {
		return nil, fenfu.Internal("onboard.Report", err)
	}
	byIndustry := map[string]*IndustryStats{}
	days := map[string]float64{}
	for _, id := range order {
		l := lives[id]
		st := byIndustry[l.industry]
		if st == nil {
			st = &IndustryStats{Industry: l.industry}
			byIndustry[l.industry] = st
		}
		st.Submitted++
		// The first outcome after the first submission decides "first time".
		for _, o := range l.outcomes {
			if o == Approved || o == Rejected || o == MoreMaterial {
				st.Decided++
				if o == Approved {
					st.FirstTimeApproved++
				}
				break
			}
		}
		if !l.activated.IsZero() {
			st.Activated++
			days[l.industry] += l.activated.Sub(l.submitted).Hours() / 24
		}
	}
	out := make([]IndustryStats, 0, len(byIndustry))
	for ind, st := range byIndustry {
		if st.Decided > 0 {
			st.FirstTimeApprovalRate = float64(st.FirstTimeApproved) / float64(st.Decided)
		}
		if st.Activated > 0 {
			st.MeanDaysToActivation = days[ind] / float64(st.Activated)
		}
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Industry < out[j].Industry })
	return out, nil
}

// WriteReport writes the analytics as a table.
func WriteReport(w io.Writer, stats []IndustryStats, from, to time.Time) {
	fmt.Fprintf(w, "Onboarding, applications first submitted %s to %s (Asia/Shanghai)\n\n", from.In(fenfu.Shanghai).Format("2006-01-02"),
		to.In(fenfu.Shanghai).Format("2006-01-02"))
	fmt.Fprintf(w, "%-20s %9s %9s %15s %10s %17s\n", "industry", "submitted", "decided", "first-time rate", "activated", "days to activation")
	for _, s := range stats {
		fmt.Fprintf(w, "%-20s %9d %9d %14.1f%% %10d %17.1f\n", s.Industry, s.Submitted, s.Decided, 100*s.FirstTimeApprovalRate,
			s.Activated, s.MeanDaysToActivation)
	}
}
