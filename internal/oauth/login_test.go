package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"kartehub/internal/account"
	"kartehub/internal/audit"
	"kartehub/internal/karte"
	"kartehub/internal/oauth"
	"kartehub/internal/oauth/oauthtest"
)

// TestFirstLogin takes a new account through the whole flow: a failed
// login, the forced password change, the TOTP enrolment, the login with
// both factors, and the exchange of the code.
func TestFirstLogin(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, otp, err := e.svc.CreateUser(ctx, account.NewUser{
		Login: "sato", Name: "佐藤 花子", Roles: []string{karte.RolePhysician}, Facilities: []string{"hub"}, Person: "Practitioner/p1",
	})
	if err != nil {
		t.Fatal(err)
	}
	app := e.app("openid fhirUser profile launch/patient patient/*.rs user/*.rs offline_access launch/encounter")
	app.Patient = "p123"

	_, err = oauthtest.Login(ctx, app, &oauthtest.User{Login: "sato", Password: "wrong"})
	var pe *oauthtest.PageError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "Login failed") {
		t.Fatalf("wrong password: %v", err)
	}
	failed := e.rec.want(t, audit.Login, audit.MinorFailure, "bad-password")
	if failed.User == nil || failed.User.System != oauth.AccountSystem || failed.Client.ID != appID {
		t.Fatalf("failed login event %+v", failed)
	}

	u := &oauthtest.User{Login: "sato", Password: otp, NewPassword: "Kushiro-Clinic-2026", Code: e.codes(t)}
	tok, err := oauthtest.Login(ctx, app, u)
	if err != nil {
		t.Fatal(err)
	}
	if u.TOTPSecret == "" || u.Password != "Kushiro-Clinic-2026" {
		t.Fatalf("the pages did not take the user through set-up: %+v", u)
	}
	a, _ := e.svc.User(ctx, "sato")
	if a.MustChangePassword || !a.TOTPEnabled {
		t.Fatalf("account after set-up: %+v", a)
	}
	wantScope := "openid fhirUser profile launch/patient patient/*.rs user/*.rs offline_access"
	if tok.Scope != wantScope || tok.Patient != "p123" || tok.RefreshToken == "" || tok.IDToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token response %+v", tok)
	}

	p, err := e.prov.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != karte.PrincipalUser || p.ID != a.ID || p.Login != "sato" || p.Name != "佐藤 花子" || p.Person != "Practitioner/p1" ||
		p.App != appID || p.Patient != "p123" || !slices.Equal(p.Roles, []string{karte.RolePhysician}) ||
		!slices.Equal(p.Facilities, []string{"hub"}) || len(p.Scopes) != 7 || p.BreakGlass != nil {
		t.Fatalf("principal %+v", p)
	}

	// The ID token, checked as an app would.
	_, body := e.get(t, "/oauth/jwks")
	var set jose.JSONWebKeySet
	json.Unmarshal([]byte(body), &set)
	idt, err := jwt.ParseSigned(tok.IDToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var std jwt.Claims
	var ext struct {
		FHIRUser string `json:"fhirUser"`
		SID      string `json:"sid"`
		Name     string `json:"name"`
		AuthTime int64  `json:"auth_time"`
	}
	if err := idt.Claims(set, &std, &ext); err != nil {
		t.Fatal(err)
	}
	if err := std.Validate(jwt.Expected{Issuer: e.issuer, AnyAudience: jwt.Audience{appID}, Subject: a.ID, Time: e.clock.Now()}); err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if ext.FHIRUser != e.issuer+"/fhir/Practitioner/p1" || ext.SID == "" || ext.Name != "佐藤 花子" || ext.AuthTime == 0 {
		t.Fatalf("ID token claims %+v", ext)
	}

	e.rec.want(t, audit.Login, audit.Success, "account set-up only")
	login := e.rec.want(t, audit.Login, audit.Success, "password and TOTP code")
	if login.User.ID != a.ID || login.User.Reference != "Practitioner/p1" || login.Client.ID != appID || len(login.User.Roles) != 1 {
		t.Fatalf("login event %+v", login)
	}
	e.rec.want(t, audit.Login, audit.Success, "tokens issued")
}

