package account

import (
	"context"
	"fmt"
	"time"

	"kartehub/internal/karte"
)

// Reason says why an authentication failed. It is for the audit trail and
// the administrator, never for the person logging in, who is told only
// ErrLoginFailed whatever the reason (no user enumeration).
type Reason string

// The reasons of a failed authentication.
const (
	ReasonUnknown      Reason = "unknown"       // no such login name or client
	ReasonBadPassword  Reason = "bad-password"  // wrong password or client secret (counted)
	ReasonCodeRequired Reason = "code-required" // TOTP enrolled but no code given (counted)
	ReasonBadCode      Reason = "bad-code"      // wrong TOTP code (counted)
	ReasonCodeReused   Reason = "code-reused"   // a TOTP code already used, or older than the last one (counted)
	ReasonLocked       Reason = "locked"        // locked out after too many failures
	ReasonDisabled     Reason = "disabled"
	ReasonExpired      Reason = "expired"
	ReasonNoSecret     Reason = "no-secret" // a client registered with keys, not a secret
)

// The messages that failed authentications show, whatever the Reason.
const (
	ErrLoginFailed  = "login failed: wrong login name, password or code, or the account cannot log in now"
	ErrClientFailed = "client authentication failed"
)

// AuthError is the cause of a failed authentication, inside an
// *karte.Error of Kind Unauthorized. Its message is the same for every
// reason; the fields are for the audit trail:
//
//	var ae *account.AuthError
//	if errors.As(err, &ae) { audit(ae.Reason, ae.AccountID, ae.Locked) }
type AuthError struct {
	Reason Reason
	// Login is the login name (lower case) or client id as given. People
	// sometimes type their password into the login field: audit it, but
	// keep it out of ordinary logs.
	Login     string
	AccountID string // the account's or client's id; empty if unknown
	// Locked is set when this failure locked the account, until
	// LockedUntil; also set, with the lock's end, for ReasonLocked.
	Locked      bool
	LockedUntil time.Time
	client      bool
}

func (e *AuthError) Error() string {
	if e.client {
		return ErrClientFailed
	}
	return ErrLoginFailed
}

func authFailed(ae *AuthError) error {
	return &karte.Error{Kind: karte.Unauthorized, Err: ae}
}

// Login is a successful authentication. If Restricted, the person may only
// do what it says (change the password, enrol TOTP) and must then log in
// again; otherwise the caller may open a session for Account.
type Login struct {
	Account            *karte.Account // without its secrets
	MustChangePassword bool           // a one-time password: call SetPassword
	MustEnrolTOTP      bool           // no second factor yet: call BeginTOTP and ConfirmTOTP
	UsedTOTP           bool           // the login used a TOTP code (two factors)
}

// Restricted reports whether the login only allows setting the account up.
func (l *Login) Restricted() bool { return l.MustChangePassword || l.MustEnrolTOTP }

// Authenticate checks a login: the password, and the TOTP code if the
// account has confirmed one (code is ignored otherwise). It returns the
// Login on success. On failure it returns an *karte.Error of Kind
// Unauthorized whose message is ErrLoginFailed and whose cause is an
// *AuthError with the Reason; other errors are the store's.
//
// Every failure takes about as long as any other (a password is always
// hashed, against a dummy hash for an unknown login, and failures last at
// least Config.FailureFloor), so neither message nor timing tells an
// unknown login name from a wrong password. MaxFailures consecutive
// failures (wrong password, missing, wrong or reused code) lock the
// account for LockoutDuration; attempts while locked, disabled or expired
// fail without counting. A code is accepted within one 30 s step either
// side of now, and only once.
func (s *Service) Authenticate(ctx context.Context, login, password, code string) (*Login, error) {
	start := time.Now()
	l, err := s.authenticate(ctx, normalLogin(login), password, code)
	if karte.IsKind(err, karte.Unauthorized) {
		s.pad(ctx, start)
	}
	return l, err
}

// pad sleeps until the failure floor after start, in real time.
func (s *Service) pad(ctx context.Context, start time.Time) {
	d := s.floor - time.Since(start)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Service) authenticate(ctx context.Context, login, password, code string) (*Login, error) {
	var (
		checked  bool   // the password has been checked against checkedHash
		hashSeen string // the hash it was checked against
		ok       bool
		rehash   string // a new hash with the current parameters, once made
	)
	for attempt := 1; ; attempt++ {
		var a *karte.Account
		var err error
		if len(login) <= 256 {
			a, err = s.st.AccountByLogin(ctx, login)
		} else {
			err = karte.Errorf(karte.NotFound, "login name too long")
		}
		if karte.IsKind(err, karte.NotFound) {
			if !checked {
				s.verify(ctx, "", password)
			}
			return nil, authFailed(&AuthError{Reason: ReasonUnknown, Login: login})
		}
		if err != nil {
			return nil, err
		}
		if !checked || hashSeen != a.PasswordHash {
			if ok, err = s.verify(ctx, a.PasswordHash, password); err != nil {
				return nil, karte.Errorf(karte.Internal, "account %s: the stored password hash: %w", a.ID, err)
			}
			checked, hashSeen = true, a.PasswordHash
		}
		now := s.clock()
		fail := &AuthError{Login: login, AccountID: a.ID}
		switch {
		case a.Disabled:
			fail.Reason = ReasonDisabled
		case !a.ExpiresAt.IsZero() && !now.Before(a.ExpiresAt):
			fail.Reason = ReasonExpired
		case now.Before(a.LockedUntil):
			fail.Reason, fail.Locked, fail.LockedUntil = ReasonLocked, true, a.LockedUntil
		}
		if fail.Reason != "" {
			return nil, authFailed(fail) // not counted: nothing to store
		}
		step := int64(0)
		switch {
		case !ok:
			fail.Reason = ReasonBadPassword
		case a.TOTPEnabled:
			if step, fail.Reason, err = s.checkCode(a, code, now); err != nil {
				return nil, err
			}
		}
		if fail.Reason != "" {
			a.FailedLogins++
			if a.FailedLogins >= s.maxFailures {
				a.FailedLogins, a.LockedUntil = 0, now.Add(s.lockout)
				fail.Locked, fail.LockedUntil = true, a.LockedUntil
			}
			a.Updated = now
			err := s.st.UpdateAccount(ctx, a)
			if karte.IsKind(err, karte.Conflict) && attempt < maxAttempts {
				continue // another login counted meanwhile: count on top of it
			}
			if err != nil {
				return nil, fmt.Errorf("count the failed login of %s: %w", a.ID, err)
			}
			return nil, authFailed(fail)
		}

		a.FailedLogins, a.LockedUntil, a.LastLogin = 0, time.Time{}, now
		if step != 0 {
			a.TOTPLastStep = step
		}
		if NeedsRehash(a.PasswordHash, s.params) {
			if rehash == "" {
				if rehash, err = s.hash(ctx, password); err != nil {
					return nil, err
				}
			}
			a.PasswordHash = rehash
		}
		a.Updated = now
		err = s.st.UpdateAccount(ctx, a)
		if karte.IsKind(err, karte.Conflict) && attempt < maxAttempts {
			continue // reread: the code may have been used meanwhile, the account disabled
		}
		if err != nil {
			return nil, fmt.Errorf("record the login of %s: %w", a.ID, err)
		}
		return &Login{
			Account:            redacted(a),
			MustChangePassword: a.MustChangePassword,
			MustEnrolTOTP:      !a.TOTPEnabled && !s.passwordOnly,
			UsedTOTP:           step != 0,
		}, nil
	}
}
