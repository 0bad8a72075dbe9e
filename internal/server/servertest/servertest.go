// Package servertest runs a whole, guarded kartehub server over real HTTP
// for the tests of other packages, and gets them access tokens the way
// clients do: API clients through client_credentials, people through the
// login pages with their second factor. It adds no back door: every token
// comes from the server's own token endpoint.
package servertest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"kartehub/internal/account"
	"kartehub/internal/karte"
	"kartehub/internal/oauth"
	"kartehub/internal/oauth/oauthtest"
	"kartehub/internal/server"
)

// Env is a running server on a store of the test's.
type Env struct {
	URL    string // origin, such as http://127.0.0.1:43121: the OAuth issuer
	Base   string // the FHIR base, URL + "/fhir"
	Server *server.Server
	HTTP   *httptest.Server
}

// Start serves st with the whole guarded handler until the test ends. The
// account service hashes cheaply and does not slow failures down, so that
// tests that create many accounts stay fast; the policy is the real one.
func Start(tb testing.TB, st karte.Store, log *slog.Logger) *Env {
	tb.Helper()
	return StartWith(tb, st, server.Config{Log: log})
}

// StartWith is Start with cfg (a clock, the account cache) for what Start
// does not set: Store, Dir, BaseURL and the account hashing are Start's.
func StartWith(tb testing.TB, st karte.Store, cfg server.Config) *Env {
	tb.Helper()
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	hs := httptest.NewUnstartedServer(nil)
	e := &Env{HTTP: hs, URL: "http://" + hs.Listener.Addr().String()}
	e.Base = e.URL + "/fhir"
	cfg.Store, cfg.BaseURL = st, e.Base
	if cfg.Dir == "" {
		cfg.Dir = tb.TempDir()
	}
	cfg.Accounts.Hash = account.HashParams{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	cfg.Accounts.FailureFloor = -1
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	hs.Config.Handler = srv.Handler()
	hs.Start()
	e.Server = srv
	tb.Cleanup(func() { hs.Close(); srv.Close() })
	return e
}

// ClientToken registers an API client with roles and facilities (none:
// every facility) and returns an access token for scope.
func (e *Env) ClientToken(tb testing.TB, scope string, roles []string, facilities ...string) string {
	tb.Helper()
	ctx := context.Background()
	c, secret, err := e.Server.Accounts.CreateClient(ctx, account.NewClient{Name: "test client", Roles: roles, Facilities: facilities})
	if err != nil {
		tb.Fatalf("servertest: register a client: %v", err)
	}
	tok, err := oauthtest.ClientCredentials(ctx, e.HTTP.Client(), e.URL, c.ID, secret, scope)
	if err != nil {
		tb.Fatalf("servertest: client_credentials: %v", err)
	}
	return tok.AccessToken
}

// UserToken creates a user with roles and facilities, logs them in for
// the first time through the login pages of the built-in console app
// (changing the one-time password and enrolling TOTP), and returns the
// access token for scope.
func (e *Env) UserToken(tb testing.TB, login string, roles, facilities []string, scope string) string {
	tb.Helper()
	ctx := context.Background()
	_, oneTime, err := e.Server.Accounts.CreateUser(ctx, account.NewUser{Login: login, Name: login, Roles: roles, Facilities: facilities})
	if err != nil {
		tb.Fatalf("servertest: create user %s: %v", login, err)
	}
	app := oauthtest.App{Issuer: e.URL, ClientID: oauth.ConsoleClientID, RedirectURI: e.URL + "/console/callback",
		Scope: scope, Client: e.HTTP.Client()}
	u := &oauthtest.User{Login: login, Password: oneTime, NewPassword: "Correct-Horse-Battery-7", Code: Codes()}
	tok, err := oauthtest.Login(ctx, app, u)
	if err != nil {
		tb.Fatalf("servertest: log %s in: %v", login, err)
	}
	return tok.AccessToken
}

// Codes returns a source of TOTP codes that never repeats a time step, as
// oauthtest.User.Code needs: each code is for a step after the last one,
// starting now (the server accepts one step either side).
func Codes() func(secret string) string {
	var mu sync.Mutex
	at := time.Now().Add(-30 * time.Second)
	return func(secret string) string {
		mu.Lock()
		defer mu.Unlock()
		at = at.Add(30 * time.Second)
		code, err := totp.GenerateCode(secret, at)
		if err != nil {
			panic("servertest: TOTP code: " + err.Error())
		}
		return code
	}
}

// Client returns an HTTP client that sends token with every request and
// does not follow redirects (tests look at them).
func (e *Env) Client(token string) *http.Client {
	c := *e.HTTP.Client()
	c.Transport = bearer{token: token, next: e.HTTP.Client().Transport}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if r.Header.Get("Authorization") == "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.next.RoundTrip(r)
}
