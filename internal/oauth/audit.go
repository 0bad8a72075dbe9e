package oauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"kartehub/internal/account"
	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// The identifier systems of the people in audit events: the account's
// opaque id when the account is known, else the login name as typed.
const (
	AccountSystem = "urn:kartehub:account"
	LoginSystem   = "urn:kartehub:login"
	RoleSystem    = "urn:kartehub:role"
)

// recordTimeout bounds the wait for the audit trail; the request's own
// context is not used, so that a client hanging up does not lose the
// event.
const recordTimeout = 10 * time.Second

// record sends e to the audit trail, with the address and user agent of
// r. A failure is logged and returned: the caller must not grant what it
// could not record.
func (p *Provider) record(r *http.Request, e *audit.Event) error {
	if e.Client == nil {
		e.Client = &audit.Client{}
	}
	e.Client.Address = remoteIP(r)
	e.Client.UserAgent = r.UserAgent()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), recordTimeout)
	defer cancel()
	err := p.rec.Record(ctx, e)
	if err != nil {
		p.log.Error("oauth: audit record failed", "type", e.Type, "outcome", e.Outcome, "err", err)
	}
	return err
}

// remoteIP is the address of the peer: the IP of the TCP connection, not
// a forwarded header that anyone may set.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// auditUser describes an account's person for audit.
func auditUser(u sessionUser, roles []string) *audit.User {
	au := &audit.User{Reference: u.person, System: AccountSystem, ID: u.accountID, Name: u.name}
	if u.name != "" && u.login != "" {
		au.Name = fmt.Sprintf("%s (%s)", u.name, u.login)
	}
	for _, r := range roles {
		au.Roles = append(au.Roles, audit.Coding{System: RoleSystem, Code: r, Display: r})
	}
	return au
}

// userOf is who an account is, for sessions and audit.
func userOf(a *karte.Account, authTime time.Time) sessionUser {
	return sessionUser{accountID: a.ID, login: a.Login, name: a.Name, person: a.Person, authTime: authTime}
}

// failedUser describes the person of a failed login: the account if the
// login name was known, otherwise the name as typed (which may be a
// mistyped password: it goes to the audit trail only, never to logs).
func failedUser(err error, typed string) (*audit.User, string) {
	var ae *account.AuthError
	if !errors.As(err, &ae) {
		return &audit.User{System: LoginSystem, ID: typed}, "login failed: " + err.Error()
	}
	desc := "login failed: " + string(ae.Reason)
	if ae.Locked {
		desc += fmt.Sprintf(" (account locked until %s)", ae.LockedUntil.UTC().Format(time.RFC3339))
	}
	if ae.AccountID != "" {
		return &audit.User{System: AccountSystem, ID: ae.AccountID, Name: ae.Login}, desc
	}
	return &audit.User{System: LoginSystem, ID: ae.Login}, desc
}

// clientFailure describes a refused client authentication.
func clientFailure(err error) string {
	var ae *account.AuthError
	if errors.As(err, &ae) {
		return string(ae.Reason)
	}
	return err.Error()
}
