package cli_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kartehub/internal/account"
	"kartehub/internal/cli"
	"kartehub/internal/store/postgres/pgtest"
	"kartehub/internal/store/sqlite"
)

// run runs the command line and returns its output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, _, err := runStderr(t, args...)
	return out, err
}

// runStderr runs the command line and returns its output and its error
// output (usage, warnings).
func runStderr(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = cli.Run(t.Context(), args, &out, &errOut)
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("%q: the error is not one line: %q", args, err)
	}
	return out.String(), errOut.String(), err
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
		{[]string{"admin", "user"}, "want \"user\", \"client\" or \"facility\""},
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

// TestAdminUserSet changes the roles, facilities, name and person of an
// existing account, and of a client.
func TestAdminUserSet(t *testing.T) {
	t.Setenv("KARTEHUB_DATA", "")
	t.Setenv("KARTEHUB_ROLE", "administrator") // no change but from the command line
	dir := t.TempDir()
	out := mustRun(t, "admin", "user", "add", "sato", "--name", "Sato", "--role", "nurse", "--facility", "hub", "--data", dir)
	pw := oneTime.FindStringSubmatch(out)[2]

	out = mustRun(t, "admin", "user", "set", "SATO", "--role", "physician,nurse", "--facility", "hub,Organization/clinic-07",
		"--person", "Practitioner/p-1", "--data", dir)
	if !strings.Contains(out, "updated account sato: person - -> Practitioner/p-1; roles nurse -> physician,nurse; facilities hub -> hub,clinic-07") ||
		!strings.Contains(out, "within seconds") {
		t.Errorf("user set:\n%s", out)
	}
	svc := service(t, dir)
	a, err := svc.User(t.Context(), "sato")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a.Roles, ",") != "physician,nurse" || strings.Join(a.Facilities, ",") != "hub,clinic-07" ||
		a.Person != "Practitioner/p-1" || a.Name != "Sato" {
		t.Fatalf("after user set: %+v", *a)
	}
	if list := mustRun(t, "admin", "user", "list", "--data", dir); !strings.Contains(list, "physician,nurse") || !strings.Contains(list, "hub,clinic-07") {
		t.Errorf("user list after set:\n%s", list)
	}
	if out := mustRun(t, "admin", "user", "set", "sato", "--role", "nurse,physician", "--role", "physician,nurse", "--data", dir); !strings.Contains(out, "account sato unchanged") {
		t.Errorf("user set without change:\n%s", out)
	}
	out = mustRun(t, "admin", "user", "set", "sato", "--facility", "", "--person", "", "--name", "佐藤 一郎", "--data", dir)
	if !strings.Contains(out, "facilities hub,clinic-07 -> -") || !strings.Contains(out, "no patient's record is open to it") {
		t.Errorf("user set --facility \"\":\n%s", out)
	}
	if a, _ := svc.User(t.Context(), "sato"); len(a.Facilities) != 0 || a.Person != "" || a.Name != "佐藤 一郎" || a.Roles[0] != "physician" {
		t.Fatalf("after removing the facilities: %+v", *a)
	}
	// The password and the must-change flag are untouched.
	if l, err := svc.Authenticate(t.Context(), "sato", pw, ""); err != nil || !l.MustChangePassword {
		t.Fatalf("login after user set: %+v, %v", l, err)
	}

	before, _ := svc.User(t.Context(), "sato")
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"admin", "user", "set", "sato"}, "nothing to change"},
		{[]string{"admin", "user", "set", "sato", "--role", ""}, "at least one role"},
		{[]string{"admin", "user", "set", "sato", "--role", "nurse,surgeon"}, `unknown role "surgeon"`},
		{[]string{"admin", "user", "set", "sato", "--facility", "clinic 7"}, "want an Organization id"},
		{[]string{"admin", "user", "set", "sato", "--person", "Patient/1"}, "Practitioner/123"},
		{[]string{"admin", "user", "set", "sato", "--name", ""}, "display name is required"},
		{[]string{"admin", "user", "set", "nobody", "--role", "nurse"}, `no account has the login name "nobody"`},
		{[]string{"admin", "user", "set", "--role", "nurse"}, "want LOGIN"},
		{[]string{"admin", "client", "set", "kh-nobody", "--role", "clerk"}, "kh-nobody"},
		{[]string{"admin", "client", "set", "kh-nobody"}, "nothing to change"},
	} {
		_, err := run(t, append(tt.args, "--data", dir)...)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%q: got %v, want an error with %q", tt.args, err, tt.msg)
		}
	}
	if a, _ := svc.User(t.Context(), "sato"); a.Version != before.Version {
		t.Errorf("refused changes wrote: version %d, was %d", a.Version, before.Version)
	}

	out = mustRun(t, "admin", "client", "add", "lab", "--role", "technologist", "--facility", "hub", "--data", dir)
	id := regexp.MustCompile(`client_id:\s+(\S+)`).FindStringSubmatch(out)[1]
	secret := regexp.MustCompile(`client_secret:\s+(\S+)`).FindStringSubmatch(out)[1]
	out = mustRun(t, "admin", "client", "set", id, "--role", "technologist,clerk", "--facility", "clinic-07,hub", "--name", "検査システム", "--data", dir)
	if !strings.Contains(out, "updated client "+id+": name lab -> 検査システム; roles technologist -> technologist,clerk; facilities hub -> clinic-07,hub") {
		t.Errorf("client set:\n%s", out)
	}
	c, err := svc.AuthenticateClient(t.Context(), id, secret)
	if err != nil {
		t.Fatalf("the secret after client set: %v", err)
	}
	if c.Name != "検査システム" || strings.Join(c.Roles, ",") != "technologist,clerk" || strings.Join(c.Facilities, ",") != "clinic-07,hub" {
		t.Fatalf("after client set: %+v", *c)
	}
	out = mustRun(t, "admin", "client", "set", id, "--facility", "", "--data", dir)
	if !strings.Contains(out, "facilities clinic-07,hub -> -") || !strings.Contains(out, "every facility") {
		t.Errorf("client set --facility \"\":\n%s", out)
	}
	if _, err := run(t, "admin", "client", "set", id, "--role", "root", "--data", dir); err == nil || !strings.Contains(err.Error(), `unknown role "root"`) {
		t.Errorf("client set --role root: %v", err)
	}
}

