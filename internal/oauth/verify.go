package oauth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"kartehub/internal/authz"
	"kartehub/internal/karte"
)

// maxToken bounds the access tokens Verify parses; ours are well under 1
// KiB.
const maxToken = 8 << 10

// Verify checks a bearer access token and returns who presents it. The
// token must be one of ours: signed with the provider's key and algorithm
// (alg none, HMAC and every other algorithm are refused), typ at+jwt, for
// the FHIR base (aud), unexpired (30 s leeway), not revoked; a person's
// session must be alive (not logged out, idle or past SessionMax), which
// restarts its idle timer. The account or client is then looked up, so
// that a disabled or expired account, or a password reset, takes effect at
// once (within Config.AccountCacheTTL), and roles and facilities come from
// the record, never from the token. A lock-out does not end live
// sessions: it stops guessing at the login page, and anyone who knows a
// login name could otherwise end its owner's work by failing five times.
//
// Verification fails with an *karte.Error of Kind Unauthorized and a short
// reason ("token expired", "session ended", "account disabled"); an error
// of another kind is the store's. A token verified before costs a map
// lookup: the parsed claims are cached until the token expires.
func (p *Provider) Verify(ctx context.Context, token string) (*karte.Principal, error) {
	pr, _, err := p.verify(ctx, token)
	return pr, err
}

// verify is Verify, also returning a person's session.
func (p *Provider) verify(ctx context.Context, token string) (*karte.Principal, *session, error) {
	_, pr, s, err := p.verifyClaims(ctx, token)
	return pr, s, err
}

// verifyClaims is verify, also returning the token's checked claims.
func (p *Provider) verifyClaims(ctx context.Context, token string) (*verified, *karte.Principal, *session, error) {
	now := p.now()
	key := hashOf(token)
	v := p.tokens.get(key)
	if v == nil {
		var err error
		if v, err = p.parseAccess(token, now); err != nil {
			return nil, nil, nil, err
		}
		p.tokens.put(key, v, now)
	}
	switch {
	case now.After(v.exp.Add(leeway)):
		p.tokens.drop(key)
		return nil, nil, nil, unauthorized("token expired")
	case p.st.isRevoked(v.std.ID):
		return nil, nil, nil, unauthorized("token revoked")
	}
	var pr *karte.Principal
	var s *session
	var err error
	if v.ext.Kind == kindClient {
		pr, err = p.clientPrincipal(ctx, v, now)
	} else {
		pr, s, err = p.userPrincipal(ctx, v, now)
	}
	if karte.IsKind(err, karte.Unauthorized) {
		p.tokens.drop(key)
	}
	return v, pr, s, err
}

// userPrincipal is the principal of a person's token, whose session must
// be alive and whose account must be able to act.
func (p *Provider) userPrincipal(ctx context.Context, v *verified, now time.Time) (*karte.Principal, *session, error) {
	s := p.st.session(v.ext.SID, now)
	switch {
	case s == nil:
		return nil, nil, unauthorized("session ended: log in again")
	case s.user.accountID != v.std.Subject || s.clientID != v.ext.ClientID:
		return nil, nil, unauthorized("token does not match its session")
	}
	a, why, err := p.userAccount(ctx, s.user.login, s.user.accountID, now)
	switch {
	case err != nil:
		return nil, nil, err
	case why != "":
		return nil, nil, unauthorized(why)
	}
	pr := &karte.Principal{
		Kind:       karte.PrincipalUser,
		ID:         a.ID,
		Login:      a.Login,
		Name:       a.Name,
		Person:     a.Person,
		App:        v.ext.ClientID,
		Roles:      a.Roles,
		Facilities: a.Facilities,
		Scopes:     v.scopes,
		Patient:    v.ext.Patient,
		BreakGlass: s.breakGlass.Load(),
	}
	if pr.App == ConsoleClientID {
		pr.App = ""
	}
	return pr, s, nil
}

// clientPrincipal is the principal of a system's token.
func (p *Provider) clientPrincipal(ctx context.Context, v *verified, now time.Time) (*karte.Principal, error) {
	c, why, err := p.systemClient(ctx, v.std.Subject, now)
	switch {
	case err != nil:
		return nil, err
	case why != "":
		return nil, unauthorized(why)
	}
	return &karte.Principal{
		Kind:       karte.PrincipalClient,
		ID:         c.ID,
		Login:      c.ID,
		Name:       c.Name,
		Roles:      c.Roles,
		Facilities: c.Facilities,
		Scopes:     v.scopes,
	}, nil
}

// verified is an access token whose signature and claims have been
// checked: what the token cache keeps.
type verified struct {
	std    jwt.Claims
	ext    accessClaims
	scopes []karte.Scope // shared, read-only
	exp    time.Time
}

// parseAccess checks an access token's signature and claims.
func (p *Provider) parseAccess(token string, now time.Time) (*verified, error) {
	if len(token) > maxToken {
		return nil, unauthorized("token too long")
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{p.keys.alg})
	if err != nil {
		var ua *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &ua) {
			return nil, unauthorized("token algorithm not accepted")
		}
		return nil, unauthorized("token malformed")
	}
	h := tok.Headers[0]
	if h.KeyID != p.keys.kid {
		return nil, unauthorized("token key unknown")
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, unauthorized("token type is not at+jwt")
	}
	v := &verified{}
	if err := tok.Claims(p.keys.pub, &v.std, &v.ext); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, unauthorized("token signature invalid")
		}
		return nil, unauthorized("token claims malformed")
	}
	return v, p.checkAccessClaims(v, now)
}

