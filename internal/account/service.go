package account

import (
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"kartehub/internal/karte"
)

// Defaults of Config.
const (
	DefaultMaxFailures     = 5
	DefaultLockoutDuration = 15 * time.Minute
	// DefaultFailureFloor is the least time a failed Authenticate or
	// AuthenticateClient takes (real time, not Config.Now), so that no
	// failure answers sooner than another: the hash alone (~75 ms) hides
	// most of the difference between an unknown login and a wrong
	// password, and the floor hides the rest (the write that counts a
	// failure, the lookup that finds nothing). It also slows down guessing.
	DefaultFailureFloor = 250 * time.Millisecond
	DefaultIssuer       = "kartehub"
)

// Config configures a Service. The zero Config is the policy of the MHLW
// guideline, with MFA required; only Key needs setting (for TOTP).
type Config struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Key seals the TOTP secrets in the store (KeySize bytes, see LoadKey).
	// Without it the Service works, but TOTP enrolment and the login of an
	// account with TOTP fail.
	Key []byte
	// MaxFailures consecutive failed logins lock the account for
	// LockoutDuration (defaults 5 and 15 minutes).
	MaxFailures     int
	LockoutDuration time.Duration
	// PasswordOnly lets an account without a confirmed TOTP log in fully.
	// By default (false) such an account can only log in to enrol TOTP
	// (Login.MustEnrolTOTP).
	PasswordOnly bool
	// Hash are the argon2id parameters of new hashes; zero means
	// DefaultHashParams. Tests may lower them.
	Hash HashParams
	// Policy is the password rule; zero means DefaultPolicy.
	Policy Policy
	// FailureFloor is the least duration of a failed authentication; zero
	// means DefaultFailureFloor, negative none.
	FailureFloor time.Duration
	// Issuer names the service in authenticator apps; "" means "kartehub".
	Issuer string
}

// Service manages accounts and API clients over a karte.AccountStore:
// passwords (policy, argon2id), lock-out, TOTP, one-time passwords, client
// secrets and keys. It is safe for concurrent use.
type Service struct {
	st           karte.AccountStore
	now          func() time.Time
	sealer       *sealer
	maxFailures  int
	lockout      time.Duration
	passwordOnly bool
	params       HashParams
	policy       Policy
	floor        time.Duration
	issuer       string

	// slots bounds the hashes computed at once, so that a burst of logins
	// queues instead of taking Memory KiB each.
	slots     chan struct{}
	dummyOnce sync.Once
	dummy     string // a hash to check when there is none, for equal timing
}

// New returns a Service over st.
func New(st karte.AccountStore, cfg Config) (*Service, error) {
	sl, err := newSealer(cfg.Key)
	if err != nil {
		return nil, err
	}
	s := &Service{
		st:           st,
		now:          cfg.Now,
		sealer:       sl,
		maxFailures:  cfg.MaxFailures,
		lockout:      cfg.LockoutDuration,
		passwordOnly: cfg.PasswordOnly,
		params:       cfg.Hash,
		policy:       cfg.Policy,
		floor:        cfg.FailureFloor,
		issuer:       cfg.Issuer,
		slots:        make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxFailures <= 0 {
		s.maxFailures = DefaultMaxFailures
	}
	if s.lockout <= 0 {
		s.lockout = DefaultLockoutDuration
	}
	if s.params == (HashParams{}) {
		s.params = DefaultHashParams
	}
	if s.policy == (Policy{}) {
		s.policy = DefaultPolicy
	}
	if s.floor == 0 {
		s.floor = DefaultFailureFloor
	}
	if s.issuer == "" {
		s.issuer = DefaultIssuer
	}
	if _, err := Hash("", s.params); err != nil {
		return nil, err
	}
	return s, nil
}

// Policy returns the password rule the Service enforces.
func (s *Service) Policy() Policy { return s.policy }

// clock returns the current time in UTC, to the millisecond that the
// stores keep.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// hash hashes a secret within a hashing slot.
func (s *Service) hash(ctx context.Context, secret string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return Hash(secret, s.params)
}

// verify checks secret against phc within a hashing slot. An empty phc
// (no password set) is checked against a dummy hash, so that it takes as
// long, and fails.
func (s *Service) verify(ctx context.Context, phc, secret string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	if phc == "" {
		Verify(s.dummyHash(), secret)
		return false, nil
	}
	return Verify(phc, secret)
}

func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = Hash(rand.Text(), s.params) // New checked the parameters
	})
	return s.dummy
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return karte.Errorf(karte.Unavailable, "account: %w", ctx.Err())
	}
}

