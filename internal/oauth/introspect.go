package oauth

import (
	"fmt"
	"net/http"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// introspection is the answer of the introspection endpoint (RFC 7662):
// only active when the token is one that Verify accepts now. roles and
// facilities are kartehub's: what the principal holds now, which a
// resource server needs to scope what it serves as kartehub does.
type introspection struct {
	Active     bool     `json:"active"`
	Scope      string   `json:"scope,omitempty"`
	ClientID   string   `json:"client_id,omitempty"`
	Username   string   `json:"username,omitempty"`
	TokenType  string   `json:"token_type,omitempty"`
	Exp        int64    `json:"exp,omitempty"`
	Iat        int64    `json:"iat,omitempty"`
	Sub        string   `json:"sub,omitempty"`
	Aud        string   `json:"aud,omitempty"`
	Iss        string   `json:"iss,omitempty"`
	JTI        string   `json:"jti,omitempty"`
	FHIRUser   string   `json:"fhirUser,omitempty"`
	Patient    string   `json:"patient,omitempty"`
	Roles      []string `json:"roles,omitempty"`
	Facilities []string `json:"facilities,omitempty"`
}

// introspect serves token introspection (RFC 7662) to registered systems,
// such as a resource server that takes kartehub's access tokens: it says
// whether an access token is active now (signed by us, unexpired, not
// revoked, its session alive and its account able to act) and for whom.
// Apps may not ask. A refresh token, or anything
// else, is not active. Every answer is audited as the asking system's.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	c, token, ok := p.tokenRequest(w, r, true)
	if !ok {
		return
	}
	answer, whose := p.introspection(r, token)
	desc := "token introspected: not active"
	if answer.Active {
		desc = fmt.Sprintf("token introspected: active, of %s", whose)
	}
	if err := p.record(r, &audit.Event{
		Type: audit.Rest, Interaction: string(karte.InteractionOperation), Outcome: audit.Success,
		OutcomeDesc: desc, Client: &audit.Client{ID: c.id()},
	}); err != nil {
		writeError(w, unavailable("the audit trail is not available"))
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// introspection describes token, and says whose it is for the audit trail.
func (p *Provider) introspection(r *http.Request, token string) (introspection, string) {
	v, pr, _, err := p.verifyClaims(r.Context(), token)
	if err != nil {
		return introspection{}, ""
	}
	in := introspection{
		Active: true, Scope: v.ext.Scope, ClientID: v.ext.ClientID, TokenType: "Bearer",
		Sub: v.std.Subject, Iss: v.std.Issuer, JTI: v.std.ID, Patient: v.ext.Patient,
		Exp: v.exp.Unix(), FHIRUser: pr.Person, Roles: pr.Roles, Facilities: pr.Facilities,
	}
	if v.std.IssuedAt != nil {
		in.Iat = v.std.IssuedAt.Time().Unix()
	}
	if len(v.std.Audience) > 0 {
		in.Aud = v.std.Audience[0]
	}
	if pr.Kind == karte.PrincipalUser {
		in.Username = pr.Login
	}
	return in, pr.String()
}

// tokenRequest reads a request about a token, of revocation or
// introspection: the calling client, authenticated (a registered system,
// if systemsOnly), and the token. If it fails, it has written the error.
func (p *Provider) tokenRequest(w http.ResponseWriter, r *http.Request, systemsOnly bool) (*caller, string, bool) {
	form, e := readForm(w, r)
	if e != nil {
		writeError(w, e)
		return nil, "", false
	}
	c, e := p.authenticate(r, form)
	if e == nil && systemsOnly && c.client == nil {
		e = invalidClient("only registered systems, which authenticate, may ask this")
	}
	if e == nil && form.Get("token") == "" {
		e = badRequest("invalid_request", "token is required")
	}
	if e != nil {
		writeError(w, e)
		return nil, "", false
	}
	return c, form.Get("token"), true
}
