package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
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
	err := s.Write(ctx, func(kt karte.Tx) error {
		err := kt.(*tx).c.exec(`INSERT INTO account (`+accountColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`, accountArgs(a)...)
		if isConstraint(err) {
			return karte.Errorf(karte.Conflict, "account %q: the id or the login name %q is taken", a.ID, a.Login)
		}
		if err != nil {
			return fmt.Errorf("create account %q: %w", a.Login, err)
		}
		return nil
	})
	if err == nil {
		a.Version = 1
	}
	return err
}

// UpdateAccount implements karte.AccountStore.
func (s *Store) UpdateAccount(ctx context.Context, a *karte.Account) error {
	err := s.Write(ctx, func(kt karte.Tx) error {
		c := kt.(*tx).c
		args := append(accountArgs(a)[1:], a.ID, a.Version)
		err := c.exec(`UPDATE account SET login = ?, name = ?, person = ?, roles = ?, facilities = ?,
			password_hash = ?, totp_secret = ?, totp_enabled = ?, totp_last_step = ?, must_change_password = ?,
			failed_logins = ?, locked_until = ?, last_login = ?, disabled = ?, expires_at = ?, created = ?,
			updated = ?, version = version + 1
			WHERE id = ? AND version = ?`, args...)
		if isConstraint(err) {
			return karte.Errorf(karte.Conflict, "account %q: the login name %q is taken", a.ID, a.Login)
		}
		if err != nil {
			return fmt.Errorf("update account %q: %w", a.Login, err)
		}
		if c.db.Changes() == 0 {
			return staleOrMissing(c, "account", a.ID, a.Version)
		}
		return nil
	})
	if err == nil {
		a.Version++
	}
	return err
}

// staleOrMissing explains why an optimistic update changed no row.
func staleOrMissing(c *conn, table, id string, version int64) error {
	st, err := c.query(`SELECT version FROM `+table+` WHERE id = ?`, id)
	if err != nil {
		return err
	}
	have, found := int64(0), st.Step()
	if found {
		have = st.ColumnInt64(0)
	}
	if err := done(st); err != nil {
		return err
	}
	if !found {
		return karte.Errorf(karte.NotFound, "%s %q is not known", table, id)
	}
	return karte.Errorf(karte.Conflict, "%s %q has changed (revision %d, not %d): read it again", table, id, have, version)
}

func accountArgs(a *karte.Account) []any {
	return []any{a.ID, a.Login, a.Name, a.Person, jsonList(a.Roles), jsonList(a.Facilities),
		a.PasswordHash, a.TOTPSecret, a.TOTPEnabled, a.TOTPLastStep, a.MustChangePassword,
		a.FailedLogins, nullMilli(a.LockedUntil), nullMilli(a.LastLogin), a.Disabled,
		nullMilli(a.ExpiresAt), milliOrZero(a.Created), milliOrZero(a.Updated)}
}

func scanAccount(st *sqlite3.Stmt) (*karte.Account, error) {
	a := &karte.Account{
		ID:                 st.ColumnText(0),
		Login:              st.ColumnText(1),
		Name:               st.ColumnText(2),
		Person:             st.ColumnText(3),
		PasswordHash:       st.ColumnText(6),
		TOTPSecret:         st.ColumnText(7),
		TOTPEnabled:        st.ColumnBool(8),
		TOTPLastStep:       st.ColumnInt64(9),
		MustChangePassword: st.ColumnBool(10),
		FailedLogins:       st.ColumnInt(11),
		LockedUntil:        milliTime(st, 12),
		LastLogin:          milliTime(st, 13),
		Disabled:           st.ColumnBool(14),
		ExpiresAt:          milliTime(st, 15),
		Created:            milliTime(st, 16),
		Updated:            milliTime(st, 17),
		Version:            st.ColumnInt64(18),
	}
	var err error
	if a.Roles, err = jsonListOf(st.ColumnText(4)); err != nil {
		return nil, fmt.Errorf("account %q: roles: %w", a.ID, err)
	}
	if a.Facilities, err = jsonListOf(st.ColumnText(5)); err != nil {
		return nil, fmt.Errorf("account %q: facilities: %w", a.ID, err)
	}
	return a, nil
}

// Account implements karte.AccountStore.
func (s *Store) Account(ctx context.Context, id string) (*karte.Account, error) {
	return s.oneAccount(ctx, `SELECT `+accountColumns+` FROM account WHERE id = ?`, id, "account %q is not known")
}

// AccountByLogin implements karte.AccountStore.
func (s *Store) AccountByLogin(ctx context.Context, login string) (*karte.Account, error) {
	return s.oneAccount(ctx, `SELECT `+accountColumns+` FROM account WHERE login = ?`, login, "no account has the login name %q")
}

func (s *Store) oneAccount(ctx context.Context, query, key, notFound string) (a *karte.Account, err error) {
	err = s.withReader(ctx, func(c *conn) error {
		st, err := c.query(query, key)
		if err != nil {
			return err
		}
		if st.Step() {
			a, err = scanAccount(st)
		}
		if derr := done(st); err == nil {
			err = derr
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	if a == nil {
		return nil, karte.Errorf(karte.NotFound, notFound, key)
	}
	return a, nil
}

// Accounts implements karte.AccountStore.
func (s *Store) Accounts(ctx context.Context) ([]*karte.Account, error) {
	var list []*karte.Account
	err := s.withReader(ctx, func(c *conn) (err error) {
		list, err = collect(c, `SELECT `+accountColumns+` FROM account ORDER BY login`, scanAccount)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return list, nil
}

// CreateClient implements karte.AccountStore.
func (s *Store) CreateClient(ctx context.Context, cl *karte.Client) error {
	if cl.ID == "" {
		return karte.Errorf(karte.Invalid, "create client: the client id is required")
	}
	err := s.Write(ctx, func(kt karte.Tx) error {
		err := kt.(*tx).c.exec(`INSERT INTO api_client (`+clientColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`, clientArgs(cl)...)
		if isConstraint(err) {
			return karte.Errorf(karte.Conflict, "client %q exists", cl.ID)
		}
		if err != nil {
			return fmt.Errorf("create client %q: %w", cl.Name, err)
		}
		return nil
	})
	if err == nil {
		cl.Version = 1
	}
	return err
}