func (s *Service) release() { <-s.slots }

// NewUser describes an account to create.
type NewUser struct {
	Login      string   // 3-64 of a-z 0-9 . _ - @, starting with a letter or digit; upper case is lowered
	Name       string   // display name, required
	Person     string   // optional: "Practitioner/123", "PractitionerRole/..." or "Person/..."
	Roles      []string // at least one of karte.Roles
	Facilities []string // Organization ids (an "Organization/" prefix is dropped)
	ExpiresAt  time.Time
}

// CreateUser creates an account with a random one-time password, which it
// returns (once: only its hash is kept). The account must change it at its
// first login (Login.MustChangePassword). It returns an *karte.Error of
// Kind Invalid for a bad login name, name, role, facility or person, and of
// Kind Conflict if the login name is taken.
func (s *Service) CreateUser(ctx context.Context, u NewUser) (*karte.Account, string, error) {
	login, err := checkLogin(u.Login)
	if err != nil {
		return nil, "", err
	}
	name, err := checkName("display name", u.Name)
	if err != nil {
		return nil, "", err
	}
	roles, err := checkRoles(u.Roles)
	if err != nil {
		return nil, "", err
	}
	facilities, err := checkFacilities(u.Facilities)
	if err != nil {
		return nil, "", err
	}
	if err := checkPerson(u.Person); err != nil {
		return nil, "", err
	}
	pw := s.oneTimePassword(login)
	h, err := s.hash(ctx, pw)
	if err != nil {
		return nil, "", err
	}
	now := s.clock()
	a := &karte.Account{
		ID:                 newID(),
		Login:              login,
		Name:               name,
		Person:             u.Person,
		Roles:              roles,
		Facilities:         facilities,
		PasswordHash:       h,
		MustChangePassword: true,
		Created:            now,
		Updated:            now,
	}
	if !u.ExpiresAt.IsZero() {
		a.ExpiresAt = u.ExpiresAt.UTC().Truncate(time.Millisecond)
	}
	if err := s.st.CreateAccount(ctx, a); err != nil {
		if karte.IsKind(err, karte.Conflict) {
			return nil, "", karte.Errorf(karte.Conflict, "the login name %q is taken", login)
		}
		return nil, "", fmt.Errorf("create account %q: %w", login, err)
	}
	return redacted(a), pw, nil
}

// User returns the account with the login name, without its secrets, or an
// *karte.Error of Kind NotFound.
func (s *Service) User(ctx context.Context, login string) (*karte.Account, error) {
	a, err := s.st.AccountByLogin(ctx, normalLogin(login))
	if err != nil {
		return nil, err
	}
	return redacted(a), nil
}

// Users returns every account, by login name, without their secrets.
func (s *Service) Users(ctx context.Context) ([]*karte.Account, error) {
	list, err := s.st.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	for i, a := range list {
		list[i] = redacted(a)
	}
	return list, nil
}

