package oauth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"kartehub/internal/account"
	"kartehub/internal/audit"
	"kartehub/internal/authz"
	"kartehub/internal/karte"
)

// Recorder records audit events; *audit.Writer is one. The provider
// records every login, failed login, token issue, refused client
// authentication, logout, revocation and break-glass grant.
type Recorder interface {
	Record(ctx context.Context, e *audit.Event) error
}

// Defaults of Config.
const (
	DefaultAccessTokenTTL = 10 * time.Minute
	DefaultSessionIdle    = 30 * time.Minute
	DefaultSessionMax     = 12 * time.Hour
	// DefaultAccountCacheTTL is what a server should set as
	// Config.AccountCacheTTL: a disabled account or a changed role takes
	// effect within 5 seconds, and a busy server reads each account about
	// once per 5 seconds instead of once per request.
	DefaultAccountCacheTTL = 5 * time.Second
)

// ConsoleClientID is the client_id of the built-in app, kartehub's own web
// console: redirect URI Issuer+"/console/callback", post-logout redirect
// URI Issuer+"/console/", and the scopes of ConsoleScope. Principals that
// act through it have an empty App.
const ConsoleClientID = "kartehub-console"

// ConsoleScope is what the console may ask for: a person's own access,
// bounded by their roles and facilities.
const ConsoleScope = "openid fhirUser profile online_access user/*.cruds"

