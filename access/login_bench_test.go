package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/seal"
)

// BenchmarkLogin measures a staff member's right login — the count
// taken and settled, the password's argon2id check, the TOTP code's step
// taken, the audit entry and the session issued — and the check of a
// session's token that every staff request makes (Authenticate).
func BenchmarkLogin(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		ctx := context.Background()
		clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
		s := access.New(dbtest.Open(b, engine, "core", clock), clock)
		var err error
		if s.Sealer, err = seal.New([]byte("0123456789abcdef")); err != nil {
			b.Fatal(err)
		}
		en, err := s.Add(ctx, "test", access.NewStaff{Name: "ann", Department: access.Risk, Rank: access.StaffRank, Password: password})
		if err != nil {
			b.Fatal(err)
		}
		login := func(b *testing.B) access.Token {
			clock.Advance(30 * time.Second) // a code logs in once: each login takes the next step's
			code, _ := totp.GenerateCode(en.TOTPSecret, clock.Now())
			tok, err := s.Login(ctx, "ann", password, code, "192.0.2.1:1234")
			if err != nil {
				b.Fatal(err)
			}
			return tok
		}
		b.Run(string(engine)+"/login", func(b *testing.B) {
			for b.Loop() {
				login(b)
			}
		})
		b.Run(string(engine)+"/session", func(b *testing.B) {
			tok := login(b)
			for b.Loop() {
				if _, err := s.Authenticate(ctx, tok.Token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
