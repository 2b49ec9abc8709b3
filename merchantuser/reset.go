package merchantuser

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/login"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/seal"
)

// An owner changes its merchant's users (SetRole, ResetPassword,
// ResetTOTP), and platform staff any merchant's (the ...ByStaff forms,
// which the command line calls). Each change locks the merchant's row,
// ends the user's sessions on every node and is recorded in the audit
// log, all in one transaction. An owner never leaves the merchant
// without an owner who can log in, and never resets its own secrets:
// another owner does, or staff.

// target is the user a change is made to, as its transaction reads it.
type target struct {
	ID     string
	Role   Role
	Secret string // the sealed TOTP secret, "" for none
}

// change makes a change to the user name of merchant mchid, recorded as
// done by actor under action: apply runs in the transaction on the
// user's row, which must exist and not be disabled, and returns the
// audit entry's detail, if any; then the user's sessions end and the
// entry is appended. Disabling a user (ActionDisable) is such a change.
func (s *Service) change(ctx context.Context, op, action, actor, mchid, name string,
	apply func(tx *db.Tx, t target) (map[string]any, error)) error {
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		if err := merchant.Lock(ctx, tx, mchid); err != nil {
			return err
		}
		var t target
		var disabled int64
		err := tx.QueryRowContext(ctx, `SELECT id, role, totp_secret, disabled_at FROM merchant_users WHERE mchid = $1 AND name = $2`, mchid, name).
			Scan(&t.ID, &t.Role, &t.Secret, &disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return fenfu.Errorf(fenfu.ResourceNotExists, "merchant %s has no user named %s", mchid, name)
		}
		if err != nil {
			return err
		}
		if disabled != 0 && action == ActionDisable {
			return fenfu.Errorf(fenfu.InvalidRequest, "user %s is already disabled", name)
		}
		if disabled != 0 {
			e := fenfu.Errorf(fenfu.InvalidRequest, "user %s is disabled", name)
			e.Remedy = "A disabled user stays disabled; add a new user instead."
			return e
		}
		detail, err := apply(tx, t)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE merchant_user_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0`,
			db.Micros(tx.Now), t.ID); err != nil {
			return err
		}
		e := audit.Entry{Actor: actor, Action: action, Target: audit.Target{Kind: TargetKind, ID: User{MchID: mchid, Name: name}.Actor()}}
		if detail != nil {
			e.Detail = audit.Detail(detail)
		}
		_, err = audit.Append(ctx, tx, e)
		return err
	})
	return fenfu.Op(op, err)
}

// owners counts a merchant's owners who can log in.
func owners(ctx context.Context, tx *db.Tx, mchid string) (n int, err error) {
	err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM merchant_users WHERE mchid = $1 AND role = $2 AND disabled_at = 0`,
		mchid, string(Owner)).Scan(&n)
	return n, err
}

// lastOwner refuses to take the owner's role from name when it is its
// merchant's only owner who can log in, with remedy.
func lastOwner(ctx context.Context, tx *db.Tx, mchid, name, remedy string) error {
	n, err := owners(ctx, tx, mchid)
	if err != nil {
		return err
	}
	if n <= 1 {
		e := fenfu.Errorf(fenfu.InvalidRequest, "%s is the merchant's only owner who can log in", name)
		e.Remedy = remedy
		return e
	}
	return nil
}

// notSelf refuses an owner's reset of its own secrets.
func notSelf(by User, name string) error {
	if by.Name != name {
		return nil
	}
	e := fenfu.Errorf(fenfu.InvalidRequest, "an owner does not reset its own password or second factor")
	e.Remedy = "Change your own password on your account page; if you lost your authenticator, ask another owner of the merchant, or platform staff, to reset it."
	return e
}

// SetRole gives one of by's merchant's users the role role, by an owner.
// The merchant's last owner who can log in keeps the owner's role. A user
// given a role that needs a second factor (Role.NeedsTOTP) and without
// one enrols one at its next login.
func (s *Service) SetRole(ctx context.Context, by User, name string, role Role) error {
	if !by.Can(Users) {
		return by.Forbidden(Users)
	}
	return s.setRole(ctx, by.Actor(), by.MchID, name, role)
}

// SetRoleByStaff gives a merchant's user a role, by platform staff
// (actor). It too keeps the merchant's last owner who can log in: staff
// make a merchant a new owner with AddOwner, after disabling the old.
func (s *Service) SetRoleByStaff(ctx context.Context, actor, mchid, name string, role Role) error {
	return s.setRole(ctx, actor, mchid, name, role)
}