// Config configures a Provider. Issuer, Accounts, Recorder and Key are
// required.
type Config struct {
	// Issuer is the public base URL of the server, such as
	// https://hub.example.jp: the iss of every token, and the base of the
	// endpoints (Issuer+"/oauth/token", ...). It must be https, except on
	// a loopback host.
	Issuer string
	// Audience is the FHIR base URL, the aud of access tokens; empty means
	// Issuer+"/fhir". The SMART configuration is served under it.
	Audience string
	// Accounts checks passwords, TOTP codes and client credentials.
	Accounts *account.Service
	Recorder Recorder
	// Key signs tokens: an *ecdsa.PrivateKey on P-256 (ES256, as LoadKey
	// makes) or an ed25519.PrivateKey (EdDSA).
	Key crypto.Signer
	// Apps are the user-facing applications (SMART apps) that may run the
	// authorization code flow, besides the built-in console: public
	// clients, or confidential ones with keys; see App.
	Apps []App

	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AccessTokenTTL is the lifetime of access and ID tokens (default 10
	// minutes).
	AccessTokenTTL time.Duration
	// SessionIdle ends a person's session (and its refresh token) after
	// this long without use (default 30 minutes), and SessionMax after
	// this long in any case (default 12 hours).
	SessionIdle time.Duration
	SessionMax  time.Duration
	// AccountCacheTTL is how long Verify may reuse an account or client
	// record read from the store. Zero means no cache: every Verify reads
	// the store (tests use it). Servers set DefaultAccountCacheTTL.
	AccountCacheTTL time.Duration
	// Log receives operational messages (never secrets or tokens); nil
	// means slog.Default().
	Log *slog.Logger
	// Sessions, if set, keeps people's sessions and revoked access tokens
	// across restarts (the server sets the store). New reads back those
	// still alive.
	Sessions karte.SessionStore
}

// App is a user-facing application allowed to run the authorization code
// flow with PKCE. karte.Client registrations are for systems
// (client_credentials) and carry no redirect URIs, so apps are part of the
// server's configuration instead: a hospital network runs a handful of
// vetted SMART apps, which an operator adds to the configuration. Apps
// have no secret: PKCE (S256) binds each code to the app instance that
// asked for it, and a confidential app also proves itself with its key.
type App struct {
	// ClientID is the app's client_id: 1-64 of A-Z a-z 0-9 . _ -, not
	// starting with "kh-" (the prefix of registered systems).
	ClientID string
	Name     string // shown on the login page
	// RedirectURIs are the exact redirect URIs the app may use: https, or
	// http on a loopback host, or a private-use scheme of a native app.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where the logout endpoint may send the
	// browser afterwards.
	PostLogoutRedirectURIs []string
	// Scope lists, space-separated, the scopes the app may be granted,
	// such as "openid fhirUser launch/patient patient/*.rs
	// offline_access". A requested scope is granted if one of these
	// covers it (same context, type or *, a subset of the permissions).
	// system/ scopes are for registered systems only.
	Scope string
	// JWKS, if set, makes the app a confidential client: its public keys,
	// as a JSON Web Key Set. It then authenticates at the token endpoint
	// with a JWT signed by one of them (private_key_jwt, as a registered
	// system does), besides PKCE: the app runs on a server that keeps the
	// private key. Nil: a public client.
	JWKS []byte
}

// app is an App with its scopes and keys parsed.
type app struct {
	App
	scopes []karte.Scope
	keys   []account.PublicKey // a confidential app's; nil for a public one
}

// Provider is the OAuth 2.0 authorization server and OpenID provider, with
// SMART App Launch v2 and Backend Services. It serves its endpoints as an
// http.Handler (see Register) and checks access tokens with Verify. It is
// safe for concurrent use.
type Provider struct {
	issuer     string
	audience   string
	url        endpoints // absolute URLs
	path       endpoints // server paths
	accounts   *account.Service
	rec        Recorder
	log        *slog.Logger
	now        func() time.Time
	accessTTL  time.Duration
	idle       time.Duration
	maxAge     time.Duration
	accountTTL time.Duration
	secure     bool      // the issuer is https: cookies are Secure
	started    time.Time // see checkAssertion

	keys   *signingKeys
	apps   map[string]*app
	mux    *http.ServeMux
	st     *state
	tokens *tokenCache
	cache  *recordCache
	jtis   *jtiCache
}

// endpoints are the provider's endpoints, as URLs or as paths.
type endpoints struct {
	authorize, token, revoke, introspect, launch, logout, jwks, breakGlass string
	openidConfig, smartConfig                                              string
}

func newEndpoints(issuer, audience string) endpoints {
	o := issuer + "/oauth/"
	return endpoints{
		authorize:    o + "authorize",
		token:        o + "token",
		revoke:       o + "revoke",
		introspect:   o + "introspect",
		launch:       o + "launch",
		logout:       o + "logout",
		jwks:         o + "jwks",
		breakGlass:   o + "break-glass",
		openidConfig: issuer + "/.well-known/openid-configuration",
		smartConfig:  audience + "/.well-known/smart-configuration",
	}
}

// New returns a Provider for cfg.
func New(cfg Config) (*Provider, error) {
	issuer, err := checkBase("Issuer", cfg.Issuer)
	if err != nil {
		return nil, err
	}
	audience := cfg.Audience
	if audience == "" {
		audience = issuer + "/fhir"
	}
	if audience, err = checkBase("Audience", audience); err != nil {
		return nil, err
	}
	switch {
	case cfg.Accounts == nil:
		return nil, errors.New("oauth: Config.Accounts is required")
	case cfg.Recorder == nil:
		return nil, errors.New("oauth: Config.Recorder is required: logins must be audited")
	}
	keys, err := newSigningKeys(cfg.Key)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		issuer:     issuer,
		audience:   audience,
		url:        newEndpoints(issuer, audience),
		path:       newEndpoints(urlPath(issuer), urlPath(audience)),
		accounts:   cfg.Accounts,
		rec:        cfg.Recorder,
		log:        cfg.Log,
		now:        cfg.Now,
		accessTTL:  orDefault(cfg.AccessTokenTTL, DefaultAccessTokenTTL),
		idle:       orDefault(cfg.SessionIdle, DefaultSessionIdle),
		maxAge:     orDefault(cfg.SessionMax, DefaultSessionMax),
		accountTTL: max(cfg.AccountCacheTTL, 0),
		secure:     strings.HasPrefix(issuer, "https://"),
		keys:       keys,
		tokens:     newTokenCache(),
		cache:      newRecordCache(),
		jtis:       newJTICache(),
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.started = p.now()
	p.st = newState(p.idle, p.maxAge)
	if cfg.Sessions != nil {
		p.st.keep = &keeper{store: cfg.Sessions, log: p.log}
		if err := p.st.keep.restore(context.Background(), p.st, p.started); err != nil {
			return nil, fmt.Errorf("oauth: read the stored sessions: %w", err)
		}
	}
	if p.apps, err = p.loadApps(cfg.Apps); err != nil {
		return nil, err
	}
	p.mux = http.NewServeMux()
	p.Register(p.mux)
	return p, nil
}

// Register mounts the provider's endpoints on mux:
//
//	GET      <issuer path>/.well-known/openid-configuration
//	GET      <FHIR base path>/.well-known/smart-configuration
//	GET      <issuer path>/oauth/jwks
//	GET/POST <issuer path>/oauth/authorize
//	POST     <issuer path>/oauth/token
//	POST     <issuer path>/oauth/revoke
//	POST     <issuer path>/oauth/introspect
//	POST     <issuer path>/oauth/launch
//	GET/POST <issuer path>/oauth/logout
//	POST     <issuer path>/oauth/break-glass
//
// The patterns are more specific than a "/fhir/" subtree, so the FHIR API
// may be mounted on the same mux.
func (p *Provider) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+p.path.openidConfig, p.openidConfiguration)
	mux.HandleFunc("GET "+p.path.smartConfig, p.smartConfiguration)
	mux.HandleFunc("GET "+p.path.jwks, p.serveJWKS)
	mux.HandleFunc("GET "+p.path.authorize, p.authorize)
	mux.HandleFunc("POST "+p.path.authorize, p.authorize)
	mux.HandleFunc("POST "+p.path.token, p.token)
	mux.HandleFunc("POST "+p.path.revoke, p.revoke)
	mux.HandleFunc("POST "+p.path.introspect, p.introspect)
	mux.HandleFunc("POST "+p.path.launch, p.launch)
	mux.HandleFunc("GET "+p.path.logout, p.logout)
	mux.HandleFunc("POST "+p.path.logout, p.logout)
	mux.HandleFunc("POST "+p.path.breakGlass, p.breakGlass)
}

