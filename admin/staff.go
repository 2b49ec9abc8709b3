package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/mask"
)

// The staff's own routes: logging in and out, their tokens, the policy,
// staff accounts, and unmasking one field of one record.

// login answers POST /admin/login {name, password, totp} with a session
// token and when it expires.
func (a *API) login(r *http.Request) (access.Token, error) {
	if a.Access == nil {
		_, err := a.Member(r.Context(), "")
		return access.Token{}, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 4<<10))
	if err != nil {
		return access.Token{}, fenfu.Errorf(fenfu.ParamError, "the request body is too large or unreadable")
	}
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
		TOTP     string `json:"totp"`
	}
	if err := decode(&call{Body: body}, &in); err != nil {
		return access.Token{}, err
	}
	return a.Access.Login(r.Context(), in.Name, in.Password, in.TOTP, r.RemoteAddr)
}

// logout ends the session (or token) the member was named by: the
// request's, or the console's session in-process (API.Do).
func (a *API) logout(ctx context.Context, c *call) (any, error) {
	if err := a.Access.Logout(ctx, c.token); err != nil {
		return nil, err
	}
	return map[string]any{"logged_out": true}, nil
}

// me answers who the request's token is and what the policy lets them do.
func (a *API) me(ctx context.Context, c *call) (any, error) {
	return map[string]any{"staff": c.Who, "permissions": c.Policy.Of(c.Who), "clear": c.Clear}, nil
}

// tokenRequest is the body of a token's creation: {label, ttl_hours}.
type tokenRequest struct {
	Label string `json:"label"`
	Hours int    `json:"ttl_hours"`
}

func (a *API) newToken(ctx context.Context, c *call, name string) (any, error) {
	var in tokenRequest
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if in.Hours == 0 {
		in.Hours = 90 * 24
	}
	t, err := a.Access.CreateToken(ctx, c.Staff, name, in.Label, time.Duration(in.Hours)*time.Hour)
	if err == nil {
		a.Log.Info("staff API token created", "staff", name, "token", t.ID, "by", c.Staff)
	}
	return t, err
}

// createOwnToken makes a personal API token of the caller's.
func (a *API) createOwnToken(ctx context.Context, c *call) (any, error) {
	return a.newToken(ctx, c, c.Who.Name)
}

// staffCreateToken makes a personal API token of another member's, for
// a director only: whoever holds a token acts as its member, so making
// one for someone else is taking on their rights.
func (a *API) staffCreateToken(ctx context.Context, c *call) (any, error) {
	name := c.PathValue("name")
	if _, err := a.Access.Get(ctx, name); err != nil {
		return nil, err
	}
	if name != c.Who.Name && c.Who.Rank != access.Director {
		e := fenfu.Errorf(fenfu.Forbidden, "staff member %s may not make an API token of %s's", c.Who.Name, name)
		e.Remedy = "Members make their own tokens (POST /admin/tokens); only a director makes one for someone else."
		return nil, e
	}
	return a.newToken(ctx, c, name)
}

// outranks refuses a change by who to another member, target, unless who
// is a director or of a higher rank than target: staff manage only those
// below them.
func (a *API) outranks(ctx context.Context, who access.Staff, target, what string) error {
	if target == who.Name {
		return nil
	}
	t, err := a.Access.Get(ctx, target)
	if err != nil {
		return err
	}
	if who.Rank == access.Director || (who.Rank.AtLeast(t.Rank) && who.Rank != t.Rank) {
		return nil
	}
	e := fenfu.Errorf(fenfu.Forbidden, "staff member %s (%s) may not %s %s (%s)", who.Name, who.Rank, what, t.Name, t.Rank)
	e.Remedy = "Ask a director, or a member of a rank above theirs."
	return e
}

func (a *API) staffTokens(ctx context.Context, c *call) (any, error) {
	list, err := a.Access.Tokens(ctx, c.PathValue("name"))
	return map[string]any{"tokens": list}, err
}

