package display_test

import (
	"context"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/repay"
)

// TestDecideReadsOnlyWhatCouldChangeIt: credit hidden by the order's
// limit_pay, the merchant's credit pay or the control cohort is decided
// without reading the consumer's day, line or risk, and the day is not
// read while first_of_day is off. A service over a store without tables
// fails every read, so it decides these only if it reads nothing.
func TestDecideReadsOnlyWhatCouldChangeIt(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			c := e.consumer(t, "A", 500_00)
			empty, err := db.Open(ctx, "core", dbtest.DSN(t, engine, "empty"), e.clock, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { empty.Close() })
			blind := &display.Service{Rules: e.dis.Rules, Clock: e.clock,
				Pay:   &pay.Service{Core: empty, Credit: empty, Merchants: e.ms, IDs: &fenfu.RandomIDs{}, Clock: e.clock, Risk: &pay.Risk{Engine: e.risk}},
				Repay: &repay.Service{Core: empty, Credit: empty, Clock: e.clock}}
			decide := func(s *display.Service, o pay.Order, a display.Ask) (display.Channel, error) {
				a.Order, a.Consumer = &o, c
				if a.Merchant.MchID == "" {
					a.Merchant = e.m
				}
				d, _, err := s.Decide(ctx, a)
				return d.Credit(), err
			}
			// Credit that could be used is decided on the consumer's facts,
			// which this service cannot read.
			if _, err := decide(blind, e.order(t, 2000), display.Ask{}); err == nil {
				t.Fatal("decided usable credit without reading the consumer's facts")
			}
			suspended := e.m
			suspended.CreditSuspended = true
			if err := e.ms.SetRollout(ctx, e.m.MchID, 0); err != nil {
				t.Fatal(err)
			}
			control, err := e.ms.Get(ctx, e.m.MchID)
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name  string
				order pay.Order
				ask   display.Ask
				want  display.Code
			}{
				{"limit_pay no_credit", e.order(t, 2000, "no_credit"), display.Ask{}, display.LimitPayNoCredit},
				{"credit pay suspended", e.order(t, 2000), display.Ask{Merchant: suspended}, display.MerchantCreditOff},
				{"control cohort", e.order(t, 2000), display.Ask{Merchant: control}, display.CohortControl},
			} {
				if got, err := decide(blind, tc.order, tc.ask); err != nil || got.Shown || got.Reason.Code != tc.want {
					t.Errorf("%s: %+v %v, want %s without a read", tc.name, got, err, tc.want)
				}
			}
			// With first_of_day off, nor is the consumer's day read: with
			// no risk engine and no repay service, nothing is.
			if _, err := e.dis.Rules.Change(ctx, "staff:t", "no first of day", func(r *display.Rules) error { r.FirstOfDay = false; return nil }); err != nil {
				t.Fatal(err)
			}
			noDay := &display.Service{Rules: e.dis.Rules, Clock: e.clock,
				Pay: &pay.Service{Core: empty, Credit: empty, Merchants: e.ms, IDs: &fenfu.RandomIDs{}, Clock: e.clock}}
			if got, err := decide(noDay, e.order(t, 500), display.Ask{}); err != nil || got.Shown || got.Reason.Code != display.AmountBelowMin {
				t.Errorf("first_of_day off: %+v %v, want %s without a read", got, err, display.AmountBelowMin)
			}
		})
	}
}
