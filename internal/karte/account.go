package karte

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// AccountStore keeps the accounts of people and the registrations of API
// clients. It is an optional interface of a Store: the engine keeps them in
// the same database as the record, so that one backup holds both.
//
// The store keeps what it is given. It checks no password, sets no time and
// enforces no policy: package account does all of that, and is the only
// intended caller. Implementations are safe for concurrent use, also by
// several processes on one database.
//
// Updates are optimistic: Version is the number of the stored revision,
// and an update succeeds only on the revision it was read from, so that two
// concurrent logins cannot both count one failed attempt (or both use one
// TOTP code).
type AccountStore interface {
	// CreateAccount stores a new account, with a.Version set to 1. It
	// returns an *Error of Kind Conflict if an account with its ID or its
	// Login exists, and of Kind Invalid if ID or Login is empty.
	CreateAccount(ctx context.Context, a *Account) error

	// Account returns the account with the given ID, or an *Error of Kind
	// NotFound.
	Account(ctx context.Context, id string) (*Account, error)

	// AccountByLogin returns the account with the given login name (as
	// stored: package account keeps them in lower case), or an *Error of
	// Kind NotFound.
	AccountByLogin(ctx context.Context, login string) (*Account, error)

	// UpdateAccount replaces the stored account a.ID with a, if the stored
	// one is still at a.Version; it then stores and sets a.Version+1. It
	// returns an *Error of Kind NotFound if there is no such account, and
	// of Kind Conflict if it has changed since it was read (reread and try
	// again) or if a.Login is another account's.
	UpdateAccount(ctx context.Context, a *Account) error

	// Accounts returns every account, ordered by login name.
	Accounts(ctx context.Context) ([]*Account, error)

	// CreateClient stores a new API client, with c.Version set to 1. It
	// returns an *Error of Kind Conflict if a client with its ID exists,
	// and of Kind Invalid if ID is empty.
	CreateClient(ctx context.Context, c *Client) error

	// Client returns the client with the given ID, or an *Error of Kind
	// NotFound.
	Client(ctx context.Context, id string) (*Client, error)

	// UpdateClient replaces the stored client c.ID with c, under the same
	// rule as UpdateAccount: NotFound, or Conflict if it has changed.
	UpdateClient(ctx context.Context, c *Client) error

	// Clients returns every client, ordered by name, then ID.
	Clients(ctx context.Context) ([]*Client, error)
}

// The roles an account or client may hold. Which role may do what is the
// authoriser's business; these are the names it knows.
const (
	RolePhysician     = "physician"
	RoleNurse         = "nurse"
	RoleTechnologist  = "technologist"
	RoleClerk         = "clerk"
	RoleResearcher    = "researcher"
	RoleAuditor       = "auditor"
	RoleAdministrator = "administrator"
)

// Roles lists the known roles, in the order above.
var Roles = []string{RolePhysician, RoleNurse, RoleTechnologist, RoleClerk, RoleResearcher, RoleAuditor, RoleAdministrator}

// Account is the account of one person: one ID per person, as the MHLW
// guideline asks. Times are UTC; a zero time means "none".
//
// PasswordHash and TOTPSecret are secrets even though neither is the
// password or the key itself: String and LogValue leave them out, so that
// an Account printed or logged never shows them. Listings must not show
// them either.
type Account struct {
	ID     string // opaque and stable; what audit records name
	Login  string // login name, unique, lower case
	Name   string // display name
	Person string // the FHIR resource of the person, e.g. "Practitioner/123"; may be empty
	// Roles are among the Role* constants; Facilities are the ids of the
	// Organizations the person works for.
	Roles      []string
	Facilities []string

	// PasswordHash is the argon2id hash in the PHC string format
	// ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"); empty: no password.
	PasswordHash string
	// TOTPSecret is the TOTP key sealed (AES-256-GCM) by package account
	// with the server's account key, never the key in the clear; empty: no
	// TOTP. TOTPEnabled is set once the person has confirmed it with a
	// code; until then it is an enrolment in progress.
	TOTPSecret  string
	TOTPEnabled bool
	// TOTPLastStep is the time step (Unix time / 30 s) of the last code
	// accepted, so that no code is accepted twice.
	TOTPLastStep int64

	MustChangePassword bool      // set by a one-time password: change it at the next login
	FailedLogins       int       // consecutive failed logins since the last success or lock-out
	LockedUntil        time.Time // no login before this time
	LastLogin          time.Time // last successful login
	Disabled           bool
	ExpiresAt          time.Time // no login from this time on

	Created, Updated time.Time
	Version          int64 // stored revision, see AccountStore
}

// String describes the account without its secrets.
// It has a value receiver so that a value prints the same as a pointer
// (fmt prints a nil pointer as "<nil>").
func (a Account) String() string {
	return fmt.Sprintf("account %s (%s)", a.Login, a.ID)
}

// LogValue implements slog.LogValuer: logs show who, never the secrets.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.ID), slog.String("login", a.Login))
}

// ClientSystem is the kind of a client that acts on its own behalf (a
// departmental system, a batch job), as in SMART Backend Services.
const ClientSystem = "system"

// Client is a registered API client: a system that authenticates with a
// secret (client_secret_basic) or with a JWT signed by its private key
// (private_key_jwt), whose public keys are registered here.
type Client struct {
	ID         string // client_id
	Name       string
	Kind       string // ClientSystem
	Roles      []string
	Facilities []string
	// SecretHash is the argon2id hash of the client secret (PHC string),
	// and JWKS the client's public keys as a JSON Web Key Set; exactly one
	// of them is set.
	SecretHash string
	JWKS       []byte
	Disabled   bool
	ExpiresAt  time.Time // zero: does not expire

	Created, Updated time.Time
	Version          int64 // stored revision, see AccountStore
}

// String describes the client without its secret.
func (c Client) String() string {
	return fmt.Sprintf("client %s (%s)", c.Name, c.ID)
}

// LogValue implements slog.LogValuer: logs show which client, never the
// secret hash.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("name", c.Name))
}