// UpdateClient implements karte.AccountStore.
func (s *Store) UpdateClient(ctx context.Context, cl *karte.Client) error {
	err := s.Write(ctx, func(kt karte.Tx) error {
		c := kt.(*tx).c
		args := append(clientArgs(cl)[1:], cl.ID, cl.Version)
		err := c.exec(`UPDATE api_client SET name = ?, kind = ?, roles = ?, facilities = ?, secret_hash = ?,
			jwks = ?, disabled = ?, expires_at = ?, created = ?, updated = ?, version = version + 1
			WHERE id = ? AND version = ?`, args...)
		if err != nil {
			return fmt.Errorf("update client %q: %w", cl.ID, err)
		}
		if c.db.Changes() == 0 {
			return staleOrMissing(c, "api_client", cl.ID, cl.Version)
		}
		return nil
	})
	if err == nil {
		cl.Version++
	}
	return err
}

func clientArgs(c *karte.Client) []any {
	return []any{c.ID, c.Name, c.Kind, jsonList(c.Roles), jsonList(c.Facilities), c.SecretHash,
		c.JWKS, c.Disabled, nullMilli(c.ExpiresAt), milliOrZero(c.Created), milliOrZero(c.Updated)}
}

func scanClient(st *sqlite3.Stmt) (*karte.Client, error) {
	c := &karte.Client{
		ID:         st.ColumnText(0),
		Name:       st.ColumnText(1),
		Kind:       st.ColumnText(2),
		SecretHash: st.ColumnText(5),
		Disabled:   st.ColumnBool(7),
		ExpiresAt:  milliTime(st, 8),
		Created:    milliTime(st, 9),
		Updated:    milliTime(st, 10),
		Version:    st.ColumnInt64(11),
	}
	if st.ColumnType(6) != sqlite3.NULL {
		c.JWKS = st.ColumnBlob(6, nil)
	}
	var err error
	if c.Roles, err = jsonListOf(st.ColumnText(3)); err != nil {
		return nil, fmt.Errorf("client %q: roles: %w", c.ID, err)
	}
	if c.Facilities, err = jsonListOf(st.ColumnText(4)); err != nil {
		return nil, fmt.Errorf("client %q: facilities: %w", c.ID, err)
	}
	return c, nil
}

// Client implements karte.AccountStore.
func (s *Store) Client(ctx context.Context, id string) (cl *karte.Client, err error) {
	err = s.withReader(ctx, func(c *conn) error {
		st, err := c.query(`SELECT `+clientColumns+` FROM api_client WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if st.Step() {
			cl, err = scanClient(st)
		}
		if derr := done(st); err == nil {
			err = derr
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read client: %w", err)
	}
	if cl == nil {
		return nil, karte.Errorf(karte.NotFound, "client %q is not known", id)
	}
	return cl, nil
}

// Clients implements karte.AccountStore.
func (s *Store) Clients(ctx context.Context) ([]*karte.Client, error) {
	var list []*karte.Client
	err := s.withReader(ctx, func(c *conn) (err error) {
		list, err = collect(c, `SELECT `+clientColumns+` FROM api_client ORDER BY name, id`, scanClient)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return list, nil
}

// nullMilli is t in unix milliseconds, or NULL for the zero time.
func nullMilli(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// milliOrZero is t in unix milliseconds, or 0 for the zero time, for the
// columns that are NOT NULL.
func milliOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// milliTime reads a column of unix milliseconds; NULL and 0 are the zero time.
func milliTime(st *sqlite3.Stmt, col int) time.Time {
	ms := st.ColumnInt64(col) // 0 for NULL
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// jsonList encodes a list of strings as a JSON array, never null.
func jsonList(list []string) string {
	if len(list) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(list) // strings always encode
	return string(b)
}

// jsonListOf decodes jsonList; an empty list is nil.
func jsonListOf(s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// collect runs query and returns what scan makes of each row; the first
// error of scan fails it.
func collect[T any](c *conn, query string, scan func(*sqlite3.Stmt) (T, error)) ([]T, error) {
	var list []T
	var serr error
	err := c.each(sqlsearch.Statement{SQL: query}, func(st *sqlite3.Stmt) {
		v, err := scan(st)
		if err != nil && serr == nil {
			serr = err
		}
		list = append(list, v)
	})
	return list, cmp.Or(err, serr)
}
