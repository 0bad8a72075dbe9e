package oauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"kartehub/internal/account"
	"kartehub/internal/audit"
	"kartehub/internal/karte"
	"kartehub/internal/oauth/oauthtest"
)

func TestDiscovery(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.get(t, "/.well-known/openid-configuration")
	var oidc map[string]any
	if err := json.Unmarshal([]byte(body), &oidc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("openid-configuration: %d %s", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"issuer":                 e.issuer,
		"authorization_endpoint": e.issuer + "/oauth/authorize",
		"token_endpoint":         e.issuer + "/oauth/token",
		"jwks_uri":               e.issuer + "/oauth/jwks",
		"revocation_endpoint":    e.issuer + "/oauth/revoke",
		"introspection_endpoint": e.issuer + "/oauth/introspect",
		"end_session_endpoint":   e.issuer + "/oauth/logout",
	} {
		if oidc[k] != want {
			t.Errorf("openid-configuration %s = %v, want %s", k, oidc[k], want)
		}
	}

	resp, body = e.get(t, "/fhir/.well-known/smart-configuration")
	var smart struct {
		Issuer        string   `json:"issuer"`
		TokenEndpoint string   `json:"token_endpoint"`
		Capabilities  []string `json:"capabilities"`
		Grants        []string `json:"grant_types_supported"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
		AuthAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
		PKCE          []string `json:"code_challenge_methods_supported"`
		ResponseTypes []string `json:"response_types_supported"`
	}
	if err := json.Unmarshal([]byte(body), &smart); err != nil || resp.StatusCode != 200 {
		t.Fatalf("smart-configuration: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("smart-configuration: browser apps of other origins cannot read it")
	}
	mustHave := func(what string, got []string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("smart-configuration %s %v lacks %s", what, got, w)
			}
		}
	}
	mustHave("capabilities", smart.Capabilities, "launch-standalone", "client-public",
		"client-confidential-asymmetric", "context-standalone-patient", "permission-v1", "permission-v2",
		"sso-openid-connect", "permission-offline", "permission-patient", "permission-user")
	// Apps keep no secrets: client secrets are for registered systems,
	// which SMART's capabilities do not describe.
	if slices.Contains(smart.Capabilities, "client-confidential-symmetric") {
		t.Error("smart-configuration claims apps with client secrets")
	}
	mustHave("grant types", smart.Grants, "authorization_code", "refresh_token", "client_credentials")
	mustHave("auth methods", smart.AuthMethods, "private_key_jwt", "client_secret_basic", "client_secret_post")
	mustHave("auth algs", smart.AuthAlgs, "RS384", "ES384")
	if !slices.Equal(smart.PKCE, []string{"S256"}) || !slices.Equal(smart.ResponseTypes, []string{"code"}) || smart.Issuer != e.issuer {
		t.Errorf("smart-configuration: %+v", smart)
	}
}

func TestJWKS(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.get(t, "/oauth/jwks")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(body), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS: %s: %v", body, err)
	}
	k := set.Keys[0]
	if !k.IsPublic() || k.Algorithm != "ES256" || k.Use != "sig" || strings.Contains(body, `"d"`) {
		t.Fatalf("JWKS key %s", body)
	}
	tp, _ := k.Thumbprint(crypto.SHA256)
	if k.KeyID != base64.RawURLEncoding.EncodeToString(tp) {
		t.Errorf("kid %q is not the RFC 7638 thumbprint", k.KeyID)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/jwk-set+json") {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	// Tokens verify with the published key.
	_, tok := e.systemToken(t, "system/Observation.rs")
	parsed, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.Claims
	if err := parsed.Claims(set, &claims); err != nil {
		t.Fatalf("the access token does not verify with the JWKS: %v", err)
	}
	if parsed.Headers[0].KeyID != k.KeyID || parsed.Headers[0].ExtraHeaders["typ"] != "at+jwt" {
		t.Errorf("header %+v", parsed.Headers[0])
	}
}

func TestClientSecret(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	id, secret := e.system(t, "lab system")

	tok, err := oauthtest.ClientCredentials(ctx, e.srv.Client(), e.issuer, id, secret, "system/Observation.rs system/Patient.r")
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 600 || tok.Scope != "system/Observation.rs system/Patient.r" || tok.RefreshToken != "" {
		t.Fatalf("token %+v", tok)
	}
	p, err := e.prov.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != karte.PrincipalClient || p.ID != id || p.Login != id || p.Name != "lab system" || p.App != "" ||
		!slices.Equal(p.Roles, []string{karte.RoleTechnologist}) || !slices.Equal(p.Facilities, []string{"hub"}) ||
		len(p.Scopes) != 2 || p.Scopes[0].Level != karte.ScopeSystem || p.Scopes[0].Type != "Observation" {
		t.Fatalf("principal %+v", p)
	}
	c := claimsOf(t, tok.AccessToken)
	if c["kh_kind"] != "client" || c["client_id"] != id || c["sub"] != id || c["aud"] != e.issuer+"/fhir" || c["iss"] != e.issuer {
		t.Fatalf("claims %v", c)
	}
	e.rec.want(t, audit.Login, audit.Success, "client_credentials")

	// client_secret_post
	resp, body := e.postForm(t, "/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"system/*.rs"},
	}, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(body, `"access_token"`) {
		t.Fatalf("client_secret_post: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	// A wrong secret: 401 with a Basic challenge, audited.
	resp, body = e.postForm(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"}},
		func(r *http.Request) { r.SetBasicAuth(id, secret+"x") })
	if resp.StatusCode != 401 || !strings.Contains(body, `"invalid_client"`) || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("wrong secret: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if strings.Contains(body, secret) {
		t.Fatal("the error echoes the secret")
	}
	ev := e.rec.want(t, audit.Login, audit.MinorFailure, "bad-password")
	if ev.Client == nil || ev.Client.ID != id || ev.Client.Address == "" {
		t.Errorf("failure event %+v", ev)
	}

	for _, tt := range []struct{ name, scope, code string }{
		{"NoScope", "", "invalid_scope"},
		{"UserScope", "user/Observation.rs", "invalid_scope"},
		{"UnknownScope", "system/Observation.xyz", "invalid_scope"},
		{"Garbage", "admin", "invalid_scope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oauthtest.ClientCredentials(ctx, e.srv.Client(), e.issuer, id, secret, tt.scope)
			if oe := oauthErr(t, err); oe.Code != tt.code || oe.Status != 400 {
				t.Fatalf("scope %q: %v", tt.scope, oe)
			}
		})
	}
	t.Run("TwoMethods", func(t *testing.T) {
		resp, body := e.postForm(t, "/oauth/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"system/*.rs"},
		}, func(r *http.Request) { r.SetBasicAuth(id, secret) })
		if resp.StatusCode != 400 || !strings.Contains(body, "invalid_request") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("RepeatedParameter", func(t *testing.T) {
		resp, body := e.postForm(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs", "system/*.r"}},
			func(r *http.Request) { r.SetBasicAuth(id, secret) })
		if resp.StatusCode != 400 || !strings.Contains(body, "invalid_request") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("UnknownGrant", func(t *testing.T) {
		resp, body := e.postForm(t, "/oauth/token", url.Values{"grant_type": {"password"}}, nil)
		if resp.StatusCode != 400 || !strings.Contains(body, "unsupported_grant_type") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("AppCannotUseClientCredentials", func(t *testing.T) {
		resp, body := e.postForm(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "scope": {"system/*.rs"}}, nil)
		if resp.StatusCode != 400 || !strings.Contains(body, "unauthorized_client") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("DisabledClient", func(t *testing.T) {
		if err := e.svc.DisableClient(ctx, id); err != nil {
			t.Fatal(err)
		}
		p, err := e.prov.Verify(ctx, tok.AccessToken)
		wantUnauthorized(t, p, err, "client disabled")
		_, err = oauthtest.ClientCredentials(ctx, e.srv.Client(), e.issuer, id, secret, "system/*.rs")
		if oe := oauthErr(t, err); oe.Code != "invalid_client" {
			t.Fatal(oe)
		}
	})
}

// keyClient registers a system with the public key of key.
func keyClient(t *testing.T, e *env, key crypto.Signer) (string, string) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	c, secret, err := e.svc.CreateClient(context.Background(), account.NewClient{
		Name: "pacs", Roles: []string{karte.RoleTechnologist},
		PublicKeys: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
	})
	if err != nil || secret != "" {
		t.Fatal(err)
	}
	keys, err := account.ParseJWKS(c.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID, keys[0].KID
}

// sign makes a JWS of claims with the algorithm and key.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned makes a JWT with alg none.
func unsigned(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func TestPrivateKeyJWT(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		alg  jose.SignatureAlgorithm
		key  crypto.Signer
	}{{"RS384", jose.RS384, rsaKey}, {"ES384", jose.ES384, ecKey}} {
		t.Run(tt.name, func(t *testing.T) { testPrivateKeyJWT(t, tt.alg, tt.key) })
	}
}

func testPrivateKeyJWT(t *testing.T, alg jose.SignatureAlgorithm, key crypto.Signer) {
	e := newEnv(t, nil)
	ctx := context.Background()
	id, kid := keyClient(t, e, key)
	e.clock.Add(time.Minute)
	now := e.clock.Now()

	assertion, err := oauthtest.Assertion(key, kid, id, e.issuer, now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := oauthtest.ClientCredentialsJWT(ctx, e.srv.Client(), e.issuer, assertion, "system/ImagingStudy.cruds")
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.prov.Verify(ctx, tok.AccessToken)
	if err != nil || p.Kind != karte.PrincipalClient || p.ID != id {
		t.Fatalf("Verify: %+v, %v", p, err)
	}

	// The same assertion again: refused and audited.
	_, err = oauthtest.ClientCredentialsJWT(ctx, e.srv.Client(), e.issuer, assertion, "system/ImagingStudy.cruds")
	if oe := oauthErr(t, err); oe.Code != "invalid_client" || oe.Status != 401 || !strings.Contains(oe.Description, "used before") {
		t.Fatalf("replayed jti: %v", oe)
	}
	ev := e.rec.want(t, audit.Login, audit.MinorFailure, "used before")
	if ev.Client.ID != id {
		t.Errorf("replay event %+v", ev)
	}

	other, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pemKey, _ := x509.MarshalPKIXPublicKey(key.Public())
	hmacKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pemKey})
	claims := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{
			"iss": id, "sub": id, "aud": e.issuer + "/oauth/token",
			"iat": now.Unix(), "exp": now.Add(4 * time.Minute).Unix(), "jti": rand.Text(),
		}
		if edit != nil {
			edit(m)
		}
		return m
	}
	for _, tc := range []struct {
		name, assertion, why string
	}{
		{"WrongAudience", sign(t, alg, key, kid, claims(func(m map[string]any) { m["aud"] = e.issuer + "/fhir" })), "aud must be"},
		{"Expired", sign(t, alg, key, kid, claims(func(m map[string]any) { m["exp"] = now.Add(-time.Minute).Unix() })), "expired"},
		{"TooLong", sign(t, alg, key, kid, claims(func(m map[string]any) { m["exp"] = now.Add(time.Hour).Unix() })), "more than 5m0s ahead"},
		{"NoExpiry", sign(t, alg, key, kid, claims(func(m map[string]any) { delete(m, "exp") })), "exp is required"},
		{"NoJTI", sign(t, alg, key, kid, claims(func(m map[string]any) { delete(m, "jti") })), "jti is required"},
		{"SubNotIss", sign(t, alg, key, kid, claims(func(m map[string]any) { m["sub"] = "someone" })), "iss and sub"},
		{"BeforeStart", sign(t, alg, key, kid, claims(func(m map[string]any) { m["iat"] = now.Add(-2 * time.Minute).Unix() })), "before the server started"},
		{"OtherKey", sign(t, jose.ES384, other, kid, claims(nil)), "does not verify"},
		{"AlgNone", unsigned(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}, claims(nil)), `alg "none" is not accepted`},
		{"HS256WithPublicKey", sign(t, jose.HS256, hmacKey, kid, claims(nil)), `alg "HS256" is not accepted`},
		{"NotAJWT", "not.a.jwt", "not a signed JWT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oauthtest.ClientCredentialsJWT(ctx, e.srv.Client(), e.issuer, tc.assertion, "system/*.rs")
			oe := oauthErr(t, err)
			if oe.Code != "invalid_client" || oe.Status != 401 || !strings.Contains(oe.Description, tc.why) {
				t.Fatalf("got %v, want invalid_client %q", oe, tc.why)
			}
			e.rec.want(t, audit.Login, audit.MinorFailure, tc.why)
		})
	}

	t.Run("ClientIDMismatch", func(t *testing.T) {
		a, _ := oauthtest.Assertion(key, kid, id, e.issuer, now)
		resp, body := e.postForm(t, "/oauth/token", url.Values{
			"grant_type": {"client_credentials"}, "scope": {"system/*.rs"}, "client_id": {"kh-other"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a},
		}, nil)
		if resp.StatusCode != 401 || !strings.Contains(body, "not the client_id") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("WrongAssertionType", func(t *testing.T) {
		a, _ := oauthtest.Assertion(key, kid, id, e.issuer, now)
		resp, body := e.postForm(t, "/oauth/token", url.Values{
			"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}, "client_assertion": {a},
		}, nil)
		if resp.StatusCode != 400 || !strings.Contains(body, "invalid_request") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("NoKid", func(t *testing.T) {
		a, err := oauthtest.Assertion(key, "", id, e.issuer, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oauthtest.ClientCredentialsJWT(ctx, e.srv.Client(), e.issuer, a, "system/*.rs"); err != nil {
			t.Fatalf("an assertion without kid is checked with each key: %v", err)
		}
	})
	t.Run("SecretClientCannotUseJWT", func(t *testing.T) {
		sid, _ := e.system(t, "secret system")
		a, _ := oauthtest.Assertion(key, kid, sid, e.issuer, now)
		_, err := oauthtest.ClientCredentialsJWT(ctx, e.srv.Client(), e.issuer, a, "system/*.rs")
		if oe := oauthErr(t, err); oe.Code != "invalid_client" {
			t.Fatal(oe)
		}
		e.rec.want(t, audit.Login, audit.MinorFailure, "no-secret")
	})
}
