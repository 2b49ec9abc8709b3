package complaint

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Response is a merchant's answer to the consumer.
type Response struct {
	Content     string // response_content
	JumpURL     string // jump_url: a page of the merchant's to send the consumer to; optional
	JumpURLText string // jump_url_text: the link's words, required with jump_url
}

// Validate checks an answer as the merchant sent it.
func (r Response) Validate() error {
	if err := fenfu.Words("response_content", r.Content, MaxResponse, false); err != nil {
		return err
	}
	if r.JumpURL == "" {
		if r.JumpURLText != "" {
			return fenfu.FieldError("jump_url", "jump_url_text needs a jump_url")
		}
		return nil
	}
	if err := httpURL("jump_url", r.JumpURL, MaxJumpURL); err != nil {
		return err
	}
	return fenfu.Words("jump_url_text", r.JumpURLText, MaxJumpText, false)
}

// httpURL checks a URL a merchant gives: http(s), with a host, at most max
// bytes.
func httpURL(field, v string, max int) error {
	if err := fenfu.Text(field, v); err != nil {
		return err
	}
	u, err := url.Parse(v)
	if len(v) > max || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fenfu.FieldError(field, "%s must be an http(s) URL of at most %d characters", field, max)
	}
	return nil
}

// Respond records a merchant's answer to a complaint of its own. The
// first answer meets (or misses) the SLA and moves the complaint to
// PROCESSING; a complaint staff have taken up may still be answered, and
// the answer is shown to them.
func (s *Service) Respond(ctx context.Context, mchid, id string, r Response) error {
	if err := r.Validate(); err != nil {
		return err
	}
	c, err := s.Of(ctx, mchid, id)
	if err != nil {
		return err
	}
	err = s.Credit.Update(ctx, func(tx *db.Tx) error {
		q, args, err := states.SQL(db.Move[State]{From: []State{Pending, Processing}, To: Processing,
			Set:   ", first_response_at = CASE WHEN first_response_at = 0 THEN $1 ELSE first_response_at END",
			Where: "complaint_id = $2", Args: []any{db.Micros(tx.Now), c.ID}})
		if err != nil {
			return err
		}
		if err := moved(ctx, tx, q, args, c.ID, "answered"); err != nil {
			return err
		}
		return s.record(ctx, tx, c.ID, Entry{Operator: OperatorMerchant, OperateType: OpMerchantResponse, Details: r.Content,
			JumpURL: r.JumpURL, JumpURLText: r.JumpURLText}, ActionMerchantResponse)
	})
	if err != nil {
		return fenfu.Op("complaint.Respond", err)
	}
	s.carryOut(ctx, c.ID)
	return nil
}

// moved runs a state move and turns "no row moved" into INVALID_REQUEST:
// the complaint is no longer in a state the act is allowed in.
func moved(ctx context.Context, tx *db.Tx, q string, args []any, id, act string) error {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fenfu.Errorf(fenfu.InvalidRequest, "complaint %s cannot be %s in its current state", id, act)
	}
	return nil
}

// Complete records that the merchant has handled a complaint it answered
// (PROCESSED), which lifts the complaint's hold on the order. A complaint
// staff have taken up is theirs to resolve.
func (s *Service) Complete(ctx context.Context, mchid, id string) error {
	c, err := s.Of(ctx, mchid, id)
	if err != nil {
		return err
	}
	switch {
	case c.State == Pending:
		return fenfu.Errorf(fenfu.InvalidRequest, "complaint %s has not been answered; respond to the consumer before completing it", id)
	case c.InPlatformService():
		e := fenfu.Errorf(fenfu.InvalidRequest, "complaint %s was escalated to platform staff, who resolve it", id)
		e.Remedy = "Answer the consumer with /response; platform staff close an escalated complaint."
		return e
	}
	err = s.Credit.Update(ctx, func(tx *db.Tx) error {
		q, args, err := states.SQL(db.Move[State]{From: []State{Processing}, To: Processed, Set: ", completed_at = $1",
			Where: "complaint_id = $2 AND escalation = $3", Args: []any{db.Micros(tx.Now), c.ID, string(NotEscalated)}})
		if err != nil {
			return err
		}
		if err := moved(ctx, tx, q, args, c.ID, "completed"); err != nil {
			return err
		}
		if err := releaseHold(ctx, tx, c.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, c.ID, Entry{Operator: OperatorMerchant, OperateType: OpMerchantComplete,
			Details: "the merchant has handled the complaint"}, ActionMerchantComplete)
	})
	if err != nil {
		return fenfu.Op("complaint.Complete", err)
	}
	s.carryOut(ctx, c.ID)
	return nil
}

