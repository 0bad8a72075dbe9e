package server_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/server/servertest"
)

// TestEveryInteractionAudited makes each kind of FHIR interaction once and
// checks that it leaves exactly one AuditEvent of the right subtype,
// action and outcome, naming the resource, the patient and the user.
func TestEveryInteractionAudited(t *testing.T) {
	st := openStore(t)
	env := servertest.Start(t, st, nil)
	seed(t, env, orgA, patient("pa", "A"), observation("opa", "pa"))
	c := env.Client(env.UserToken(t, "kato", []string{karte.RolePhysician}, []string{"A"}, "openid fhirUser user/*.cruds"))
	tr := newTrail(t, st)

	obs := observation("", "pa")
	patch := `[{"op":"replace","path":"/status","value":"amended"}]`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		subtype, action          string
		entity                   string // the resource, if the event names one
		patient                  bool   // the event names Patient/pa
	}{
		{"read", "GET", "/Observation/opa", "", 200, "read", "R", "Observation/opa", true},
		{"vread", "GET", "/Observation/opa/_history/1", "", 200, "vread", "R", "Observation/opa/_history/1", true},
		{"history-instance", "GET", "/Observation/opa/_history", "", 200, "history-instance", "R", "Observation/opa", true},
		{"history-type", "GET", "/Observation/_history", "", 200, "history-type", "R", "", true},
		{"search-type", "GET", "/Observation?subject=Patient/pa", "", 200, "search-type", "E", "", true},
		{"search-system", "GET", "?_type=Observation&subject=Patient/pa", "", 200, "search-system", "E", "", true},
		{"search-compartment", "GET", "/Patient/pa/Observation", "", 200, "search-compartment", "E", "", true},
		{"create", "POST", "/Observation", obs, 201, "create", "C", "Observation/", true},
		{"update", "PUT", "/Observation/opa", `{"resourceType":"Observation","id":"opa","status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/pa"},"valueQuantity":{"value":80,"unit":"/min"}}`, 200, "update", "U", "Observation/opa/_history/2", true},
		{"patch", "PATCH", "/Observation/opa", patch, 200, "patch", "U", "Observation/opa/_history/3", true},
		{"operation", "GET", "/Patient/pa/$everything", "", 200, "operation", "E", "Patient/pa", true},
		{"transaction", "POST", "", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + obs + `,"request":{"method":"POST","url":"Observation"}}]}`, 200, "transaction", "E", "", true},
		{"batch", "POST", "", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/pa"}}]}`, 200, "batch", "E", "", true},
		{"delete", "DELETE", "/Observation/opa", "", 204, "delete", "D", "Observation/opa", false},
		{"capabilities", "GET", "/metadata", "", 200, "capabilities", "R", "", false},
		{"denied", "DELETE", "/Organization/A", "", 403, "delete", "D", "Organization/A", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr.t = t
			r := call(t, c, tc.method, env.Base+tc.path, tc.body)
			checkStatus(t, tc.name, r.status, tc.status, r.body)
			ev := tr.one(tc.name)
			if len(ev.Subtype) == 0 || ev.Subtype[0].Code != tc.subtype || ev.Action != tc.action || ev.Type.Code != "rest" {
				t.Errorf("event type %s/%v, action %s; want rest/%s, %s", ev.Type.Code, ev.Subtype, ev.Action, tc.subtype, tc.action)
			}
			wantOutcome := "0"
			if tc.status >= 400 {
				wantOutcome = "4"
			}
			if ev.Outcome != wantOutcome {
				t.Errorf("outcome %s, want %s", ev.Outcome, wantOutcome)
			}
			var entities []string
			for _, e := range ev.Entity {
				if e.What != nil {
					entities = append(entities, e.What.Reference)
				}
			}
			if tc.entity != "" && !slices.ContainsFunc(entities, func(ref string) bool { return len(ref) >= len(tc.entity) && ref[:len(tc.entity)] == tc.entity }) {
				t.Errorf("entities %v do not name %s", entities, tc.entity)
			}
			if tc.patient != slices.Contains(entities, "Patient/pa") {
				t.Errorf("entities %v: naming Patient/pa is %v, want %v", entities, !tc.patient, tc.patient)
			}
			if tc.name != "capabilities" && !userNamed(ev, "kato") {
				t.Errorf("the event does not name the user kato: %+v", ev.Agent)
			}
		})
	}
}

func checkStatus(t *testing.T, what string, got, want int, body []byte) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: %d, want %d: %s", what, got, want, body)
	}
}

// userNamed reports whether the requesting agent of ev is the account
// with login name login.
func userNamed(ev auditEvent, login string) bool {
	for _, a := range ev.Agent {
		if a.Requestor && a.Who != nil && a.Who.Identifier != nil && a.Who.Identifier.Value == login {
			return true
		}
	}
	return false
}

// TestStartAndStopRecorded: the trail holds when the server started and
// when it stopped, the stop signed as a checkpoint.
func TestStartAndStopRecorded(t *testing.T) {
	st := openStore(t)
	env := servertest.Start(t, st, nil)
	seed(t, env, orgA)
	if err := env.Server.Close(); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
	recs, err := st.AuditRecords(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	first, last := recs[0], recs[len(recs)-1]
	for _, tc := range []struct {
		rec     karte.AuditRecord
		subtype string
	}{{first, "110120"}, {last, "110121"}} {
		var ev auditEvent
		if err := json.Unmarshal(tc.rec.Event, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type.Code != "110100" || len(ev.Subtype) != 1 || ev.Subtype[0].Code != tc.subtype {
			t.Errorf("record %d: type %v %v, want Application Activity %s", tc.rec.Seq, ev.Type, ev.Subtype, tc.subtype)
		}
	}
	if len(last.Checkpoint) == 0 {
		t.Error("the stop is not signed")
	}
}
