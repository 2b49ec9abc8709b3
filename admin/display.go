package admin

import (
	"context"
	"strconv"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/display"
)

// displayRules shows the display rules this node applies, or ?version=N.
func (a *API) displayRules(ctx context.Context, c *call) (any, error) {
	if s := c.URL.Query().Get("version"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return nil, fenfu.FieldError("version", "version is a display rule-set version, 1 or more")
		}
		return a.Display.Version(ctx, v)
	}
	if _, err := a.Display.Refresh(ctx); err != nil {
		return nil, err
	}
	return a.Display.Current(ctx)
}

func (a *API) displayVersions(ctx context.Context, c *call) (any, error) {
	v, err := a.Display.Versions(ctx)
	return map[string]any{"versions": v}, err
}

// displayChange makes a new version of the display rules: {"min_amount",
// "first_rating", "first_of_day", "change_reason"}, each rule left as it
// is when absent.
func (a *API) displayChange(ctx context.Context, c *call) (any, error) {
	var in struct {
		MinAmount   *fenfu.Fen `json:"min_amount"`
		FirstRating *string    `json:"first_rating"`
		FirstOfDay  *bool      `json:"first_of_day"`
		Why         string     `json:"change_reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if in.MinAmount == nil && in.FirstRating == nil && in.FirstOfDay == nil {
		return nil, fenfu.Errorf(fenfu.ParamError, "say what changes: min_amount, first_rating or first_of_day")
	}
	set, err := a.Display.Change(ctx, c.Staff, in.Why, func(r *display.Rules) error {
		if in.MinAmount != nil {
			r.MinAmount = *in.MinAmount
		}
		if in.FirstRating != nil {
			r.FirstRating = *in.FirstRating
		}
		if in.FirstOfDay != nil {
			r.FirstOfDay = *in.FirstOfDay
		}
		return nil
	})
	if err == nil {
		a.Log.Info("display rules changed", "version", set.Version, "staff", c.Staff)
	}
	return set, err
}