// organization reads Organization/id from the data directory.
func organization(t *testing.T, dir, id string) map[string]any {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.Read(t.Context(), "Organization", id)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAdminFacilities(t *testing.T) {
	t.Setenv("KARTEHUB_DATA", "")
	dir := t.TempDir()

	// Accounts may name facilities before they exist: a warning, no failure.
	out, stderr, err := runStderr(t, "admin", "user", "add", "ito", "--name", "Ito", "--role", "physician", "--facility", "hub,clinic-07", "--data", dir)
	if err != nil || !strings.Contains(out, "created account ito") {
		t.Fatalf("user add with facilities yet to come: %v\n%s", err, out)
	}
	for _, id := range []string{"hub", "clinic-07"} {
		if !strings.Contains(stderr, "warning: Organization/"+id+" does not exist (yet)") {
			t.Errorf("user add: no warning about %s:\n%s", id, stderr)
		}
	}
	if _, stderr, err = runStderr(t, "admin", "client", "add", "pacs", "--role", "technologist", "--facility", "hub", "--data", dir); err != nil ||
		!strings.Contains(stderr, "warning: Organization/hub does not exist") {
		t.Errorf("client add with a facility yet to come: %v\n%s", err, stderr)
	}

	out = mustRun(t, "admin", "facility", "add", "hub", "--name", "石狩ハートセンター病院", "--code", "0111234567", "--data", dir)
	if !strings.Contains(out, "created facility Organization/hub: 石狩ハートセンター病院, code 0111234567, part of -") {
		t.Errorf("facility add:\n%s", out)
	}
	out, stderr, err = runStderr(t, "admin", "facility", "add", "clinic-07", "--name", "札幌循環器クリニック", "--code", "0117654321",
		"--part-of", "Organization/hub", "--data", dir)
	if err != nil || stderr != "" || !strings.Contains(out, "created facility Organization/clinic-07: 札幌循環器クリニック, code 0117654321, part of hub") {
		t.Errorf("facility add --part-of: %v\n%s%s", err, out, stderr)
	}
	org := organization(t, dir, "clinic-07")
	for k, want := range map[string]string{
		"identifier": `[{"system":"http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no","value":"0117654321"}]`,
		"type":       `[{"coding":[{"code":"prov","display":"Healthcare Provider","system":"http://terminology.hl7.org/CodeSystem/organization-type"}],"text":"医療機関"}]`,
		"partOf":     `{"reference":"Organization/hub"}`,
		"active":     `true`,
		"name":       `"札幌循環器クリニック"`,
	} {
		if got := jsonOf(org[k]); got != want {
			t.Errorf("Organization/clinic-07 %s = %s, want %s", k, got, want)
		}
	}

	// Now that they exist, naming them warns no more.
	if _, stderr, err := runStderr(t, "admin", "user", "set", "ito", "--facility", "clinic-07", "--data", dir); err != nil || stderr != "" {
		t.Errorf("user set with an existing facility: %v\n%s", err, stderr)
	}
	if _, stderr, err := runStderr(t, "admin", "user", "set", "ito", "--facility", "clinic-07,clinic-99", "--data", dir); err != nil ||
		!strings.Contains(stderr, "Organization/clinic-99 does not exist") || strings.Contains(stderr, "clinic-07") {
		t.Errorf("user set with a missing facility: %v\n%s", err, stderr)
	}

	// An update changes what its flags name and keeps the rest.
	out = mustRun(t, "admin", "facility", "add", "clinic-07", "--code", "", "--data", dir)
	if !strings.Contains(out, "updated facility Organization/clinic-07 (version 2): 札幌循環器クリニック, code -, part of hub") {
		t.Errorf("facility add --code \"\":\n%s", out)
	}
	if org := organization(t, dir, "clinic-07"); org["identifier"] != nil || org["partOf"] == nil || org["name"] != "札幌循環器クリニック" {
		t.Errorf("after removing the code: %s", jsonOf(org))
	}
	if out := mustRun(t, "admin", "facility", "add", "clinic-07", "--name", "札幌循環器クリニック", "--data", dir); !strings.Contains(out, "unchanged") {
		t.Errorf("facility add without change:\n%s", out)
	}
	mustRun(t, "admin", "facility", "add", "clinic-07", "--part-of", "", "--code", "0117654321", "--data", dir)
	if org := organization(t, dir, "clinic-07"); org["partOf"] != nil || org["identifier"] == nil {
		t.Errorf("after removing partOf: %s", jsonOf(org))
	}

	// An Organization imported with more (address, other identifiers,
	// another type) keeps it all.
	imported := filepath.Join(t.TempDir(), "org.json")
	os.WriteFile(imported, []byte(`{"resourceType":"Organization","id":"kushiro",
		"identifier":[{"system":"urn:example:local","value":"K-1"},{"system":"http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no","value":"0119999999"}],
		"type":[{"text":"診療所"}],"name":"釧路クリニック","telecom":[{"system":"phone","value":"0154-00-0000"}],
		"address":[{"city":"釧路市"}]}`), 0o600)
	mustRun(t, "import", "--quiet", "--data", dir, imported)
	out, stderr, err = runStderr(t, "admin", "facility", "add", "kushiro", "--code", "0111111111", "--part-of", "hub", "--data", dir)
	if err != nil || stderr != "" || !strings.Contains(out, "updated facility Organization/kushiro (version 2): 釧路クリニック, code 0111111111, part of hub") {
		t.Fatalf("facility add on an imported Organization: %v\n%s%s", err, out, stderr)
	}
	org = organization(t, dir, "kushiro")
	if got := jsonOf(org["identifier"]); got != `[{"system":"urn:example:local","value":"K-1"},{"system":"http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no","value":"0111111111"}]` {
		t.Errorf("identifiers after the update: %s", got)
	}
	if org["telecom"] == nil || org["address"] == nil || !strings.Contains(jsonOf(org["type"]), "診療所") || !strings.Contains(jsonOf(org["type"]), `"prov"`) {
		t.Errorf("after the update: %s", jsonOf(org))
	}
	if _, ok := org["active"]; ok {
		t.Errorf("the update set active on an Organization that did not say: %s", jsonOf(org))
	}

	if _, stderr, err := runStderr(t, "admin", "facility", "add", "clinic-08", "--name", "X", "--part-of", "nowhere", "--data", dir); err != nil ||
		!strings.Contains(stderr, "Organization/nowhere does not exist") {
		t.Errorf("facility add --part-of a missing Organization: %v\n%s", err, stderr)
	}

	list := mustRun(t, "admin", "facility", "list", "--data", dir)
	lines := strings.Split(strings.TrimSpace(list), "\n")
	want := [][]string{
		{"ID", "CODE", "PART", "OF", "STATUS", "NAME"},
		{"clinic-07", "0117654321", "-", "active", "札幌循環器クリニック"},
		{"clinic-08", "-", "nowhere", "active", "X"},
		{"hub", "0111234567", "-", "active", "石狩ハートセンター病院"},
		{"kushiro", "0111111111", "hub", "active", "釧路クリニック"},
	}
	if len(lines) != len(want) {
		t.Fatalf("facility list:\n%s", list)
	}
	for i, l := range lines {
		if got := strings.Fields(l); strings.Join(got, " ") != strings.Join(want[i], " ") {
			t.Errorf("facility list line %d: %q, want %q", i, got, want[i])
		}
	}

	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"admin", "facility", "add", "new", "--code", "0111234567"}, "--name is required to create it"},
		{[]string{"admin", "facility", "add", "hub", "--name", " "}, "must not be empty"},
		{[]string{"admin", "facility", "add", "hub", "--code", "011123456"}, "want the 10-digit medical institution code"},
		{[]string{"admin", "facility", "add", "hub", "--code", "01112345678"}, "want the 10-digit medical institution code"},
		{[]string{"admin", "facility", "add", "hub", "--code", "011123456a"}, "want the 10-digit medical institution code"},
		{[]string{"admin", "facility", "add", "hub", "--code", "4811234567"}, "prefecture, 01 to 47"},
		{[]string{"admin", "facility", "add", "hub", "--code", "0011234567"}, "prefecture, 01 to 47"},
		{[]string{"admin", "facility", "add", "hub", "--part-of", "Organization/hub"}, "cannot be part of itself"},
		{[]string{"admin", "facility", "add", "hub", "--part-of", "Patient/1"}, "want an Organization id"},
		{[]string{"admin", "facility", "add", "a b", "--name", "X"}, "want an Organization id"},
		{[]string{"admin", "facility", "add", "--name", "X"}, "want ID"},
		{[]string{"admin", "facility", "list", "hub"}, "takes no arguments"},
		{[]string{"admin", "facility", "remove", "hub"}, `unknown command "facility remove"`},
	} {
		_, err := run(t, append(tt.args, "--data", dir)...)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%q: got %v, want an error with %q", tt.args, err, tt.msg)
		}
	}
	if org := organization(t, dir, "hub"); org["name"] != "石狩ハートセンター病院" || jsonOf(org["meta"].(map[string]any)["versionId"]) != `"1"` {
		t.Errorf("refused commands changed Organization/hub: %s", jsonOf(org))
	}
}

