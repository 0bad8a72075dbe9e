package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/server/servertest"
)

// The facilities and patients of the matrix: the users work at A. Patient
// pa is A's, pb is B's, and ps is B's but shared with A by an active
// permit Consent. Each patient has one Observation, o<patient>.
const (
	orgA = `{"resourceType":"Organization","id":"A","name":"Hub hospital"}`
	orgB = `{"resourceType":"Organization","id":"B","name":"Clinic"}`
)

func patient(id, org string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,"name":[{"family":"Matrix","given":[%q]}],"managingOrganization":{"reference":"Organization/%s"}}`, id, id, org)
}

func observation(id, patient string) string {
	idMember := ""
	if id != "" {
		idMember = fmt.Sprintf(`"id":%q,`, id)
	}
	return fmt.Sprintf(`{"resourceType":"Observation",%s"status":"final","code":{"text":"pulse"},"subject":{"reference":"Patient/%s"},"valueQuantity":{"value":72,"unit":"/min"}}`, idMember, patient)
}

// shareConsent shares patient's record with org.
func shareConsent(id, patient, org, provision, status string) string {
	return fmt.Sprintf(`{"resourceType":"Consent","id":%q,"status":%q,
"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
"patient":{"reference":"Patient/%s"},
"policyRule":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"OPTIN"}]},
"provision":{"type":%q,"actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/%s"}}]}}`,
		id, status, patient, provision, org)
}

// rights is what a role may do, written out here from the role table of
// the security documentation rather than taken from package authz, so
// that the test checks the authoriser against the documented rules.
type rights struct {
	readPatient bool // read and search Patient
	readObs     bool // read and search Observation
	writeObs    bool // create, update, delete Observation
	care        bool // break-glass lifts the facility filter
}

var roleRights = map[string]rights{
	karte.RolePhysician:     {readPatient: true, readObs: true, writeObs: true, care: true},
	karte.RoleNurse:         {readPatient: true, readObs: true, writeObs: true, care: true},
	karte.RoleTechnologist:  {readPatient: true, readObs: true, writeObs: true, care: true},
	karte.RoleClerk:         {readPatient: true},
	karte.RoleResearcher:    {readPatient: true, readObs: true},
	karte.RoleAuditor:       {},
	karte.RoleAdministrator: {},
}

// facility is a column of the matrix: whose patient is accessed, and
// whether the user holds a break-glass grant.
type facility struct {
	name       string
	patient    string
	own        bool // the patient is of the user's facility, or shared with it
	breakGlass bool
}

var facilities = []facility{
	{name: "own", patient: "pa", own: true},
	{name: "other", patient: "pb"},
	{name: "shared", patient: "ps", own: true},
	{name: "break-glass", patient: "pb", breakGlass: true},
}

// TestAuthorisationMatrix checks over HTTP, for each role x interaction x
// facility, that the request is allowed or denied as the role table and
// the facility rules say, and that searches, includes, $everything,
// batches and transactions return nothing the user may not see.
func TestAuthorisationMatrix(t *testing.T) {
	st := openStore(t)
	env := servertest.Start(t, st, nil)
	seed(t, env, orgA, orgB,
		patient("pa", "A"), patient("pb", "B"), patient("ps", "B"),
		observation("opa", "pa"), observation("opb", "pb"), observation("ops", "ps"),
		shareConsent("share-ps", "ps", "A", "permit", "active"),
		shareConsent("deny-pb", "pb", "A", "deny", "active"),
		shareConsent("old-pb", "pb", "A", "permit", "inactive"),
	)
	roles := []string{karte.RolePhysician, karte.RoleNurse, karte.RoleTechnologist, karte.RoleClerk,
		karte.RoleResearcher, karte.RoleAuditor, karte.RoleAdministrator}
	for _, role := range roles {
		want := roleRights[role]
		token := env.UserToken(t, role, []string{role}, []string{"A"}, "openid fhirUser user/*.cruds")
		bgToken := env.UserToken(t, role+"-bg", []string{role}, []string{"A"}, "openid fhirUser user/*.cruds")
		breakGlass(t, env, bgToken, "cardiac arrest in the emergency room")
		for _, f := range facilities {
			c := env.Client(token)
			if f.breakGlass {
				c = env.Client(bgToken)
			}
			visible := f.own || (f.breakGlass && want.care)
			t.Run(role+"/"+f.name, func(t *testing.T) {
				m := &matrixCase{t: t, env: env, c: c, r: want, visible: visible, pid: f.patient, oid: "o" + f.patient,
					tag: role + "-" + f.name}
				m.run()
			})
		}
	}
}

// breakGlass activates emergency access for the token's user.
func breakGlass(t *testing.T, env *servertest.Env, token, reason string) {
	t.Helper()
	req, _ := http.NewRequest("POST", env.URL+"/oauth/break-glass", strings.NewReader(url.Values{"reason": {reason}, "minutes": {"30"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("break-glass: %s", resp.Status)
	}
}

// seeded are the resources that every case finds where it may.
var seeded = map[string]bool{
	"Patient/pa": true, "Patient/pb": true, "Patient/ps": true,
	"Observation/opa": true, "Observation/opb": true, "Observation/ops": true,
}

// matrixCase is one role and facility of the matrix.
type matrixCase struct {
	t        *testing.T
	env      *servertest.Env
	c        *http.Client
	r        rights
	visible  bool // the patient's record is within the user's reach
	pid, oid string
	tag      string // distinguishes what this case creates
}

func (m *matrixCase) url(path string) string { return m.env.Base + path }

// status checks that the answer has the status want, and that a denial is
// an OperationOutcome.
func (m *matrixCase) status(what string, r *reply, want int) {
	m.t.Helper()
	if r.status != want {
		m.t.Errorf("%s: %d, want %d: %s", what, r.status, want, r.body)
	}
	if r.status >= 400 && !r.isOutcome() {
		m.t.Errorf("%s: %d without an OperationOutcome: %s", what, r.status, r.body)
	}
}

// allowed is 200 (or ok) if cond holds, 403 otherwise.
func allowed(cond bool, ok int) int {
	if cond {
		return ok
	}
	return http.StatusForbidden
}

// found checks a search answer: 403 unless the role may search, otherwise
// exactly the resources want.
func (m *matrixCase) found(what string, r *reply, mayRun bool, want ...string) {
	m.t.Helper()
	m.status(what, r, allowed(mayRun, http.StatusOK))
	if !mayRun || r.status != http.StatusOK {
		return
	}
	var got []string // of the seeded resources: others come and go with the cases
	for _, id := range r.ids() {
		if seeded[id] {
			got = append(got, id)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		m.t.Errorf("%s: found %v, want %v", what, got, want)
	}
}

func (m *matrixCase) run() {
	p, o := "Patient/"+m.pid, "Observation/"+m.oid
	seeP, seeO, write := m.r.readPatient && m.visible, m.r.readObs && m.visible, m.r.writeObs && m.visible
	ifVisible := func(refs ...string) []string {
		if !m.visible {
			return nil
		}
		return refs
	}

	m.status("read "+p, call(m.t, m.c, "GET", m.url("/"+p), ""), allowed(seeP, 200))
	m.status("read "+o, call(m.t, m.c, "GET", m.url("/"+o), ""), allowed(seeO, 200))
	m.status("vread "+o, call(m.t, m.c, "GET", m.url("/"+o+"/_history/1"), ""), allowed(seeO, 200))
	m.status("history "+o, call(m.t, m.c, "GET", m.url("/"+o+"/_history"), ""), allowed(seeO, 200))

	m.found("search Observation?subject", call(m.t, m.c, "GET", m.url("/Observation?subject="+p), ""), m.r.readObs, ifVisible(o)...)
	total := call(m.t, m.c, "GET", m.url("/Observation?subject="+p+"&_id="+m.oid+"&_summary=count"), "")
	if m.r.readObs && total.json["total"] != float64(len(ifVisible(o))) {
		m.t.Errorf("count of Observation?subject=%s&_id=%s: %v, want %d", p, m.oid, total.json["total"], len(ifVisible(o)))
	}
	revinc := []string{}
	if m.visible {
		revinc = append(revinc, p)
		if m.r.readObs {
			revinc = append(revinc, o)
		}
	}
	m.found("Patient?_revinclude", call(m.t, m.c, "GET", m.url("/Patient?_id="+m.pid+"&_revinclude=Observation:subject"), ""), m.r.readPatient, revinc...)
	inc := ifVisible(o)
	if m.visible && m.r.readPatient {
		inc = append(inc, p)
	}
	m.found("Observation?_include", call(m.t, m.c, "GET", m.url("/Observation?_id="+m.oid+"&_include=Observation:subject"), ""), m.r.readObs, inc...)
	m.found("Patient compartment", call(m.t, m.c, "GET", m.url("/"+p+"/Observation"), ""), m.r.readObs, ifVisible(o)...)

	every := call(m.t, m.c, "GET", m.url("/"+p+"/$everything"), "")
	m.status("$everything", every, allowed(seeP, 200))
	if every.status == 200 {
		got := every.ids()
		if !slices.Contains(got, p) || slices.Contains(got, o) != m.r.readObs {
			m.t.Errorf("$everything of %s gave %v (reads Observation: %v)", p, got, m.r.readObs)
		}
		for _, id := range got {
			if seeded[id] && id != p && id != o {
				m.t.Errorf("$everything of %s leaks %s", p, id)
			}
		}
	}

	batch := call(m.t, m.c, "POST", m.url(""), `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"`+p+`"}}]}`)
	if got := batch.entryStatuses(); len(got) != 1 || !strings.HasPrefix(got[0], fmt.Sprint(allowed(seeP, 200))) {
		m.t.Errorf("batch GET %s: entries %v, want %d", p, got, allowed(seeP, 200))
	}

	obs := func(id string) string { return observation(id, m.pid) }
	m.status("create Observation", call(m.t, m.c, "POST", m.url("/Observation"), obs("")), allowed(write, 201))
	m.status("update "+o, call(m.t, m.c, "PUT", m.url("/"+o), strings.Replace(obs(m.oid), `"value":72`, `"value":7`+fmt.Sprint(len(m.tag)%10), 1)), allowed(write, 200))
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + obs("") + `,"request":{"method":"POST","url":"Observation"}}]}`
	m.status("transaction", call(m.t, m.c, "POST", m.url(""), tx), allowed(write, 200))

	doomed := "del-" + m.tag
	seed(m.t, m.env, obs(doomed))
	m.status("delete", call(m.t, m.c, "DELETE", m.url("/Observation/"+doomed), ""), allowed(write, 204))

	m.noLeak()
}

// noLeak searches everything the user may search, and checks that no
// resource of a patient out of reach comes back, by match or include.
func (m *matrixCase) noLeak() {
	m.t.Helper()
	if !m.r.readPatient {
		return
	}
	for _, q := range []string{
		"/Patient?_revinclude=Observation:subject&_count=500",
		"/Observation?_include=Observation:subject&_count=500",
		"?_type=Patient,Observation&_count=500",
	} {
		r := call(m.t, m.c, "GET", m.url(q), "")
		if r.status == http.StatusForbidden {
			continue // a type the role may not search
		}
		for _, id := range r.ids() {
			if !m.visible && (strings.HasSuffix(id, "/"+m.pid) || strings.HasSuffix(id, "/"+m.oid)) {
				m.t.Errorf("%s leaks %s", q, id)
			}
			if id == "Patient/pb" || id == "Observation/opb" {
				if !(m.visible && m.pid == "pb") {
					m.t.Errorf("%s leaks %s of another facility", q, id)
				}
			}
		}
	}
}

// TestBreakGlassIsFlagged checks that accesses under break-glass, and
// only those, carry the BTG purpose of use in the audit trail.
func TestBreakGlassIsFlagged(t *testing.T) {
	st := openStore(t)
	env := servertest.Start(t, st, nil)
	seed(t, env, orgA, orgB, patient("pb", "B"))
	plain := env.Client(env.UserToken(t, "doc", []string{karte.RolePhysician}, []string{"A"}, "user/*.cruds"))
	bgToken := env.UserToken(t, "doc-bg", []string{karte.RolePhysician}, []string{"A"}, "user/*.cruds")
	if r := call(t, plain, "GET", env.Base+"/Patient/pb", ""); r.status != http.StatusForbidden {
		t.Fatalf("read of another facility's patient without break-glass: %d", r.status)
	}
	breakGlass(t, env, bgToken, "unconscious patient transferred from clinic B")
	if r := call(t, env.Client(bgToken), "GET", env.Base+"/Patient/pb", ""); r.status != http.StatusOK {
		t.Fatalf("read under break-glass: %d %s", r.status, r.body)
	}
	recs, err := st.AuditRecords(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for _, r := range recs {
		if !bytes.Contains(r.Event, []byte(`"BTG"`)) {
			continue
		}
		flagged++
		if !bytes.Contains(r.Event, []byte("doc-bg")) || !bytes.Contains(r.Event, []byte("unconscious patient")) {
			t.Errorf("a BTG event without the user or the reason: %s", r.Event)
		}
	}
	if flagged != 2 { // the grant itself, and the read under it
		t.Errorf("%d events flagged BTG, want 2", flagged)
	}
}
