package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
)

// Scratch is a PostgreSQL database made for one run — of fenfu chaos's
// stores, or of a test's (dbtest) — created empty on a server given by an
// administrator's DSN, and dropped afterwards.
type Scratch struct {
	DSN   string // the database's own DSN
	Name  string
	admin string
}

var scratchNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,40}$`)

// CreateScratch creates an empty database named prefix and a random
// suffix on the PostgreSQL server of admin, a DSN whose user may create
// databases.
func CreateScratch(ctx context.Context, admin, prefix string) (*Scratch, error) {
	if !scratchNameRE.MatchString(prefix) {
		return nil, fmt.Errorf("db: scratch database prefix %q is not a lower-case identifier", prefix)
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("db: %q is not a postgres:// DSN", admin)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	if err := adminExec(ctx, admin, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("db: create scratch database: %w", err)
	}
	u.Path = "/" + name
	return &Scratch{DSN: u.String(), Name: name, admin: admin}, nil
}

// Drop drops the database, closing any connection still open to it.
func (s *Scratch) Drop(ctx context.Context) error {
	if err := adminExec(ctx, s.admin, "DROP DATABASE IF EXISTS "+s.Name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("db: drop scratch database %s: %w", s.Name, err)
	}
	return nil
}

func adminExec(ctx context.Context, admin, stmt string) error {
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		return err
	}
	defer adb.Close()
	_, err = adb.ExecContext(ctx, stmt)
	return err
}