func TestLoginWithoutPatient(t *testing.T) {
	e := newEnv(t, nil)
	u := e.person(t, "suzuki")
	tok := e.login(t, u, "launch/patient patient/*.rs user/*.rs")
	if tok.Scope != "user/*.rs" || tok.Patient != "" || tok.RefreshToken != "" || tok.IDToken != "" {
		t.Fatalf("without a patient: %+v", tok)
	}
}

func TestLoginNeedsPatient(t *testing.T) {
	e := newEnv(t, nil)
	_, err := oauthtest.Login(context.Background(), e.app("launch/patient patient/*.rs"), e.person(t, "kudo"))
	var pe *oauthtest.PageError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "needs a patient") {
		t.Fatalf("an app with only patient scopes, no patient: %v", err)
	}
}

func TestConsoleApp(t *testing.T) {
	e := newEnv(t, nil)
	u := e.person(t, "tanaka")
	tok, err := oauthtest.Login(context.Background(), oauthtest.App{
		Issuer: e.issuer, ClientID: oauth.ConsoleClientID, RedirectURI: e.issuer + "/console/callback",
		Scope: oauth.ConsoleScope, Client: e.srv.Client(),
	}, u)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.prov.Verify(context.Background(), tok.AccessToken)
	if err != nil || p.App != "" || p.Kind != karte.PrincipalUser {
		t.Fatalf("console principal %+v, %v", p, err)
	}
}

var (
	inputValue = regexp.MustCompile(`name="(request|csrf)" value="([^"]*)"`)
	cspHeader  = "default-src 'none'"
)