// revokeToken revokes a token of the caller's own, or anyone's for those
// who manage staff.
func (a *API) revokeToken(ctx context.Context, c *call) (any, error) {
	id := c.PathValue("id")
	owner, err := a.Access.TokenOwner(ctx, id)
	if err != nil {
		return nil, err
	}
	if owner != c.Who.Name && !c.Policy.Allows(c.Who, access.StaffAdmin) {
		return nil, c.Policy.Forbidden(c.Who, access.StaffAdmin)
	}
	if err := a.outranks(ctx, c.Who, owner, "revoke a token of"); err != nil {
		return nil, err
	}
	if err := a.Access.RevokeToken(ctx, id); err != nil {
		return nil, err
	}
	a.Log.Info("staff token revoked", "token", id, "staff", owner, "by", c.Staff)
	return map[string]any{"id": id, "revoked": true}, nil
}

func (a *API) policy(ctx context.Context, c *call) (any, error) {
	return a.currentPolicy(ctx)
}

// grant grants a permission to a department from a rank up: {permission,
// department, min_rank}.
func (a *API) grant(ctx context.Context, c *call) (any, error) {
	var g access.Grant
	if err := decode(c, &g); err != nil {
		return nil, err
	}
	if err := a.Access.SetGrant(ctx, c.Staff, g); err != nil {
		return nil, err
	}
	a.Log.Info("access policy changed", "permission", g.Permission, "department", g.Department, "min_rank", g.MinRank, "by", c.Staff)
	return a.currentPolicy(ctx)
}

// removeGrant takes a permission from a department: {permission,
// department}.
func (a *API) removeGrant(ctx context.Context, c *call) (any, error) {
	var g access.Grant
	if err := decode(c, &g); err != nil {
		return nil, err
	}
	if err := a.Access.RemoveGrant(ctx, g.Permission, g.Department); err != nil {
		return nil, err
	}
	a.Log.Info("access policy changed", "permission", g.Permission, "department", g.Department, "removed", true, "by", c.Staff)
	return a.currentPolicy(ctx)
}

func (a *API) currentPolicy(ctx context.Context) (any, error) {
	p, err := a.Access.Policy(ctx)
	return map[string]any{"policy": p, "permissions": access.Permissions}, err
}

func (a *API) staffList(ctx context.Context, c *call) (any, error) {
	list, err := a.Access.List(ctx)
	return map[string]any{"staff": list}, err
}