// ServeHTTP serves the endpoints listed at Register, and 404 otherwise.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// Issuer returns the issuer URL, without a trailing slash.
func (p *Provider) Issuer() string { return p.issuer }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// checkBase validates an absolute base URL and returns it without a
// trailing slash.
func checkBase(what, s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("oauth: %s %q: want an absolute URL such as https://hub.example.jp, without query or fragment", what, s)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return "", fmt.Errorf("oauth: %s %q: tokens travel only over https (http is allowed on a loopback host only)", what, s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

func urlPath(base string) string {
	u, _ := url.Parse(base) // checked by checkBase
	return strings.TrimSuffix(u.EscapedPath(), "/")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// loadApps checks the configured apps and adds the console.
func (p *Provider) loadApps(list []App) (map[string]*app, error) {
	console := App{
		ClientID:               ConsoleClientID,
		Name:                   "kartehub",
		RedirectURIs:           []string{p.issuer + "/console/callback"},
		PostLogoutRedirectURIs: []string{p.issuer + "/console/"},
		Scope:                  ConsoleScope,
	}
	apps := make(map[string]*app)
	for _, a := range append([]App{console}, list...) {
		switch {
		case !clientIDPattern.MatchString(a.ClientID):
			return nil, fmt.Errorf("oauth: app %q: a client_id is 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'", a.ClientID)
		case strings.HasPrefix(a.ClientID, "kh-"):
			return nil, fmt.Errorf("oauth: app %q: client ids starting with kh- are registered systems", a.ClientID)
		case apps[a.ClientID] != nil:
			return nil, fmt.Errorf("oauth: app %q: configured twice, or the built-in console's id", a.ClientID)
		case len(a.RedirectURIs) == 0:
			return nil, fmt.Errorf("oauth: app %q: at least one redirect URI is required", a.ClientID)
		}
		for _, u := range slices.Concat(a.RedirectURIs, a.PostLogoutRedirectURIs) {
			if err := checkRedirectURI(u); err != nil {
				return nil, fmt.Errorf("oauth: app %q: %w", a.ClientID, err)
			}
		}
		scopes, err := authz.ParseScopes(a.Scope)
		if err != nil {
			return nil, fmt.Errorf("oauth: app %q: %w", a.ClientID, err)
		}
		if slices.ContainsFunc(scopes, func(s karte.Scope) bool { return s.Level == karte.ScopeSystem }) {
			return nil, fmt.Errorf("oauth: app %q: system/ scopes are for registered systems (client_credentials), not apps", a.ClientID)
		}
		var keys []account.PublicKey
		if a.JWKS != nil {
			if _, keys, err = account.NormalizeKeys(a.JWKS); err != nil {
				return nil, fmt.Errorf("oauth: app %q: jwks: %w", a.ClientID, err)
			}
		}
		if a.Name == "" {
			a.Name = a.ClientID
		}
		apps[a.ClientID] = &app{App: a, scopes: scopes, keys: keys}
	}
	return apps, nil
}

// checkRedirectURI accepts an absolute URI without fragment: https, http
// on a loopback host, or a private-use scheme (RFC 8252) other than the
// ones a browser would run.
func checkRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Fragment != "" || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("redirect URI %q: want an absolute URI without fragment", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("redirect URI %q: http only on a loopback host (127.0.0.1, [::1], localhost)", s)
		}
	case "javascript", "data", "vbscript", "file", "blob", "about":
		return fmt.Errorf("redirect URI %q: scheme %s is not allowed", s, u.Scheme)
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("redirect URI %q: a private-use scheme must be a reversed domain name, such as jp.example.app", s)
		}
	}
	return nil
}
