package admin

import (
	"context"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/sandbox"
)

// The routes of the sandbox clock (in Routes). A deployment without one
// shows the system's time and refuses to advance it.

func (a *API) sandboxClock(ctx context.Context, c *call) (any, error) {
	if a.SandboxClock == nil {
		return sandbox.State{Now: a.Clock.Now().In(fenfu.Shanghai), Offset: "0s"}, nil
	}
	return a.SandboxClock.Show(ctx)
}

// advanceClock moves the sandbox clock forward and answers, once it is
// done, what every job did on every day it crossed.
func (a *API) advanceClock(ctx context.Context, c *call) (any, error) {
	if a.SandboxClock == nil {
		return nil, sandbox.Off()
	}
	var req sandbox.AdvanceRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	out, err := a.SandboxClock.Advance(ctx, req, nil)
	if err == nil {
		a.Log.Info("sandbox clock advanced", "staff", c.Staff, "from", out.From, "to", out.To, "days", len(out.Days), "resumed", out.Resumed)
	}
	return out, err
}
