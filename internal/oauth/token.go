package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/authz"
	"kartehub/internal/karte"
)

// tokenResponse is the token endpoint's answer (RFC 6749 5.1, SMART).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Patient      string `json:"patient,omitempty"`
	Encounter    string `json:"encounter,omitempty"`
}

// token serves the token endpoint.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	// Browser apps exchange their codes from their own origin; the
	// endpoint takes no cookies, so any origin may call it.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	form, e := readForm(w, r)
	if e == nil {
		e = p.grant(w, r, form)
	}
	if e != nil {
		writeError(w, e)
	}
}

// grant authenticates the client and runs the grant it asks for.
func (p *Provider) grant(w http.ResponseWriter, r *http.Request, form url.Values) *oauthError {
	gt := form.Get("grant_type")
	switch gt {
	case "authorization_code", "refresh_token", "client_credentials":
	case "":
		return badRequest("invalid_request", "grant_type is required")
	default:
		return badRequest("unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported (%s)", gt, strings.Join(grantTypes, ", ")))
	}
	c, e := p.authenticate(r, form)
	if e != nil {
		return e
	}
	if (gt == "client_credentials") != (c.client != nil) {
		if c.client != nil {
			return badRequest("unauthorized_client", "registered systems use client_credentials")
		}
		return badRequest("unauthorized_client", "client_credentials is for registered systems; apps use authorization_code")
	}
	switch gt {
	case "authorization_code":
		return p.exchangeCode(w, r, c.app, form)
	case "refresh_token":
		return p.refresh(w, r, c.app, form)
	}
	return p.clientCredentials(w, r, c.client, form)
}

// clientCredentials issues an access token to a registered system for the
// system/ scopes it asks for; its roles and facilities still limit it.
func (p *Provider) clientCredentials(w http.ResponseWriter, r *http.Request, c *karte.Client, form url.Values) *oauthError {
	raw := form.Get("scope")
	if strings.TrimSpace(raw) == "" {
		return badRequest("invalid_scope", "a scope is required, such as system/Observation.rs")
	}
	scopes, err := authz.ParseScopes(raw)
	if err != nil {
		return badRequest("invalid_scope", err.Error())
	}
	for _, s := range scopes {
		if s.Level != karte.ScopeSystem {
			return badRequest("invalid_scope", fmt.Sprintf("scope %q: a system asks for system/ scopes only", s.Raw))
		}
	}
	scope := joinScopes(scopes)
	now := p.now()
	at, err := p.accessToken(c.ID, accessClaims{ClientID: c.ID, Scope: scope, Kind: kindClient}, now)
	if err != nil {
		return serverError("the token cannot be signed")
	}
	if err := p.record(r, &audit.Event{
		Type:        audit.Login,
		Outcome:     audit.Success,
		OutcomeDesc: fmt.Sprintf("access token issued to system %q (client_credentials), scope %s", c.Name, scope),
		Client:      &audit.Client{ID: c.ID},
	}); err != nil {
		return unavailable("the audit trail is not available")
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: at.token, TokenType: "Bearer", ExpiresIn: int(p.accessTTL.Seconds()), Scope: scope,
	})
	return nil
}