func (s *Service) setRole(ctx context.Context, actor, mchid, name string, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return s.change(ctx, "merchantuser.SetRole", ActionRole, actor, mchid, name, func(tx *db.Tx, t target) (map[string]any, error) {
		if t.Role == role {
			return nil, fenfu.Errorf(fenfu.InvalidRequest, "user %s's role is %s already", name, role)
		}
		if t.Role == Owner {
			if err := lastOwner(ctx, tx, mchid, name, "Make another user an owner first, then change this one's role."); err != nil {
				return nil, err
			}
		}
		enrol := role.NeedsTOTP() && t.Secret == ""
		flag := 0
		if enrol {
			flag = 1
		}
		if _, err := tx.ExecContext(ctx, `UPDATE merchant_users SET role = $1, totp_enrol = CASE WHEN $2 = 1 THEN 1 ELSE totp_enrol END WHERE id = $3`,
			string(role), flag, t.ID); err != nil {
			return nil, err
		}
		return map[string]any{"from": t.Role, "role": role, "totp_enrol": enrol}, nil
	})
}

// ResetPassword gives one of by's merchant's users a temporary password,
// by an owner, and returns it: the only time it is shown. The store keeps
// its hash alone; the user logs in with it once and must choose its own
// password (ChangePassword) before the portal serves it anything else.
// An owner does not reset its own.
func (s *Service) ResetPassword(ctx context.Context, by User, name string) (string, error) {
	if !by.Can(Users) {
		return "", by.Forbidden(Users)
	}
	if err := notSelf(by, name); err != nil {
		return "", err
	}
	return s.resetPassword(ctx, by.Actor(), by.MchID, name)
}

// ResetPasswordByStaff gives a merchant's user a temporary password, by
// platform staff (actor), as ResetPassword does.
func (s *Service) ResetPasswordByStaff(ctx context.Context, actor, mchid, name string) (string, error) {
	return s.resetPassword(ctx, actor, mchid, name)
}

func (s *Service) resetPassword(ctx context.Context, actor, mchid, name string) (string, error) {
	// 26 characters of base32, 130 random bits: no one guesses it in the
	// lockout's few tries, and it is typed once.
	temp := rand.Text()
	hash := login.Hash(temp)
	err := s.change(ctx, "merchantuser.ResetPassword", ActionResetPassword, actor, mchid, name, func(tx *db.Tx, t target) (map[string]any, error) {
		_, err := tx.ExecContext(ctx, `UPDATE merchant_users SET password_hash = $1, password_change = 1 WHERE id = $2`, hash, t.ID)
		return nil, err
	})
	if err != nil {
		return "", err
	}
	return temp, nil
}

// ResetTOTP clears the second factor of one of by's merchant's users, by
// an owner: its next login takes the password alone, and the portal then
// serves it only the enrolment of a new one (StartTOTP, ConfirmTOTP). An
// owner does not reset its own.
func (s *Service) ResetTOTP(ctx context.Context, by User, name string) error {
	if !by.Can(Users) {
		return by.Forbidden(Users)
	}
	if err := notSelf(by, name); err != nil {
		return err
	}
	return s.resetTOTP(ctx, by.Actor(), by.MchID, name)
}

// ResetTOTPByStaff clears a merchant's user's second factor, by platform
// staff (actor), as ResetTOTP does: the way back in for an owner who lost
// the phone it was on.
func (s *Service) ResetTOTPByStaff(ctx context.Context, actor, mchid, name string) error {
	return s.resetTOTP(ctx, actor, mchid, name)
}

func (s *Service) resetTOTP(ctx context.Context, actor, mchid, name string) error {
	return s.change(ctx, "merchantuser.ResetTOTP", ActionResetTOTP, actor, mchid, name, func(tx *db.Tx, t target) (map[string]any, error) {
		_, err := tx.ExecContext(ctx, `UPDATE merchant_users SET totp_secret = '', totp_step = 0, totp_enrol = 1 WHERE id = $1`, t.ID)
		return map[string]any{"had_totp": t.Secret != ""}, err
	})
}

// ChangePassword sets u's own password: next, which must differ from the
// one it has. A user logged in with a temporary password (PasswordChange)
// has just typed it; any other gives its current one, checked as a
// login checks it. Recorded in the audit log in the same transaction.
func (s *Service) ChangePassword(ctx context.Context, u User, current, next string) error {
	if err := login.CheckPassword(next); err != nil {
		return err
	}
	var hash string
	err := s.DB.QueryRowContext(ctx, `SELECT password_hash FROM merchant_users WHERE id = $1 AND disabled_at = 0`, u.ID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return fenfu.Errorf(fenfu.Unauthenticated, "the user may no longer log in")
	}
	if err != nil {
		return fenfu.Internal("merchantuser.ChangePassword", err)
	}
	// The new password against the one the hash keeps: the current one
	// once it is checked, compared as it is; a temporary one, not typed
	// here, by its hash.
	var same bool
	if u.PasswordChange {
		if same, _, err = s.hashing.Check(ctx, login.Check, hash, next); err != nil {
			return err
		}
	} else {
		ok, _, err := s.hashing.Check(ctx, login.Check, hash, current)
		if err != nil {
			return err
		}
		if !ok {
			return fenfu.FieldError("current", "the current password is wrong")
		}
		same = subtle.ConstantTimeCompare([]byte(current), []byte(next)) == 1
	}
	if same {
		return fenfu.FieldError("password", "choose a password other than the one you have")
	}
	fresh := login.Hash(next)
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		// Only over the hash checked: of two changes at once, one is made.
		res, err := tx.ExecContext(ctx, `UPDATE merchant_users SET password_hash = $1, password_change = 0 WHERE id = $2 AND password_hash = $3`,
			fresh, u.ID, hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fenfu.Errorf(fenfu.InvalidRequest, "the password was changed meanwhile")
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: u.Actor(), Action: ActionPassword, Target: audit.Target{Kind: TargetKind, ID: u.Actor()},
			Detail: audit.Detail(map[string]any{"was_temporary": u.PasswordChange})})
		return err
	})
	return fenfu.Op("merchantuser.ChangePassword", err)
}

