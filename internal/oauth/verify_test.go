package oauth_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
	"kartehub/internal/oauth"
)

func TestVerify(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	id, tok := e.systemToken(t, "system/*.rs")
	kid := e.kid(t)
	now := e.clock.Now()
	good := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{
			"iss": e.issuer, "sub": id, "aud": e.issuer + "/fhir", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			"jti": "j1", "client_id": id, "scope": "system/*.rs", "kh_kind": "client",
		}
		if edit != nil {
			edit(m)
		}
		return m
	}
	if p, err := e.prov.Verify(ctx, e.forge(t, "at+jwt", kid, good(nil))); err != nil || p.ID != id {
		t.Fatalf("a well-formed token signed by the provider's key: %v, %v", p, err)
	}
	parts := strings.Split(tok.AccessToken, ".")
	tamperedSig := parts[0] + "." + parts[1] + "." + flip(parts[2])
	payload, _ := json.Marshal(good(func(m map[string]any) { m["scope"] = "system/*.cruds" }))
	tamperedClaims := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
	pub, _ := x509.MarshalPKIXPublicKey(e.key.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	_, jwks := e.get(t, "/oauth/jwks")

	for _, tt := range []struct {
		name, token, reason string
	}{
		{"Empty", "", "token malformed"},
		{"Garbage", "abc", "token malformed"},
		{"TamperedSignature", tamperedSig, "token signature invalid"},
		{"TamperedClaims", tamperedClaims, "token signature invalid"},
		{"AlgNone", unsigned(map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}, good(nil)), "token algorithm not accepted"},
		{"HS256PublicKeyPEM", sign(t, jose.HS256, pubPEM, kid, good(nil)), "token algorithm not accepted"},
		{"HS256JWKS", sign(t, jose.HS256, []byte(jwks), kid, good(nil)), "token algorithm not accepted"},
		{"WrongAudience", e.forge(t, "at+jwt", kid, good(func(m map[string]any) { m["aud"] = "https://other.example/fhir" })), "token audience"},
		{"WrongIssuer", e.forge(t, "at+jwt", kid, good(func(m map[string]any) { m["iss"] = "https://other.example" })), "token issuer"},
		{"NotAccessToken", e.forge(t, "JWT", kid, good(nil)), "token type"},
		{"UnknownKid", e.forge(t, "at+jwt", "other", good(nil)), "token key unknown"},
		{"NoExpiry", e.forge(t, "at+jwt", kid, good(func(m map[string]any) { delete(m, "exp") })), "no expiry"},
		{"Expired", e.forge(t, "at+jwt", kid, good(func(m map[string]any) { m["exp"] = now.Add(-time.Minute).Unix() })), "token expired"},
		{"NotYetValid", e.forge(t, "at+jwt", kid, good(func(m map[string]any) { m["nbf"] = now.Add(time.Hour).Unix() })), "not valid yet"},
		{"BadScope", e.forge(t, "at+jwt", kid, good(func(m map[string]any) { m["scope"] = "system/*.x" })), "token scope invalid"},
		{"UnknownKind", e.forge(t, "at+jwt", kid, good(func(m map[string]any) { m["kh_kind"] = "admin" })), "token kind"},
		{"UserWithoutSession", e.forge(t, "at+jwt", kid, good(func(m map[string]any) { m["kh_kind"] = "user" })), "no session"},
		{"UserWithUnknownSession", e.forge(t, "at+jwt", kid, good(func(m map[string]any) { m["kh_kind"] = "user"; m["sid"] = "s1" })), "session ended"},
		{"UnknownClient", e.forge(t, "at+jwt", kid, good(func(m map[string]any) { m["sub"] = "kh-nobody" })), "client not found"},
		{"TooLong", strings.Repeat("a", 9000), "too long"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := e.prov.Verify(ctx, tt.token)
			wantUnauthorized(t, p, err, tt.reason)
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Fatal("the error quotes the token")
			}
		})
	}

	t.Run("ExpiredByClock", func(t *testing.T) {
		if _, err := e.prov.Verify(ctx, tok.AccessToken); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(10*time.Minute + 31*time.Second)
		p, err := e.prov.Verify(ctx, tok.AccessToken)
		wantUnauthorized(t, p, err, "token expired")
	})
}

