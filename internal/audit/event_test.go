package audit_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/fhir"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	recorded = time.Date(2026, 4, 1, 9, 30, 15, 123456789, time.FixedZone("JST", 9*3600))
	source   = audit.Source{Observer: "kartehub-01.hub.example.jp", Site: "Hokkaido heart hospital", BaseURL: "https://hub.example.jp/fhir"}
	user     = &audit.User{
		Reference: "Practitioner/dr-sato",
		System:    "urn:oid:1.2.392.100495.20.3.41.10123456789",
		ID:        "sato.hanako",
		Name:      "佐藤 花子",
		Roles:     []audit.Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-RoleCode", Code: "PHYS", Display: "physician"}},
		Facility:  &audit.Facility{System: "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no", Code: "0112345678", Name: "Kushiro satellite clinic"},
	}
	client = &audit.Client{ID: "emr-viewer", Address: "10.20.30.40", UserAgent: "EMRViewer/3.1 (Windows NT 10.0)"}
)

// events are one of each kind of Event the server records.
func events() map[string]*audit.Event {
	out := map[string]*audit.Event{
		"read": {Type: audit.Rest, Interaction: "read", User: user, Client: client, Resource: "Observation/o1",
			Patients: []string{"Patient/p1"}, RequestID: "6c1b7f0e-5d7a-4b6e-9d8e-0f1a2b3c4d5e"},
		"search-type": {Type: audit.Rest, Interaction: "search-type", User: user, Client: client,
			Patients: []string{"Patient/p1", "Patient/p2"}, Query: "Observation?subject=Patient/p1&code=http://loinc.org|8867-4"},
		"denied": {Type: audit.Rest, Interaction: "read", Outcome: audit.MinorFailure, OutcomeDesc: "forbidden: patient/*.read not granted",
			User: user, Client: client, Resource: "Patient/p3", Patients: []string{"Patient/p3"}},
		"no user": {Type: audit.Rest, Interaction: "create", Client: &audit.Client{ID: "lab-system", Address: "10.1.1.1"}, Resource: "Observation/o9"},
		"hl7v2 feed": {Type: audit.PatientRecord, Action: audit.Update, Client: &audit.Client{ID: "RIS^HOSP"}, Resource: "Patient/p4",
			Patients: []string{"Patient/p4"}},
		"login":  {Type: audit.Login, User: user, Client: client},
		"failed": {Type: audit.Login, Outcome: audit.MinorFailure, OutcomeDesc: "wrong password", User: &audit.User{ID: "sato.hanako"}, Client: client},
		"logout": {Type: audit.Logout, User: user},
		"start":  {Type: audit.ApplicationStart},
		"stop":   {Type: audit.ApplicationStop, Outcome: audit.Success},
	}
	for _, i := range []string{"vread", "update", "patch", "delete", "history-instance", "history-type", "history-system",
		"create", "search-system", "transaction", "batch", "operation"} {
		out[i] = &audit.Event{Type: audit.Rest, Interaction: i, User: user, Client: client, Resource: "Patient/p1/_history/2", Patients: []string{"Patient/p1"}}
	}
	return out
}

