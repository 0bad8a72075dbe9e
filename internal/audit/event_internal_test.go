package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var testTime = time.Date(2026, 4, 1, 9, 30, 15, 123456789, time.FixedZone("JST", 9*3600))

// stdJSON is how JSON wrote an AuditEvent before appendJSON: encoding/json
// with HTML escaping off.
func stdJSON(t testing.TB, ae *auditEvent) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ae); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// variedEvents returns events of every type, interaction, outcome and
// shape of user and client that the server records, and some it does not.
func variedEvents() []*Event {
	users := []*User{
		nil,
		{ID: "sato"},
		{Reference: "Practitioner/dr-sato", System: "urn:kartehub:account", ID: "sato", Name: "佐藤 花子",
			Roles:    []Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-RoleCode", Code: "PHYS", Display: "physician"}, {Code: " two  words "}},
			Facility: &Facility{Reference: "Organization/hub", System: "urn:oid:1.2.392", Code: "0112345678", Name: "Kushiro"}},
		{Reference: "Patient/p5", Name: "a patient, as a user"},
		{Facility: &Facility{Name: "only a name"}},
	}
	clients := []*Client{nil, {ID: "emr-viewer", Address: "10.0.0.8", UserAgent: "EMR/1.0"}, {Address: "::1"}, {ID: "RIS^HOSP"}}
	var out []*Event
	i := 0
	for _, interaction := range []string{"read", "vread", "search-type", "search-system", "search-compartment", "create", "update",
		"patch", "delete", "history-instance", "history-type", "history-system", "transaction", "batch", "operation", "capabilities"} {
		for _, u := range users {
			for _, c := range clients {
				i++
				e := &Event{Type: Rest, Interaction: interaction, User: u, Client: c, RequestID: fmt.Sprintf("req-%d", i)}
				switch i % 4 {
				case 0:
					e.Resource, e.Patients = fmt.Sprintf("Observation/o%d", i), []string{fmt.Sprintf("Patient/p%d", i%5)}
				case 1:
					e.Resource, e.Patients = fmt.Sprintf("Patient/p%d/_history/3", i), []string{fmt.Sprintf("Patient/p%d", i)}
				case 2:
					e.Patients, e.Query = []string{"Patient/p1", "Patient/p2", "https://other.example.jp/fhir/Patient/p3"}, "subject=Patient/p1&_count=10"
				}
				if i%3 == 0 {
					e.Outcome, e.OutcomeDesc = Outcome((i/3)%4*4), "not granted"
				}
				if i%5 == 0 && u != nil {
					e.BreakGlass = "emergency: unconscious patient"
				}
				out = append(out, e)
			}
		}
	}
	for _, typ := range []Type{Login, Logout, ApplicationStart, ApplicationStop} {
		for _, u := range users {
			out = append(out, &Event{Type: typ, User: u, Client: clients[1]}, &Event{Type: typ, User: u, Outcome: MinorFailure, OutcomeDesc: "wrong password"})
		}
	}
	for _, a := range []Action{Create, Read, Update, Delete, Execute} {
		out = append(out, &Event{Type: PatientRecord, Action: a, Client: clients[3], Resource: "Patient/p4", Patients: []string{"Patient/p4"}})
	}
	return out
}

