// Package accesstest provides staff members for tests: a member of a
// given department and rank, and a bearer token of theirs for the staff
// API.
package accesstest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenfu/fenfu/access"
)

var seq atomic.Int64

// Password is every test member's password.
const Password = "correct horse battery"

// Named adds a staff member of dept and rank named name and returns a
// bearer token of theirs (a personal API token lasting a year, so that tests may move their
// clocks).
func Named(tb testing.TB, s *access.Service, name string, dept access.Department, rank access.Rank) string {
	tb.Helper()
	ctx := context.Background()
	if _, err := s.Add(ctx, "test", access.NewStaff{Name: name, Department: dept, Rank: rank, Password: Password}); err != nil {
		tb.Fatal(err)
	}
	tok, err := s.CreateToken(ctx, "test", name, "test", 365*24*time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok.Token
}

// Bearer returns the bearer token of a new member of dept and rank, named
// after them.
func Bearer(tb testing.TB, s *access.Service, dept access.Department, rank access.Rank) string {
	tb.Helper()
	return Named(tb, s, fmt.Sprintf("%s.%s.%d", dept, rank, seq.Add(1)), dept, rank)
}

// Director returns the bearer token of a new director.
func Director(tb testing.TB, s *access.Service) string {
	tb.Helper()
	return Bearer(tb, s, access.Engineering, access.Director)
}
