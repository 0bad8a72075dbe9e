package account_test

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"kartehub/internal/account"
	"kartehub/internal/karte"
)

const goodPassword = "Kyoto-Hokkai1"

// TestFirstLogin: a new account logs in with its one-time password only to
// change it and enrol TOTP; then it logs in fully with a code.
func TestFirstLogin(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	otp := e.user(t, "sato")
	l, err := e.svc.Authenticate(ctx, "Sato", otp, "")
	if err != nil {
		t.Fatal(err)
	}
	if !l.MustChangePassword || !l.MustEnrolTOTP || !l.Restricted() {
		t.Fatalf("first login: %+v, want a restricted login that must change the password and enrol TOTP", l)
	}
	if l.Account.PasswordHash != "" || l.Account.TOTPSecret != "" {
		t.Fatal("the Login's account carries its secrets")
	}
	if err := e.svc.SetPassword(ctx, "sato", goodPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(ctx, "sato", otp, ""); reason(t, err) != account.ReasonBadPassword {
		t.Fatal("the one-time password still works after the change")
	}
	en, err := e.svc.BeginTOTP(ctx, "sato")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(en.URL, "otpauth://totp/kartehub:sato?") || !strings.Contains(en.URL, "secret="+en.Secret) {
		t.Fatalf("enrolment URL %q", en.URL)
	}
	// Until confirmed, the login stays restricted and ignores codes.
	l, err = e.svc.Authenticate(ctx, "sato", goodPassword, code(t, en.Secret, e.clock.Now()))
	if err != nil || !l.MustEnrolTOTP || l.UsedTOTP {
		t.Fatalf("login with an unconfirmed TOTP: %+v, %v", l, err)
	}
	if err := e.svc.ConfirmTOTP(ctx, "sato", "000000"); !karte.IsKind(err, karte.Unprocessable) {
		t.Fatalf("ConfirmTOTP with a wrong code: %v", err)
	}
	if err := e.svc.ConfirmTOTP(ctx, "sato", code(t, en.Secret, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * time.Second)
	l, err = e.svc.Authenticate(ctx, "sato", goodPassword, code(t, en.Secret, e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if l.Restricted() || !l.UsedTOTP || l.Account.Login != "sato" || !slices.Equal(l.Account.Roles, []string{"nurse"}) {
		t.Fatalf("full login: %+v", l)
	}
	a, _ := e.svc.User(ctx, "sato")
	if !a.LastLogin.Equal(e.clock.Now()) {
		t.Fatalf("LastLogin %v, want %v", a.LastLogin, e.clock.Now())
	}
}

func TestPasswordOnly(t *testing.T) {
	e := newEnv(t, account.Config{PasswordOnly: true})
	otp := e.user(t, "ito")
	if err := e.svc.SetPassword(t.Context(), "ito", goodPassword); err != nil {
		t.Fatal(err)
	}
	l, err := e.svc.Authenticate(t.Context(), "ito", goodPassword, "")
	if err != nil || l.Restricted() {
		t.Fatalf("password-only login: %+v, %v (one-time %q)", l, err, otp)
	}
}

func TestLockout(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	secret := e.enrolled(t, "kato", goodPassword)
	for i := 1; i <= 4; i++ {
		_, err := e.svc.Authenticate(ctx, "kato", "wrong password", "")
		if r := reason(t, err); r != account.ReasonBadPassword {
			t.Fatalf("failure %d: %s", i, r)
		}
	}
	// The fifth failure locks, whatever failed: here the code.
	_, err := e.svc.Authenticate(ctx, "kato", goodPassword, "123456")
	var ae *account.AuthError
	errors.As(err, &ae)
	if reason(t, err) != account.ReasonBadCode || !ae.Locked || !ae.LockedUntil.Equal(e.clock.Now().Add(15*time.Minute)) {
		t.Fatalf("fifth failure: %+v, want bad-code that locks for 15 minutes", ae)
	}
	// While locked, even the right password and code fail, as generically.
	_, err = e.svc.Authenticate(ctx, "kato", goodPassword, code(t, secret, e.clock.Now()))
	if reason(t, err) != account.ReasonLocked || err.Error() != account.ErrLoginFailed {
		t.Fatalf("while locked: %v", err)
	}
	e.clock.Add(14*time.Minute + 59*time.Second)
	if _, err = e.svc.Authenticate(ctx, "kato", goodPassword, code(t, secret, e.clock.Now())); reason(t, err) != account.ReasonLocked {
		t.Fatal("unlocked before 15 minutes")
	}
	e.clock.Add(time.Second)
	if _, err := e.svc.Authenticate(ctx, "kato", goodPassword, code(t, secret, e.clock.Now())); err != nil {
		t.Fatalf("after 15 minutes: %v", err)
	}

	// A success resets the count: 4 more failures do not lock.
	for range 4 {
		e.svc.Authenticate(ctx, "kato", "wrong password", "")
	}
	e.clock.Add(30 * time.Second)
	if _, err := e.svc.Authenticate(ctx, "kato", goodPassword, code(t, secret, e.clock.Now())); err != nil {
		t.Fatalf("after 4 failures: %v", err)
	}

	// An administrator unlocks at once.
	for range 5 {
		e.svc.Authenticate(ctx, "kato", "wrong password", "")
	}
	a, _ := e.svc.User(ctx, "kato")
	if a.LockedUntil.IsZero() {
		t.Fatal("not locked after 5 failures")
	}
	if err := e.svc.UnlockUser(ctx, "kato"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * time.Second)
	if _, err := e.svc.Authenticate(ctx, "kato", goodPassword, code(t, secret, e.clock.Now())); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestLockoutConfigurable(t *testing.T) {
	e := newEnv(t, account.Config{MaxFailures: 2, LockoutDuration: time.Hour})
	e.user(t, "mori")
	e.svc.Authenticate(t.Context(), "mori", "x", "")
	_, err := e.svc.Authenticate(t.Context(), "mori", "x", "")
	var ae *account.AuthError
	if !errors.As(err, &ae) || !ae.Locked || !ae.LockedUntil.Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("second failure: %+v, want a lock of one hour", ae)
	}
}

// TestConcurrentFailuresCount: parallel guesses cannot slip past the
// count; the account locks after MaxFailures of them.
func TestConcurrentFailuresCount(t *testing.T) {
	e := newEnv(t, account.Config{MaxFailures: 5})
	e.user(t, "para")
	errs := make(chan error, 5)
	for range 5 {
		go func() {
			_, err := e.svc.Authenticate(t.Context(), "para", "guess", "")
			errs <- err
		}()
	}
	for range 5 {
		reason(t, <-errs)
	}
	a, _ := e.svc.User(t.Context(), "para")
	if a.LockedUntil.IsZero() {
		t.Fatalf("5 concurrent failures did not lock: FailedLogins %d", a.FailedLogins)
	}
}

func TestRefusedAccounts(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	secret := e.enrolled(t, "ueda", goodPassword)
	login := func() error {
		e.clock.Add(30 * time.Second)
		_, err := e.svc.Authenticate(ctx, "ueda", goodPassword, code(t, secret, e.clock.Now()))
		return err
	}
	if err := e.svc.DisableUser(ctx, "ueda"); err != nil {
		t.Fatal(err)
	}
	if r := reason(t, login()); r != account.ReasonDisabled {
		t.Fatalf("disabled: %s", r)
	}
	if err := e.svc.EnableUser(ctx, "ueda"); err != nil {
		t.Fatal(err)
	}
	if err := login(); err != nil {
		t.Fatalf("enabled again: %v", err)
	}
	if err := e.svc.ExpireUser(ctx, "ueda", e.clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := login(); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	if r := reason(t, login()); r != account.ReasonExpired {
		t.Fatalf("at expiry: %s", r)
	}
	if err := e.svc.ExpireUser(ctx, "ueda", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := login(); err != nil {
		t.Fatalf("expiry removed: %v", err)
	}
	// Refusals of disabled accounts are not counted as failures.
	e.svc.DisableUser(ctx, "ueda")
	for range 6 {
		login()
	}
	e.svc.EnableUser(ctx, "ueda")
	if err := login(); err != nil {
		t.Fatalf("refusals while disabled locked the account: %v", err)
	}
}

// TestNoEnumeration: an unknown login and a wrong password fail with the
// same error message and take about as long.
func TestNoEnumeration(t *testing.T) {
	if testing.Short() {
		t.Skip("measures timing")
	}
	ctx := t.Context()
	// The real hash and the real floor.
	e := newEnv(t, account.Config{Hash: account.DefaultHashParams, FailureFloor: account.DefaultFailureFloor})
	e.user(t, "known")
	median := func(login string) time.Duration {
		var ds []time.Duration
		for range 5 {
			start := time.Now()
			_, err := e.svc.Authenticate(ctx, login, "Wrong-Password-1", "")
			ds = append(ds, time.Since(start))
			if err.Error() != account.ErrLoginFailed {
				t.Fatalf("%s: message %q, want %q", login, err, account.ErrLoginFailed)
			}
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	e.svc.UnlockUser(ctx, "known")
	unknown, wrong := median("nobody"), median("known")
	t.Logf("median failure: unknown login %v, wrong password %v", unknown, wrong)
	if unknown < account.DefaultFailureFloor || wrong < account.DefaultFailureFloor {
		t.Errorf("failures faster than the floor %v", account.DefaultFailureFloor)
	}
	if d := (unknown - wrong).Abs(); d > 25*time.Millisecond {
		t.Errorf("unknown login and wrong password differ by %v", d)
	}

	// Without the floor the dummy hash still makes an unknown login cost
	// a hash.
	e2 := newEnv(t, account.Config{Hash: account.DefaultHashParams, FailureFloor: -1})
	account.Hash("warm up", account.DefaultHashParams)
	start := time.Now()
	account.Hash("x", account.DefaultHashParams)
	hash := time.Since(start)
	start = time.Now()
	e2.svc.Authenticate(ctx, "nobody", "Wrong-Password-1", "")
	if d := time.Since(start); d < hash/2 {
		t.Errorf("an unknown login took %v, a hash %v: no dummy hash?", d, hash)
	}
}

// TestRehash: a password hashed with older parameters is re-hashed with
// the current ones at the next login.
func TestRehash(t *testing.T) {
	e := newEnv(t, account.Config{PasswordOnly: true})
	ctx := t.Context()
	e.user(t, "old")
	if err := e.svc.SetPassword(ctx, "old", goodPassword); err != nil {
		t.Fatal(err)
	}
	stronger := fastHash
	stronger.Time = 2
	svc2, err := account.New(e.st, account.Config{Now: e.clock.Now, Key: testKey, Hash: stronger, FailureFloor: -1, PasswordOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc2.Authenticate(ctx, "old", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	a, _ := e.st.AccountByLogin(ctx, "old")
	if !strings.HasPrefix(a.PasswordHash, "$argon2id$v=19$m=64,t=2,p=1$") {
		t.Fatalf("hash after login: %s", a.PasswordHash)
	}
	if _, err := svc2.Authenticate(ctx, "old", goodPassword, ""); err != nil {
		t.Fatalf("after the re-hash: %v", err)
	}
}

func TestResetPassword(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	e.user(t, "nishi")
	for range 5 {
		e.svc.Authenticate(ctx, "nishi", "x", "")
	}
	pw, err := e.svc.ResetPassword(ctx, "nishi")
	if err != nil {
		t.Fatal(err)
	}
	if err := account.DefaultPolicy.Check("nishi", pw, false); err != nil {
		t.Fatalf("one-time password %q: %v", pw, err)
	}
	l, err := e.svc.Authenticate(ctx, "nishi", pw, "")
	if err != nil || !l.MustChangePassword {
		t.Fatalf("login with the reset password: %+v, %v", l, err)
	}
}

func TestCreateUserValidation(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	ok := account.NewUser{Login: "valid", Name: "Valid", Roles: []string{"nurse"}}
	for _, tt := range []struct {
		name string
		edit func(*account.NewUser)
		kind karte.Kind
		msg  string
	}{
		{"short login", func(u *account.NewUser) { u.Login = "ab" }, karte.Invalid, "login name"},
		{"login with space", func(u *account.NewUser) { u.Login = "a b c" }, karte.Invalid, "login name"},
		{"no name", func(u *account.NewUser) { u.Name = " " }, karte.Invalid, "display name is required"},
		{"no role", func(u *account.NewUser) { u.Roles = nil }, karte.Invalid, "at least one role"},
		{"bad role", func(u *account.NewUser) { u.Roles = []string{"surgeon"} }, karte.Invalid, `unknown role "surgeon"`},
		{"bad facility", func(u *account.NewUser) { u.Facilities = []string{"a/b"} }, karte.Invalid, "facility"},
		{"bad person", func(u *account.NewUser) { u.Person = "Patient/1" }, karte.Invalid, "person"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := ok
			tt.edit(&u)
			_, _, err := e.svc.CreateUser(ctx, u)
			if !karte.IsKind(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want %v with %q", err, tt.kind, tt.msg)
			}
		})
	}
	u := ok
	u.Login, u.Facilities, u.Roles = "Mixed.Case", []string{"Organization/hub", "hub", "c1"}, []string{"Nurse", "nurse", "clerk"}
	a, _, err := e.svc.CreateUser(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if a.Login != "mixed.case" || !slices.Equal(a.Facilities, []string{"hub", "c1"}) || !slices.Equal(a.Roles, []string{"nurse", "clerk"}) {
		t.Fatalf("normalised account: %+v", a)
	}
	if _, _, err := e.svc.CreateUser(ctx, u); !karte.IsKind(err, karte.Conflict) {
		t.Fatalf("the same login again: %v", err)
	}
}

// TestAccountsNeverShowSecrets: what the Service returns, prints and logs
// carries no hash or sealed secret.
func TestAccountsNeverShowSecrets(t *testing.T) {
	e := newEnv(t, account.Config{})
	e.enrolled(t, "hide", goodPassword)
	list, err := e.svc.Users(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := e.st.AccountByLogin(t.Context(), "hide")
	if stored.PasswordHash == "" || stored.TOTPSecret == "" {
		t.Fatal("the store lacks the secrets")
	}
	for _, a := range list {
		if a.PasswordHash != "" || a.TOTPSecret != "" {
			t.Fatalf("Users returned secrets: %+v", a)
		}
	}
	for _, s := range []string{stored.String(), stored.LogValue().String()} {
		if strings.Contains(s, "argon2id") || strings.Contains(s, "v1:") {
			t.Fatalf("printed account shows a secret: %s", s)
		}
	}
}