// exchangeCode redeems an authorization code (RFC 6749 4.1.3, RFC 7636).
func (p *Provider) exchangeCode(w http.ResponseWriter, r *http.Request, a *app, form url.Values) *oauthError {
	now := p.now()
	h, g, e := p.checkCode(r, a, form, now)
	if e != nil {
		return e
	}
	s, refresh, e := p.openSession(r, h, g, now)
	if e != nil {
		return e
	}
	resp, e := p.sessionTokens(s, s.scope, now)
	if e == nil && hasScope(s.scope, "openid") {
		var err error
		if resp.IDToken, err = p.idToken(s, g.nonce, hasScope(s.scope, "profile"), now); err != nil {
			e = serverError("the ID token cannot be signed")
		}
	}
	if e == nil && p.record(r, &audit.Event{
		Type:        audit.Login,
		Outcome:     audit.Success,
		OutcomeDesc: fmt.Sprintf("tokens issued to app %q (authorization_code), scope %s", a.ClientID, s.scope),
		User:        auditUser(s.user, nil),
		Client:      &audit.Client{ID: a.ClientID},
	}) != nil {
		e = unavailable("the audit trail is not available")
	}
	if e != nil {
		p.st.end(s.id)
		return e
	}
	resp.RefreshToken = refresh
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// checkCode finds the code of a token request and checks it against the
// request: the client, the redirect URI and the PKCE verifier.
func (p *Provider) checkCode(r *http.Request, a *app, form url.Values, now time.Time) (hash, *codeGrant, *oauthError) {
	code, verifier := form.Get("code"), form.Get("code_verifier")
	if code == "" || verifier == "" {
		return hash{}, nil, badRequest("invalid_request", "code and code_verifier are required")
	}
	h := hashOf(code)
	g := p.st.code(h, now)
	switch {
	case g == nil:
		return h, nil, badRequest("invalid_grant", "the code is unknown or expired")
	case g.used:
		return h, nil, p.codeReplayed(r, h, g)
	case g.clientID != a.ClientID:
		return h, nil, badRequest("invalid_grant", "the code was issued to another client")
	case g.redirectURI != form.Get("redirect_uri"):
		return h, nil, badRequest("invalid_grant", "redirect_uri is not the one of the authorization request")
	case !verifierMatches(verifier, g.challenge):
		return h, nil, badRequest("invalid_grant", "code_verifier does not match the code_challenge")
	}
	return h, g, nil
}

// openSession uses up the code with hash h and opens its session, with a
// refresh token (returned) if offline_access or online_access was granted.
// The account must still be able to log in.
func (p *Provider) openSession(r *http.Request, h hash, g *codeGrant, now time.Time) (*session, string, *oauthError) {
	if _, why, err := p.userAccount(r.Context(), g.user.login, g.user.accountID, now); err != nil {
		return nil, "", serverError("the account cannot be read now")
	} else if why != "" {
		return nil, "", badRequest("invalid_grant", why)
	}
	s := &session{id: randomToken(), user: g.user, clientID: g.clientID, scope: g.scope, patient: g.patient,
		encounter: g.encounter, created: now}
	s.lastUsed.Store(now.UnixNano())
	refresh := ""
	if hasScope(g.scope, "offline_access") || hasScope(g.scope, "online_access") {
		refresh = randomToken()
		s.refresh = hashOf(refresh)
	}
	switch p.st.redeem(h, s, now) {
	case redeemUnknown:
		return nil, "", badRequest("invalid_grant", "the code is unknown or expired")
	case redeemReplayed:
		return nil, "", p.codeReplayed(r, h, g)
	case redeemFull:
		return nil, "", unavailable("too many sessions: try again later")
	}
	return s, refresh, nil
}

// codeReplayed answers a code used a second time: someone else may hold
// it, so the tokens its first use gave are revoked (RFC 6749 4.1.2).
func (p *Provider) codeReplayed(r *http.Request, h hash, g *codeGrant) *oauthError {
	sid := p.st.replayCode(h)
	desc := "authorization code used twice"
	if sid != "" {
		desc += ": the session it opened is ended"
	}
	p.record(r, &audit.Event{
		Type:        audit.Login,
		Outcome:     audit.MinorFailure,
		OutcomeDesc: desc,
		User:        auditUser(g.user, nil),
		Client:      &audit.Client{ID: g.clientID},
	})
	return badRequest("invalid_grant", "the code was used before: the tokens issued for it are revoked")
}

// sessionTokens signs an access token for a session, with the scope
// granted to it or a part of it.
func (p *Provider) sessionTokens(s *session, scope string, now time.Time) (tokenResponse, *oauthError) {
	at, err := p.accessToken(s.user.accountID, accessClaims{
		ClientID: s.clientID, Scope: scope, SID: s.id, Kind: kindUser, Patient: s.patient,
	}, now)
	if err != nil {
		return tokenResponse{}, serverError("the token cannot be signed")
	}
	return tokenResponse{
		AccessToken: at.token, TokenType: "Bearer", ExpiresIn: int(p.accessTTL.Seconds()),
		Scope: scope, Patient: s.patient, Encounter: s.encounter,
	}, nil
}

// refresh redeems a refresh token and rotates it.
func (p *Provider) refresh(w http.ResponseWriter, r *http.Request, a *app, form url.Values) *oauthError {
	rt := form.Get("refresh_token")
	if rt == "" {
		return badRequest("invalid_request", "refresh_token is required")
	}
	h := hashOf(rt)
	now := p.now()
	s, e := p.refreshSession(r, a, h, now)
	if e != nil {
		return e
	}
	scope, e := narrowScope(s.scope, form.Get("scope"))
	if e != nil {
		return e
	}
	next := randomToken()
	if !p.st.rotate(s, h, hashOf(next)) {
		return badRequest("invalid_grant", "the refresh token was used before")
	}
	s.touch(now)
	resp, e := p.sessionTokens(s, scope, now)
	if e != nil {
		return e
	}
	resp.RefreshToken = next
	if err := p.record(r, &audit.Event{
		Type:        audit.Login,
		Outcome:     audit.Success,
		OutcomeDesc: fmt.Sprintf("tokens refreshed for app %q, scope %s", a.ClientID, scope),
		User:        auditUser(s.user, nil),
		Client:      &audit.Client{ID: a.ClientID},
	}); err != nil {
		return unavailable("the audit trail is not available")
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// refreshSession returns the live session whose current refresh token has
// hash h, for app a. A superseded token coming back means it was copied:
// the session ends.
func (p *Provider) refreshSession(r *http.Request, a *app, h hash, now time.Time) (*session, *oauthError) {
	s, current := p.st.refreshSession(h)
	switch {
	case s == nil:
		return nil, badRequest("invalid_grant", "the refresh token is unknown, revoked or expired")
	case s.clientID != a.ClientID:
		return nil, badRequest("invalid_grant", "the refresh token was issued to another client")
	case !current:
		p.st.end(s.id)
		p.record(r, &audit.Event{
			Type:        audit.Login,
			Outcome:     audit.MinorFailure,
			OutcomeDesc: "a superseded refresh token was used again: the session is ended",
			User:        auditUser(s.user, nil),
			Client:      &audit.Client{ID: a.ClientID},
		})
		return nil, badRequest("invalid_grant", "the refresh token was used before: the session is ended")
	case !s.alive(now, p.idle, p.maxAge):
		p.st.end(s.id)
		return nil, badRequest("invalid_grant", "the session has expired: log in again")
	}
	if _, why, err := p.userAccount(r.Context(), s.user.login, s.user.accountID, now); err != nil {
		return nil, serverError("the account cannot be read now")
	} else if why != "" {
		p.st.end(s.id)
		return nil, badRequest("invalid_grant", why)
	}
	return s, nil
}

// narrowScope returns the scope a refresh asks for: all of granted if
// requested is empty, otherwise requested, which must be within granted.
func narrowScope(granted, requested string) (string, *oauthError) {
	if requested == "" {
		return granted, nil
	}
	for _, sc := range strings.Fields(requested) {
		if !hasScope(granted, sc) {
			return "", badRequest("invalid_scope", fmt.Sprintf("scope %q was not granted to the session", sc))
		}
	}
	return strings.Join(strings.Fields(requested), " "), nil
}

var verifierPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// verifierMatches checks a PKCE code_verifier against its S256 challenge.
func verifierMatches(verifier, challenge string) bool {
	if !verifierPattern.MatchString(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// hasScope reports whether the space-separated scope list holds s.
func hasScope(list, s string) bool { return slices.Contains(strings.Fields(list), s) }

// joinScopes returns the scopes as granted, without duplicates.
func joinScopes(scopes []karte.Scope) string {
	var out []string
	for _, s := range scopes {
		if !slices.Contains(out, s.Raw) {
			out = append(out, s.Raw)
		}
	}
	return strings.Join(out, " ")
}
