package account_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"kartehub/internal/account"
	"kartehub/internal/karte"
)

func TestClientSecret(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	c, secret, err := e.svc.CreateClient(ctx, account.NewClient{
		Name: "lab system", Roles: []string{"technologist"}, Facilities: []string{"hub"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "kh-") || len(secret) < 26 || c.SecretHash != "" || c.Kind != karte.ClientSystem {
		t.Fatalf("client %+v, secret %q", c, secret)
	}
	stored, _ := e.st.Client(ctx, c.ID)
	if !strings.HasPrefix(stored.SecretHash, "$argon2id$") || strings.Contains(stored.SecretHash, secret) {
		t.Fatalf("stored secret hash %q", stored.SecretHash)
	}
	got, err := e.svc.AuthenticateClient(ctx, c.ID, secret)
	if err != nil || got.ID != c.ID || got.SecretHash != "" {
		t.Fatalf("AuthenticateClient: %+v, %v", got, err)
	}
	_, err = e.svc.AuthenticateClient(ctx, c.ID, secret+"x")
	if reason(t, err) != account.ReasonBadPassword || err.Error() != account.ErrClientFailed {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := e.svc.AuthenticateClient(ctx, "kh-nobody", secret); reason(t, err) != account.ReasonUnknown {
		t.Fatalf("unknown client: %v", err)
	}
	// No lock-out for clients.
	for range 10 {
		e.svc.AuthenticateClient(ctx, c.ID, "guess")
	}
	if _, err := e.svc.AuthenticateClient(ctx, c.ID, secret); err != nil {
		t.Fatalf("after 10 wrong secrets: %v", err)
	}
	if err := e.svc.DisableClient(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AuthenticateClient(ctx, c.ID, secret); reason(t, err) != account.ReasonDisabled {
		t.Fatalf("disabled client: %v", err)
	}
	if err := e.svc.EnableClient(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AuthenticateClient(ctx, c.ID, secret); err != nil {
		t.Fatalf("enabled again: %v", err)
	}
	if err := e.svc.DisableClient(ctx, "kh-nobody"); !karte.IsKind(err, karte.NotFound) {
		t.Fatalf("disable an unknown client: %v", err)
	}

	exp, secret2, err := e.svc.CreateClient(ctx, account.NewClient{
		Name: "temporary", Roles: []string{"researcher"}, ExpiresAt: e.clock.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	if _, err := e.svc.AuthenticateClient(ctx, exp.ID, secret2); reason(t, err) != account.ReasonExpired {
		t.Fatalf("expired client: %v", err)
	}
	list, err := e.svc.Clients(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "lab system" || list[0].SecretHash != "" {
		t.Fatalf("Clients: %+v, %v", list, err)
	}
}

// rfc7638 is the example key of RFC 7638 section 3.1, and its thumbprint.
const (
	rfc7638Key        = `{"kty":"RSA","e":"AQAB","alg":"RS256","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}`
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

func pemOf(t *testing.T, typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkix(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf(t, "PUBLIC KEY", der)
}

func TestClientKeys(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ed, _, _ := ed25519.GenerateKey(rand.Reader)

	// A single JWK without kid: the thumbprint becomes the kid.
	c, secret, err := e.svc.CreateClient(ctx, account.NewClient{
		Name: "pacs", Roles: []string{"technologist"}, PublicKeys: []byte(strings.Replace(rfc7638Key, `"alg":"RS256",`, "", 1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" || c.SecretHash != "" {
		t.Fatalf("a key-registered client got a secret %q", secret)
	}
	got, keys, err := e.svc.ClientKeys(ctx, c.ID)
	if err != nil || got.ID != c.ID || len(keys) != 1 || keys[0].KID != rfc7638Thumbprint {
		t.Fatalf("ClientKeys: %+v %+v %v; want the RFC 7638 thumbprint as kid", got, keys, err)
	}
	if _, ok := keys[0].Key.(*rsa.PublicKey); !ok {
		t.Fatalf("key is a %T", keys[0].Key)
	}
	// Such a client has no secret to authenticate with.
	if _, err := e.svc.AuthenticateClient(ctx, c.ID, ""); reason(t, err) != account.ReasonNoSecret {
		t.Fatalf("secret login of a key client: %v", err)
	}

	// PEM with two keys, EC and Ed25519.
	c2, _, err := e.svc.CreateClient(ctx, account.NewClient{
		Name: "ecg", Roles: []string{"technologist"}, PublicKeys: append(pkix(t, &ec.PublicKey), pkix(t, ed)...),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, keys, err = e.svc.ClientKeys(ctx, c2.ID)
	if err != nil || len(keys) != 2 {
		t.Fatalf("PEM keys: %+v, %v", keys, err)
	}
	if k, ok := keys[0].Key.(*ecdsa.PublicKey); !ok || !k.Equal(&ec.PublicKey) {
		t.Fatalf("EC key came back as %#v", keys[0].Key)
	}
	if k, ok := keys[1].Key.(ed25519.PublicKey); !ok || !k.Equal(ed) {
		t.Fatalf("Ed25519 key came back as %#v", keys[1].Key)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	stored, _ := e.svc.Client(ctx, c2.ID)
	if err := json.Unmarshal(stored.JWKS, &set); err != nil || set.Keys[0]["kty"] != "EC" || set.Keys[0]["crv"] != "P-256" || set.Keys[0]["kid"] == "" {
		t.Fatalf("stored JWKS %s (%v)", stored.JWKS, err)
	}

	// A secret client has no keys.
	c3, _, _ := e.svc.CreateClient(ctx, account.NewClient{Name: "secret", Roles: []string{"clerk"}})
	if _, _, err := e.svc.ClientKeys(ctx, c3.ID); reason(t, err) != account.ReasonNoSecret {
		t.Fatalf("ClientKeys of a secret client: %v", err)
	}
	e.svc.DisableClient(ctx, c2.ID)
	if _, _, err := e.svc.ClientKeys(ctx, c2.ID); reason(t, err) != account.ReasonDisabled {
		t.Fatalf("ClientKeys of a disabled client: %v", err)
	}
}

func TestClientKeysRefused(t *testing.T) {
	e := newEnv(t, account.Config{})
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	privDER, _ := x509.MarshalPKCS8PrivateKey(ecPriv)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, tt := range []struct {
		name string
		keys string
		msg  string
	}{
		{"private PEM", string(pemOf(t, "PRIVATE KEY", privDER)), "public key only"},
		{"private JWK", `{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}`, `private member "d"`},
		{"symmetric", `{"kty":"oct","k":"c2VjcmV0"}`, `private member "k"`},
		{"RSA 1024", string(pkix(t, &small.PublicKey)), "at least 2048"},
		{"bad curve point", `{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, "EC key"},
		{"encryption key", strings.Replace(rfc7638Key, `"alg":"RS256"`, `"use":"enc"`, 1), "for signing"},
		{"alg mismatch", strings.Replace(rfc7638Key, `"RS256"`, `"ES256"`, 1), `alg "ES256" does not go with`},
		{"duplicate kid", `{"keys":[` + strings.Replace(rfc7638Key, `{`, `{"kid":"k",`, 1) + `,` + strings.Replace(rfc7638Key, `{`, `{"kid":"k",`, 1) + `]}`, "appears twice"},
		{"empty set", `{"keys":[]}`, "no keys"},
		{"not a key", `hello`, "want a JWK Set"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.svc.CreateClient(t.Context(), account.NewClient{Name: "x", Roles: []string{"clerk"}, PublicKeys: []byte(tt.keys)})
			if !karte.IsKind(err, karte.Invalid) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want Invalid with %q", err, tt.msg)
			}
		})
	}
}

func TestEnsureAdmin(t *testing.T) {
	e := newEnv(t, account.Config{})
	ctx := t.Context()
	login, pw, created, err := e.svc.EnsureAdmin(ctx)
	if err != nil || !created || login != "admin" || pw == "" {
		t.Fatalf("EnsureAdmin on an empty store: %q %q %v %v", login, pw, created, err)
	}
	a, _ := e.svc.User(ctx, "admin")
	if len(a.Roles) != 1 || a.Roles[0] != karte.RoleAdministrator || !a.MustChangePassword {
		t.Fatalf("admin account: %+v", a)
	}
	l, err := e.svc.Authenticate(ctx, "admin", pw, "")
	if err != nil || !l.MustChangePassword || !l.MustEnrolTOTP {
		t.Fatalf("first admin login: %+v, %v", l, err)
	}
	login, pw, created, err = e.svc.EnsureAdmin(ctx)
	if err != nil || created || login != "" || pw != "" {
		t.Fatalf("EnsureAdmin again: %q %q %v %v", login, pw, created, err)
	}

	// Any account at all counts.
	e2 := newEnv(t, account.Config{})
	e2.user(t, "someone")
	if _, _, created, err := e2.svc.EnsureAdmin(ctx); err != nil || created {
		t.Fatalf("EnsureAdmin with an account: %v %v", created, err)
	}
}
