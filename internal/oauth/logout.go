package oauth

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// revoke serves the revocation endpoint (RFC 7009). A refresh token ends
// its whole session; an access token is refused by Verify until it
// expires. The answer is 200 whether or not the token was known, as the
// RFC asks, once the client has authenticated; a client may revoke only
// its own tokens.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	c, token, ok := p.tokenRequest(w, r, false)
	if !ok {
		return
	}
	if s, _ := p.st.refreshSession(hashOf(token)); s != nil {
		if s.clientID == c.id() && p.st.end(s.id) != nil {
			p.record(r, &audit.Event{
				Type: audit.Logout, Outcome: audit.Success,
				OutcomeDesc: "refresh token revoked: the session is ended",
				User:        auditUser(s.user, nil), Client: &audit.Client{ID: c.id()},
			})
		}
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	if e := p.revokeAccess(r, c, token); e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// revokeAccess revokes an access token of client c; a token that is not a
// valid one of c's is ignored.
func (p *Provider) revokeAccess(r *http.Request, c *caller, token string) *oauthError {
	now := p.now()
	v, err := p.parseAccess(token, now)
	if err != nil || v.ext.ClientID != c.id() {
		return nil
	}
	if !p.st.revoke(v.std.ID, v.exp.Add(leeway), now) {
		return unavailable("too many revoked tokens: try again shortly")
	}
	p.tokens.drop(hashOf(token))
	e := &audit.Event{
		Type: audit.Logout, Outcome: audit.Success,
		OutcomeDesc: "access token revoked", Client: &audit.Client{ID: c.id()},
	}
	if s := p.st.session(v.ext.SID, now); s != nil {
		e.User = auditUser(s.user, nil)
	}
	p.record(r, e)
	return nil
}

// logout serves the end-session endpoint (OpenID Connect RP-Initiated
// Logout): the session named by id_token_hint (or by the bearer access
// token) ends, with its refresh and access tokens. The browser then goes
// to post_logout_redirect_uri if it is registered for the app, and
// otherwise sees a page.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil || repeated(r.Form) != "" {
		p.errorPage(w, http.StatusBadRequest, msgBadForm)
		return
	}
	sid, clientID := p.logoutSession(r)
	if id := r.Form.Get("client_id"); id != "" {
		if clientID != "" && id != clientID {
			p.errorPage(w, http.StatusBadRequest, msgBadForm)
			return
		}
		clientID = id
	}
	if sid != "" {
		p.endSession(r, sid, "logout")
	}
	target := r.Form.Get("post_logout_redirect_uri")
	if target == "" {
		p.errorPage(w, http.StatusOK, msgLoggedOut)
		return
	}
	a := p.apps[clientID]
	if a == nil || !slices.Contains(a.PostLogoutRedirectURIs, target) {
		p.errorPage(w, http.StatusBadRequest, msgBadLogoutTarget)
		return
	}
	v := url.Values{}
	if st := r.Form.Get("state"); st != "" && len(st) <= maxState {
		v.Set("state", st)
	}
	p.redirect(w, r, target, v)
}

// logoutSession returns the session (and app) a logout names: by the ID
// token hint, which may have expired, or by a bearer access token.
func (p *Provider) logoutSession(r *http.Request) (sid, clientID string) {
	if hint := r.Form.Get("id_token_hint"); hint != "" && len(hint) <= maxToken {
		tok, err := jwt.ParseSigned(hint, []jose.SignatureAlgorithm{p.keys.alg})
		if err != nil || tok.Headers[0].KeyID != p.keys.kid || tok.Headers[0].ExtraHeaders[jose.HeaderType] != "JWT" {
			return "", ""
		}
		var std jwt.Claims
		var c idClaims
		if err := tok.Claims(p.keys.pub, &std, &c); err != nil || std.Issuer != p.issuer || len(std.Audience) != 1 {
			return "", ""
		}
		return c.SID, std.Audience[0]
	}
	if bearer, ok := bearerToken(r); ok {
		if v, err := p.parseAccess(bearer, p.now()); err == nil && v.ext.Kind == kindUser {
			return v.ext.SID, v.ext.ClientID
		}
	}
	return "", ""
}

