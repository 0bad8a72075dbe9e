package account

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"kartehub/internal/karte"
)

// TOTP as authenticator apps know it (RFC 6238): HMAC-SHA1, 6 digits,
// 30-second steps, a 160-bit secret. A code is accepted for the step of
// now and one step either side (clocks drift; people type slowly).
const (
	totpPeriod = 30
	totpSkew   = 1
	totpDigits = otp.DigitsSix
)

var totpOpts = hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// Enrolment is a TOTP key to hand to the person, once: as a QR code of URL
// or as Secret typed into the app.
type Enrolment struct {
	Secret string // base32
	URL    string // otpauth://totp/...
}

// BeginTOTP starts the TOTP enrolment of an account: it makes a new secret,
// stores it sealed (replacing an enrolment in progress), and returns it.
// The enrolment counts once ConfirmTOTP has seen a code from the app. It
// returns an *karte.Error of Kind Unprocessable if the account already has
// a confirmed TOTP (RemoveTOTP first). The caller must have authenticated
// the person (a Login, restricted or not).
func (s *Service) BeginTOTP(ctx context.Context, login string) (*Enrolment, error) {
	if s.sealer == nil {
		return nil, karte.Errorf(karte.Internal, "%w", errNoKey)
	}
	a, err := s.st.AccountByLogin(ctx, normalLogin(login))
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      s.issuer,
		AccountName: a.Login,
		Period:      totpPeriod,
		SecretSize:  20,
		Digits:      totpDigits,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.seal(a.ID, []byte(key.Secret()))
	if err != nil {
		return nil, err
	}
	_, err = s.modify(ctx, a, func(a *karte.Account) error {
		if a.TOTPEnabled {
			return karte.Errorf(karte.Unprocessable, "%s already has a confirmed TOTP: remove it first", a.Login)
		}
		a.TOTPSecret, a.TOTPLastStep = sealed, 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Enrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// ConfirmTOTP completes the enrolment that BeginTOTP started, given a code
// from the app: from then on every login of the account needs a code. The
// code is used up. It returns an *karte.Error of Kind Unprocessable if no
// enrolment is in progress or the code does not match.
func (s *Service) ConfirmTOTP(ctx context.Context, login, code string) error {
	a, err := s.st.AccountByLogin(ctx, normalLogin(login))
	if err != nil {
		return err
	}
	switch {
	case a.TOTPEnabled:
		return karte.Errorf(karte.Unprocessable, "%s already has a confirmed TOTP", a.Login)
	case a.TOTPSecret == "":
		return karte.Errorf(karte.Unprocessable, "%s has no TOTP enrolment in progress: begin one first", a.Login)
	}
	secret, err := s.sealer.open(a.ID, a.TOTPSecret)
	if err != nil {
		return karte.Errorf(karte.Internal, "%w", err)
	}
	step := matchStep(string(secret), code, s.clock())
	if step == 0 {
		return karte.Errorf(karte.Unprocessable,
			"the code does not match: type the code the app shows now, and check that the phone's clock is right")
	}
	sealed := a.TOTPSecret
	_, err = s.modify(ctx, a, func(a *karte.Account) error {
		if a.TOTPSecret != sealed || a.TOTPEnabled {
			return karte.Errorf(karte.Conflict, "the TOTP enrolment of %s changed meanwhile: begin again", a.Login)
		}
		a.TOTPEnabled, a.TOTPLastStep = true, step
		return nil
	})
	return err
}

// RemoveTOTP removes the TOTP of an account (a lost phone), confirmed or
// in progress. With MFA required the account can then only log in to
// enrol again. With Config.PasswordOnly it must also change its password
// at the next login, since it may meet only the shorter rule for accounts
// with a second factor.
func (s *Service) RemoveTOTP(ctx context.Context, login string) error {
	return s.change(ctx, login, func(a *karte.Account) {
		if a.TOTPEnabled && s.passwordOnly {
			a.MustChangePassword = true
		}
		a.TOTPSecret, a.TOTPEnabled, a.TOTPLastStep = "", false, 0
	})
}

// checkCode checks the TOTP code of a login by an account whose password
// is right and whose TOTP is confirmed. It returns the step of the code,
// or the reason it is refused.
func (s *Service) checkCode(a *karte.Account, code string, now time.Time) (int64, Reason, error) {
	if strings.TrimSpace(code) == "" {
		return 0, ReasonCodeRequired, nil
	}
	secret, err := s.sealer.open(a.ID, a.TOTPSecret)
	if err != nil {
		return 0, "", karte.Errorf(karte.Internal, "account %s: %w", a.ID, err)
	}
	step := matchStep(string(secret), code, now)
	switch {
	case step == 0:
		return 0, ReasonBadCode, nil
	case step <= a.TOTPLastStep:
		return 0, ReasonCodeReused, nil
	}
	return step, "", nil
}

// matchStep returns the time step (Unix time / 30 s) within the window
// around now whose code is code, or 0. It computes and compares every
// step's code in constant time, whichever matches.
func matchStep(secret, code string, now time.Time) int64 {
	code = strings.Join(strings.Fields(code), "") // "123 456" as apps show it
	if len(code) != totpDigits.Length() {
		return 0
	}
	t := now.Unix() / totpPeriod
	found := int64(0)
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(t+d), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = t + d
		}
	}
	return found
}
