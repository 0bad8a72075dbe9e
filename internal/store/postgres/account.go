package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"kartehub/internal/karte"
)

var _ karte.AccountStore = (*Store)(nil)

const accountColumns = `id, login, name, person, roles, facilities, password_hash, totp_secret,
	totp_enabled, totp_last_step, must_change_password, failed_logins, locked_until, last_login,
	disabled, expires_at, created, updated, version`

const clientColumns = `id, name, kind, roles, facilities, secret_hash, jwks, disabled, expires_at,
	created, updated, version`

// CreateAccount implements karte.AccountStore.
func (s *Store) CreateAccount(ctx context.Context, a *karte.Account) error {
	if a.ID == "" || a.Login == "" {
		return karte.Errorf(karte.Invalid, "create account: the id and the login name are required")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO account (`+accountColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 1)`, accountArgs(a)...)
	if uniqueViolation(err) {
		return karte.Errorf(karte.Conflict, "account %q: the id or the login name %q is taken", a.ID, a.Login)
	}
	if err != nil {
		return dbError(err, "create account %q", a.Login)
	}
	a.Version = 1
	return nil
}

// UpdateAccount implements karte.AccountStore.
func (s *Store) UpdateAccount(ctx context.Context, a *karte.Account) error {
	args := append(accountArgs(a), a.Version)
	tag, err := s.pool.Exec(ctx, `UPDATE account SET login = $2, name = $3, person = $4, roles = $5,
	facilities = $6, password_hash = $7, totp_secret = $8, totp_enabled = $9, totp_last_step = $10,
	must_change_password = $11, failed_logins = $12, locked_until = $13, last_login = $14,
	disabled = $15, expires_at = $16, created = $17, updated = $18, version = version + 1
WHERE id = $1 AND version = $19`, args...)
	if uniqueViolation(err) {
		return karte.Errorf(karte.Conflict, "account %q: the login name %q is taken", a.ID, a.Login)
	}
	if err != nil {
		return dbError(err, "update account %q", a.Login)
	}
	if tag.RowsAffected() == 0 {
		return s.staleOrMissing(ctx, "account", a.ID, a.Version)
	}
	a.Version++
	return nil
}

// staleOrMissing explains why an optimistic update changed no row.
func (s *Store) staleOrMissing(ctx context.Context, table, id string, version int64) error {
	var have int64
	err := s.pool.QueryRow(ctx, `SELECT version FROM `+table+` WHERE id = $1`, id).Scan(&have)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return karte.Errorf(karte.NotFound, "%s %q is not known", table, id)
	case err != nil:
		return dbError(err, "%s %q", table, id)
	}
	return karte.Errorf(karte.Conflict, "%s %q has changed (revision %d, not %d): read it again", table, id, have, version)
}

func accountArgs(a *karte.Account) []any {
	return []any{a.ID, a.Login, a.Name, a.Person, textArray(a.Roles), textArray(a.Facilities),
		a.PasswordHash, a.TOTPSecret, a.TOTPEnabled, a.TOTPLastStep, a.MustChangePassword,
		a.FailedLogins, nullMilli(a.LockedUntil), nullMilli(a.LastLogin), a.Disabled,
		nullMilli(a.ExpiresAt), milliOrZero(a.Created), milliOrZero(a.Updated)}
}

func scanAccount(row pgx.Row) (*karte.Account, error) {
	var a karte.Account
	var locked, last, expires *int64
	var created, updated int64
	err := row.Scan(&a.ID, &a.Login, &a.Name, &a.Person, &a.Roles, &a.Facilities,
		&a.PasswordHash, &a.TOTPSecret, &a.TOTPEnabled, &a.TOTPLastStep, &a.MustChangePassword,
		&a.FailedLogins, &locked, &last, &a.Disabled, &expires, &created, &updated, &a.Version)
	if err != nil {
		return nil, err
	}
	a.Roles, a.Facilities = emptyToNil(a.Roles), emptyToNil(a.Facilities)
	a.LockedUntil, a.LastLogin, a.ExpiresAt = milliTime(locked), milliTime(last), milliTime(expires)
	a.Created, a.Updated = milliTime(&created), milliTime(&updated)
	return &a, nil
}