// TestAppendJSON: appendJSON writes what encoding/json writes.
func TestAppendJSON(t *testing.T) {
	for i, e := range variedEvents() {
		ae, err := e.auditEvent(testTime, Source{Observer: "kartehub-01", Site: "Hokkaido", BaseURL: "https://hub.example.jp/fhir"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ae.appendJSON(nil), stdJSON(t, ae); !bytes.Equal(got, want) {
			t.Fatalf("event %d (%+v):\n got %s\nwant %s", i, e, got, want)
		}
	}
	// Strings as appendJSON may meet them, uncleaned, in every field.
	for _, s := range []string{"", "plain", `"quoted" \back\slash/`, "<b>&amp;</b>", "\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f",
		"\xff\xfe bad \xc3", "\u2028 line \u2029 para", "佐藤 \U0001F600 \uFFFD", strings.Repeat("ü", 300)} {
		ae := auditEvent{ResourceType: s, Action: s, Recorded: s, Outcome: s, OutcomeDesc: s,
			Type: coding{System: s, Code: s, Display: s}, Subtype: []coding{{Code: s}, {}},
			Agent: []agent{{Type: &codeableConcept{Text: s}, Role: []codeableConcept{{Coding: []coding{{Display: s}}}}, Who: &reference{Reference: s, Type: s,
				Identifier: &identifier{System: s, Value: s}, Display: s}, AltID: s, Name: s, Requestor: true, Location: &reference{},
				Network: &network{Address: s, Type: s}, PurposeOfUse: []codeableConcept{{}}}, {}},
			Source: source{Site: s, Observer: reference{Display: s}, Type: []coding{{System: s}}},
			Entity: []entity{{What: &reference{Identifier: &identifier{}}, Type: &coding{}, Role: &coding{Code: s}, Query: s}, {}},
		}
		if got, want := ae.appendJSON(nil), stdJSON(t, &ae); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	}
	if got, want := (&auditEvent{}).appendJSON(nil), stdJSON(t, &auditEvent{}); !bytes.Equal(got, want) {
		t.Fatalf("empty:\n got %s\nwant %s", got, want)
	}
}

// TestIndexAgrees: the entries the Writer derives from an Event are those
// that Index, and so Verify, derives from its JSON.
func TestIndexAgrees(t *testing.T) {
	src := Source{Observer: "kartehub-01", BaseURL: "https://hub.example.jp/fhir"}
	for i, e := range variedEvents() {
		data, index, err := e.encode(testTime, src)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Index(data)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(index, want) {
			t.Fatalf("event %d: %s\nencode gives %v\nIndex gives %v", i, data, index, want)
		}
		if len(index) == 0 {
			t.Fatalf("event %d has no index entries", i)
		}
	}
}

// FuzzEncode: whatever strings a request puts in an Event, appendJSON
// writes what encoding/json writes, and the Writer's index entries are
// those Index derives from the JSON.
func FuzzEncode(f *testing.F) {
	f.Add("Mozilla/5.0", "10.0.0.1", "sato", "Patient/p1/_history/2", "a=b&c=d", "PHYS", "urn:x", "reason")
	f.Add("\x00\x01 \t", " ", "\xff\xfe", "Patient/ p1", "", "  two  spaces ", "has space", "\u2028")
	f.Add(strings.Repeat("長", 2000), "::1", "", "", strings.Repeat("q", 20000), "", "", "")
	f.Add("<&>", `"`, `\`, "https://x/fhir/Patient/9", "", "BTG", "http://terminology.hl7.org/CodeSystem/v3-ActReason", "x")
	f.Fuzz(func(t *testing.T, ua, addr, id, ref, query, role, system, reason string) {
		e := &Event{
			Type: Rest, Interaction: "search-type", OutcomeDesc: ua,
			User: &User{Reference: ref, System: system, ID: id, Name: ua,
				Roles:    []Coding{{System: system, Code: role, Display: role}},
				Facility: &Facility{Reference: ref, System: system, Code: id, Name: ua}},
			Client:   &Client{ID: id, Address: addr, UserAgent: ua},
			Resource: ref, Patients: []string{ref, id}, Query: query, RequestID: id, BreakGlass: reason,
		}
		src := Source{Observer: ua, Site: addr, BaseURL: system}
		ae, err := e.auditEvent(testTime, src)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ae.appendJSON(nil), stdJSON(t, ae); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
		data, index, err := e.encode(testTime, src)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Index(data)
		if err != nil || !slices.Equal(index, want) {
			t.Fatalf("%s\nencode gives %v\nIndex gives %v (%v)", data, index, want, err)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	e := &Event{Type: Rest, Interaction: "read", User: &User{Reference: "Practitioner/dr-sato", System: "urn:kartehub:account", ID: "sato", Name: "佐藤 花子"},
		Client: &Client{ID: "emr-viewer", Address: "10.0.0.8"}, Resource: "Observation/o1", Patients: []string{"Patient/p1"}, RequestID: "6c1b7f0e-5d7a-4b6e-9d8e-0f1a2b3c4d5e"}
	src := Source{Observer: "kartehub-01", BaseURL: "https://hub.example.jp/fhir"}
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			e.encode(testTime, src)
		}
	})
	b.Run("JSON+Index", func(b *testing.B) {
		for b.Loop() {
			data, _ := e.JSON(testTime, src)
			Index(data)
		}
	})
}
