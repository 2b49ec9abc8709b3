package main

import (
	"slices"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/retention"
)

// TestHoldPlacedDuringRetentionRun: a legal hold placed while a run goes
// on keeps its subject from the next batch on.
func TestHoldPlacedDuringRetentionRun(t *testing.T) {
	ctx := t.Context()
	clock := fenfu.NewFakeClock(time.Date(2020, 3, 1, 10, 0, 0, 0, fenfu.Shanghai))
	a := openTest(t, testConfig(t), clock)
	var ids []string
	for range 3 {
		c, _, err := a.consumers.Create(ctx, consumer.NewConsumer{CreditLimit: 1000_00, Rating: "A"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.repay.ChangeLine(ctx, c.ID, "staff:li.wei", repay.LineRequest{Close: true, Reason: "contract ended"}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	clock.Set(time.Date(2040, 3, 1, 10, 0, 0, 0, fenfu.Shanghai))
	a.retention.Batch = 1
	held := map[string]bool{}
	_, err := a.retention.Run(ctx, retention.Options{Progress: func(table string, seen int) {
		if table != "consumers" || seen != 1 {
			return
		}
		remembered, err := a.consumers.Remembered(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range remembered {
			if _, err := a.retention.Place(ctx, retention.NewHold{Kind: retention.OnConsumer, Subject: id, Reason: "court order 12"}, "staff:li.wei"); err != nil {
				t.Fatal(err)
			}
			held[id] = true
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 2 {
		t.Fatalf("%d holds placed after the first consumer was forgotten, want 2", len(held))
	}
	remembered, err := a.consumers.Remembered(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for id := range held {
		if !slices.Contains(remembered, id) {
			t.Errorf("consumer %s was forgotten after a legal hold on it was placed", id)
		}
	}
}
