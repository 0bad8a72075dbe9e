package account_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"kartehub/internal/account"
	"kartehub/internal/karte"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/postgres/pgtest"
	"kartehub/internal/store/sqlite"
)

// fastHash makes tests quick; the real parameters are tested on their own.
var fastHash = account.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is a Service on a real store, with a settable clock.
type env struct {
	svc   *account.Service
	st    karte.AccountStore
	clock *clock
}

// newEnv returns a test environment on SQLite; cfg's Now, Key, Hash and
// FailureFloor are filled in unless set.
func newEnv(t *testing.T, cfg account.Config) *env {
	t.Helper()
	return newEnvOn(t, openSQLite(t), cfg)
}

// openSQLite opens an empty SQLite store, closed by the test's cleanup.
func openSQLite(t *testing.T) karte.AccountStore {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openPostgres opens an empty PostgreSQL database of the test's own (see
// pgtest: skipped without a server unless KARTEHUB_REQUIRE_POSTGRES=1).
func openPostgres(t *testing.T) karte.AccountStore {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// engines runs test once on each storage engine.
func engines(t *testing.T, test func(t *testing.T, open func(t *testing.T) karte.AccountStore)) {
	t.Run("sqlite", func(t *testing.T) { test(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) { test(t, openPostgres) })
}

// newEnvOn returns a test environment on st, with cfg filled in as by
// newEnv.
func newEnvOn(t *testing.T, st karte.AccountStore, cfg account.Config) *env {
	t.Helper()
	c := newClock()
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	if cfg.Key == nil {
		cfg.Key = testKey
	}
	if cfg.Hash == (account.HashParams{}) {
		cfg.Hash = fastHash
	}
	if cfg.FailureFloor == 0 {
		cfg.FailureFloor = -1
	}
	svc, err := account.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, st: st, clock: c}
}

// user creates an account and returns its one-time password.
func (e *env) user(t *testing.T, login string) string {
	t.Helper()
	_, pw, err := e.svc.CreateUser(t.Context(), account.NewUser{
		Login: login, Name: "Test " + login, Roles: []string{karte.RoleNurse}, Facilities: []string{"hub"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

// enrolled creates an account with a password and a confirmed TOTP, and
// returns the TOTP secret. The clock is then one step past the
// confirmation, so that a fresh code is usable.
func (e *env) enrolled(t *testing.T, login, password string) string {
	t.Helper()
	e.user(t, login)
	en, err := e.svc.BeginTOTP(t.Context(), login)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ConfirmTOTP(t.Context(), login, code(t, en.Secret, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetPassword(t.Context(), login, password); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * time.Second)
	return en.Secret
}

// code is the TOTP code of secret at time at.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reason returns the Reason of a failed authentication, failing the test
// if err is not one.
func reason(t *testing.T, err error) account.Reason {
	t.Helper()
	var ae *account.AuthError
	if !karte.IsKind(err, karte.Unauthorized) || !errors.As(err, &ae) {
		t.Fatalf("got %v, want an Unauthorized *AuthError", err)
	}
	return ae.Reason
}
