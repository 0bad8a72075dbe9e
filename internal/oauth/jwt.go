package oauth

import (
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// The kinds of access token (claim kh_kind).
const (
	kindUser   = "user"
	kindClient = "client"
)

// accessClaims are the claims of an access token beyond the registered
// ones (RFC 9068 and SMART).
type accessClaims struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	SID      string `json:"sid,omitempty"` // the session, for users
	Kind     string `json:"kh_kind"`
	Patient  string `json:"patient,omitempty"`
}

// idClaims are the claims of an ID token beyond the registered ones.
type idClaims struct {
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	SID      string `json:"sid,omitempty"`
	FHIRUser string `json:"fhirUser,omitempty"`
	Name     string `json:"name,omitempty"`
}

// issued is an access token and what is known of it.
type issued struct {
	token string
	jti   string
	exp   time.Time
}

// accessToken signs an access token for sub.
func (p *Provider) accessToken(sub string, c accessClaims, now time.Time) (issued, error) {
	exp := now.Add(p.accessTTL)
	std := jwt.Claims{
		Issuer:   p.issuer,
		Subject:  sub,
		Audience: jwt.Audience{p.audience},
		Expiry:   jwt.NewNumericDate(exp),
		IssuedAt: jwt.NewNumericDate(now),
		ID:       randomToken(),
	}
	tok, err := jwt.Signed(p.keys.access).Claims(std).Claims(c).Serialize()
	return issued{token: tok, jti: std.ID, exp: exp}, err
}

// idToken signs an OpenID Connect ID token for the session's person:
// fhirUser if the account names its FHIR resource, name if the profile
// scope was granted.
func (p *Provider) idToken(s *session, nonce string, profile bool, now time.Time) (string, error) {
	std := jwt.Claims{
		Issuer:   p.issuer,
		Subject:  s.user.accountID,
		Audience: jwt.Audience{s.clientID},
		Expiry:   jwt.NewNumericDate(now.Add(p.accessTTL)),
		IssuedAt: jwt.NewNumericDate(now),
		ID:       randomToken(),
	}
	c := idClaims{AuthTime: s.user.authTime.Unix(), Nonce: nonce, SID: s.id}
	if s.user.person != "" {
		c.FHIRUser = p.audience + "/" + s.user.person
	}
	if profile {
		c.Name = s.user.name
	}
	return jwt.Signed(p.keys.id).Claims(std).Claims(c).Serialize()
}
