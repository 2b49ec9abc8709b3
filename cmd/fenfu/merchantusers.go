package main

import (
	"context"
	"fmt"

	"github.com/fenfu/fenfu/merchantuser"
)

// cmdMerchantUsers makes a merchant's owner in the merchant portal (add),
// as platform staff do with POST /admin/merchants/{mchid}/users, and
// lists a merchant's users (list), on the core store directly; what it
// makes is recorded under --actor or the OS user.
func cmdMerchantUsers(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	add := e.sub() == "add"
	mchid := fs.String("mchid", "", "the merchant")
	var name, pwFile string
	var actor *string
	if add {
		fs.StringVar(&name, "name", "", "the owner's user name (lower-case letters, digits, '.', '_', '-')")
		fs.StringVar(&pwFile, "password-file", "", "a file holding the password (default: one is generated and printed once)")
		actor = actorFlag(fs)
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	required := []string{"mchid"}
	if add {
		required = append(required, "name")
	}
	if err := e.require(fs, required...); err != nil {
		return err
	}
	password, generated := "", false
	if add {
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
	if !add {
		list, err := a.merchantUsers.List(ctx, *mchid)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, list)
	}
	en, err := a.merchantUsers.AddOwner(ctx, cliActor(*actor), merchantuser.NewUser{MchID: *mchid, Name: name, Password: password})
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
