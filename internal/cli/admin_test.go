package cli_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kartehub/internal/account"
	"kartehub/internal/cli"
	"kartehub/internal/store/sqlite"
)

// run runs the command line and returns its output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := cli.Run(t.Context(), args, &out, &errOut)
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("%q: the error is not one line: %q", args, err)
	}
	return out.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, args...)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return out
}

var oneTime = regexp.MustCompile(`one-time password of (\S+) \(shown only now; it must be changed at the first login\): (\S+)`)

// service opens the data directory as the server would, to check that what
// the commands printed works.
func service(t *testing.T, dir string) *account.Service {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := account.New(st, account.Config{FailureFloor: -1})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestAdminUsers(t *testing.T) {
	t.Setenv("KARTEHUB_DATA", "") // the flag below must decide
	dir := t.TempDir()
	out := mustRun(t, "admin", "user", "add", "Alice", "--name", "Alice Suzuki", "--role", "physician,researcher",
		"--facility", "hub,Organization/clinic-07", "--person", "Practitioner/123", "--data", dir)
	m := oneTime.FindStringSubmatch(out)
	if m == nil || m[1] != "alice" {
		t.Fatalf("user add printed no one-time password:\n%s", out)
	}
	pw := m[2]
	if n := strings.Count(out, pw); n != 1 {
		t.Fatalf("the one-time password appears %d times:\n%s", n, out)
	}
	if !strings.Contains(out, "roles physician,researcher, facilities hub,clinic-07") {
		t.Errorf("user add output:\n%s", out)
	}

	list := mustRun(t, "admin", "user", "list", "--data", dir)
	if !strings.Contains(list, "alice") || !strings.Contains(list, "must change password") {
		t.Errorf("user list:\n%s", list)
	}
	if strings.Contains(list, "argon2") || strings.Contains(list, "$") || strings.Contains(list, pw) {
		t.Fatalf("user list shows a hash or the password:\n%s", list)
	}

	l, err := service(t, dir).Authenticate(t.Context(), "alice", pw, "")
	if err != nil || !l.MustChangePassword || !l.MustEnrolTOTP {
		t.Fatalf("login with the printed password: %+v, %v", l, err)
	}

	mustRun(t, "admin", "user", "disable", "alice", "--data", dir)
	if list := mustRun(t, "admin", "user", "list", "--data", dir); !strings.Contains(list, "disabled") {
		t.Errorf("after disable:\n%s", list)
	}
	if _, err := service(t, dir).Authenticate(t.Context(), "alice", pw, ""); err == nil {
		t.Fatal("a disabled account logged in")
	}
	mustRun(t, "admin", "user", "enable", "alice", "--data", dir)

	svc := service(t, dir)
	for range 5 {
		svc.Authenticate(t.Context(), "alice", "wrong", "")
	}
	if list := mustRun(t, "admin", "user", "list", "--data", dir); !strings.Contains(list, "locked until") {
		t.Errorf("after 5 failures:\n%s", list)
	}
	mustRun(t, "admin", "user", "unlock", "alice", "--data", dir)
	if _, err := svc.Authenticate(t.Context(), "alice", pw, ""); err != nil {
		t.Fatalf("after unlock: %v", err)
	}

	out = mustRun(t, "admin", "user", "reset-password", "alice", "--data", dir)
	m = oneTime.FindStringSubmatch(out)
	if m == nil || m[2] == pw || strings.Count(out, m[2]) != 1 {
		t.Fatalf("reset-password:\n%s", out)
	}
	if _, err := svc.Authenticate(t.Context(), "alice", m[2], ""); err != nil {
		t.Fatalf("login with the reset password: %v", err)
	}

	mustRun(t, "admin", "user", "expire", "alice", "--at", "2020-01-01", "--data", dir)
	if list := mustRun(t, "admin", "user", "list", "--data", dir); !strings.Contains(list, "expired") {
		t.Errorf("after expire:\n%s", list)
	}
	mustRun(t, "admin", "user", "expire", "alice", "--at", "never", "--data", dir)
	mustRun(t, "admin", "user", "reset-totp", "alice", "--data", dir)

	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"admin", "user", "add", "bob", "--name", "Bob", "--role", "surgeon"}, `unknown role "surgeon"`},
		{[]string{"admin", "user", "add", "bob", "--role", "nurse"}, "--name is required"},
		{[]string{"admin", "user", "add", "bob", "--name", "Bob"}, "--role is required"},
		{[]string{"admin", "user", "add", "--name", "Bob", "--role", "nurse"}, "want LOGIN"},
		{[]string{"admin", "user", "add", "alice", "--name", "Alice", "--role", "nurse"}, `the login name "alice" is taken`},
		{[]string{"admin", "user", "add", "b", "--name", "B", "--role", "nurse"}, "login name"},
		{[]string{"admin", "user", "disable", "nobody"}, `no account has the login name "nobody"`},
		{[]string{"admin", "user", "expire", "alice", "--at", "soon"}, "want YYYY-MM-DD"},
		{[]string{"admin", "user", "expire", "alice"}, "--at DATE is required"},
		{[]string{"admin", "user", "frob", "alice"}, `unknown command "user frob"`},
		{[]string{"admin", "user"}, "want \"user\" or \"client\""},
		{[]string{"admin", "user", "list", "extra"}, "takes no arguments"},
	} {
		_, err := run(t, append(tt.args, "--data", dir)...)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%q: got %v, want an error with %q", tt.args, err, tt.msg)
		}
	}
}

