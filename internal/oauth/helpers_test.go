package oauth_test

import (
	"context"
	"crypto"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"kartehub/internal/account"
	"kartehub/internal/audit"
	"kartehub/internal/karte"
	"kartehub/internal/oauth"
	"kartehub/internal/oauth/oauthtest"
	"kartehub/internal/store/sqlite"
)

// fastHash makes tests quick; package account tests the real parameters.
var fastHash = account.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var accountKey = []byte("0123456789abcdef0123456789abcdef")

// The SMART app of the tests.
const (
	appID       = "smart-app"
	appRedirect = "https://app.example.jp/callback"
	appBye      = "https://app.example.jp/bye"
	appScope    = "openid fhirUser profile launch launch/patient launch/encounter patient/*.rs user/*.rs offline_access online_access"
)

// clock is a settable clock, shared by the provider and the accounts.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// recorder is the test double of the audit sink: it keeps the events.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e *audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, *e)
	return nil
}

// find returns the events of the type and outcome whose description
// contains desc.
func (r *recorder) find(typ audit.Type, outcome audit.Outcome, desc string) []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []audit.Event
	for _, e := range r.events {
		if e.Type == typ && e.Outcome == outcome && strings.Contains(e.OutcomeDesc, desc) {
			out = append(out, e)
		}
	}
	return out
}

// want fails the test unless an event of the type and outcome whose
// description contains desc was recorded, and returns the last one.
func (r *recorder) want(t testing.TB, typ audit.Type, outcome audit.Outcome, desc string) audit.Event {
	t.Helper()
	found := r.find(typ, outcome, desc)
	if len(found) == 0 {
		r.mu.Lock()
		defer r.mu.Unlock()
		var all []string
		for _, e := range r.events {
			all = append(all, e.OutcomeDesc)
		}
		t.Fatalf("no audit event (type %d, outcome %d) with %q; recorded:\n%s", typ, outcome, desc, strings.Join(all, "\n"))
	}
	return found[len(found)-1]
}

// env is a provider on a real SQLite store behind an HTTP test server.
type env struct {
	store  *sqlite.Store
	cfg    oauth.Config
	svc    *account.Service
	prov   *oauth.Provider
	mux    atomic.Pointer[http.ServeMux] // the provider's endpoints, replaced by restart
	srv    *httptest.Server
	clock  *clock
	rec    *recorder
	key    crypto.Signer // the provider's key: tests sign forged tokens with it
	issuer string
}

// newEnv starts a provider; edit may change its Config.
func newEnv(t testing.TB, edit func(*oauth.Config)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{store: st, clock: &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}, rec: &recorder{}}
	e.svc, err = account.New(st, account.Config{Now: e.clock.Now, Key: accountKey, Hash: fastHash, FailureFloor: -1})
	if err != nil {
		t.Fatal(err)
	}
	if e.key, err = oauth.LoadKey(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mux.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.issuer = e.srv.URL
	cfg := oauth.Config{
		Issuer:   e.issuer,
		Accounts: e.svc,
		Recorder: e.rec,
		Key:      e.key,
		Now:      e.clock.Now,
		Sessions: st,
		Apps: []oauth.App{{
			ClientID:               appID,
			Name:                   "Cardio <Viewer>",
			RedirectURIs:           []string{appRedirect},
			PostLogoutRedirectURIs: []string{appBye},
			Scope:                  appScope,
		}},
	}
	if edit != nil {
		edit(&cfg)
	}
	e.cfg = cfg
	e.restart(t)
	return e
}

// restart replaces the provider with a new one of the same configuration
// on the same store, as a restart of the server does.
func (e *env) restart(t testing.TB) {
	t.Helper()
	p, err := oauth.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	e.prov = p
	e.mux.Store(mux)
}