// endSession ends a session and audits it.
func (p *Provider) endSession(r *http.Request, sid, why string) {
	s := p.st.end(sid)
	if s == nil {
		return
	}
	p.record(r, &audit.Event{
		Type: audit.Logout, Outcome: audit.Success,
		OutcomeDesc: why + ": the session and its tokens are ended",
		User:        auditUser(s.user, nil), Client: &audit.Client{ID: s.clientID},
	})
}

// bearer returns who presents the request's bearer access token, and a
// person's session. If there is none, or it is not valid, it has written
// the error.
func (p *Provider) bearer(w http.ResponseWriter, r *http.Request) (*karte.Principal, *session, bool) {
	token, ok := bearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kartehub"`)
		writeError(w, &oauthError{status: http.StatusUnauthorized, code: "invalid_token", desc: "a bearer access token is required"})
		return nil, nil, false
	}
	pr, s, err := p.verify(r.Context(), token)
	if err != nil {
		if !karte.IsKind(err, karte.Unauthorized) {
			writeError(w, unavailable("the account cannot be read now"))
			return nil, nil, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="kartehub", error="invalid_token"`)
		writeError(w, &oauthError{status: http.StatusUnauthorized, code: "invalid_token", desc: err.Error()})
		return nil, nil, false
	}
	return pr, s, true
}

// bearerToken returns the token of an Authorization: Bearer header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// Break-glass bounds.
const (
	defaultBreakGlass = 60 // minutes
	maxBreakGlass     = 240
	maxReason         = 1000
)

// breakGlassResponse is the answer of the break-glass endpoint.
type breakGlassResponse struct {
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
}

// breakGlass grants emergency access to the session of a person's access
// token: for the given minutes, Verify attaches a karte.BreakGlass with
// the reason, which lifts the facility filter for clinical roles (package
// authz). The grant is audited before it takes effect, and refused if it
// cannot be.
func (p *Provider) breakGlass(w http.ResponseWriter, r *http.Request) {
	pr, s, ok := p.bearer(w, r)
	if !ok {
		return
	}
	if s == nil {
		writeError(w, &oauthError{status: http.StatusForbidden, code: "insufficient_scope", desc: "break-glass is for people, not systems"})
		return
	}
	form, e := readForm(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	reason, minutes, e := breakGlassRequest(form)
	if e != nil {
		writeError(w, e)
		return
	}
	g := &karte.BreakGlass{Reason: reason, Until: p.now().Add(time.Duration(minutes) * time.Minute)}
	if err := p.record(r, &audit.Event{
		Type: audit.Rest, Interaction: string(karte.InteractionOperation), Outcome: audit.Success,
		OutcomeDesc: fmt.Sprintf("break-glass: emergency access to the records of every facility until %s; reason: %s",
			g.Until.UTC().Format(time.RFC3339), reason),
		User:       auditUser(s.user, pr.Roles),
		Client:     &audit.Client{ID: s.clientID},
		BreakGlass: reason,
	}); err != nil {
		writeError(w, unavailable("the audit trail is not available: no break-glass without it"))
		return
	}
	p.st.grantBreakGlass(s, g)
	writeJSON(w, http.StatusOK, breakGlassResponse{Reason: g.Reason, Until: g.Until.UTC()})
}

// breakGlassRequest reads the reason and the minutes of a break-glass
// request.
func breakGlassRequest(form url.Values) (string, int, *oauthError) {
	reason := strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, form.Get("reason")))
	switch {
	case reason == "":
		return "", 0, badRequest("invalid_request", "a reason is required: why do you need records outside your facilities?")
	case len(reason) > maxReason:
		return "", 0, badRequest("invalid_request", fmt.Sprintf("the reason is longer than %d bytes", maxReason))
	}
	minutes := defaultBreakGlass
	if m := form.Get("minutes"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > maxBreakGlass {
			return "", 0, badRequest("invalid_request", fmt.Sprintf("minutes must be 1 to %d", maxBreakGlass))
		}
		minutes = n
	}
	return reason, minutes, nil
}
