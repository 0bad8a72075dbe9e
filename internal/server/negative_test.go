package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"kartehub/internal/account"
	"kartehub/internal/karte"
	"kartehub/internal/oauth/oauthtest"
	"kartehub/internal/server"
	"kartehub/internal/server/servertest"
)

// clock is a clock the test moves on; it starts at the real time, so that
// TOTP codes made from the real time still match.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// auditEvent is what the tests read of a stored AuditEvent.
type auditEvent struct {
	Type    struct{ Code string }
	Subtype []struct{ Code string }
	Action  string
	Outcome string
	Desc    string `json:"outcomeDesc"`
	Agent   []struct {
		Who *struct {
			Reference  string
			Identifier *struct{ Value string }
		}
		Requestor    bool
		PurposeOfUse []struct{ Text string }
	}
	Entity []struct {
		What *struct{ Reference string }
		Role *struct{ Code string }
	}
}

// trail reads the audit events that requests add.
type trail struct {
	t    *testing.T
	st   karte.AuditLog
	seen int64
}

func newTrail(t *testing.T, st karte.AuditLog) *trail {
	tr := &trail{t: t, st: st}
	tr.since()
	return tr
}

// since returns the events recorded since the last call.
func (tr *trail) since() []auditEvent {
	tr.t.Helper()
	recs, err := tr.st.AuditRecords(context.Background(), tr.seen, 10000)
	if err != nil {
		tr.t.Fatal(err)
	}
	out := make([]auditEvent, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Event, &out[i]); err != nil {
			tr.t.Fatal(err)
		}
		tr.seen = r.Seq
	}
	return out
}

// one returns the one event recorded since the last call.
func (tr *trail) one(what string) auditEvent {
	tr.t.Helper()
	evs := tr.since()
	if len(evs) != 1 {
		tr.t.Fatalf("%s: %d audit events, want exactly 1: %+v", what, len(evs), evs)
	}
	return evs[0]
}

// denied checks a refused request: status want with an OperationOutcome,
// and exactly one audit event of a failure.
func denied(t *testing.T, tr *trail, what string, r *reply, want int) auditEvent {
	t.Helper()
	if r.status != want || !r.isOutcome() {
		t.Errorf("%s: %d %s, want %d with an OperationOutcome", what, r.status, r.body, want)
	}
	ev := tr.one(what)
	if ev.Outcome != "4" || ev.Desc == "" {
		t.Errorf("%s: audited with outcome %q (%q), want 4 and the reason", what, ev.Outcome, ev.Desc)
	}
	return ev
}

