package account

import (
	"context"

	"kartehub/internal/karte"
)

// AdminLogin is the login name of the account that EnsureAdmin creates.
const AdminLogin = "admin"

// EnsureAdmin creates the first account of a new installation, if there is
// no account at all: login name "admin", role administrator, a random
// one-time password that it returns (print it once; it is kept only as a
// hash) and that must be changed at the first login, where TOTP must be
// enrolled too. When any account exists it does nothing and returns
// created false, with an empty login and password.
//
// Servers starting together on one new database may both call it: one
// creates the account, the others find it and return created false.
func (s *Service) EnsureAdmin(ctx context.Context) (login, oneTimePassword string, created bool, err error) {
	list, err := s.st.Accounts(ctx)
	if err != nil || len(list) > 0 {
		return "", "", false, err
	}
	a, pw, err := s.CreateUser(ctx, NewUser{
		Login: AdminLogin,
		Name:  "Administrator",
		Roles: []string{karte.RoleAdministrator},
	})
	if karte.IsKind(err, karte.Conflict) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	return a.Login, pw, true, nil
}
