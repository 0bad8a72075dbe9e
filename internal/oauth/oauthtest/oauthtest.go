// Package oauthtest gets tokens from a running kartehub OAuth provider the
// way real clients do, for the tests of packages that need them: a system
// through client_credentials (secret or private_key_jwt), a person through
// the authorization code flow with PKCE, driving the HTML login pages as
// a browser would. It has no back door: the provider under test issues
// every token through its endpoints.
package oauthtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Token is a token endpoint's answer.
type Token struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Patient      string `json:"patient"`
	Encounter    string `json:"encounter"`
}

// Error is an OAuth error: from the token endpoint (with its HTTP
// status), or sent to the redirect URI (Status 0).
type Error struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("oauth error %s (HTTP %d): %s", e.Code, e.Status, e.Description)
}

// PageError is a login page that did not lead on: an error page, or a
// form that shows an error (a failed login, a refused password).
type PageError struct {
	Status  int
	Message string
}

func (e *PageError) Error() string {
	return fmt.Sprintf("login page (HTTP %d): %s", e.Status, e.Message)
}

// TokenURL is the token endpoint of the provider with the issuer URL.
func TokenURL(issuer string) string { return strings.TrimSuffix(issuer, "/") + "/oauth/token" }

// ClientCredentials gets a token for a registered system with its secret
// (client_secret_basic). c may be nil for http.DefaultClient.
func ClientCredentials(ctx context.Context, c *http.Client, issuer, clientID, secret, scope string) (*Token, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	return post(ctx, c, TokenURL(issuer), form, func(r *http.Request) {
		r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	})
}

// ClientCredentialsJWT gets a token for a registered system with a signed
// client assertion (private_key_jwt), such as Assertion makes.
func ClientCredentialsJWT(ctx context.Context, c *http.Client, issuer, assertion, scope string) (*Token, error) {
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	return post(ctx, c, TokenURL(issuer), form, nil)
}

// Assertion signs a client assertion for clientID, for the token endpoint
// of issuer, issued at now and good for 5 minutes, with a random jti. The
// algorithm follows the key: RS384 for RSA, ES256/ES384/ES512 for the
// P-256/P-384/P-521 curves, EdDSA for Ed25519.
func Assertion(key crypto.Signer, kid, clientID, issuer string, now time.Time) (string, error) {
	var alg jose.SignatureAlgorithm
	switch k := key.(type) {
	case *rsa.PrivateKey:
		alg = jose.RS384
	case *ecdsa.PrivateKey:
		alg = map[int]jose.SignatureAlgorithm{256: jose.ES256, 384: jose.ES384, 521: jose.ES512}[k.Curve.Params().BitSize]
	case ed25519.PrivateKey:
		alg = jose.EdDSA
	}
	if alg == "" {
		return "", fmt.Errorf("oauthtest: no algorithm for a %T", key)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(s).Claims(jwt.Claims{
		Issuer:   clientID,
		Subject:  clientID,
		Audience: jwt.Audience{TokenURL(issuer)},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(5 * time.Minute)),
		ID:       rand.Text(),
	}).Serialize()
}

// App is the app side of an authorization code flow.
type App struct {
	Issuer      string
	ClientID    string
	RedirectURI string
	Scope       string
	// Patient is typed into the login page's patient field, if it has
	// one.
	Patient string
	// Launch is the launch parameter of an EHR launch ("" for a
	// standalone launch).
	Launch string
	// Client carries the requests (its Transport is used, with a cookie
	// jar of its own); nil means http.DefaultClient.
	Client *http.Client
	// Key, if set, makes the app confidential: it signs a client assertion
	// (private_key_jwt) with Key, of key id KID, for each token request.
	Key crypto.Signer
	KID string
	// Now is the time assertions are issued at; nil means time.Now.
	Now func() time.Time
}

// authenticate adds the app's client authentication to a token request's
// form: its client_id, and a fresh client assertion if it has a key.
func (app App) authenticate(form url.Values) (url.Values, error) {
	form.Set("client_id", app.ClientID)
	if app.Key == nil {
		return form, nil
	}
	now := time.Now
	if app.Now != nil {
		now = app.Now
	}
	a, err := Assertion(app.Key, app.KID, app.ClientID, app.Issuer, now())
	if err != nil {
		return nil, err
	}
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", a)
	return form, nil
}

// User is the person logging in.
type User struct {
	Login    string
	Password string
	// NewPassword is set at a forced password change; Password then
	// becomes it.
	NewPassword string
	// TOTPSecret is the person's authenticator secret; the enrolment page
	// fills it in.
	TOTPSecret string
	// Code returns a TOTP code of secret for now, whenever the pages ask
	// for one; each call must give a code of a later time step than the
	// last (a code is accepted once). Nil if the person has no TOTP.
	Code func(secret string) string
}

// Login runs the authorization code flow with PKCE through the login
// pages, including a forced password change and a TOTP enrolment, and
// exchanges the code for tokens.
func Login(ctx context.Context, app App, u *User) (*Token, error) {
	code, verifier, err := Authorize(ctx, app, u)
	if err != nil {
		return nil, err
	}
	return Exchange(ctx, app, code, verifier)
}