// flip changes one character in the middle of a base64url string.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestVerifyAccount(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, tt := range []struct {
		name, reason string
		change       func(login string) error
	}{
		{"Disabled", "account disabled", func(l string) error { return e.svc.DisableUser(ctx, l) }},
		{"Expired", "account expired", func(l string) error { return e.svc.ExpireUser(ctx, l, e.clock.Now()) }},
		{"PasswordReset", "password reset", func(l string) error { _, err := e.svc.ResetPassword(ctx, l); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			login := strings.ToLower(tt.name)
			tok := e.login(t, e.person(t, login), "user/*.rs")
			if _, err := e.prov.Verify(ctx, tok.AccessToken); err != nil {
				t.Fatal(err)
			}
			if err := tt.change(login); err != nil {
				t.Fatal(err)
			}
			p, err := e.prov.Verify(ctx, tok.AccessToken)
			wantUnauthorized(t, p, err, tt.reason)
		})
	}
}

func TestAccountCache(t *testing.T) {
	e := newEnv(t, func(c *oauth.Config) { c.AccountCacheTTL = oauth.DefaultAccountCacheTTL })
	ctx := context.Background()
	tok := e.login(t, e.person(t, "cached"), "user/*.rs")
	if _, err := e.prov.Verify(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DisableUser(ctx, "cached"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.prov.Verify(ctx, tok.AccessToken); err != nil {
		t.Fatalf("within the cache time the cached account is used: %v", err)
	}
	e.clock.Add(oauth.DefaultAccountCacheTTL)
	p, err := e.prov.Verify(ctx, tok.AccessToken)
	wantUnauthorized(t, p, err, "account disabled")
}

func TestBreakGlass(t *testing.T) {
	e := newEnv(t, func(c *oauth.Config) { c.AccessTokenTTL = time.Hour })
	ctx := context.Background()
	tok := e.login(t, e.person(t, "er-doc"), "user/*.rs")
	post := func(token string, form url.Values) (*http.Response, string) {
		return e.postForm(t, "/oauth/break-glass", form, func(r *http.Request) {
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
		})
	}
	reason := "救急搬送: 他院患者の既往歴を確認 / emergency admission"

	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
	}{
		{"NoReason", url.Values{"minutes": {"30"}}, 400},
		{"BlankReason", url.Values{"reason": {"  \t "}}, 400},
		{"ZeroMinutes", url.Values{"reason": {reason}, "minutes": {"0"}}, 400},
		{"TooManyMinutes", url.Values{"reason": {reason}, "minutes": {"241"}}, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if resp, body := post(tok.AccessToken, tt.form); resp.StatusCode != tt.status {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
	}
	if resp, _ := post("", url.Values{"reason": {reason}}); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("without a token: %d", resp.StatusCode)
	}
	_, sys := e.systemToken(t, "system/*.rs")
	if resp, _ := post(sys.AccessToken, url.Values{"reason": {reason}}); resp.StatusCode != 403 {
		t.Fatalf("a system's token: %d", resp.StatusCode)
	}

	resp, body := post(tok.AccessToken, url.Values{"reason": {reason}, "minutes": {"30"}})
	if resp.StatusCode != 200 {
		t.Fatalf("break-glass: %d %s", resp.StatusCode, body)
	}
	until := e.clock.Now().Add(30 * time.Minute)
	p, err := e.prov.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.BreakGlass == nil || p.BreakGlass.Reason != reason || !p.BreakGlass.Until.Equal(until) || !p.BreakGlass.Active(e.clock.Now()) {
		t.Fatalf("principal's grant %+v", p.BreakGlass)
	}
	ev := e.rec.want(t, audit.Rest, audit.Success, "break-glass")
	if ev.Interaction != "operation" || ev.BreakGlass != reason || !strings.Contains(ev.OutcomeDesc, reason) || ev.User == nil {
		t.Fatalf("break-glass event %+v", ev)
	}

	e.clock.Add(20 * time.Minute)
	if p, err = e.prov.Verify(ctx, tok.AccessToken); err != nil || !p.BreakGlass.Active(e.clock.Now()) {
		t.Fatalf("after 20 minutes: %+v %v", p, err)
	}
	e.clock.Add(11 * time.Minute)
	if p, err = e.prov.Verify(ctx, tok.AccessToken); err != nil || p.BreakGlass.Active(e.clock.Now()) {
		t.Fatalf("after 31 minutes the grant is still active: %+v %v", p, err)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := oauth.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, oauth.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := oauth.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k2.Public()) {
		t.Fatal("the key changed between loads")
	}
	os.Chmod(filepath.Join(dir, oauth.KeyFile), 0o644)
	if _, err := oauth.LoadKey(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a key others may read: %v", err)
	}
}

func TestNewConfig(t *testing.T) {
	e := newEnv(t, nil)
	base := oauth.Config{Issuer: "https://hub.example.jp", Accounts: e.svc, Recorder: e.rec, Key: e.key}
	for name, edit := range map[string]func(*oauth.Config){
		"PlainHTTP":  func(c *oauth.Config) { c.Issuer = "http://hub.example.jp" },
		"NoAccounts": func(c *oauth.Config) { c.Accounts = nil },
		"NoRecorder": func(c *oauth.Config) { c.Recorder = nil },
		"NoKey":      func(c *oauth.Config) { c.Key = nil },
		"AppSystemScope": func(c *oauth.Config) {
			c.Apps = []oauth.App{{ClientID: "a", RedirectURIs: []string{"https://a.jp/cb"}, Scope: "system/*.rs"}}
		},
		"AppKhPrefix": func(c *oauth.Config) {
			c.Apps = []oauth.App{{ClientID: "kh-a", RedirectURIs: []string{"https://a.jp/cb"}}}
		},
		"AppHTTPRedirect": func(c *oauth.Config) { c.Apps = []oauth.App{{ClientID: "a", RedirectURIs: []string{"http://a.jp/cb"}}} },
		"AppNoRedirect":   func(c *oauth.Config) { c.Apps = []oauth.App{{ClientID: "a"}} },
		"AppConsoleID": func(c *oauth.Config) {
			c.Apps = []oauth.App{{ClientID: oauth.ConsoleClientID, RedirectURIs: []string{"https://a.jp/cb"}}}
		},
		"AppJSRedirect": func(c *oauth.Config) {
			c.Apps = []oauth.App{{ClientID: "a", RedirectURIs: []string{"javascript:alert(1)"}}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			edit(&cfg)
			if _, err := oauth.New(cfg); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	p, err := oauth.New(base)
	if err != nil || p.Issuer() != "https://hub.example.jp" {
		t.Fatalf("%v %v", p, err)
	}
}

// BenchmarkVerify measures Verify of a token seen before, with the
// server's account cache: the path every API request takes.
func BenchmarkVerify(b *testing.B) {
	e := newEnv(b, func(c *oauth.Config) { c.AccountCacheTTL = oauth.DefaultAccountCacheTTL })
	tok := e.login(b, e.person(b, "bench"), "user/*.rs")
	ctx := context.Background()
	if _, err := e.prov.Verify(ctx, tok.AccessToken); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.prov.Verify(ctx, tok.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	e := newEnv(f, nil)
	_, tok := e.systemToken(f, "system/*.rs")
	kid := e.kid(f)
	parts := strings.Split(tok.AccessToken, ".")
	for _, s := range []string{
		tok.AccessToken,
		parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2],
		unsigned(map[string]any{"alg": "none", "kid": kid, "typ": "at+jwt"}, map[string]any{"iss": e.issuer}),
		`{"protected":"","payload":"","signature":""}`,
		"", ".", "..", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
	} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, s string) {
		p, err := e.prov.Verify(ctx, s)
		if (p == nil) == (err == nil) {
			t.Fatalf("Verify(%q) = %v, %v", s, p, err)
		}
		if err != nil && !karte.IsKind(err, karte.Unauthorized) {
			t.Fatalf("Verify(%q): %v", s, err)
		}
	})
}
