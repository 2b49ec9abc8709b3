package display

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
)

// RuleSet is one version of the display rules, who made it and why.
// Version 0 is the defaults, before any version is stored.
type RuleSet struct {
	Version int `json:"version"`
	Rules
	Actor     string    `json:"actor"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

// Store holds the versions of the display rules in the core store and
// the one this node applies; Refresh (which serve runs every
// --display-poll-every) picks up a version another node made.
type Store struct {
	DB *db.DB // the core store

	newest db.Newest[RuleSet]
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// Seed stores version 1 of rules (the settings' defaults) if the store
// has no version yet. It is safe to run on every start, by any number of
// nodes.
func (s *Store) Seed(ctx context.Context, rules Rules) error {
	if err := rules.Check(); err != nil {
		return err
	}
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		v, err := latest(ctx, tx)
		if err != nil || v > 0 {
			return err
		}
		_, err = insert(ctx, tx, &RuleSet{Version: 1, Rules: rules, Actor: "fenfu", Reason: "the default rules"})
		return err
	})
	if err != nil {
		return fenfu.Internal("display.Seed", err)
	}
	return nil
}

func latest(ctx context.Context, q querier) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM display_rule_sets`).Scan(&v)
	return v, err
}

// insert stores a new version, and reports false, storing nothing, if the
// version exists: another node made it first.
func insert(ctx context.Context, tx *db.Tx, set *RuleSet) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO display_rule_sets (version, created_at, actor, reason, min_amount, first_rating, first_of_day)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (version) DO NOTHING`, set.Version, db.Micros(tx.Now), set.Actor, set.Reason,
		set.MinAmount, strings.ToUpper(set.FirstRating), db.Flag(set.FirstOfDay))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	set.CreatedAt = tx.Now
	return n == 1, nil
}

func load(ctx context.Context, q querier, version int) (*RuleSet, error) {
	set := &RuleSet{Version: version}
	var at int64
	var first int
	err := q.QueryRowContext(ctx, `SELECT created_at, actor, reason, min_amount, first_rating, first_of_day FROM display_rule_sets
		WHERE version = $1`, version).Scan(&at, &set.Actor, &set.Reason, &set.MinAmount, &set.FirstRating, &first)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fenfu.Errorf(fenfu.ResourceNotExists, "no display rule set version %d", version)
	}
	if err != nil {
		return nil, fenfu.Internal("display.load", err)
	}
	set.CreatedAt, set.FirstOfDay = db.Time(at), first == 1
	return set, nil
}

// Version returns a stored version.
func (s *Store) Version(ctx context.Context, version int) (*RuleSet, error) {
	return load(ctx, s.DB, version)
}

// Current returns the rule set this node applies, loading the newest on
// first use; the defaults (version 0) while none is stored.
func (s *Store) Current(ctx context.Context) (*RuleSet, error) {
	return s.newest.Current(ctx, s.source())
}

// Refresh loads the newest version if the store has one newer than this
// node's, and reports whether it did.
func (s *Store) Refresh(ctx context.Context) (bool, error) {
	ok, err := s.newest.Refresh(ctx, s.source())
	if err != nil {
		return false, fenfu.Op("display.Refresh", err)
	}
	return ok, nil
}

// source reads the versions of the store.
func (s *Store) source() db.Source[RuleSet] {
	return db.Source[RuleSet]{
		Latest: func(ctx context.Context) (int, error) { return latest(ctx, s.DB) },
		Load: func(ctx context.Context, v int) (*RuleSet, error) {
			if v == 0 {
				return &RuleSet{Rules: Defaults(), Actor: "fenfu", Reason: "the default rules"}, nil
			}
			return load(ctx, s.DB, v)
		}}
}

// Change makes a new version from the newest by edit, made by actor for
// reason, recorded in the audit log in the same transaction, and returns
// it; this node applies it at once, others at their next Refresh.
func (s *Store) Change(ctx context.Context, actor, reason string, edit func(*Rules) error) (*RuleSet, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, fenfu.FieldError("change_reason", "say why the display rules change; it is recorded with the version")
	}
	var set *RuleSet
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		v, err := latest(ctx, tx)
		if err != nil {
			return err
		}
		rules := Defaults()
		if v > 0 {
			cur, err := load(ctx, tx, v)
			if err != nil {
				return err
			}
			rules = cur.Rules
		}
		before := rules
		if err := edit(&rules); err != nil {
			return err
		}
		rules.FirstRating = strings.ToUpper(rules.FirstRating)
		if err := rules.Check(); err != nil {
			return err
		}
		set = &RuleSet{Version: v + 1, Rules: rules, Actor: actor, Reason: reason}
		made, err := insert(ctx, tx, set)
		if err != nil {
			return err
		}
		if !made {
			return fenfu.Errorf(fenfu.InvalidRequest, "the display rules changed meanwhile; look at the new version and try again")
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: audit.ActionDisplayRules,
			Target: audit.Target{Kind: "display rule set", ID: strconv.Itoa(set.Version)}, Reason: reason,
			Detail: audit.Detail(map[string]any{"version": set.Version, "before": before, "after": rules})})
		return err
	})
	if err != nil {
		return nil, fenfu.Op("display.Change", err)
	}
	s.newest.Use(set, set.Version)
	return set, nil
}

// Versions lists the stored versions, newest first (at most 100).
func (s *Store) Versions(ctx context.Context) ([]RuleSet, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT version, created_at, actor, reason, min_amount, first_rating, first_of_day
		FROM display_rule_sets ORDER BY version DESC LIMIT 100`)
	if err != nil {
		return nil, fenfu.Internal("display.Versions", err)
	}
	out, err := db.Collect(rows, func(row db.Scanner) (r RuleSet, err error) {
		var at int64
		var first int
		err = row.Scan(&r.Version, &at, &r.Actor, &r.Reason, &r.MinAmount, &r.FirstRating, &first)
		r.CreatedAt, r.FirstOfDay = db.Time(at), first == 1
		return r, err
	})
	if err != nil {
		return nil, fenfu.Internal("display.Versions", err)
	}
	return out, nil
}
