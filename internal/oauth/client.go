package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"kartehub/internal/account"
	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// caller is an authenticated client of the token or revocation endpoint:
// a public app, named by its client_id, or a registered system.
type caller struct {
	app    *app
	client *karte.Client
	method string // none, client_secret_basic, client_secret_post, private_key_jwt
}

// id returns the caller's client_id.
func (c *caller) id() string {
	if c.app != nil {
		return c.app.ClientID
	}
	return c.client.ID
}

// The client assertion of private_key_jwt (RFC 7523, SMART Backend
// Services).
const (
	assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// maxAssertionLife is how far ahead an assertion's exp may be, so
	// how long its jti must be remembered.
	maxAssertionLife = 5 * time.Minute
	maxAssertion     = 16 << 10
	maxJTI           = 256
	// leeway is the clock skew allowed with clients, on exp, nbf and
	// iat.
	leeway = 30 * time.Second
)

// assertionAlgs are the algorithms a client may sign with: asymmetric
// only. "none" and HMAC are never accepted: HS256 keyed with a client's
// public key would let anyone sign.
var assertionAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// authenticate identifies the client of a token or revocation request by
// exactly one method: HTTP Basic, client_secret in the form, a signed
// client assertion, or, for a public app, its client_id alone.
func (p *Provider) authenticate(r *http.Request, form url.Values) (*caller, *oauthError) {
	basicID, basicSecret, basic := r.BasicAuth()
	secret, hasSecret := form["client_secret"]
	assertion, hasAssertion := form["client_assertion"]
	formID := form.Get("client_id")
	n := 0
	for _, used := range []bool{basic, hasSecret, hasAssertion} {
		if used {
			n++
		}
	}
	if n > 1 {
		return nil, badRequest("invalid_request", "use one client authentication method")
	}
	switch {
	case basic:
		// RFC 6749 2.3.1: the id and secret are form-encoded first.
		id, err1 := url.QueryUnescape(basicID)
		sec, err2 := url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil || formID != "" && formID != id {
			e := invalidClient("bad client credentials in the Authorization header")
			e.basic = true
			return nil, e
		}
		c, e := p.clientSecret(r, id, sec, "client_secret_basic")
		if e != nil {
			e.basic = true
		}
		return c, e
	case hasSecret:
		return p.clientSecret(r, formID, secret[0], "client_secret_post")
	case hasAssertion:
		if form.Get("client_assertion_type") != assertionType {
			return nil, badRequest("invalid_request", "client_assertion_type must be "+assertionType)
		}
		return p.clientAssertion(r, assertion[0], formID)
	}
	if a := p.apps[formID]; a != nil {
		if a.keys != nil {
			p.refuseClient(r, formID, "none: a confidential app")
			return nil, invalidClient("this app is a confidential client: authenticate with private_key_jwt")
		}
		return &caller{app: a, method: "none"}, nil
	}
	if formID == "" {
		return nil, invalidClient("client authentication is required")
	}
	return nil, invalidClient("unknown client, or a registered system without credentials")
}

// clientSecret authenticates a registered system by its secret.
func (p *Provider) clientSecret(r *http.Request, id, secret, method string) (*caller, *oauthError) {
	if p.apps[id] != nil {
		return nil, invalidClient("apps have no secret: a public app sends its client_id alone, a confidential one a client assertion (private_key_jwt)")
	}
	c, err := p.accounts.AuthenticateClient(r.Context(), id, secret)
	if err != nil {
		if !karte.IsKind(err, karte.Unauthorized) {
			p.log.Error("oauth: client authentication", "err", err)
			return nil, serverError("client authentication is not possible now")
		}
		p.refuseClient(r, id, method+": "+clientFailure(err))
		return nil, invalidClient(account.ErrClientFailed)
	}
	return &caller{client: c, method: method}, nil
}

// refuseClient audits a refused client authentication.
func (p *Provider) refuseClient(r *http.Request, id, why string) {
	p.record(r, &audit.Event{
		Type:        audit.Login,
		Outcome:     audit.MinorFailure,
		OutcomeDesc: "client authentication refused: " + why,
		Client:      &audit.Client{ID: id},
	})
}

// clientAssertion authenticates a registered system or a confidential app
// by a JWT signed with one of its keys (private_key_jwt), and audits a
// refusal.
func (p *Provider) clientAssertion(r *http.Request, assertion, formID string) (*caller, *oauthError) {
	c, id, err := p.checkAssertion(r, assertion, formID)
	if err != nil {
		var ue *unavailableError
		if errors.As(err, &ue) {
			return nil, unavailable(ue.msg)
		}
		if !karte.IsKind(err, karte.Unauthorized) {
			p.log.Error("oauth: client assertion", "err", err)
			return nil, serverError("client authentication is not possible now")
		}
		p.refuseClient(r, id, "private_key_jwt: "+clientFailure(err))
		return nil, invalidClient(err.Error())
	}
	c.method = "private_key_jwt"
	return c, nil
}

// unavailableError is a refusal for lack of room, not of the client's
// making.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }

// checkAssertion checks a client assertion and returns its caller (a
// registered system or a confidential app), and the client_id it claims
// (for audit). Refusals are Unauthorized errors saying why, safe to return
// to the client.
func (p *Provider) checkAssertion(r *http.Request, assertion, formID string) (*caller, string, error) {
	refuse := func(format string, args ...any) error {
		return karte.Errorf(karte.Unauthorized, "client assertion: "+format, args...)
	}
	if len(assertion) > maxAssertion {
		return nil, formID, refuse("longer than %d bytes", maxAssertion)
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		var ua *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &ua) {
			return nil, formID, refuse("alg %q is not accepted (want one of %v)", ua.Got, assertionAlgNames)
		}
		return nil, formID, refuse("not a signed JWT in compact form")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, formID, refuse("the claims cannot be read")
	}
	id := unverified.Issuer
	switch {
	case id == "":
		return nil, formID, refuse("iss is required: the client_id")
	case formID != "" && formID != id:
		return nil, formID, refuse("iss is not the client_id given")
	}
	c, keys, err := p.assertionKeys(r, id)
	if err != nil {
		return nil, id, err
	}
	claims, err := verifyWithKeys(tok, keys)
	if err != nil {
		return nil, id, refuse("%v", err)
	}
	if err := p.checkAssertionClaims(claims, id); err != nil {
		return nil, id, refuse("%v", err)
	}
	switch p.jtis.add(id, claims.ID, claims.Expiry.Time().Add(leeway), p.now()) {
	case jtiReplayed:
		return nil, id, refuse("jti %q was used before: an assertion is good for one request", claims.ID)
	case jtiFull:
		return nil, id, &unavailableError{"too many client assertions in flight: try again shortly"}
	}
	return c, id, nil
}

// assertionKeys returns the caller that client_id id names and the keys
// its assertions must be signed with: a confidential app's configured
// keys, or a registered system's.
func (p *Provider) assertionKeys(r *http.Request, id string) (*caller, []account.PublicKey, error) {
	if a := p.apps[id]; a != nil {
		if a.keys == nil {
			return nil, nil, karte.Errorf(karte.Unauthorized, "client assertion: %s is a public app, without keys: it sends its client_id alone", id)
		}
		return &caller{app: a}, a.keys, nil
	}
	c, keys, err := p.accounts.ClientKeys(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	return &caller{client: c}, keys, nil
}

// verifyWithKeys checks the signature of tok with the registered key its
// kid names, or, if it names none of them, with each key in turn.
func verifyWithKeys(tok *jwt.JSONWebToken, keys []account.PublicKey) (*jwt.Claims, error) {
	h := tok.Headers[0]
	candidates := keys
	for _, k := range keys {
		if h.KeyID != "" && k.KID == h.KeyID {
			candidates = []account.PublicKey{k}
			break
		}
	}
	for _, k := range candidates {
		if k.Alg != "" && k.Alg != h.Algorithm && !(k.Alg == "Ed25519" && h.Algorithm == "EdDSA") {
			continue // the key is registered for another algorithm
		}
		var claims jwt.Claims
		if err := tok.Claims(k.Key, &claims); err == nil {
			return &claims, nil
		}
	}
	return nil, fmt.Errorf("the %s signature does not verify with the client's registered keys", h.Algorithm)
}

// checkAssertionClaims checks the claims of a verified assertion of the
// client id.
func (p *Provider) checkAssertionClaims(c *jwt.Claims, id string) error {
	now := p.now()
	switch {
	case c.Issuer != id || c.Subject != id:
		return errors.New("iss and sub must both be the client_id")
	case !c.Audience.Contains(p.url.token):
		return fmt.Errorf("aud must be the token endpoint, %s", p.url.token)
	case c.Expiry == nil:
		return errors.New("exp is required")
	case c.Expiry.Time().Before(now.Add(-leeway)):
		return errors.New("expired")
	case c.Expiry.Time().After(now.Add(maxAssertionLife + leeway)):
		return fmt.Errorf("exp is more than %v ahead", maxAssertionLife)
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(leeway)):
		return errors.New("not valid yet (nbf)")
	case c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(leeway)):
		return errors.New("iat is in the future")
	case c.ID == "" || len(c.ID) > maxJTI:
		return fmt.Errorf("jti is required, at most %d bytes", maxJTI)
	}
	// The jti cache is in memory: an assertion first used before this
	// process started may have been forgotten. Any assertion accepted then
	// was issued (iat), or at the latest would have been exp minus its
	// greatest life, before the start: refuse those.
	issued := c.Expiry.Time().Add(-maxAssertionLife)
	if c.IssuedAt != nil {
		issued = c.IssuedAt.Time()
	}
	if issued.Before(p.started.Truncate(time.Second)) {
		return errors.New("issued before the server started: make a new assertion")
	}
	return nil
}

// jtiCache remembers the jti of each accepted client assertion until it
// expires, so that none is accepted twice. It is bounded: when full of
// unexpired entries it refuses new assertions rather than forget one.
type jtiCache struct {
	mu sync.Mutex
	m  map[string]time.Time
}

const maxJTIs = 100_000

func newJTICache() *jtiCache { return &jtiCache{m: make(map[string]time.Time)} }

type jtiResult int

const (
	jtiNew jtiResult = iota
	jtiReplayed
	jtiFull
)

// add records the jti of client id until exp.
func (c *jtiCache) add(id, jti string, exp, now time.Time) jtiResult {
	key := id + "\x00" + jti
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[key]; ok && now.Before(t) {
		return jtiReplayed
	}
	if len(c.m) >= maxJTIs {
		for k, t := range c.m {
			if !now.Before(t) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxJTIs {
			return jtiFull
		}
	}
	c.m[key] = exp
	return jtiNew
}