// valid parses data and fails t unless it is a valid R4 resource.
func valid(t testing.TB, data []byte) map[string]any {
	t.Helper()
	obj, err := fhir.ParseObject(data)
	if err != nil {
		t.Fatalf("%s\nis no JSON object: %v", data, err)
	}
	if issues := fhir.Validate(obj); issues != nil {
		t.Fatalf("%s\nis not a valid AuditEvent: %+v", data, issues)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	return m
}

func TestEventsValidate(t *testing.T) {
	for name, e := range events() {
		t.Run(name, func(t *testing.T) {
			data, err := e.JSON(recorded, source)
			if err != nil {
				t.Fatal(err)
			}
			m := valid(t, data)
			if m["resourceType"] != "AuditEvent" || m["recorded"] != "2026-04-01T00:30:15.123456789Z" {
				t.Errorf("resourceType %v, recorded %v", m["resourceType"], m["recorded"])
			}
		})
	}
}

// TestEventShape checks the BALP codes of each kind of event.
func TestEventShape(t *testing.T) {
	for _, tc := range []struct {
		name, typ, subtype, action, outcome string
	}{
		{"read", "audit-event-type|rest", "restful-interaction|read", "R", "0"},
		{"vread", "audit-event-type|rest", "restful-interaction|vread", "R", "0"},
		{"history-type", "audit-event-type|rest", "restful-interaction|history-type", "R", "0"},
		{"search-type", "audit-event-type|rest", "restful-interaction|search-type", "E", "0"},
		{"create", "audit-event-type|rest", "restful-interaction|create", "C", "0"},
		{"update", "audit-event-type|rest", "restful-interaction|update", "U", "0"},
		{"patch", "audit-event-type|rest", "restful-interaction|patch", "U", "0"},
		{"delete", "audit-event-type|rest", "restful-interaction|delete", "D", "0"},
		{"transaction", "audit-event-type|rest", "restful-interaction|transaction", "E", "0"},
		{"denied", "audit-event-type|rest", "restful-interaction|read", "R", "4"},
		{"hl7v2 feed", "DCM|110110", "", "U", "0"},
		{"login", "DCM|110114", "DCM|110122", "E", "0"},
		{"failed", "DCM|110114", "DCM|110122", "E", "4"},
		{"logout", "DCM|110114", "DCM|110123", "E", "0"},
		{"start", "DCM|110100", "DCM|110120", "E", "0"},
		{"stop", "DCM|110100", "DCM|110121", "E", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := events()[tc.name].JSON(recorded, source)
			if err != nil {
				t.Fatal(err)
			}
			var ae struct {
				Type    coding   `json:"type"`
				Subtype []coding `json:"subtype"`
				Action  string   `json:"action"`
				Outcome string   `json:"outcome"`
			}
			json.Unmarshal(data, &ae)
			sub := ""
			if len(ae.Subtype) > 0 {
				sub = ae.Subtype[0].short()
			}
			if ae.Type.short() != tc.typ || sub != tc.subtype || ae.Action != tc.action || ae.Outcome != tc.outcome {
				t.Errorf("type %s, subtype %s, action %s, outcome %s; want %s, %s, %s, %s",
					ae.Type.short(), sub, ae.Action, ae.Outcome, tc.typ, tc.subtype, tc.action, tc.outcome)
			}
		})
	}
}

type coding struct{ System, Code string }

// short names a coding by the last segment of its system.
func (c coding) short() string { return c.System[strings.LastIndex(c.System, "/")+1:] + "|" + c.Code }

// TestEventAgentsEntities checks who and what a read records.
func TestEventAgentsEntities(t *testing.T) {
	data, err := events()["search-type"].JSON(recorded, source)
	if err != nil {
		t.Fatal(err)
	}
	var ae struct {
		Agent []struct {
			Type      struct{ Coding []coding }
			Who       struct{ Reference, Display string }
			Requestor bool
			Location  struct{ Identifier struct{ Value string } }
			Network   struct{ Address, Type string }
			Role      []struct{ Coding []coding }
		}
		Entity []struct {
			What  struct{ Reference string }
			Role  coding
			Query string
		}
	}
	if err := json.Unmarshal(data, &ae); err != nil {
		t.Fatal(err)
	}
	if len(ae.Agent) != 3 {
		t.Fatalf("%d agents, want client, server and user:\n%s", len(ae.Agent), data)
	}
	cl, srv, usr := ae.Agent[0], ae.Agent[1], ae.Agent[2]
	if cl.Type.Coding[0].Code != "110153" || cl.Network.Address != "10.20.30.40" || cl.Network.Type != "2" || cl.Requestor {
		t.Errorf("client agent: %+v", cl)
	}
	if srv.Type.Coding[0].Code != "110152" || srv.Network.Address != source.BaseURL || srv.Requestor {
		t.Errorf("server agent: %+v", srv)
	}
	if !usr.Requestor || usr.Who.Reference != "Practitioner/dr-sato" || usr.Location.Identifier.Value != "0112345678" ||
		usr.Role[0].Coding[0].Code != "PHYS" || usr.Type.Coding[0].Code != "IRCP" {
		t.Errorf("user agent: %+v", usr)
	}
	var patients []string
	var query string
	for _, e := range ae.Entity {
		switch e.Role.Code {
		case "1":
			patients = append(patients, e.What.Reference)
		case "24":
			q, err := base64.StdEncoding.DecodeString(e.Query)
			if err != nil {
				t.Fatal(err)
			}
			query = string(q)
		}
	}
	if strings.Join(patients, ",") != "Patient/p1,Patient/p2" || query != events()["search-type"].Query {
		t.Errorf("patients %v, query %q", patients, query)
	}
}

