package main

import (
	"context"
	"fmt"

	"github.com/fenfu/fenfu/merchantuser"
)

// cmdMerchantUsers makes a merchant's owner in the merchant portal (add),
// as platform staff do with POST /admin/merchants/{mchid}/users, lists a
// merchant's users (list), and, as staff, changes a user's role (role),
// gives it a temporary password (reset-password) or clears its second
// factor for enrolment anew (reset-totp), on the core store directly;
// what it changes is recorded under --actor or the OS user.
func cmdMerchantUsers(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	sub := e.sub()
	mchid := fs.String("mchid", "", "the merchant")
	var name, pwFile, role string
	var actor *string
	if sub != "list" {
		fs.StringVar(&name, "name", "", "the user's name (lower-case letters, digits, '.', '_', '-')")
		actor = actorFlag(fs)
	}
	switch sub {
	case "add":
		fs.StringVar(&pwFile, "password-file", "", "a file holding the password (default: one is generated and printed once)")
	case "role":
		fs.StringVar(&role, "role", "", "the new role: owner, finance, developer or support")
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	required := []string{"mchid"}
	switch sub {
	case "list":
	case "role":
		required = append(required, "name", "role")
	default:
		required = append(required, "name")
	}
	if err := e.require(fs, required...); err != nil {
		return err
	}
	password, generated := "", false
	if sub == "add" {
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
	users := a.merchantUsers
	switch sub {
	case "list":
		list, err := users.List(ctx, *mchid)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, list)
	case "role":
		if err := users.SetRoleByStaff(ctx, cliActor(*actor), *mchid, name, merchantuser.Role(role)); err != nil {
			return err
		}
		u, err := users.Get(ctx, *mchid, name)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, u)
	case "reset-password":
		temp, err := users.ResetPasswordByStaff(ctx, cliActor(*actor), *mchid, name)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "The temporary password is shown only now: give it to the user, who must choose its own when it logs in at /portal/login. The user's sessions have ended.")
		return printJSON(e.stdout, map[string]any{"mchid": *mchid, "name": name, "temporary_password": temp})
	case "reset-totp":
		if err := users.ResetTOTPByStaff(ctx, cliActor(*actor), *mchid, name); err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "The user's second factor is cleared and its sessions have ended: its next login at /portal/login takes the password alone and enrols a new authenticator.")
		u, err := users.Get(ctx, *mchid, name)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, u)
	}
	en, err := users.AddOwner(ctx, cliActor(*actor), merchantuser.NewUser{MchID: *mchid, Name: name, Password: password})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "The TOTP secret (and the password, if generated) is shown only now: give them to the owner, who adds them to an authenticator app and logs in at /portal/login.")
	res := map[string]any{"user": en.User, "totp_secret": en.TOTPSecret, "totp_url": en.TOTPURL}
	if generated {
		res["password"] = password
	}
	return printJSON(e.stdout, res)
}