// SetPassword sets the password of an account after checking it against
// the policy (the shorter minimum applies if the account has a confirmed
// TOTP) and against the current password, which it refuses, and clears
// MustChangePassword. The caller must have authenticated the person: it
// is the second step of a login that reported MustChangePassword, or of a
// password change form.
func (s *Service) SetPassword(ctx context.Context, login, password string) error {
	a, err := s.st.AccountByLogin(ctx, normalLogin(login))
	if err != nil {
		return err
	}
	if err := s.policy.Check(a.Login, password, a.TOTPEnabled); err != nil {
		return err
	}
	if same, err := s.verify(ctx, a.PasswordHash, password); err == nil && same {
		return karte.Errorf(karte.Unprocessable, "password refused: it is the current password")
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	_, err = s.modify(ctx, a, func(a *karte.Account) error {
		// The rule may have changed under us (TOTP removed meanwhile).
		if err := s.policy.Check(a.Login, password, a.TOTPEnabled); err != nil {
			return err
		}
		a.PasswordHash = h
		a.MustChangePassword = false
		return nil
	})
	return err
}

// ResetPassword gives an account a new one-time password, which it
// returns, to be changed at the next login; it also unlocks the account.
func (s *Service) ResetPassword(ctx context.Context, login string) (string, error) {
	a, err := s.st.AccountByLogin(ctx, normalLogin(login))
	if err != nil {
		return "", err
	}
	pw := s.oneTimePassword(a.Login)
	h, err := s.hash(ctx, pw)
	if err != nil {
		return "", err
	}
	_, err = s.modify(ctx, a, func(a *karte.Account) error {
		a.PasswordHash = h
		a.MustChangePassword = true
		a.FailedLogins, a.LockedUntil = 0, time.Time{}
		return nil
	})
	if err != nil {
		return "", err
	}
	return pw, nil
}

// DisableUser stops an account from logging in, until EnableUser.
func (s *Service) DisableUser(ctx context.Context, login string) error {
	return s.change(ctx, login, func(a *karte.Account) { a.Disabled = true })
}

// EnableUser lets a disabled account log in again.
func (s *Service) EnableUser(ctx context.Context, login string) error {
	return s.change(ctx, login, func(a *karte.Account) { a.Disabled = false })
}

// UnlockUser ends a lock-out and forgets the failed logins.
func (s *Service) UnlockUser(ctx context.Context, login string) error {
	return s.change(ctx, login, func(a *karte.Account) { a.FailedLogins, a.LockedUntil = 0, time.Time{} })
}

// ExpireUser sets the time from which the account can no longer log in;
// the zero time removes it.
func (s *Service) ExpireUser(ctx context.Context, login string, at time.Time) error {
	if !at.IsZero() {
		at = at.UTC().Truncate(time.Millisecond)
	}
	return s.change(ctx, login, func(a *karte.Account) { a.ExpiresAt = at })
}

// UserUpdate is a change to an account's profile: each field that is not
// nil replaces the account's, and the others are left as they are.
type UserUpdate struct {
	Name       *string   // display name
	Person     *string   // FHIR resource of the person; "" removes it
	Roles      *[]string // at least one of karte.Roles
	Facilities *[]string // Organization ids ("Organization/" is dropped); empty: none
}

// UpdateUser applies u to the account with the login name and returns the
// account, without its secrets. It checks u as CreateUser checks a new
// account, and returns an *karte.Error of Kind Invalid for a bad name,
// person, role or facility, and of Kind NotFound for an unknown login. An
// update that changes nothing writes nothing.
//
// The OAuth provider takes roles and facilities from the account when it
// verifies a token (it caches accounts for a few seconds), so a change
// applies to the sessions already open, not only to the next login.
func (s *Service) UpdateUser(ctx context.Context, login string, u UserUpdate) (*karte.Account, error) {
	apply, err := userUpdate(u)
	if err != nil {
		return nil, err
	}
	a, err := s.st.AccountByLogin(ctx, normalLogin(login))
	if err != nil {
		return nil, err
	}
	before := redacted(a)
	apply(a)
	if sameProfile(before, a) {
		return before, nil
	}
	a, err = s.modify(ctx, a, func(a *karte.Account) error { apply(a); return nil })
	if err != nil {
		return nil, fmt.Errorf("update account %q: %w", before.Login, err)
	}
	return redacted(a), nil
}

// userUpdate checks u and returns the function that applies it.
func userUpdate(u UserUpdate) (func(*karte.Account), error) {
	var name string
	if u.Name != nil {
		var err error
		if name, err = checkName("display name", *u.Name); err != nil {
			return nil, err
		}
	}
	if u.Person != nil {
		if err := checkPerson(*u.Person); err != nil {
			return nil, err
		}
	}
	roles, facilities, err := checkAccess(u.Roles, u.Facilities)
	if err != nil {
		return nil, err
	}
	return func(a *karte.Account) {
		if u.Name != nil {
			a.Name = name
		}
		if u.Person != nil {
			a.Person = *u.Person
		}
		if u.Roles != nil {
			a.Roles = slices.Clone(roles)
		}
		if u.Facilities != nil {
			a.Facilities = slices.Clone(facilities)
		}
	}, nil
}

// checkAccess checks the roles and facilities of an update, each if not
// nil.
func checkAccess(roles, facilities *[]string) (r, f []string, err error) {
	if roles != nil {
		if r, err = checkRoles(*roles); err != nil {
			return nil, nil, err
		}
	}
	if facilities != nil {
		if f, err = checkFacilities(*facilities); err != nil {
			return nil, nil, err
		}
	}
	return r, f, nil
}

func sameProfile(a, b *karte.Account) bool {
	return a.Name == b.Name && a.Person == b.Person &&
		slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Facilities, b.Facilities)
}

// change applies fn to the account with the login name and stores it.
func (s *Service) change(ctx context.Context, login string, fn func(*karte.Account)) error {
	a, err := s.st.AccountByLogin(ctx, normalLogin(login))
	if err != nil {
		return err
	}
	_, err = s.modify(ctx, a, func(a *karte.Account) error { fn(a); return nil })
	return err
}