func TestEventErrors(t *testing.T) {
	for name, e := range map[string]*audit.Event{
		"unknown interaction": {Type: audit.Rest, Interaction: "fetch"},
		"no interaction":      {Type: audit.Rest},
		"record no action":    {Type: audit.PatientRecord},
		"bad action":          {Type: audit.PatientRecord, Action: "X"},
		"bad outcome":         {Type: audit.Login, Outcome: 3},
		"bad type":            {Type: 99},
	} {
		if data, err := e.JSON(recorded, source); err == nil {
			t.Errorf("%s: %s, want an error", name, data)
		}
	}
}

// TestEventGolden keeps one complete AuditEvent in testdata, to review
// its shape (go test -update rewrites it).
func TestEventGolden(t *testing.T) {
	data, err := events()["read"].JSON(recorded, source)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	json.Indent(&pretty, data, "", "  ")
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "read.golden.json")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("AuditEvent differs from %s (go test -update rewrites it):\n%s", path, pretty.Bytes())
	}
}

// FuzzEventJSON: whatever a request puts in the strings an Event takes
// from it, the AuditEvent stays valid.
func FuzzEventJSON(f *testing.F) {
	f.Add("Mozilla/5.0", "10.0.0.1", "sato", "Patient/p1", "a=b&c=d", "PHYS", "urn:x")
	f.Add("\x00\x01 \t", " ", "\xff\xfe", "Patient/ p1", "", "  two  spaces ", "has space")
	f.Add(strings.Repeat("長", 2000), "::1", "", "", strings.Repeat("q", 20000), "", "")
	f.Fuzz(func(t *testing.T, ua, addr, id, ref, query, role, system string) {
		e := &audit.Event{
			Type: audit.Rest, Interaction: "search-type", OutcomeDesc: ua,
			User: &audit.User{Reference: ref, System: system, ID: id, Name: ua,
				Roles:    []audit.Coding{{System: system, Code: role, Display: role}},
				Facility: &audit.Facility{Reference: ref, System: system, Code: id, Name: ua}},
			Client:   &audit.Client{ID: id, Address: addr, UserAgent: ua},
			Resource: ref, Patients: []string{ref, id}, Query: query, RequestID: id,
		}
		data, err := e.JSON(recorded, audit.Source{Observer: ua, Site: addr, BaseURL: system})
		if err != nil {
			t.Fatal(err)
		}
		valid(t, data)
		if _, err := audit.EventScope(data); err != nil {
			t.Errorf("EventScope of a written event: %v", err)
		}
	})
}

// TestEventScope: the scope of an event is its patients and the
// facilities its user acted from.
func TestEventScope(t *testing.T) {
	e := &audit.Event{Type: audit.Rest, Interaction: "search-type",
		User:     &audit.User{System: audit.AccountSystem, ID: "sato", Facility: &audit.Facility{Reference: "Organization/hub"}},
		Patients: []string{"Patient/p2", "Patient/p1/_history/3"}}
	data, err := e.JSON(recorded, audit.Source{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := audit.EventScope(data)
	if err != nil {
		t.Fatal(err)
	}
	want := audit.Scope{Patients: []string{"Patient/p1", "Patient/p2"}, Facilities: []string{"hub"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scope %+v, want %+v", got, want)
	}
	e.User.Facility = &audit.Facility{Reference: "Location/ward-3"}
	e.Patients = nil
	if data, err = e.JSON(recorded, audit.Source{}); err != nil {
		t.Fatal(err)
	}
	if got, err := audit.EventScope(data); err != nil || len(got.Facilities)+len(got.Patients) != 0 {
		t.Errorf("an event of no patient, from a Location: %+v, %v", got, err)
	}
	if _, err := audit.EventScope([]byte(`[]`)); err == nil {
		t.Error("EventScope of a JSON array: no error")
	}
}