// TestAdminFacilitiesPostgres runs the facility and set commands on a
// PostgreSQL database.
func TestAdminFacilitiesPostgres(t *testing.T) {
	t.Setenv("KARTEHUB_DATA", "")
	t.Setenv("KARTEHUB_DATABASE", "")
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir() // the account key
	mustRun(t, "admin", "facility", "add", "hub", "--name", "Hub", "--code", "0111234567", "--database", dsn, "--data", dir)
	mustRun(t, "admin", "facility", "add", "clinic-07", "--name", "Clinic", "--part-of", "hub", "--database", dsn, "--data", dir)
	mustRun(t, "admin", "facility", "add", "clinic-07", "--code", "0117654321", "--database", dsn, "--data", dir)
	list := mustRun(t, "admin", "facility", "list", "--database", dsn, "--data", dir)
	if !regexp.MustCompile(`clinic-07\s+0117654321\s+hub\s+active\s+Clinic\n`).MatchString(list) ||
		!regexp.MustCompile(`hub\s+0111234567\s+-\s+active\s+Hub\n`).MatchString(list) {
		t.Errorf("facility list:\n%s", list)
	}
	mustRun(t, "admin", "user", "add", "kato", "--name", "Kato", "--role", "clerk", "--facility", "hub", "--database", dsn, "--data", dir)
	_, stderr, err := runStderr(t, "admin", "user", "set", "kato", "--role", "clerk,nurse", "--facility", "hub,clinic-07,gone", "--database", dsn, "--data", dir)
	if err != nil || !strings.Contains(stderr, "Organization/gone does not exist") || strings.Contains(stderr, "clinic-07") {
		t.Fatalf("user set: %v\n%s", err, stderr)
	}
	if list := mustRun(t, "admin", "user", "list", "--database", dsn, "--data", dir); !strings.Contains(list, "clerk,nurse") || !strings.Contains(list, "hub,clinic-07,gone") {
		t.Errorf("user list:\n%s", list)
	}
}
