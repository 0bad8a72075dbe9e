package account_test

import (
	"strings"
	"testing"

	"kartehub/internal/account"
	"kartehub/internal/karte"
)

func TestPolicy(t *testing.T) {
	p := account.DefaultPolicy
	for _, tt := range []struct {
		name, login, password string
		mfa                   bool
		want                  string // "" accepted, else a fragment of the message
	}{
		{"13 mixed", "tanaka", "Kyoto-Hokkai1", false, ""},
		{"13 three kinds without symbols", "tanaka", "SapporoHub2026", false, ""},
		{"12 mixed refused", "tanaka", "Kyoto-Hokka1", false, "it has 12 characters, at least 13 are needed"},
		{"8 mixed with TOTP", "tanaka", "Hak0date", true, ""},
		{"8 mixed without TOTP", "tanaka", "Hak0date", false, "it has 8 characters, at least 13 are needed (8 once a second factor is enrolled)"},
		{"7 with TOTP", "tanaka", "Hak0dat", true, "it has 7 characters, at least 8 are needed"},
		{"13 lower case only", "tanaka", "sapporohubhos", false, "it mixes 1 kinds of character (only lower-case letters), at least 3 are needed: add any 2 of upper-case letters, digits and symbols"},
		{"13 two kinds", "tanaka", "sapporohub123", false, "add upper-case letters or symbols"},
		{"login inside", "tanaka", "Xx-tanaka-2026", false, "it contains the login name"},
		{"login inside, other case", "tanaka", "Xx-TANAKA-2026", false, "it contains the login name"},
		{"login itself", "tanaka.hanako", "Tanaka.Hanako", false, "it is the login name"},
		{"kanji count as symbols", "tanaka", "札幌Hub2026abcde", false, ""},
		{"too long", "tanaka", "Aa1-" + strings.Repeat("x", 253), false, "at most 256 are allowed"},
		{"everything wrong", "abc", "abc", false, "3 characters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.login, tt.password, tt.mfa)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want refused with %q", tt.want)
			}
			if !karte.IsKind(err, karte.Unprocessable) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v (%v), want Unprocessable with %q", err, karte.KindOf(err), tt.want)
			}
		})
	}
}

// TestPolicyListsEverything: one message names every problem, each also an
// Issue, so a person fixes the password in one go.
func TestPolicyListsEverything(t *testing.T) {
	err := account.DefaultPolicy.Check("abc", "abc", false)
	var ke *karte.Error
	if e, ok := err.(*karte.Error); ok {
		ke = e
	}
	if ke == nil || len(ke.Issues) != 3 {
		t.Fatalf("got %#v, want a *karte.Error with 3 issues", err)
	}
	for _, want := range []string{"password refused:", "3 characters", "kinds of character", "it is the login name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}

// TestSetPasswordPolicy: the account's second factor decides the minimum.
func TestSetPasswordPolicy(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	e.user(t, "nomfa")
	if err := e.svc.SetPassword(ctx, "nomfa", "Hak0date"); !karte.IsKind(err, karte.Unprocessable) {
		t.Fatalf("8 characters without TOTP: %v, want Unprocessable", err)
	}
	if err := e.svc.SetPassword(ctx, "nomfa", "Kyoto-Hokkai1"); err != nil {
		t.Fatalf("13 mixed: %v", err)
	}
	if err := e.svc.SetPassword(ctx, "nomfa", "Kyoto-Hokkai1"); err == nil || !strings.Contains(err.Error(), "current password") {
		t.Fatalf("the same password again: %v, want refused as the current password", err)
	}
	e.enrolled(t, "withmfa", "Kyoto-Hokkai1")
	if err := e.svc.SetPassword(ctx, "withmfa", "Hak0date"); err != nil {
		t.Fatalf("8 characters with TOTP: %v", err)
	}
	if err := e.svc.SetPassword(ctx, "withmfa", "withmfa-X1"); err == nil || !strings.Contains(err.Error(), "login name") {
		t.Fatalf("containing the login name: %v", err)
	}
	a, err := e.svc.User(ctx, "withmfa")
	if err != nil || a.MustChangePassword {
		t.Fatalf("after SetPassword: %+v, %v; want MustChangePassword cleared", a, err)
	}
}