// Account implements karte.AccountStore.
func (s *Store) Account(ctx context.Context, id string) (*karte.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM account WHERE id = $1`, id))
	return accountRow(a, err, "account %q is not known", id)
}

// AccountByLogin implements karte.AccountStore.
func (s *Store) AccountByLogin(ctx context.Context, login string) (*karte.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM account WHERE login = $1`, login))
	return accountRow(a, err, "no account has the login name %q", login)
}

// accountRow maps no row to NotFound and other errors to dbError.
func accountRow[T any](v *T, err error, notFound, key string) (*T, error) {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, karte.Errorf(karte.NotFound, notFound, key)
	case err != nil:
		return nil, dbError(err, "read %q", key)
	}
	return v, nil
}

// Accounts implements karte.AccountStore.
func (s *Store) Accounts(ctx context.Context) ([]*karte.Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accountColumns+` FROM account ORDER BY login COLLATE "C"`)
	if err != nil {
		return nil, dbError(err, "list accounts")
	}
	defer rows.Close()
	var list []*karte.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, dbError(err, "list accounts")
		}
		list = append(list, a)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "list accounts")
	}
	return list, nil
}

// CreateClient implements karte.AccountStore.
func (s *Store) CreateClient(ctx context.Context, c *karte.Client) error {
	if c.ID == "" {
		return karte.Errorf(karte.Invalid, "create client: the client id is required")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_client (`+clientColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1)`, clientArgs(c)...)
	if uniqueViolation(err) {
		return karte.Errorf(karte.Conflict, "client %q exists", c.ID)
	}
	if err != nil {
		return dbError(err, "create client %q", c.Name)
	}
	c.Version = 1
	return nil
}

// UpdateClient implements karte.AccountStore.
func (s *Store) UpdateClient(ctx context.Context, c *karte.Client) error {
	args := append(clientArgs(c), c.Version)
	tag, err := s.pool.Exec(ctx, `UPDATE api_client SET name = $2, kind = $3, roles = $4, facilities = $5,
	secret_hash = $6, jwks = $7, disabled = $8, expires_at = $9, created = $10, updated = $11,
	version = version + 1
WHERE id = $1 AND version = $12`, args...)
	if err != nil {
		return dbError(err, "update client %q", c.ID)
	}
	if tag.RowsAffected() == 0 {
		return s.staleOrMissing(ctx, "api_client", c.ID, c.Version)
	}
	c.Version++
	return nil
}

func clientArgs(c *karte.Client) []any {
	return []any{c.ID, c.Name, c.Kind, textArray(c.Roles), textArray(c.Facilities), c.SecretHash, c.JWKS,
		c.Disabled, nullMilli(c.ExpiresAt), milliOrZero(c.Created), milliOrZero(c.Updated)}
}

func scanClient(row pgx.Row) (*karte.Client, error) {
	var c karte.Client
	var expires *int64
	var created, updated int64
	err := row.Scan(&c.ID, &c.Name, &c.Kind, &c.Roles, &c.Facilities, &c.SecretHash, &c.JWKS,
		&c.Disabled, &expires, &created, &updated, &c.Version)
	if err != nil {
		return nil, err
	}
	c.Roles, c.Facilities = emptyToNil(c.Roles), emptyToNil(c.Facilities)
	c.ExpiresAt, c.Created, c.Updated = milliTime(expires), milliTime(&created), milliTime(&updated)
	return &c, nil
}

// Client implements karte.AccountStore.
func (s *Store) Client(ctx context.Context, id string) (*karte.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM api_client WHERE id = $1`, id))
	return accountRow(c, err, "client %q is not known", id)
}

// Clients implements karte.AccountStore.
func (s *Store) Clients(ctx context.Context) ([]*karte.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM api_client ORDER BY name COLLATE "C", id COLLATE "C"`)
	if err != nil {
		return nil, dbError(err, "list clients")
	}
	defer rows.Close()
	var list []*karte.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, dbError(err, "list clients")
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "list clients")
	}
	return list, nil
}

// uniqueViolation reports whether err is a unique or primary key violation.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// textArray is a list for a NOT NULL TEXT[] column: never nil.
func textArray(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func emptyToNil(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// nullMilli is t in unix milliseconds, or NULL for the zero time.
func nullMilli(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// milliOrZero is t in unix milliseconds, or 0 for the zero time, for the
// columns that are NOT NULL.
func milliOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// milliTime reads unix milliseconds; NULL and 0 are the zero time.
func milliTime(ms *int64) time.Time {
	if ms == nil || *ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(*ms).UTC()
}
