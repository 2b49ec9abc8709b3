package admin

import (
	"context"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/merchantuser"
)

// addMerchantOwner answers POST /admin/merchants/{mchid}/users {name,
// password}: the merchant's owner in the merchant portal, made by
// platform staff for a merchant without one (its first, or after it lost
// every owner it had); owners add the merchant's other users. The answer
// carries the owner's TOTP secret, shown once.
func (a *API) addMerchantOwner(ctx context.Context, c *call) (any, error) {
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	en, err := a.MerchantUsers.AddOwner(ctx, c.Staff, merchantuser.NewUser{MchID: c.PathValue("mchid"), Name: in.Name, Password: in.Password})
	if err == nil {
		a.Log.Info("merchant owner added", "merchant_user", en.User.Actor(), "by", c.Staff)
	}
	return en, err
}

// merchantUsers answers GET /admin/merchants/{mchid}/users: the
// merchant's users of the portal, never a secret.
func (a *API) merchantUsers(ctx context.Context, c *call) (any, error) {
	list, err := a.MerchantUsers.List(ctx, c.PathValue("mchid"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"mchid": c.PathValue("mchid"), "users": list}, nil
}

// disableMerchantUser answers POST /admin/merchants/{mchid}/users/{name}/disable
// {reason}: the user can no longer log in to the portal and its sessions
// end. Staff may disable a merchant's last owner (one who lost the phone
// with the second factor), and then make it a new one.
func (a *API) disableMerchantUser(ctx context.Context, c *call) (any, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return nil, fenfu.FieldError("reason", "say why the merchant's user is disabled; it is recorded")
	}
	if err := a.MerchantUsers.DisableByStaff(ctx, c.Staff, c.PathValue("mchid"), c.PathValue("name")); err != nil {
		return nil, err
	}
	return map[string]any{"mchid": c.PathValue("mchid"), "name": c.PathValue("name"), "disabled": true}, nil
}