// authorizeURL is an authorization request of the test app.
func authorizeURL(edit func(q url.Values)) string {
	sum := sha256.Sum256([]byte(strings.Repeat("v", 43)))
	q := url.Values{
		"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {appRedirect}, "scope": {"user/*.rs"},
		"state": {"s<1>"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	if edit != nil {
		edit(q)
	}
	return "/oauth/authorize?" + q.Encode()
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.get(t, authorizeURL(nil))
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" ||
		!strings.Contains(h.Get("Content-Security-Policy"), cspHeader) ||
		!strings.Contains(h.Get("Content-Security-Policy"), "form-action 'self' https://app.example.jp") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("login page: %d %v", resp.StatusCode, h)
	}
	// The style allowed by its hash is the style served.
	style := regexp.MustCompile(`(?s)<style>(.*)</style>`).FindStringSubmatch(body)
	sum := sha256.Sum256([]byte(style[1]))
	if !strings.Contains(h.Get("Content-Security-Policy"), "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Errorf("the CSP does not allow the page's style: %s", h.Get("Content-Security-Policy"))
	}
	if strings.Contains(body, "<Viewer>") || !strings.Contains(body, "Cardio &lt;Viewer&gt;") || strings.Contains(body, "<script") {
		t.Fatalf("the page does not escape the app name:\n%s", body)
	}
	fields := map[string]string{}
	for _, m := range inputValue.FindAllStringSubmatch(body, -1) {
		fields[m[1]] = m[2]
	}
	if len(fields["request"]) != 43 || len(fields["csrf"]) != 43 {
		t.Fatalf("hidden fields %v", fields)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		cookie = c
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("login cookie %+v", cookie)
	}
	post := func(csrf string, withCookie bool) (*http.Response, string) {
		return e.postForm(t, "/oauth/authorize", url.Values{
			"step": {"login"}, "request": {fields["request"]}, "csrf": {csrf}, "login": {"x"}, "password": {"y"},
		}, func(r *http.Request) {
			if withCookie {
				r.AddCookie(cookie)
			}
		})
	}
	if resp, _ := post(fields["csrf"], false); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a post from another browser: %d, want 403", resp.StatusCode)
	}
	if resp, _ := post(strings.Repeat("A", 43), true); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a post with a wrong CSRF token: %d, want 403", resp.StatusCode)
	}
	resp, body = post(fields["csrf"], true)
	if resp.StatusCode != 200 || !strings.Contains(body, "Login failed") || !strings.Contains(body, `value="x"`) {
		t.Errorf("a failed login: %d\n%s", resp.StatusCode, body)
	}
	e.rec.want(t, audit.Login, audit.MinorFailure, "login failed: unknown")
	if resp, _ := e.postForm(t, "/oauth/authorize", url.Values{"step": {"login"}, "request": {"nope"}}, nil); resp.StatusCode != 400 {
		t.Errorf("an unknown login: %d, want 400", resp.StatusCode)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	e := newEnv(t, nil)
	// Errors shown as a page: the redirect URI cannot be trusted.
	for name, edit := range map[string]func(url.Values){
		"UnknownClient":        func(q url.Values) { q.Set("client_id", "nobody") },
		"UnregisteredRedirect": func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
		"RedirectPrefix":       func(q url.Values) { q.Set("redirect_uri", appRedirect+"/more") },
		"NoRedirect":           func(q url.Values) { q.Del("redirect_uri") },
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := e.get(t, authorizeURL(edit))
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(body, "<h2>") {
				t.Fatalf("%d %v", resp.StatusCode, resp.Header)
			}
		})
	}
	// Errors sent to the app.
	for _, tt := range []struct {
		name, code string
		edit       func(url.Values)
	}{
		{"PlainPKCE", "invalid_request", func(q url.Values) { q.Set("code_challenge_method", "plain") }},
		{"NoPKCE", "invalid_request", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }},
		{"BadChallenge", "invalid_request", func(q url.Values) { q.Set("code_challenge", "short") }},
		{"ImplicitFlow", "unsupported_response_type", func(q url.Values) { q.Set("response_type", "token") }},
		{"SystemScope", "invalid_scope", func(q url.Values) { q.Set("scope", "system/*.rs") }},
		{"NotAllowedScope", "invalid_scope", func(q url.Values) { q.Set("scope", "user/*.cruds") }},
		{"WrongAudience", "invalid_request", func(q url.Values) { q.Set("aud", "https://other.example/fhir") }},
		{"PromptNone", "login_required", func(q url.Values) { q.Set("prompt", "none") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := e.get(t, authorizeURL(tt.edit))
			loc, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), appRedirect+"?") {
				t.Fatalf("%d %v", resp.StatusCode, resp.Header)
			}
			q := loc.Query()
			if q.Get("error") != tt.code || q.Get("state") != "s<1>" || q.Get("iss") != e.issuer {
				t.Fatalf("redirect %s", loc)
			}
		})
	}
}

func TestCode(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	u := e.person(t, "ito")
	app := e.app("openid user/*.rs online_access")

	code, verifier, err := oauthtest.Authorize(ctx, app, u)
	if err != nil {
		t.Fatal(err)
	}
	_, err = oauthtest.Exchange(ctx, app, code, strings.Repeat("x", 43))
	if oe := oauthErr(t, err); oe.Code != "invalid_grant" || !strings.Contains(oe.Description, "code_verifier") {
		t.Fatalf("wrong verifier: %v", oe)
	}
	other := app
	other.RedirectURI = "https://app.example.jp/other"
	if _, err = oauthtest.Exchange(ctx, other, code, verifier); oauthErr(t, err).Code != "invalid_grant" {
		t.Fatalf("wrong redirect_uri: %v", err)
	}
	tok, err := oauthtest.Exchange(ctx, app, code, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.prov.Verify(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}

	// Used again: refused, and what the first use gave is revoked.
	_, err = oauthtest.Exchange(ctx, app, code, verifier)
	if oe := oauthErr(t, err); oe.Code != "invalid_grant" || !strings.Contains(oe.Description, "used before") {
		t.Fatalf("code reuse: %v", oe)
	}
	p, err := e.prov.Verify(ctx, tok.AccessToken)
	wantUnauthorized(t, p, err, "session ended")
	if _, err := oauthtest.Refresh(ctx, app, tok.RefreshToken); oauthErr(t, err).Code != "invalid_grant" {
		t.Fatalf("refresh after code reuse: %v", err)
	}
	e.rec.want(t, audit.Login, audit.MinorFailure, "used twice")

	t.Run("Expired", func(t *testing.T) {
		code, verifier, err := oauthtest.Authorize(ctx, app, u)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Add(61 * time.Second)
		_, err = oauthtest.Exchange(ctx, app, code, verifier)
		if oe := oauthErr(t, err); oe.Code != "invalid_grant" || !strings.Contains(oe.Description, "expired") {
			t.Fatal(oe)
		}
	})
	t.Run("OtherClient", func(t *testing.T) {
		code, verifier, err := oauthtest.Authorize(ctx, app, u)
		if err != nil {
			t.Fatal(err)
		}
		console := app
		console.ClientID = oauth.ConsoleClientID
		if _, err := oauthtest.Exchange(ctx, console, code, verifier); oauthErr(t, err).Code != "invalid_grant" {
			t.Fatal(err)
		}
	})
	t.Run("DisabledMeanwhile", func(t *testing.T) {
		v := e.person(t, "kato")
		code, verifier, err := oauthtest.Authorize(ctx, app, v)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DisableUser(ctx, "kato"); err != nil {
			t.Fatal(err)
		}
		_, err = oauthtest.Exchange(ctx, app, code, verifier)
		if oe := oauthErr(t, err); oe.Code != "invalid_grant" || !strings.Contains(oe.Description, "disabled") {
			t.Fatal(oe)
		}
	})
}

func TestRefresh(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	u := e.person(t, "yamada")
	app := e.app("user/*.rs patient/*.rs offline_access")
	t1 := e.login(t, u, app.Scope)
	if t1.RefreshToken == "" || t1.Scope != "user/*.rs offline_access" {
		t.Fatalf("token %+v", t1)
	}

	t2, err := oauthtest.Refresh(ctx, app, t1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if t2.RefreshToken == "" || t2.RefreshToken == t1.RefreshToken || t2.AccessToken == t1.AccessToken || t2.Scope != t1.Scope {
		t.Fatalf("refreshed %+v", t2)
	}
	if _, err := e.prov.Verify(ctx, t2.AccessToken); err != nil {
		t.Fatal(err)
	}
	e.rec.want(t, audit.Login, audit.Success, "tokens refreshed")

	// A narrower scope is fine, a wider one is not.
	resp, body := e.postForm(t, "/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {t2.RefreshToken}, "client_id": {appID}, "scope": {"user/*.cruds"},
	}, nil)
	if resp.StatusCode != 400 || !strings.Contains(body, "invalid_scope") {
		t.Fatalf("wider scope: %d %s", resp.StatusCode, body)
	}
	resp, body = e.postForm(t, "/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {t2.RefreshToken}, "client_id": {appID}, "scope": {"user/*.rs"},
	}, nil)
	var t3 oauthtest.Token
	if err := json.Unmarshal([]byte(body), &t3); resp.StatusCode != 200 || err != nil || t3.Scope != "user/*.rs" {
		t.Fatalf("narrower scope: %d %s", resp.StatusCode, body)
	}

	// Another client cannot use it.
	resp, _ = e.postForm(t, "/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {t3.RefreshToken}, "client_id": {oauth.ConsoleClientID},
	}, nil)
	if resp.StatusCode != 400 {
		t.Fatalf("refresh by another client: %d", resp.StatusCode)
	}

	// A superseded token used again ends the session.
	_, err = oauthtest.Refresh(ctx, app, t1.RefreshToken)
	if oe := oauthErr(t, err); oe.Code != "invalid_grant" || !strings.Contains(oe.Description, "used before") {
		t.Fatalf("reuse: %v", oe)
	}
	if _, err := oauthtest.Refresh(ctx, app, t3.RefreshToken); oauthErr(t, err).Code != "invalid_grant" {
		t.Fatalf("the current refresh token survived a reuse: %v", err)
	}
	p, err := e.prov.Verify(ctx, t3.AccessToken)
	wantUnauthorized(t, p, err, "session ended")
	e.rec.want(t, audit.Login, audit.MinorFailure, "superseded refresh token")
}

func TestSessionLimits(t *testing.T) {
	t.Run("IdleRefresh", func(t *testing.T) {
		e := newEnv(t, nil)
		ctx := context.Background()
		app := e.app("user/*.rs online_access")
		tok := e.login(t, e.person(t, "abe"), app.Scope)
		for range 3 {
			e.clock.Add(29 * time.Minute)
			var err error
			if tok, err = oauthtest.Refresh(ctx, app, tok.RefreshToken); err != nil {
				t.Fatalf("refresh within the idle time: %v", err)
			}
		}
		e.clock.Add(31 * time.Minute)
		_, err := oauthtest.Refresh(ctx, app, tok.RefreshToken)
		if oe := oauthErr(t, err); oe.Code != "invalid_grant" || !strings.Contains(oe.Description, "expired") {
			t.Fatalf("refresh after 31 idle minutes: %v", oe)
		}
	})
	t.Run("IdleVerify", func(t *testing.T) {
		e := newEnv(t, func(c *oauth.Config) { c.AccessTokenTTL = 2 * time.Hour })
		ctx := context.Background()
		tok := e.login(t, e.person(t, "abe"), "user/*.rs")
		for range 4 {
			e.clock.Add(20 * time.Minute)
			if _, err := e.prov.Verify(ctx, tok.AccessToken); err != nil {
				t.Fatalf("a session in use: %v", err)
			}
		}
		e.clock.Add(31 * time.Minute)
		p, err := e.prov.Verify(ctx, tok.AccessToken)
		wantUnauthorized(t, p, err, "session ended")
	})
	t.Run("Max", func(t *testing.T) {
		e := newEnv(t, func(c *oauth.Config) { c.SessionMax = time.Hour })
		ctx := context.Background()
		app := e.app("user/*.rs offline_access")
		tok := e.login(t, e.person(t, "abe"), app.Scope)
		var err error
		for range 2 {
			e.clock.Add(25 * time.Minute)
			if tok, err = oauthtest.Refresh(ctx, app, tok.RefreshToken); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Add(25 * time.Minute)
		if _, err = oauthtest.Refresh(ctx, app, tok.RefreshToken); oauthErr(t, err).Code != "invalid_grant" {
			t.Fatalf("refresh past SessionMax: %v", err)
		}
	})
	// A lock-out stops guessing at the login page; it does not end the
	// owner's live session, or anyone who knows a login name could end
	// its owner's work by failing five times.
	t.Run("AccountLockedKeepsSession", func(t *testing.T) {
		e := newEnv(t, nil)
		ctx := context.Background()
		app := e.app("user/*.rs online_access")
		tok := e.login(t, e.person(t, "abe"), app.Scope)
		for range account.DefaultMaxFailures {
			e.svc.Authenticate(ctx, "abe", "wrong", "")
		}
		if _, err := e.svc.Authenticate(ctx, "abe", "wrong", ""); err == nil {
			t.Fatal("the account is not locked")
		}
		next, err := oauthtest.Refresh(ctx, app, tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh after a lock-out by others' failures: %v", err)
		}
		if _, err := e.prov.Verify(ctx, next.AccessToken); err != nil {
			t.Fatalf("verify after a lock-out: %v", err)
		}
	})
}

func TestLogout(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	u := e.person(t, "mori")
	app := e.app("openid user/*.rs offline_access")
	tok := e.login(t, u, app.Scope)

	resp, _ := e.get(t, "/oauth/logout?"+url.Values{
		"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {appBye}, "state": {"bye1"},
	}.Encode())
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != appBye+"?state=bye1" {
		t.Fatalf("logout: %d %v", resp.StatusCode, resp.Header)
	}
	p, err := e.prov.Verify(ctx, tok.AccessToken)
	wantUnauthorized(t, p, err, "session ended")
	if _, err := oauthtest.Refresh(ctx, app, tok.RefreshToken); oauthErr(t, err).Code != "invalid_grant" {
		t.Fatalf("refresh after logout: %v", err)
	}
	ev := e.rec.want(t, audit.Logout, audit.Success, "logout")
	if ev.User == nil || ev.User.Name == "" || ev.Client.ID != appID {
		t.Fatalf("logout event %+v", ev)
	}

	// Not registered: no redirect, but the session still ends.
	tok = e.login(t, u, app.Scope)
	resp, _ = e.get(t, "/oauth/logout?"+url.Values{
		"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {"https://evil.example/"},
	}.Encode())
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
		t.Fatalf("unregistered target: %d %v", resp.StatusCode, resp.Header)
	}
	p, err = e.prov.Verify(ctx, tok.AccessToken)
	wantUnauthorized(t, p, err, "session ended")

	// By bearer token, POST, without a target: a page.
	tok = e.login(t, u, app.Scope)
	resp, body := e.postForm(t, "/oauth/logout", url.Values{}, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	})
	if resp.StatusCode != 200 || !strings.Contains(body, "Logged out") {
		t.Fatalf("logout page: %d", resp.StatusCode)
	}
	p, err = e.prov.Verify(ctx, tok.AccessToken)
	wantUnauthorized(t, p, err, "session ended")
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	id, secret := e.system(t, "lab")
	tok, err := oauthtest.ClientCredentials(ctx, e.srv.Client(), e.issuer, id, secret, "system/*.rs")
	if err != nil {
		t.Fatal(err)
	}
	otherID, otherSecret := e.system(t, "other")
	revoke := func(cid, csecret, token string) *http.Response {
		resp, _ := e.postForm(t, "/oauth/revoke", url.Values{"token": {token}}, func(r *http.Request) { r.SetBasicAuth(cid, csecret) })
		return resp
	}
	// Another client's revocation does nothing.
	if resp := revoke(otherID, otherSecret, tok.AccessToken); resp.StatusCode != 200 {
		t.Fatalf("revoke by another client: %d", resp.StatusCode)
	}
	if _, err := e.prov.Verify(ctx, tok.AccessToken); err != nil {
		t.Fatalf("another client revoked the token: %v", err)
	}
	if resp := revoke(id, secret+"x", tok.AccessToken); resp.StatusCode != 401 {
		t.Fatalf("revoke with a wrong secret: %d", resp.StatusCode)
	}
	if resp := revoke(id, secret, tok.AccessToken); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	p, err := e.prov.Verify(ctx, tok.AccessToken)
	wantUnauthorized(t, p, err, "token revoked")
	e.rec.want(t, audit.Logout, audit.Success, "access token revoked")
	if resp := revoke(id, secret, "unknown"); resp.StatusCode != 200 {
		t.Fatalf("revoke of an unknown token: %d", resp.StatusCode)
	}

	// A person's refresh token: the whole session ends.
	app := e.app("user/*.rs offline_access")
	ut := e.login(t, e.person(t, "ono"), app.Scope)
	resp, _ := e.postForm(t, "/oauth/revoke", url.Values{"token": {ut.RefreshToken}, "client_id": {appID}, "token_type_hint": {"refresh_token"}}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("revoke refresh token: %d", resp.StatusCode)
	}
	p, err = e.prov.Verify(ctx, ut.AccessToken)
	wantUnauthorized(t, p, err, "session ended")
	if _, err := oauthtest.Refresh(ctx, app, ut.RefreshToken); oauthErr(t, err).Code != "invalid_grant" {
		t.Fatal(err)
	}
	e.rec.want(t, audit.Logout, audit.Success, "refresh token revoked")
}