// TestTokensRefused sends requests with missing, expired, foreign,
// tampered, unsigned, disabled and too narrow tokens, and a replayed
// client assertion: each is refused with 401 or 403 and an
// OperationOutcome (the token endpoint answers in OAuth's own JSON), and
// each is audited.
func TestTokensRefused(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Now()}
	dir := t.TempDir()
	env := servertest.StartWith(t, st, server.Config{Dir: dir, Now: clk.Now, AccountCacheTTL: -1})
	seed(t, env, orgA, patient("pa", "A"), observation("opa", "pa"))
	tr := newTrail(t, st)
	read := env.Base + "/Patient/pa"
	get := func(token string) *reply {
		req, _ := http.NewRequest("GET", read, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := &reply{status: resp.StatusCode, header: resp.Header}
		json.NewDecoder(resp.Body).Decode(&r.json)
		r.body = []byte(strings.TrimSpace(string(must(json.Marshal(r.json)))))
		return r
	}
	good := env.ClientToken(t, "system/*.rs", []string{karte.RolePhysician})
	tr.since()
	if r := get(good); r.status != http.StatusOK {
		t.Fatalf("a good token: %d %s", r.status, r.body)
	}
	if ev := tr.one("good token"); ev.Outcome != "0" {
		t.Errorf("a good read audited with outcome %q", ev.Outcome)
	}

	t.Run("NoToken", func(t *testing.T) {
		r := get("")
		denied(t, tr, "no token", r, http.StatusUnauthorized)
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("no Bearer challenge: %q", r.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("TamperedSignature", func(t *testing.T) {
		sig := good[strings.LastIndexByte(good, '.')+1:]
		flipped := []byte(sig)
		flipped[len(flipped)/2] ^= 0x01
		if flipped[len(flipped)/2] == '.' || string(flipped) == sig {
			flipped[len(flipped)/2] = 'A'
		}
		denied(t, tr, "tampered signature", get(good[:len(good)-len(sig)]+string(flipped)), http.StatusUnauthorized)
	})
	t.Run("TamperedClaims", func(t *testing.T) {
		parts := strings.Split(good, ".")
		claims := map[string]any{}
		json.Unmarshal(must(base64.RawURLEncoding.DecodeString(parts[1])), &claims)
		claims["scope"] = "system/*.cruds"
		parts[1] = base64.RawURLEncoding.EncodeToString(must(json.Marshal(claims)))
		denied(t, tr, "tampered claims", get(strings.Join(parts, ".")), http.StatusUnauthorized)
	})
	t.Run("AlgNone", func(t *testing.T) {
		parts := strings.Split(good, ".")
		header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`))
		denied(t, tr, "alg none", get(header+"."+parts[1]+"."), http.StatusUnauthorized)
	})
	t.Run("WrongAudience", func(t *testing.T) {
		// Another server with the same keys and accounts, at another base:
		// its tokens are signed right, but for another audience.
		other := servertest.StartWith(t, st, server.Config{Dir: dir, Now: clk.Now, AccountCacheTTL: -1})
		foreign := other.ClientToken(t, "system/*.rs", []string{karte.RolePhysician})
		tr.since()
		ev := denied(t, tr, "wrong audience", get(foreign), http.StatusUnauthorized)
		if !strings.Contains(ev.Desc, "audience") && !strings.Contains(ev.Desc, "issuer") {
			t.Errorf("the refusal does not say why: %q", ev.Desc)
		}
	})
	t.Run("DisabledAccount", func(t *testing.T) {
		token := env.UserToken(t, "leaver", []string{karte.RolePhysician}, []string{"A"}, "user/*.rs")
		tr.since()
		if r := get(token); r.status != http.StatusOK {
			t.Fatalf("before disabling: %d %s", r.status, r.body)
		}
		tr.since()
		if err := env.Server.Accounts.DisableUser(context.Background(), "leaver"); err != nil {
			t.Fatal(err)
		}
		denied(t, tr, "disabled account", get(token), http.StatusUnauthorized)
	})
	t.Run("ScopeTooNarrow", func(t *testing.T) {
		token := env.ClientToken(t, "system/Observation.rs", []string{karte.RolePhysician})
		tr.since()
		ev := denied(t, tr, "scope too narrow", get(token), http.StatusForbidden)
		if !strings.Contains(ev.Desc, "scope") {
			t.Errorf("the refusal does not name the scope: %q", ev.Desc)
		}
	})
	t.Run("ReplayedAssertion", func(t *testing.T) {
		key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der := must(x509.MarshalPKIXPublicKey(&key.PublicKey))
		c, _, err := env.Server.Accounts.CreateClient(context.Background(), account.NewClient{Name: "pacs",
			Roles: []string{karte.RoleTechnologist}, PublicKeys: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})})
		if err != nil {
			t.Fatal(err)
		}
		assertion, err := oauthtest.Assertion(key, "", c.ID, env.URL, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tr.since()
		if _, err := oauthtest.ClientCredentialsJWT(context.Background(), nil, env.URL, assertion, "system/ImagingStudy.rs"); err != nil {
			t.Fatalf("first use of the assertion: %v", err)
		}
		if ev := tr.one("token issue"); ev.Outcome != "0" {
			t.Errorf("token issue audited with outcome %q", ev.Outcome)
		}
		_, err = oauthtest.ClientCredentialsJWT(context.Background(), nil, env.URL, assertion, "system/ImagingStudy.rs")
		var oe *oauthtest.Error
		if !errors.As(err, &oe) || oe.Status != http.StatusUnauthorized || oe.Code != "invalid_client" {
			t.Fatalf("replayed assertion: %v, want 401 invalid_client", err)
		}
		if ev := tr.one("replayed assertion"); ev.Outcome == "0" {
			t.Errorf("the replay is audited as a success")
		}
	})
	t.Run("Expired", func(t *testing.T) { // last: it moves the clock past every token
		clk.Add(11 * time.Minute)
		ev := denied(t, tr, "expired token", get(good), http.StatusUnauthorized)
		if !strings.Contains(ev.Desc, "expired") {
			t.Errorf("the refusal does not say the token expired: %q", ev.Desc)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
