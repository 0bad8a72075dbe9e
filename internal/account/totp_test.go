package account_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kartehub/internal/account"
	"kartehub/internal/karte"
)

func TestTOTPWindowAndReplay(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	secret := e.enrolled(t, "abe", goodPassword)
	login := func(code string) error {
		_, err := e.svc.Authenticate(ctx, "abe", goodPassword, code)
		return err
	}
	now := e.clock.Now()
	c := code(t, secret, now)
	if err := login(c); err != nil {
		t.Fatalf("current code: %v", err)
	}
	if r := reason(t, login(c)); r != account.ReasonCodeReused {
		t.Fatalf("the same code again: %s, want %s", r, account.ReasonCodeReused)
	}
	// An older code than the last one used is refused too, even in the window.
	if r := reason(t, login(code(t, secret, now.Add(-30*time.Second)))); r != account.ReasonCodeReused {
		t.Fatalf("an older code: %s", r)
	}
	// One step late or early is accepted; two are not.
	e.clock.Add(90 * time.Second)
	if err := login(code(t, secret, e.clock.Now().Add(-30*time.Second))); err != nil {
		t.Fatalf("the previous step's code: %v", err)
	}
	e.clock.Add(90 * time.Second)
	if err := login(code(t, secret, e.clock.Now().Add(30*time.Second))); err != nil {
		t.Fatalf("the next step's code: %v", err)
	}
	e.clock.Add(120 * time.Second)
	if r := reason(t, login(code(t, secret, e.clock.Now().Add(-60*time.Second)))); r != account.ReasonBadCode {
		t.Fatalf("a code two steps old: %s", r)
	}
	if r := reason(t, login(code(t, secret, e.clock.Now().Add(60*time.Second)))); r != account.ReasonBadCode {
		t.Fatalf("a code two steps ahead: %s", r)
	}
	if r := reason(t, login("")); r != account.ReasonCodeRequired {
		t.Fatalf("no code: %s", r)
	}
	c = code(t, secret, e.clock.Now())
	if err := login(c[:3] + " " + c[3:]); err != nil {
		t.Fatalf("a code typed with a space: %v", err)
	}
}

// TestTOTPConfirmUsesCode: the code that confirms the enrolment cannot log
// in again.
func TestTOTPConfirmUsesCode(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	e.user(t, "ono")
	if err := e.svc.SetPassword(ctx, "ono", goodPassword); err != nil {
		t.Fatal(err)
	}
	en, err := e.svc.BeginTOTP(ctx, "ono")
	if err != nil {
		t.Fatal(err)
	}
	c := code(t, en.Secret, e.clock.Now())
	if err := e.svc.ConfirmTOTP(ctx, "ono", c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(ctx, "ono", goodPassword, c); reason(t, err) != account.ReasonCodeReused {
		t.Fatalf("login with the confirmation code: %v", err)
	}
	if _, err := e.svc.BeginTOTP(ctx, "ono"); !karte.IsKind(err, karte.Unprocessable) {
		t.Fatalf("BeginTOTP on a confirmed TOTP: %v", err)
	}
	if err := e.svc.ConfirmTOTP(ctx, "ono", c); !karte.IsKind(err, karte.Unprocessable) {
		t.Fatalf("ConfirmTOTP twice: %v", err)
	}
}

// TestTOTPSealed: the store keeps the secret encrypted and bound to its
// account; without the key TOTP does not work at all.
func TestTOTPSealed(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	secret := e.enrolled(t, "goto", goodPassword)
	a, _ := e.st.AccountByLogin(ctx, "goto")
	if !strings.HasPrefix(a.TOTPSecret, "v1:") || strings.Contains(a.TOTPSecret, secret) {
		t.Fatalf("stored TOTP secret %q is not sealed", a.TOTPSecret)
	}

	// Another account's sealed secret does not open for this one.
	e.enrolled(t, "other", goodPassword)
	b, _ := e.st.AccountByLogin(ctx, "other")
	b.TOTPSecret = a.TOTPSecret
	if err := e.st.UpdateAccount(ctx, b); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Authenticate(ctx, "other", goodPassword, code(t, secret, e.clock.Now()))
	if karte.KindOf(err) != karte.Internal {
		t.Fatalf("a secret copied from another account: %v, want an internal error", err)
	}

	other := make([]byte, account.KeySize)
	svc, err := account.New(e.st, account.Config{Now: e.clock.Now, Key: other, Hash: fastHash, FailureFloor: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, "goto", goodPassword, code(t, secret, e.clock.Now())); karte.KindOf(err) != karte.Internal ||
		!strings.Contains(err.Error(), "wrong key") {
		t.Fatalf("with another key: %v", err)
	}
	svc, _ = account.New(e.st, account.Config{Hash: fastHash})
	if _, err := svc.BeginTOTP(ctx, "goto"); err == nil || !strings.Contains(err.Error(), "account key") {
		t.Fatalf("BeginTOTP without a key: %v", err)
	}
	if _, err := account.New(e.st, account.Config{Key: []byte("short")}); err == nil {
		t.Fatal("New accepted a 5-byte key")
	}
}

func TestRemoveTOTP(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	e.enrolled(t, "lost", goodPassword)
	if err := e.svc.RemoveTOTP(ctx, "lost"); err != nil {
		t.Fatal(err)
	}
	l, err := e.svc.Authenticate(ctx, "lost", goodPassword, "")
	if err != nil || !l.MustEnrolTOTP {
		t.Fatalf("after RemoveTOTP: %+v, %v; want a login that must enrol again", l, err)
	}
	if _, err := e.svc.BeginTOTP(ctx, "lost"); err != nil {
		t.Fatalf("enrol again: %v", err)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := account.LoadKey(dir)
	if err != nil || len(k1) != account.KeySize {
		t.Fatalf("LoadKey: %d bytes, %v", len(k1), err)
	}
	k2, err := account.LoadKey(dir)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("LoadKey again gave another key (%v)", err)
	}
	if err := os.Chmod(filepath.Join(dir, account.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := account.LoadKey(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("LoadKey of a key others may read: %v", err)
	}
}