// staffAdd adds a member: {name, department, rank, password}; it answers
// the TOTP secret once. Only a director adds a director, and no one adds
// a member above their own rank.
func (a *API) staffAdd(ctx context.Context, c *call) (any, error) {
	var in struct {
		Name       string `json:"name"`
		Department string `json:"department"`
		Rank       string `json:"rank"`
		Password   string `json:"password"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	n := access.NewStaff{Name: in.Name, Department: access.Department(in.Department), Rank: access.Rank(in.Rank), Password: in.Password}
	// Below a director, members add only to their own department and at
	// most their own rank, so no one can make an account that may do or
	// see more than they may.
	known := slices.Contains(access.Departments, n.Department) && slices.Contains(access.Ranks, n.Rank) // else Add says what is wrong
	if known && c.Who.Rank != access.Director && (n.Rank == access.Director || !c.Who.Rank.AtLeast(n.Rank) || n.Department != c.Who.Department) {
		e := fenfu.Errorf(fenfu.Forbidden, "staff member %s (%s %s) may not add a %s %s", c.Who.Name, c.Who.Department, c.Who.Rank, n.Department, n.Rank)
		e.Remedy = "Ask a director to add members to another department or of a rank above your own."
		return nil, e
	}
	en, err := a.Access.Add(ctx, c.Staff, n)
	if err == nil {
		a.Log.Info("staff member added", "name", n.Name, "department", n.Department, "rank", n.Rank, "by", c.Staff)
	}
	return en, err
}

func (a *API) staffDisable(ctx context.Context, c *call) (any, error) {
	name := c.PathValue("name")
	if err := a.outranks(ctx, c.Who, name, "disable"); err != nil {
		return nil, err
	}
	if err := a.Access.Disable(ctx, c.Staff, name); err != nil {
		return nil, err
	}
	a.Log.Info("staff member disabled", "name", name, "by", c.Staff)
	return map[string]any{"name": name, "disabled": true}, nil
}

func (a *API) unmaskings(ctx context.Context, c *call) (any, error) {
	list, err := a.Access.Unmaskings(ctx, c.URL.Query().Get("staff"), 0)
	return map[string]any{"unmaskings": list}, err
}

// readers are the records a field can be unmasked of, by kind: each reads
// the record in the clear.
func (a *API) readers() map[string]reader {
	return map[string]reader{
		"application": {scope: access.Onboarding, read: func(ctx context.Context, id string) (any, error) { return a.Onboard.GetClear(ctx, id) }},
		"consumer": {scope: access.Consumers, read: func(ctx context.Context, id string) (any, error) {
			if a.Consumers == nil {
				return nil, fenfu.Errorf(fenfu.ResourceNotExists, "this server does not look up consumers")
			}
			found, err := a.Consumers.Get(ctx, id)
			return map[string]any{"consumer": found}, err
		}},
	}
}

// reader reads a kind of record in the clear, for those whose scope,
// the permission that reads the record at all, it is in.
type reader struct {
	scope access.Permission
	read  func(ctx context.Context, id string) (any, error)
}

// unmask answers one masked field of one record in the clear and records
// who asked, for what and why: {kind, id, field, reason}, field a path of
// JSON names such as application.legal_person.phone.
func (a *API) unmask(ctx context.Context, c *call) (any, error) {
	var in struct {
		Kind   string `json:"kind"`
		ID     string `json:"id"`
		Field  string `json:"field"`
		Reason string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return nil, fenfu.FieldError("reason", "say why the field is needed in the clear; it is recorded")
	}
	read, ok := a.readers()[in.Kind]
	if !ok {
		return nil, fenfu.FieldError("kind", "kind must be application or consumer")
	}
	// Unmasking shows a field of a record the caller must be allowed to
	// read at all: its scope first, then the clear value.
	if !c.Policy.Allows(c.Who, read.scope) {
		return nil, c.Policy.Forbidden(c.Who, read.scope)
	}
	path := strings.Split(in.Field, ".")
	parent := ""
	if len(path) > 1 {
		parent = path[len(path)-2]
	}
	if in.Field == "" || mask.Field(parent, path[len(path)-1]) == nil {
		return nil, fenfu.FieldError("field", "field %q is not masked: name a masked field by its JSON path, such as application.legal_person.phone", in.Field)
	}
	rec, err := read.read(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	value, ok := lookup(rec, path)
	if !ok {
		return nil, fenfu.Errorf(fenfu.ResourceNotExists, "%s %s has no field %s", in.Kind, in.ID, in.Field)
	}
	rc := a.Unmaskings
	if rc == nil {
		rc = a.Access
	}
	if err := rc.RecordUnmasking(ctx, access.Unmasking{Staff: c.Who.Name, Kind: in.Kind, Record: in.ID, Field: in.Field, Reason: in.Reason}); err != nil {
		return nil, err
	}
	a.Log.Info("field unmasked", "kind", in.Kind, "id", in.ID, "field", in.Field, "staff", c.Who.Name)
	// The answer is the clear value whoever asks: it is what was asked for.
	c.Clear = true
	return map[string]any{"kind": in.Kind, "id": in.ID, "field": in.Field, "value": value}, nil
}

// lookup finds a string at a path of JSON names in v's JSON.
func lookup(v any, path []string) (string, bool) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var tree any
	if d.Decode(&tree) != nil {
		return "", false
	}
	for _, p := range path {
		m, ok := tree.(map[string]any)
		if !ok {
			return "", false
		}
		tree = m[p]
	}
	s, ok := tree.(string)
	return s, ok
}
