package doctor

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
)

func TestClockCheck(t *testing.T) {
	for _, c := range []struct {
		skew time.Duration
		v    Verdict
		what string
	}{
		{0, Pass, "0s behind"}, {59 * time.Second, Pass, "59s behind"}, {-60 * time.Second, Pass, "1m0s ahead of"},
		{61 * time.Second, Warn, "1m1s behind"}, {-5 * time.Minute, Warn, "5m0s ahead of"},
		{5*time.Minute + time.Second, Fail, "5m1s behind"}, {-time.Hour, Fail, "1h0m0s ahead of"},
	} {
		got := ClockCheck(c.skew, 5*time.Minute, catalog.EN)
		if got.Verdict != c.v || !strings.Contains(got.Detail, c.what) || (c.v != Pass) != (got.Code == fenfu.ClockSkew) {
			t.Errorf("skew %s: %+v, want %s saying %q", c.skew, got, c.v, c.what)
		}
	}
	if zh := ClockCheck(time.Hour, 5*time.Minute, catalog.ZH); !strings.Contains(zh.Remedy, "NTP") || zh.Help != "/errors#CLOCK_SKEW" {
		t.Errorf("in Chinese: %+v", zh)
	}
}

func TestExpiry(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	cert := func(from, to time.Time) []*x509.Certificate {
		return []*x509.Certificate{{Subject: pkix.Name{CommonName: "shop"}, NotBefore: from, NotAfter: to}}
	}
	day := 24 * time.Hour
	for _, c := range []struct {
		certs []*x509.Certificate
		v     Verdict
		code  fenfu.Code
		what  string
	}{
		{cert(now.Add(-day), now.Add(31*day)), Pass, "", "valid until 2027-01-07, 31 days"},
		{cert(now.Add(-day), now.Add(29*day)), Warn, fenfu.NotifyTLSExpiring, "expires on 2027-01-05, in 29 days"},
		{cert(now.Add(-9*day), now.Add(-2*day)), Fail, fenfu.NotifyTLSExpired, "expired on 2026-12-05, 2 days ago"},
		{cert(now.Add(day), now.Add(90*day)), Fail, fenfu.NotifyTLSExpired, "not valid until 2026-12-08"},
		{nil, Skip, "", "no certificate"},
	} {
		got := expiry(c.certs, now, catalog.EN)
		if got.Verdict != c.v || got.Code != c.code || !strings.Contains(got.Detail, c.what) {
			t.Errorf("%+v, want %s %s %q", got, c.v, c.code, c.what)
		}
	}
}

func TestJudge(t *testing.T) {
	r := Report{Checks: []Check{{Verdict: Pass}, {Verdict: Skip}}}
	if r.Judge(); r.Verdict != Pass {
		t.Errorf("pass and skip: %s", r.Verdict)
	}
	r.Checks = append(r.Checks, Check{Verdict: Warn})
	if r.Judge(); r.Verdict != Warn {
		t.Errorf("with a warning: %s", r.Verdict)
	}
	r.Checks = append(r.Checks, Check{Verdict: Fail}, Check{Verdict: Warn})
	if r.Judge(); r.Verdict != Fail {
		t.Errorf("with a failure: %s", r.Verdict)
	}
}

// TestOneRunAtATime: a merchant's request while its checks run is
// refused, and the refusal does not end the running checks' turn.
func TestOneRunAtATime(t *testing.T) {
	d := &Doctor{Clock: fenfu.SystemClock{}}
	d.running.Store("1900000001", struct{}{})
	if _, err := d.Run(t.Context(), Subject{MchID: "1900000001"}, catalog.EN); fenfu.ErrorCode(err) != fenfu.FrequencyLimited {
		t.Errorf("a second run: %v", err)
	}
	if _, ok := d.running.Load("1900000001"); !ok {
		t.Error("the refused request ended the running checks' turn")
	}
}