// checkAccessClaims checks the claims of a token whose signature holds,
// and parses its scopes.
func (p *Provider) checkAccessClaims(v *verified, now time.Time) error {
	switch {
	case v.std.Issuer != p.issuer:
		return unauthorized("token issuer is not this server")
	case !v.std.Audience.Contains(p.audience):
		return unauthorized("token audience is not this FHIR server")
	case v.std.Expiry == nil:
		return unauthorized("token has no expiry")
	case now.After(v.std.Expiry.Time().Add(leeway)):
		return unauthorized("token expired")
	case v.std.NotBefore != nil && v.std.NotBefore.Time().After(now.Add(leeway)):
		return unauthorized("token not valid yet")
	case v.std.ID == "" || v.std.Subject == "":
		return unauthorized("token claims incomplete")
	case v.ext.Kind == kindUser && v.ext.SID == "":
		return unauthorized("token has no session")
	case v.ext.Kind != kindUser && v.ext.Kind != kindClient:
		return unauthorized("token kind unknown")
	}
	scopes, err := authz.ParseScopes(v.ext.Scope)
	if err != nil {
		return unauthorized("token scope invalid")
	}
	v.scopes, v.exp = scopes, v.std.Expiry.Time()
	return nil
}

// userAccount returns the account with the login name and id, and the
// reason it may not act now ("" if it may); err is the store's.
func (p *Provider) userAccount(ctx context.Context, login, id string, now time.Time) (*karte.Account, string, error) {
	r, err := p.cache.get("u:"+login, now, p.accountTTL, func() (record, error) {
		a, err := p.accounts.User(ctx, login)
		return record{account: a}, err
	})
	switch {
	case karte.IsKind(err, karte.NotFound):
		return nil, "account not found", nil
	case err != nil:
		return nil, "", err
	}
	a := r.account
	switch {
	case a.ID != id:
		return nil, "account not found", nil
	case a.Disabled:
		return nil, "account disabled", nil
	case !a.ExpiresAt.IsZero() && !now.Before(a.ExpiresAt):
		return nil, "account expired", nil
	case a.MustChangePassword:
		return nil, "account password reset: log in again", nil
	}
	return a, "", nil
}

// systemClient returns the registered client with the id, and the reason
// it may not act now ("" if it may).
func (p *Provider) systemClient(ctx context.Context, id string, now time.Time) (*karte.Client, string, error) {
	r, err := p.cache.get("c:"+id, now, p.accountTTL, func() (record, error) {
		c, err := p.accounts.Client(ctx, id)
		return record{client: c}, err
	})
	switch {
	case karte.IsKind(err, karte.NotFound):
		return nil, "client not found", nil
	case err != nil:
		return nil, "", err
	}
	c := r.client
	switch {
	case c.Disabled:
		return nil, "client disabled", nil
	case !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt):
		return nil, "client expired", nil
	}
	return c, "", nil
}

// tokenCache keeps verified access tokens by the hash of the token, until
// they expire. When full it forgets some: it is only a cache.
type tokenCache struct {
	mu sync.RWMutex
	m  map[hash]*verified
}

const maxCachedTokens = 1 << 16

func newTokenCache() *tokenCache { return &tokenCache{m: make(map[hash]*verified)} }

func (c *tokenCache) get(k hash) *verified {
	c.mu.RLock()
	v := c.m[k]
	c.mu.RUnlock()
	return v
}

func (c *tokenCache) put(k hash, v *verified, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedTokens {
		for key, old := range c.m {
			if now.After(old.exp.Add(leeway)) || len(c.m) >= maxCachedTokens*3/4 {
				delete(c.m, key)
			}
		}
	}
	c.m[k] = v
}

func (c *tokenCache) drop(k hash) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// record is an account or a client as read from the store.
type record struct {
	account *karte.Account
	client  *karte.Client
}

// recordCache keeps accounts and clients for a short time, so that Verify
// does not read the store on every request.
type recordCache struct {
	mu sync.RWMutex
	m  map[string]cachedRecord
}

type cachedRecord struct {
	record
	read time.Time
}

const maxCachedRecords = 1 << 16

func newRecordCache() *recordCache { return &recordCache{m: make(map[string]cachedRecord)} }

// get returns the record under key if read within ttl, and otherwise
// loads and keeps it. A ttl of 0 always loads.
func (c *recordCache) get(key string, now time.Time, ttl time.Duration, load func() (record, error)) (record, error) {
	if ttl > 0 {
		c.mu.RLock()
		r, ok := c.m[key]
		c.mu.RUnlock()
		if ok && now.Sub(r.read) < ttl && !now.Before(r.read) {
			return r.record, nil
		}
	}
	r, err := load()
	if err != nil || ttl == 0 {
		return r, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedRecords {
		clear(c.m)
	}
	c.m[key] = cachedRecord{record: r, read: now}
	c.mu.Unlock()
	return r, nil
}
