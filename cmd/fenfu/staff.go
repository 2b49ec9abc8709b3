package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/fenfu/fenfu/access"
)

// staffFlags are the flags each staff command takes, and which of them it
// requires.
var staffFlags = map[string]struct{ takes, required []string }{
	"bootstrap": {[]string{"name", "password-file"}, []string{"name"}},
	"add":       {[]string{"name", "department", "rank", "password-file", "actor"}, []string{"name", "department", "rank"}},
	"list":      {nil, nil},
	"disable":   {[]string{"name", "actor"}, []string{"name"}},
	"token":     {[]string{"name", "label", "ttl", "id", "actor"}, nil},
	"policy":    {[]string{"permission", "department", "rank", "actor"}, nil},
}

// cmdStaff manages staff accounts, their API tokens and the access policy
// on the core store directly, as the staff API does over HTTP for
// directors; what it changes is recorded under --actor or the OS user.
func cmdStaff(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	sub := e.sub()
	f := staffFlags[sub]
	var name, dept, rank, pwFile, actor, label, id, perm string
	var ttl time.Duration
	stringFlag(fs, f.takes, &name, "name", "the staff member's name (lower-case letters, digits, '.', '_', '-')")
	stringFlag(fs, f.takes, &dept, "department", "risk, operations, finance, support or engineering")
	stringFlag(fs, f.takes, &rank, "rank", "staff, supervisor, manager or director")
	stringFlag(fs, f.takes, &pwFile, "password-file", "a file holding the password (default: one is generated and printed once)")
	stringFlag(fs, f.takes, &actor, "actor", "who acts, recorded with the change (default: the OS user)")
	stringFlag(fs, f.takes, &label, "label", "what the token is for")
	stringFlag(fs, f.takes, &id, "id", "the token's id")
	stringFlag(fs, f.takes, &perm, "permission", "the permission (GET /admin/policy lists them)")
	if slices.Contains(f.takes, "ttl") {
		fs.DurationVar(&ttl, "ttl", 90*24*time.Hour, "how long the token lasts")
	}
	// token and policy take an action word, before or after the flags.
	action := ""
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if (sub == "token" || sub == "policy") && fs.NArg() > 0 {
		action = fs.Arg(0)
		if err := e.parse(fs, fs.Args()[1:]); err != nil {
			return err
		}
	}
	if err := e.args(fs); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return e.usagef("%v", err)
	}
	if err := e.require(fs, f.required...); err != nil {
		return err
	}
	switch sub {
	case "token":
		if !slices.Contains([]string{"create", "revoke", "list"}, action) {
			return e.usagef("staff token takes create, revoke or list")
		}
		need := map[string][]string{"create": {"name"}, "revoke": {"id"}, "list": {"name"}}[action]
		if err := e.require(fs, need...); err != nil {
			return err
		}
	case "policy":
		if !slices.Contains([]string{"", "list", "grant", "revoke"}, action) {
			return e.usagef("staff policy takes list, grant or revoke")
		}
		need := map[string][]string{"grant": {"permission", "department", "rank"}, "revoke": {"permission", "department"}}[action]
		if err := e.require(fs, need...); err != nil {
			return err
		}
	}
	if actor == "" {
		actor = e.getenv("USER")
		if actor == "" {
			actor = "unknown"
		}
	}
	actor = "cli:" + actor
	password, generated := "", false
	if sub == "bootstrap" || sub == "add" {
		var err error
		if password, generated, err = readPassword(pwFile); err != nil {
			return err
		}
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	var out any
	switch sub {
	case "bootstrap", "add":
		var en access.Enrollment
		if sub == "bootstrap" {
			en, err = a.access.Bootstrap(ctx, actor, name, password)
		} else {
			en, err = a.access.Add(ctx, actor, access.NewStaff{Name: name, Department: access.Department(dept), Rank: access.Rank(rank), Password: password})
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "The TOTP secret (and the password, if generated) is shown only now: add it to an authenticator app.")
		res := map[string]any{"staff": en.Staff, "totp_secret": en.TOTPSecret, "totp_url": en.TOTPURL}
		if generated {
			res["password"] = password
		}
		out = res
	case "list":
		out, err = a.access.List(ctx)
	case "disable":
		err = a.access.Disable(ctx, actor, name)
		out = map[string]any{"name": name, "disabled": true}
	case "token":
		switch action {
		case "create":
			out, err = a.access.CreateToken(ctx, actor, name, label, ttl)
		case "revoke":
			err = a.access.RevokeToken(ctx, id)
			out = map[string]any{"id": id, "revoked": true}
		case "list":
			out, err = a.access.Tokens(ctx, name)
		}
	case "policy":
		switch action {
		case "grant":
			err = a.access.SetGrant(ctx, actor, access.Grant{Permission: access.Permission(perm), Department: access.Department(dept), MinRank: access.Rank(rank)})
		case "revoke":
			err = a.access.RemoveGrant(ctx, access.Permission(perm), access.Department(dept))
		}
		if err == nil {
			out, err = a.access.Policy(ctx)
		}
	}
	if err != nil {
		return err
	}
	return printJSON(e.stdout, out)
}

// readPassword reads a new account's password from --password-file, or
// generates one (generated), which the command prints once.
func readPassword(file string) (password string, generated bool, err error) {
	if file == "" {
		return rand.Text(), true, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", false, err
	}
	return strings.TrimRight(string(b), "\r\n"), false, nil
}
