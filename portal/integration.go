package portal

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/merchantuser"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/web"
)

// notificationsView is the delivery log: a page of attempts, the filter
// as the form shows it, whether the user may resend.
type notificationsView struct {
	Q         url.Values
	Entries   []notify.LogEntry
	Next      string
	CanResend bool
}

func (p *Portal) notifications(ctx context.Context, c *call) error {
	q := c.r.URL.Query()
	v := notificationsView{Q: q, CanResend: c.user.Can(merchantuser.Resend)}
	f, err := c.logFilter(q)
	next := ""
	if err == nil {
		v.Entries, next, err = p.Events.Log(ctx, f, fenfu.Keyset{After: q.Get("after"), Limit: notify.DefaultLogPage})
	}
	if err != nil {
		return c.again(ctx, err, c.only("notifications", "notifications", v))
	}
	if next != "" {
		v.Next = nextPage("/portal/notifications", q, next)
	}
	// The notice of a resend names an event the log shows, never the
	// link's text.
	notice := ""
	for _, e := range v.Entries {
		if ev := q.Get("resent"); ev != "" && e.EventID == ev {
			notice = word(c.lang, "resent") + e.EventID
		}
	}
	return c.page("notifications", "notifications", v, notice)
}

// logFilter reads the delivery log's filter: the user's merchant's
// deliveries only.
func (c *call) logFilter(q url.Values) (notify.LogFilter, error) {
	f := notify.LogFilter{MchID: c.user.MchID, Failed: q.Get("failed") == "1"}
	var err error
	if f.EventID, err = text(q, "event_id"); err != nil {
		return f, err
	}
	if f.From, f.To, err = web.Dates(q); err != nil {
		return f, err
	}
	return f, nil
}

// resend makes an event due again now, through notify's own Resend: the
// worker delivers it as one more attempt, which the log then shows.
func (p *Portal) resend(ctx context.Context, c *call) error {
	ev := c.r.PathValue("event_id")
	if err := p.Events.Resend(ctx, c.user.MchID, ev); err != nil {
		return c.again(ctx, err, p.notifications)
	}
	return c.redirect("/portal/notifications?event_id=" + url.QueryEscape(ev) + "&resent=" + url.QueryEscape(ev))
}

// keysView is the keys page: the merchant's registered public keys, its
// environment and notify_url, and an API v3 key just issued, shown once.
type keysView struct {
	Keys      []merchant.Key
	Env       string
	NotifyURL string
	APIv3Key  string
}

func (p *Portal) keysPage(ctx context.Context, c *call, apiv3 string) error {
	m, err := p.Merchants.Fresh(ctx, c.user.MchID)
	if err != nil {
		return err
	}
	keys, err := p.Merchants.Keys(ctx, c.user.MchID)
	if err != nil {
		return err
	}
	// A notice names a key of the merchant's, never the link's text.
	notice := ""
	q := c.r.URL.Query()
	for _, k := range keys {
		switch {
		case apiv3 != "":
		case q.Get("added") == k.SerialNo && k.State == merchant.KeyActive:
			notice = word(c.lang, "key-added") + k.SerialNo
		case q.Get("retired") == k.SerialNo && k.State == merchant.KeyRetired:
			notice = word(c.lang, "key-retired") + k.SerialNo
		}
	}
	if q.Get("notify") == "1" && apiv3 == "" {
		notice = word(c.lang, "notify-url-set")
	}
	return c.page("keys", "keys", keysView{Keys: keys, Env: m.Env, NotifyURL: m.NotifyURL, APIv3Key: apiv3}, notice)
}

func (p *Portal) keys(ctx context.Context, c *call) error { return p.keysPage(ctx, c, "") }

// addKey registers a public key through merchant.AddKey, as the CLI does.
func (p *Portal) addKey(ctx context.Context, c *call) error {
	serial, err := p.Merchants.AddKey(ctx, c.user.MchID, []byte(c.r.PostForm.Get("public_key")))
	if err != nil {
		return c.again(ctx, err, p.keys)
	}
	c.done = map[string]any{"key": "public key", "added": serial}
	return c.redirect("/portal/keys?added=" + serial)
}