// maxAttempts bounds the rereads of an account that keeps changing under
// an update.
const maxAttempts = 8

// modify applies fn to a and stores it, rereading a and applying fn again
// when someone else has changed it meanwhile. fn must have no effect but
// on its argument.
func (s *Service) modify(ctx context.Context, a *karte.Account, fn func(*karte.Account) error) (*karte.Account, error) {
	for attempt := 1; ; attempt++ {
		if err := fn(a); err != nil {
			return nil, err
		}
		a.Updated = s.clock()
		err := s.st.UpdateAccount(ctx, a)
		if err == nil {
			return a, nil
		}
		if !karte.IsKind(err, karte.Conflict) || attempt == maxAttempts {
			return nil, err
		}
		if a, err = s.st.Account(ctx, a.ID); err != nil {
			return nil, err
		}
	}
}

// redacted returns a copy of a without its secrets.
func redacted(a *karte.Account) *karte.Account {
	c := *a
	c.PasswordHash, c.TOTPSecret = "", ""
	c.Roles, c.Facilities = slices.Clone(a.Roles), slices.Clone(a.Facilities)
	return &c
}

// oneTimePassword returns a random password that the policy accepts
// without a second factor: 4 groups of 4 characters from letters of both
// cases and digits (without look-alikes such as 0/O and 1/l/I), joined by
// hyphens, about 92 bits.
func (s *Service) oneTimePassword(login string) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	for {
		var b strings.Builder
		for i := range 16 {
			if i > 0 && i%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(alphabet[randIntn(len(alphabet))])
		}
		if s.policy.Check(login, b.String(), false) == nil {
			return b.String()
		}
	}
}

// randIntn returns a uniform random number in [0, n), n <= 256.
func randIntn(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// newID returns a random UUID (version 4).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var loginPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{2,63}$`)

// normalLogin is the form login names are kept in: trimmed, lower case.
func normalLogin(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

func checkLogin(login string) (string, error) {
	l := normalLogin(login)
	if !loginPattern.MatchString(l) {
		return "", karte.Errorf(karte.Invalid,
			"login name %q: use 3 to 64 characters among a-z, 0-9, '.', '_', '-' and '@', starting with a letter or digit", login)
	}
	return l, nil
}

func checkName(what, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", karte.Errorf(karte.Invalid, "a %s is required", what)
	case len(name) > 200:
		return "", karte.Errorf(karte.Invalid, "%s: at most 200 bytes", what)
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", karte.Errorf(karte.Invalid, "%s %q: no control characters", what, name)
	}
	return name, nil
}

// checkRoles returns the roles without duplicates, or Invalid.
func checkRoles(roles []string) ([]string, error) {
	var out []string
	for _, r := range roles {
		r = strings.ToLower(strings.TrimSpace(r))
		if !slices.Contains(karte.Roles, r) {
			return nil, karte.Errorf(karte.Invalid, "unknown role %q: the roles are %s", r, strings.Join(karte.Roles, ", "))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, karte.Errorf(karte.Invalid, "at least one role is required (%s)", strings.Join(karte.Roles, ", "))
	}
	return out, nil
}

var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// FacilityID returns the Organization id of a facility given as an id or
// as a reference ("hub" or "Organization/hub"), or an *karte.Error of Kind
// Invalid if it is neither. Accounts and clients keep their facilities as
// such ids.
func FacilityID(facility string) (string, error) {
	id := strings.TrimPrefix(strings.TrimSpace(facility), "Organization/")
	if !fhirID.MatchString(id) {
		return "", karte.Errorf(karte.Invalid, "facility %q: want an Organization id (A-Z, a-z, 0-9, '-', '.', at most 64)", facility)
	}
	return id, nil
}

// checkFacilities returns the Organization ids without duplicates, or
// Invalid.
func checkFacilities(facilities []string) ([]string, error) {
	var out []string
	for _, f := range facilities {
		id, err := FacilityID(f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

var personTypes = []string{"Practitioner", "PractitionerRole", "Person"}

func checkPerson(ref string) error {
	if ref == "" {
		return nil
	}
	typ, id, ok := strings.Cut(ref, "/")
	if !ok || !slices.Contains(personTypes, typ) || !fhirID.MatchString(id) {
		return karte.Errorf(karte.Invalid, "person %q: want a reference such as Practitioner/123 (%s)", ref, strings.Join(personTypes, ", "))
	}
	return nil
}