// releaseHold marks, in the transaction that closes a complaint, that its
// hold on the order is to be lifted.
func releaseHold(ctx context.Context, tx *db.Tx, id string) error {
	q, args, err := holds.SQL(db.Move[HoldState]{From: []HoldState{HoldWanted, HoldPlaced}, To: HoldReleasing,
		Where: "complaint_id = $1", Args: []any{id}})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, q, args...)
	return err
}

// NotifyURL returns the merchant's complaint notification URL;
// RESOURCE_NOT_EXISTS if it has none.
func (s *Service) NotifyURL(ctx context.Context, mchid string) (string, error) {
	var u string
	err := s.Credit.QueryRowContext(ctx, `SELECT url FROM complaint_notify_urls WHERE mchid = $1`, mchid).Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fenfu.Errorf(fenfu.ResourceNotExists, "the merchant has no complaint notification URL; create one first")
	}
	if err != nil {
		return "", fenfu.Internal("complaint.NotifyURL", err)
	}
	return u, nil
}

// SetNotifyURL creates (create) or replaces the merchant's complaint
// notification URL. Creating one where there is one, or replacing one
// where there is none, is INVALID_REQUEST.
func (s *Service) SetNotifyURL(ctx context.Context, mchid, u string, create bool) error {
	if err := httpURL("url", u, MaxNotifyURL); err != nil {
		return err
	}
	now := db.Micros(s.Clock.Now())
	var res sql.Result
	var err error
	if create {
		res, err = s.Credit.Exec(ctx, `INSERT INTO complaint_notify_urls (mchid, url, created_at, updated_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT (mchid) DO NOTHING`, mchid, u, now)
	} else {
		res, err = s.Credit.Exec(ctx, `UPDATE complaint_notify_urls SET url = $1, updated_at = $2 WHERE mchid = $3`, u, now, mchid)
	}
	if err != nil {
		return fenfu.Internal("complaint.SetNotifyURL", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		if create {
			return fenfu.Errorf(fenfu.InvalidRequest, "the merchant already has a complaint notification URL; update it with PUT")
		}
		return fenfu.Errorf(fenfu.ResourceNotExists, "the merchant has no complaint notification URL; create one with POST")
	}
	return nil
}

// DeleteNotifyURL removes the merchant's complaint notification URL: no
// complaint notification is sent to it from then on.
func (s *Service) DeleteNotifyURL(ctx context.Context, mchid string) error {
	res, err := s.Credit.Exec(ctx, `DELETE FROM complaint_notify_urls WHERE mchid = $1`, mchid)
	if err != nil {
		return fenfu.Internal("complaint.DeleteNotifyURL", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fenfu.Errorf(fenfu.ResourceNotExists, "the merchant has no complaint notification URL")
	}
	return nil
}

// staffName checks an acting staff member's name as the staff API gives
// it: the authenticated member, "staff:<name>".
func staffName(staff string) error {
	if !strings.HasPrefix(staff, "staff:") || len(staff) <= len("staff:") {
		return fenfu.FieldError("staff", "name the authenticated staff member acting, staff:<name>")
	}
	return nil
}
