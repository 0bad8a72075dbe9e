package account

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"
	"time"

	"kartehub/internal/karte"
)

// NewClient describes an API client to register.
type NewClient struct {
	Name       string
	Roles      []string // at least one of karte.Roles
	Facilities []string // Organization ids
	// PublicKeys, if set, registers the client for private_key_jwt: a JWK
	// Set, a JWK or PEM public keys (see NormalizeKeys). Otherwise the
	// client gets a secret.
	PublicKeys []byte
	ExpiresAt  time.Time
}

// CreateClient registers an API client of kind system. Without public keys
// it makes a random secret, which it returns (once: only its argon2id hash
// is kept); with keys the secret is "". It returns an *karte.Error of Kind
// Invalid for a bad name, role, facility or key.
func (s *Service) CreateClient(ctx context.Context, nc NewClient) (*karte.Client, string, error) {
	name, err := checkName("client name", nc.Name)
	if err != nil {
		return nil, "", err
	}
	roles, err := checkRoles(nc.Roles)
	if err != nil {
		return nil, "", err
	}
	facilities, err := checkFacilities(nc.Facilities)
	if err != nil {
		return nil, "", err
	}
	now := s.clock()
	c := &karte.Client{
		ID:         newClientID(),
		Name:       name,
		Kind:       karte.ClientSystem,
		Roles:      roles,
		Facilities: facilities,
		Created:    now,
		Updated:    now,
	}
	if !nc.ExpiresAt.IsZero() {
		c.ExpiresAt = nc.ExpiresAt.UTC().Truncate(time.Millisecond)
	}
	secret := ""
	if nc.PublicKeys != nil {
		if c.JWKS, _, err = NormalizeKeys(nc.PublicKeys); err != nil {
			return nil, "", karte.Errorf(karte.Invalid, "client %q: %w", name, err)
		}
	} else {
		secret = rand.Text() // 130 bits, base32
		if c.SecretHash, err = s.hash(ctx, secret); err != nil {
			return nil, "", err
		}
	}
	if err := s.st.CreateClient(ctx, c); err != nil {
		return nil, "", fmt.Errorf("register client %q: %w", name, err)
	}
	return redactedClient(c), secret, nil
}

// AuthenticateClient checks a client's secret (client_secret_basic or
// client_secret_post) and returns the client. It fails, as Authenticate
// does, with an *karte.Error of Kind Unauthorized whose message is
// ErrClientFailed and whose cause is an *AuthError, taking as long for an
// unknown client as for a wrong secret. Clients are not locked out: their
// secrets are random and too long to guess, and a lock-out would let
// anyone stop a departmental system.
func (s *Service) AuthenticateClient(ctx context.Context, id, secret string) (*karte.Client, error) {
	start := time.Now()
	c, err := s.authenticateClient(ctx, id, secret)
	if karte.IsKind(err, karte.Unauthorized) {
		s.pad(ctx, start)
	}
	return c, err
}

func (s *Service) authenticateClient(ctx context.Context, id, secret string) (*karte.Client, error) {
	fail := &AuthError{Login: id, client: true}
	c, err := s.st.Client(ctx, id)
	if karte.IsKind(err, karte.NotFound) {
		s.verify(ctx, "", secret)
		fail.Reason = ReasonUnknown
		return nil, authFailed(fail)
	}
	if err != nil {
		return nil, err
	}
	fail.AccountID = c.ID
	ok, err := s.verify(ctx, c.SecretHash, secret)
	if err != nil {
		return nil, karte.Errorf(karte.Internal, "client %s: the stored secret hash: %w", c.ID, err)
	}
	switch fail.Reason = s.clientState(c); {
	case fail.Reason != "":
	case c.SecretHash == "":
		fail.Reason = ReasonNoSecret
	case !ok:
		fail.Reason = ReasonBadPassword
	}
	if fail.Reason != "" {
		return nil, authFailed(fail)
	}
	return redactedClient(c), nil
}

// ClientKeys returns an active client registered for private_key_jwt and
// its public keys, with which the OAuth provider checks the client's
// signed assertion. A client that is unknown, disabled, expired or
// registered with a secret fails as AuthenticateClient does.
func (s *Service) ClientKeys(ctx context.Context, id string) (*karte.Client, []PublicKey, error) {
	fail := &AuthError{Login: id, client: true}
	c, err := s.st.Client(ctx, id)
	if karte.IsKind(err, karte.NotFound) {
		fail.Reason = ReasonUnknown
		return nil, nil, authFailed(fail)
	}
	if err != nil {
		return nil, nil, err
	}
	fail.AccountID = c.ID
	if fail.Reason = s.clientState(c); fail.Reason == "" && len(c.JWKS) == 0 {
		fail.Reason = ReasonNoSecret
	}
	if fail.Reason != "" {
		return nil, nil, authFailed(fail)
	}
	keys, err := ParseJWKS(c.JWKS)
	if err != nil {
		return nil, nil, karte.Errorf(karte.Internal, "client %s: the stored keys: %w", c.ID, err)
	}
	return redactedClient(c), keys, nil
}