func TestAdminClients(t *testing.T) {
	dir := t.TempDir()
	out := mustRun(t, "admin", "client", "add", "lab system", "--role", "technologist", "--facility", "hub", "--data", dir)
	id := regexp.MustCompile(`client_id:\s+(\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`client_secret:\s+(\S+)`).FindStringSubmatch(out)
	if id == nil || secret == nil || strings.Count(out, secret[1]) != 1 {
		t.Fatalf("client add:\n%s", out)
	}
	if _, err := service(t, dir).AuthenticateClient(t.Context(), id[1], secret[1]); err != nil {
		t.Fatalf("the printed secret: %v", err)
	}

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	keyFile := filepath.Join(dir, "pacs.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	out = mustRun(t, "admin", "client", "add", "pacs", "--role", "technologist", "--jwks", keyFile, "--data", dir)
	if !strings.Contains(out, "private_key_jwt") || strings.Contains(out, "client_secret") {
		t.Fatalf("client add --jwks:\n%s", out)
	}

	list := mustRun(t, "admin", "client", "list", "--data", dir)
	if !strings.Contains(list, id[1]) || !strings.Contains(list, "private_key_jwt (1 keys)") {
		t.Errorf("client list:\n%s", list)
	}
	if strings.Contains(list, "argon2") || strings.Contains(list, secret[1]) {
		t.Fatalf("client list shows the secret or its hash:\n%s", list)
	}
	mustRun(t, "admin", "client", "disable", id[1], "--data", dir)
	if list := mustRun(t, "admin", "client", "list", "--data", dir); !strings.Contains(list, "disabled") {
		t.Errorf("after disable:\n%s", list)
	}
	if _, err := service(t, dir).AuthenticateClient(t.Context(), id[1], secret[1]); err == nil {
		t.Fatal("a disabled client authenticated")
	}
	if _, err := run(t, "admin", "client", "disable", "kh-nobody", "--data", dir); err == nil {
		t.Error("disable of an unknown client succeeded")
	}
	if _, err := run(t, "admin", "client", "add", "x", "--role", "clerk", "--jwks", filepath.Join(dir, "missing.json"), "--data", dir); err == nil {
		t.Error("client add with a missing key file succeeded")
	}
}