// retireKey retires one of the merchant's keys (merchant.RetireKey), at
// once on every node; the last active key stays.
func (p *Portal) retireKey(ctx context.Context, c *call) error {
	serial := c.r.PathValue("serial")
	if err := p.Merchants.RetireKey(ctx, c.user.MchID, serial); err != nil {
		return c.again(ctx, err, p.keys)
	}
	c.done = map[string]any{"key": "public key", "retired": serial}
	return c.redirect("/portal/keys?retired=" + url.QueryEscape(serial))
}

// rotateAPIv3Key issues a new API v3 key (merchant.RotateAPIv3Key) and
// shows it on this answer only: it is in no address, no log and no
// later page.
func (p *Portal) rotateAPIv3Key(ctx context.Context, c *call) error {
	k, err := p.Merchants.RotateAPIv3Key(ctx, c.user.MchID)
	if err != nil {
		return c.again(ctx, err, p.keys)
	}
	c.done = map[string]any{"key": "apiv3"}
	return p.keysPage(ctx, c, k)
}

// setNotifyURL sets the merchant's own notify_url (merchant.SetNotifyURL:
// https in production, http only in the sandbox).
func (p *Portal) setNotifyURL(ctx context.Context, c *call) error {
	u := strings.TrimSpace(c.r.PostForm.Get("notify_url"))
	if err := p.Merchants.SetNotifyURL(ctx, c.user.MchID, u); err != nil {
		return c.again(ctx, err, p.keys)
	}
	c.done = map[string]any{"notify_url": u}
	return c.redirect("/portal/keys?notify=1")
}

func (p *Portal) sandboxReport(ctx context.Context, c *call) error {
	r, err := p.Sandbox.Report(ctx, c.user.MchID, p.Clock.Now())
	if err != nil {
		return err
	}
	return c.page("sandbox", "sandbox", r, "")
}

// rolloutView is the gray release: the percentage offered credit, and the
// A/B report of a period.
type rolloutView struct {
	Percent    int
	CanSet     bool
	From, To   string
	Cohorts    []pay.CohortStats
	Percentage []int
}

// rollout shows the gray release and its A/B report over ?from= to ?to=
// (days; by default the last 7).
func (p *Portal) rollout(ctx context.Context, c *call) error {
	q := c.r.URL.Query()
	m, err := p.Merchants.Fresh(ctx, c.user.MchID)
	if err != nil {
		return err
	}
	v := rolloutView{Percent: m.CreditRollout, CanSet: c.user.Can(merchantuser.Rollout), From: q.Get("from"), To: q.Get("to")}
	from, to, err := web.Dates(q)
	if err != nil {
		return c.again(ctx, err, c.only("rollout", "rollout", v))
	}
	if to.IsZero() {
		to = fenfu.DayStart(p.Clock.Now()).AddDate(0, 0, 1)
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -7)
	}
	if v.Cohorts, err = p.Pay.ABReport(ctx, c.user.MchID, from, to); err != nil {
		return c.again(ctx, err, c.only("rollout", "rollout", v))
	}
	v.From, v.To = from.In(fenfu.Shanghai).Format(time.DateOnly), to.AddDate(0, 0, -1).In(fenfu.Shanghai).Format(time.DateOnly)
	notice := ""
	if q.Get("set") == "1" {
		notice = word(c.lang, "rollout-set")
	}
	return c.page("rollout", "rollout", v, notice)
}

// setRollout sets the percentage of consumers offered credit pay
// (merchant.SetRollout).
func (p *Portal) setRollout(ctx context.Context, c *call) error {
	n, err := strconv.Atoi(strings.TrimSpace(c.r.PostForm.Get("percent")))
	if err != nil {
		err = fenfu.FieldError("percent", "the rollout is a percentage from 0 to 100")
	} else {
		err = p.Merchants.SetRollout(ctx, c.user.MchID, n)
	}
	if err != nil {
		return c.again(ctx, err, p.rollout)
	}
	c.done = map[string]any{"credit_rollout": n}
	return c.redirect("/portal/rollout?set=1")
}