// code is the TOTP code of secret at time at.
func code(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// codes returns a User.Code that moves the clock to the next time step
// and gives its code, as a person would wait for the next code.
func (e *env) codes(t testing.TB) func(string) string {
	return func(secret string) string {
		e.clock.Add(30 * time.Second)
		return code(t, secret, e.clock.Now())
	}
}

// person creates an account with a password and a confirmed TOTP, and
// returns it as an oauthtest.User.
func (e *env) person(t testing.TB, login string, roles ...string) *oauthtest.User {
	t.Helper()
	ctx := context.Background()
	if len(roles) == 0 {
		roles = []string{karte.RolePhysician}
	}
	if _, _, err := e.svc.CreateUser(ctx, account.NewUser{
		Login: login, Name: "Test " + login, Roles: roles, Facilities: []string{"hub"}, Person: "Practitioner/" + login,
	}); err != nil {
		t.Fatal(err)
	}
	en, err := e.svc.BeginTOTP(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ConfirmTOTP(ctx, login, code(t, en.Secret, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	pw := "Hokkaido-Kushiro#2026"
	if err := e.svc.SetPassword(ctx, login, pw); err != nil {
		t.Fatal(err)
	}
	return &oauthtest.User{Login: login, Password: pw, TOTPSecret: en.Secret, Code: e.codes(t)}
}

// app is the SMART app asking for scope.
func (e *env) app(scope string) oauthtest.App {
	return oauthtest.App{Issuer: e.issuer, ClientID: appID, RedirectURI: appRedirect, Scope: scope, Client: e.srv.Client()}
}

// login runs the whole flow for u and returns the tokens.
func (e *env) login(t testing.TB, u *oauthtest.User, scope string) *oauthtest.Token {
	t.Helper()
	tok, err := oauthtest.Login(context.Background(), e.app(scope), u)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// system registers a system with a secret and returns its id and secret.
func (e *env) system(t testing.TB, name string) (string, string) {
	t.Helper()
	c, secret, err := e.svc.CreateClient(context.Background(), account.NewClient{
		Name: name, Roles: []string{karte.RoleTechnologist}, Facilities: []string{"hub"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID, secret
}

// systemToken gets a client_credentials token for a new system.
func (e *env) systemToken(t testing.TB, scope string) (string, *oauthtest.Token) {
	t.Helper()
	id, secret := e.system(t, "lab system")
	tok, err := oauthtest.ClientCredentials(context.Background(), e.srv.Client(), e.issuer, id, secret, scope)
	if err != nil {
		t.Fatal(err)
	}
	return id, tok
}

// postForm posts a form to a path of the server.
func (e *env) postForm(t testing.TB, path string, form url.Values, edit func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(req)
	}
	return e.do(t, req)
}

// get gets a path of the server, without following redirects.
func (e *env) get(t testing.TB, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.issuer+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, req)
}

func (e *env) do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// kid is the key id the provider publishes.
func (e *env) kid(t testing.TB) string {
	t.Helper()
	_, body := e.get(t, "/oauth/jwks")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(body), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", body, err)
	}
	return set.Keys[0].KeyID
}

// forge signs claims with the provider's own key, as only the provider
// should: tests use it to make tokens that are well signed but wrong.
func (e *env) forge(t testing.TB, typ, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: e.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// claimsOf returns the claims of a JWT, unverified.
func claimsOf(t testing.TB, token string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// oauthErr returns the OAuth error code of err, failing the test if err
// is not an *oauthtest.Error.
func oauthErr(t testing.TB, err error) *oauthtest.Error {
	t.Helper()
	oe, ok := err.(*oauthtest.Error)
	if !ok {
		t.Fatalf("got %v, want an OAuth error", err)
	}
	return oe
}

// wantUnauthorized checks that Verify refused a token for the reason.
func wantUnauthorized(t testing.TB, p *karte.Principal, err error, reason string) {
	t.Helper()
	if p != nil || !karte.IsKind(err, karte.Unauthorized) || !strings.Contains(err.Error(), reason) {
		t.Fatalf("Verify: %v, %v; want Unauthorized %q", p, err, reason)
	}
}