// StartTOTP makes a new second factor for u, which must enrol one
// (TOTPEnrol), and keeps it sealed until a code of it is confirmed
// (ConfirmTOTP); starting again replaces it. Until then its logins take
// the password alone.
func (s *Service) StartTOTP(ctx context.Context, u User) (Enrollment, error) {
	if !u.TOTPEnrol {
		return Enrollment{}, fenfu.Errorf(fenfu.InvalidRequest, "%s has a second factor already", u.Name)
	}
	secret, url, err := login.NewTOTP(u.MchID + "/" + u.Name)
	if err != nil {
		return Enrollment{}, fenfu.Internal("merchantuser.StartTOTP", err)
	}
	stored, err := seal.SealWith(s.Sealer, secret, totpContext(u.ID))
	if err != nil {
		return Enrollment{}, fenfu.Internal("merchantuser.StartTOTP", err)
	}
	res, err := s.DB.Exec(ctx, `UPDATE merchant_users SET totp_secret = $1, totp_step = 0 WHERE id = $2 AND totp_enrol = 1 AND disabled_at = 0`, stored, u.ID)
	if err != nil {
		return Enrollment{}, fenfu.Internal("merchantuser.StartTOTP", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Enrollment{}, fenfu.Errorf(fenfu.InvalidRequest, "%s has a second factor already", u.Name)
	}
	return Enrollment{User: u, TOTPSecret: secret, TOTPURL: url}, nil
}

// PendingTOTP is the second factor u started to enrol and has not
// confirmed, to show again to u alone; ok is false if there is none.
func (s *Service) PendingTOTP(ctx context.Context, u User) (en Enrollment, ok bool, err error) {
	var stored string
	var enrol int64
	err = s.DB.QueryRowContext(ctx, `SELECT totp_secret, totp_enrol FROM merchant_users WHERE id = $1`, u.ID).Scan(&stored, &enrol)
	if err != nil || enrol == 0 || stored == "" {
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		return Enrollment{}, false, fenfu.Op("merchantuser.PendingTOTP", err)
	}
	secret, err := seal.OpenWith(s.Sealer, stored, totpContext(u.ID))
	if err != nil {
		return Enrollment{}, false, fenfu.Internal("merchantuser.PendingTOTP", err)
	}
	url, err := login.TOTPURL(u.MchID+"/"+u.Name, secret)
	if err != nil {
		return Enrollment{}, false, fenfu.Internal("merchantuser.PendingTOTP", err)
	}
	return Enrollment{User: u, TOTPSecret: secret, TOTPURL: url}, true, nil
}

// ConfirmTOTP ends u's enrolment with a code of the second factor it
// started (StartTOTP): from then on its logins need a code. The code's
// step is taken, so it does not log in again.
func (s *Service) ConfirmTOTP(ctx context.Context, u User, code string) error {
	en, ok, err := s.PendingTOTP(ctx, u)
	if err != nil {
		return err
	}
	if !ok {
		return fenfu.Errorf(fenfu.InvalidRequest, "no second factor is being enrolled; start again")
	}
	step, ok := login.TOTPStep(en.TOTPSecret, code, s.Clock.Now(), 0)
	if !ok {
		return fenfu.FieldError("totp", "the code is not the authenticator's current one for the secret shown")
	}
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE merchant_users SET totp_enrol = 0, totp_step = $1 WHERE id = $2 AND totp_enrol = 1 AND totp_secret <> ''`,
			step, u.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fenfu.Errorf(fenfu.InvalidRequest, "no second factor is being enrolled; start again")
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: u.Actor(), Action: ActionEnrolTOTP, Target: audit.Target{Kind: TargetKind, ID: u.Actor()}})
		return err
	})
	return fenfu.Op("merchantuser.ConfirmTOTP", err)
}