// Authorize runs the authorization request and the login pages, and
// returns the code sent to the redirect URI and the PKCE code verifier.
func Authorize(ctx context.Context, app App, u *User) (code, verifier string, err error) {
	verifier = rand.Text() + rand.Text() // 52 characters of base32
	sum := sha256.Sum256([]byte(verifier))
	state := rand.Text()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {app.ClientID},
		"redirect_uri":          {app.RedirectURI},
		"scope":                 {app.Scope},
		"state":                 {state},
		"aud":                   {strings.TrimSuffix(app.Issuer, "/") + "/fhir"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	if app.Launch != "" {
		q.Set("launch", app.Launch)
	}
	b := browser(app.Client)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(app.Issuer, "/")+"/oauth/authorize?"+q.Encode(), nil)
	if err != nil {
		return "", "", err
	}
	for range 8 {
		resp, err := b.Do(req)
		if err != nil {
			return "", "", err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther {
			code, err := redirected(resp.Header.Get("Location"), app.RedirectURI, state)
			return code, verifier, err
		}
		if req, err = nextPost(ctx, resp, string(body), app, u); err != nil {
			return "", "", err
		}
	}
	return "", "", errors.New("oauthtest: the login pages did not end")
}

// redirected reads the code (or the error) from the redirect to the app.
func redirected(location, redirectURI, state string) (string, error) {
	if !strings.HasPrefix(location, redirectURI) {
		return "", fmt.Errorf("oauthtest: redirected to %q, not to the app", location)
	}
	u, err := url.Parse(location)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if e := q.Get("error"); e != "" {
		return "", &Error{Code: e, Description: q.Get("error_description")}
	}
	if q.Get("state") != state {
		return "", errors.New("oauthtest: the state came back changed")
	}
	return q.Get("code"), nil
}

var (
	formRe   = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputRe  = regexp.MustCompile(`<input\b([^>]*)>`)
	attrRe   = regexp.MustCompile(`(\w+)="([^"]*)"`)
	errorRe  = regexp.MustCompile(`(?s)<p class="error"[^>]*>(.*?)</p>`)
	textRe   = regexp.MustCompile(`(?s)<h2>(.*?)</h2>.*?<p>(.*?)</p>`)
	secretRe = regexp.MustCompile(`Secret: <code>([A-Z2-7=]+)</code>`)
)

// nextPost fills in the form of a login page and returns its post.
func nextPost(ctx context.Context, resp *http.Response, page string, app App, u *User) (*http.Request, error) {
	if m := errorRe.FindStringSubmatch(page); m != nil {
		return nil, &PageError{Status: resp.StatusCode, Message: html.UnescapeString(m[1])}
	}
	f := formRe.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || f == nil {
		msg := resp.Status
		if m := textRe.FindStringSubmatch(page); m != nil {
			msg = html.UnescapeString(m[1] + ": " + m[2])
		}
		return nil, &PageError{Status: resp.StatusCode, Message: msg}
	}
	form := url.Values{}
	for _, in := range inputRe.FindAllStringSubmatch(page, -1) {
		attrs := map[string]string{}
		for _, a := range attrRe.FindAllStringSubmatch(in[1], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		if attrs["type"] == "hidden" {
			form.Set(attrs["name"], attrs["value"])
		}
	}
	if err := fill(form, page, app, u); err != nil {
		return nil, &PageError{Status: resp.StatusCode, Message: err.Error()}
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(f[1]))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

// fill fills in the fields of the login step the form is at.
func fill(form url.Values, page string, app App, u *User) error {
	code := func() string {
		if u.Code == nil || u.TOTPSecret == "" {
			return ""
		}
		return u.Code(u.TOTPSecret)
	}
	switch form.Get("step") {
	case "login":
		form.Set("login", u.Login)
		form.Set("password", u.Password)
		form.Set("code", code())
		if strings.Contains(page, `name="patient"`) {
			form.Set("patient", app.Patient)
		}
	case "password":
		if u.NewPassword == "" {
			return errors.New("the account must change its password: set User.NewPassword")
		}
		form.Set("new_password", u.NewPassword)
		form.Set("confirm_password", u.NewPassword)
		u.Password, u.NewPassword = u.NewPassword, ""
	case "totp":
		m := secretRe.FindStringSubmatch(page)
		if m == nil || u.Code == nil {
			return errors.New("the account must enrol TOTP: set User.Code")
		}
		u.TOTPSecret = m[1]
		form.Set("code", code())
	default:
		return fmt.Errorf("unknown login step %q", form.Get("step"))
	}
	return nil
}

// Exchange redeems a code with its PKCE verifier.
func Exchange(ctx context.Context, app App, code, verifier string) (*Token, error) {
	form, err := app.authenticate(url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {app.RedirectURI},
		"code_verifier": {verifier},
	})
	if err != nil {
		return nil, err
	}
	return post(ctx, app.Client, TokenURL(app.Issuer), form, nil)
}

// Refresh redeems a refresh token of an app.
func Refresh(ctx context.Context, app App, refreshToken string) (*Token, error) {
	form, err := app.authenticate(url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	})
	if err != nil {
		return nil, err
	}
	return post(ctx, app.Client, TokenURL(app.Issuer), form, nil)
}

// browser is a client with a cookie jar of its own that does not follow
// redirects, so that the redirect to the app can be read.
func browser(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Transport:     c.Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// post posts a form to the token endpoint and reads the token or error.
func post(ctx context.Context, c *http.Client, endpoint string, form url.Values, edit func(*http.Request)) (*Token, error) {
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		if err := json.Unmarshal(body, e); err != nil || e.Code == "" {
			return nil, fmt.Errorf("oauthtest: %s: HTTP %d: %.200s", endpoint, resp.StatusCode, body)
		}
		return nil, e
	}
	var t Token
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, fmt.Errorf("oauthtest: %s: %w", endpoint, err)
	}
	return &t, nil
}

// AppKey makes a P-256 signing key for a confidential app or a system,
// and the JSON Web Key Set of its public key, with key id kid, that the
// app's configuration or the system's registration gives.
func AppKey(kid string) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: kid, Algorithm: "ES256", Use: "sig"}}})
	return key, jwks, err
}