// clientState is the reason a client cannot authenticate now, or "".
func (s *Service) clientState(c *karte.Client) Reason {
	switch {
	case c.Disabled:
		return ReasonDisabled
	case !c.ExpiresAt.IsZero() && !s.clock().Before(c.ExpiresAt):
		return ReasonExpired
	}
	return ""
}

// Client returns a client without its secret hash, or an *karte.Error of
// Kind NotFound.
func (s *Service) Client(ctx context.Context, id string) (*karte.Client, error) {
	c, err := s.st.Client(ctx, strings.TrimSpace(id))
	if err != nil {
		return nil, err
	}
	return redactedClient(c), nil
}

// Clients returns every client, by name, without their secret hashes.
func (s *Service) Clients(ctx context.Context) ([]*karte.Client, error) {
	list, err := s.st.Clients(ctx)
	if err != nil {
		return nil, err
	}
	for i, c := range list {
		list[i] = redactedClient(c)
	}
	return list, nil
}

// DisableClient stops a client from authenticating, until EnableClient.
func (s *Service) DisableClient(ctx context.Context, id string) error {
	return s.changeClient(ctx, id, func(c *karte.Client) { c.Disabled = true })
}

// EnableClient lets a disabled client authenticate again.
func (s *Service) EnableClient(ctx context.Context, id string) error {
	return s.changeClient(ctx, id, func(c *karte.Client) { c.Disabled = false })
}

// ClientUpdate is a change to a client's registration: each field that is
// not nil replaces the client's, and the others are left as they are.
type ClientUpdate struct {
	Name       *string
	Roles      *[]string // at least one of karte.Roles
	Facilities *[]string // Organization ids; empty: none, which lets the client see every facility
}

// UpdateClient applies u to the client and returns it, without its secret
// hash. It checks u as CreateClient checks a new client, and returns an
// *karte.Error of Kind Invalid for a bad name, role or facility, and of
// Kind NotFound for an unknown client. An update that changes nothing
// writes nothing. As for accounts, the OAuth provider applies the new
// roles and facilities to the tokens already issued within seconds.
func (s *Service) UpdateClient(ctx context.Context, id string, u ClientUpdate) (*karte.Client, error) {
	var name string
	if u.Name != nil {
		var err error
		if name, err = checkName("client name", *u.Name); err != nil {
			return nil, err
		}
	}
	roles, facilities, err := checkAccess(u.Roles, u.Facilities)
	if err != nil {
		return nil, err
	}
	c, err := s.modifyClient(ctx, id, func(c *karte.Client) bool {
		before := redactedClient(c)
		if u.Name != nil {
			c.Name = name
		}
		if u.Roles != nil {
			c.Roles = slices.Clone(roles)
		}
		if u.Facilities != nil {
			c.Facilities = slices.Clone(facilities)
		}
		return c.Name != before.Name || !slices.Equal(c.Roles, before.Roles) || !slices.Equal(c.Facilities, before.Facilities)
	})
	if err != nil {
		return nil, err
	}
	return redactedClient(c), nil
}

func (s *Service) changeClient(ctx context.Context, id string, fn func(*karte.Client)) error {
	_, err := s.modifyClient(ctx, id, func(c *karte.Client) bool { fn(c); return true })
	return err
}

// modifyClient reads the client, applies fn and stores it if fn reports a
// change, rereading and applying fn again when someone else has changed
// the client meanwhile. It returns the client as stored.
func (s *Service) modifyClient(ctx context.Context, id string, fn func(*karte.Client) (changed bool)) (*karte.Client, error) {
	id = strings.TrimSpace(id)
	for attempt := 1; ; attempt++ {
		c, err := s.st.Client(ctx, id)
		if err != nil {
			return nil, err
		}
		if !fn(c) {
			return c, nil
		}
		c.Updated = s.clock()
		err = s.st.UpdateClient(ctx, c)
		if err == nil {
			return c, nil
		}
		if !karte.IsKind(err, karte.Conflict) || attempt == maxAttempts {
			return nil, fmt.Errorf("update client %s: %w", id, err)
		}
	}
}

func redactedClient(c *karte.Client) *karte.Client {
	r := *c
	r.SecretHash = ""
	r.Roles, r.Facilities, r.JWKS = slices.Clone(c.Roles), slices.Clone(c.Facilities), slices.Clone(c.JWKS)
	return &r
}

// newClientID returns a random client id: "kh-" and 24 base32 characters.
func newClientID() string {
	var b [15]byte
	rand.Read(b[:])
	return "kh-" + strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}
