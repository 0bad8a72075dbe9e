package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kartehub/internal/audit"
	"kartehub/internal/store/sqlite"
)

// operatorEvent is what the tests read of an AuditEvent of a command.
type operatorEvent struct {
	Type    struct{ Code string }
	Action  string
	Outcome string
	Desc    string `json:"outcomeDesc"`
	Agent   []struct {
		Who *struct {
			Identifier *struct{ System, Value string }
		}
		Name      string
		Requestor bool
	}
}

// operatorEvents returns the events of the data directory's trail.
func operatorEvents(t *testing.T, dir string) []operatorEvent {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.AuditRecords(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]operatorEvent, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Event, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// by returns the operating-system login and the command of an event.
func (e operatorEvent) by() (user, command string) {
	for _, a := range e.Agent {
		if a.Who != nil && a.Who.Identifier != nil && a.Who.Identifier.System == "urn:kartehub:os-user" {
			user = a.Who.Identifier.Value
		} else if strings.HasPrefix(a.Name, "kartehub ") || a.Who != nil && a.Who.Identifier != nil && strings.HasPrefix(a.Who.Identifier.Value, "kartehub ") {
			command = a.Who.Identifier.Value
		}
	}
	return user, command
}

// TestCommandsAudited: the commands run on the server that change
// accounts, facilities or the record, or copy the trail, each leave one
// event in the trail naming the command and the operating-system user,
// with their outcome; listing leaves none; the chain stays intact.
func TestCommandsAudited(t *testing.T) {
	t.Setenv("KARTEHUB_DATA", "")
	t.Setenv("KARTEHUB_DATABASE", "")
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "bundle.json")
	writeFile(t, file, `{"resourceType":"Bundle","type":"transaction","entry":[`+
		`{"resource":{"resourceType":"Patient","id":"p1","active":true},"request":{"method":"PUT","url":"Patient/p1"}}]}`)

	out := mustRun(t, "admin", "user", "add", "alice", "--name", "Alice", "--role", "physician", "--data", dir)
	pw := oneTime.FindStringSubmatch(out)[2]
	mustRun(t, "admin", "user", "list", "--data", dir)
	if _, err := run(t, "admin", "user", "add", "alice", "--name", "Alice again", "--role", "nurse", "--data", dir); err == nil {
		t.Fatal("a second account alice")
	}
	mustRun(t, "admin", "facility", "add", "hub", "--name", "Hub hospital", "--data", dir)
	mustRun(t, "import", "--quiet", "--data", dir, file)
	mustRun(t, "audit", "export", "--data", dir, "--out", filepath.Join(t.TempDir(), "trail.ndjson"), "--progress", "0")

	want := []struct{ typ, action, outcome, command, desc string }{
		{"110113", "U", "0", "kartehub admin user add", "kartehub admin user add alice --name Alice --role physician"},
		{"110113", "U", "4", "kartehub admin user add", "failed"},
		{"110113", "U", "0", "kartehub admin facility add", "facility add hub"},
		{"110107", "C", "0", "kartehub import", "1 resources"},
		{"110106", "R", "0", "kartehub audit export", "exported 4 audit events"},
	}
	got := operatorEvents(t, dir)
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		user, command := e.by()
		if e.Type.Code != w.typ || e.Action != w.action || e.Outcome != w.outcome || command != w.command || user == "" ||
			!strings.Contains(e.Desc, w.desc) {
			t.Errorf("event %d: %s %s outcome %s by %q (%q): %q; want %s %s outcome %s, %s, %q",
				i+1, e.Type.Code, e.Action, e.Outcome, user, command, e.Desc, w.typ, w.action, w.outcome, w.command, w.desc)
		}
		if strings.Contains(e.Desc, pw) {
			t.Errorf("event %d holds the one-time password", i+1)
		}
	}
	if out := mustRun(t, "audit", "verify", "--data", dir); !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %s", out)
	}
}

// TestCommandsRefusedWithoutTheKey: with records in the trail but no
// audit key in --data (the wrong directory, or a lost key), commands that
// would have to record refuse, and change nothing.
func TestCommandsRefusedWithoutTheKey(t *testing.T) {
	t.Setenv("KARTEHUB_DATA", "")
	t.Setenv("KARTEHUB_DATABASE", "")
	dir := t.TempDir()
	mustRun(t, "admin", "user", "add", "alice", "--name", "Alice", "--role", "physician", "--data", dir)
	for _, f := range []string{audit.KeyFile, audit.PublicKeyFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := run(t, "admin", "user", "disable", "alice", "--data", dir); err == nil || !strings.Contains(err.Error(), "audit") {
		t.Errorf("disable without the audit key: %v", err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acc, err := st.AccountByLogin(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if acc.Disabled {
		t.Error("the account was disabled without an audit record")
	}
	if _, err := os.Stat(filepath.Join(dir, audit.KeyFile)); err == nil {
		t.Error("a new audit key was made for a trail that has records")
	}
}
