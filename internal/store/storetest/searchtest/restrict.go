package searchtest

import (
	"fmt"
	"slices"
	"strings"

	"kartehub/internal/karte"
)

// sharePermit is the code under which the suite indexes
// Consent.provision.type, as a record service registers it.
const sharePermit = karte.ShareParamCode

// patientLinks are the Patient compartment's links of the types the suite
// writes, as searchparam.Compartment("Patient") gives them.
var patientLinks = map[string][]string{
	"Observation": {"subject", "performer"},
	"Encounter":   {"patient"},
	"Consent":     {"patient"},
	"Group":       {"member"},
	"Provenance":  {"patient"},
}

// restriction admits the patients of facilities.
func restriction(facilities ...string) *karte.Restriction {
	return &karte.Restriction{Facilities: facilities, Links: patientLinks, SharePermitParam: sharePermit}
}

// restricted returns q with restriction rs.
func restricted(rs *karte.Restriction, q *karte.Query) *karte.Query {
	q.Restrict = rs
	return q
}

// all is a query of every resource of types.
func all(types ...string) *karte.Query { return &karte.Query{Types: types} }

// byRef is a clause: param refers to typ/id.
func byRef(param, typ, id string) karte.Clause {
	return one(karte.Condition{Param: param, Kind: karte.KindReference, RefType: typ, RefID: id})
}

// byID is a clause: _id is id.
func byID(id string) karte.Clause {
	return one(karte.Condition{Param: "_id", Kind: karte.KindID, String: id})
}

// consent writes a Consent of patient that shares it with Organization
// actor, with status and provision type kind.
func (d *db) consent(id, patient, actor, status, kind string) {
	d.t.Helper()
	d.put("Consent", id, ref("patient", "Patient", patient), ref("actor", "Organization", actor),
		tok("status", "", status, ""), tok(sharePermit, "", kind, ""))
}

// facilities writes the data of the restriction tests: patients of
// facilities A and B, one of B's shared with A, and their resources.
func (d *db) facilities() {
	d.put("Organization", "A", str("name", "Alpha Clinic"))
	d.put("Organization", "B", str("name", "Bravo Hospital"))
	d.put("Organization", "C", str("name", "Charlie Clinic"))
	d.put("Practitioner", "dr", ref("organization", "Organization", "A"))
	d.put("Device", "d1")

	at := func(org string) karte.ReferenceEntry { return ref("organization", "Organization", org) }
	d.put("Patient", "pa1", str("name", "Adams"), at("A"))
	d.put("Patient", "pa2", str("name", "Abbot"), at("A"))
	d.put("Patient", "pb1", str("name", "Brown"), at("B"))
	d.put("Patient", "pb2", str("name", "Baker"), at("B")) // shared with A
	d.put("Patient", "pb3", str("name", "Bell"), at("B"))  // a Consent that denies
	d.put("Patient", "pb4", str("name", "Black"), at("B")) // an inactive Consent
	d.put("Patient", "pnone", str("name", "Nobody"))
	// Two changes of facility: B, then A, then B again; A, B, then A.
	d.put("Patient", "pm1", str("name", "Mover"), at("B"))
	d.put("Patient", "pm1", str("name", "Mover"), at("A"))
	d.put("Patient", "pm1", str("name", "Mover"), at("B"))
	d.put("Patient", "pm2", str("name", "Mover"), at("A"))
	d.put("Patient", "pm2", str("name", "Mover"), at("B"))
	d.put("Patient", "pm2", str("name", "Mover"), at("A"))

	d.consent("share", "pb2", "A", "active", "permit")
	d.consent("deny", "pb3", "A", "active", "deny")
	d.consent("inactive", "pb4", "A", "inactive", "permit")
	d.consent("elsewhere", "pb1", "C", "active", "permit")

	hr := tok("code", "http://loinc.org", "8867-4", "")
	subject := func(id string) karte.ReferenceEntry { return ref("subject", "Patient", id) }
	d.put("Observation", "oa1", subject("pa1"), hr)
	d.put("Observation", "oa2", subject("pa2"), hr)
	d.put("Observation", "ob1", subject("pb1"), hr)
	d.put("Observation", "ob2", subject("pb2"), hr)
	d.put("Observation", "ob3", subject("pb3"), hr)
	d.put("Observation", "ob4", subject("pb4"), hr)
	d.put("Observation", "om1", subject("pm1"), hr)
	d.put("Observation", "om2", subject("pm2"), hr)
	d.put("Observation", "odev", ref("subject", "Device", "d1"), hr)                                                       // of no patient
	d.put("Observation", "onone", hr)                                                                                      // of no one
	d.put("Observation", "operf", subject("pb1"), ref("performer", "Patient", "pa1"), hr)                                  // one patient admitted
	d.put("Observation", "oext", karte.ReferenceEntry{Param: "subject", URL: "http://elsewhere.org/fhir/Patient/pa1"}, hr) // of a patient elsewhere
	d.put("Observation", "odangling", subject("missing"), hr)                                                              // of a patient not here
	d.put("Observation", "ofocus", subject("pb1"), ref("focus", "Patient", "pa1"), tok("code", "", "secret", ""))

	d.put("Encounter", "ea1", ref("patient", "Patient", "pa1"), ref("subject", "Patient", "pa1"))
	d.put("Encounter", "eb1", ref("patient", "Patient", "pb1"), ref("subject", "Patient", "pb1"))
	d.put("Group", "gmixed", ref("member", "Patient", "pa1"), ref("member", "Patient", "pb1"))
	d.put("Group", "gb", ref("member", "Patient", "pb1"))
	d.put("Provenance", "va", ref("target", "Observation", "oa1"), ref("patient", "Patient", "pa1"))
	d.put("Provenance", "vb", ref("target", "Observation", "oa1"), ref("patient", "Patient", "pb1"))
}

// The resources that restriction(A) admits, by type.
var (
	patientsOfA = []string{"Patient/pa1", "Patient/pa2", "Patient/pb2", "Patient/pm2"}
	obsOfA      = []string{"Observation/oa1", "Observation/oa2", "Observation/ob2", "Observation/om2",
		"Observation/odev", "Observation/onone", "Observation/operf"}
	othersOfA = []string{"Organization/A", "Organization/B", "Organization/C", "Practitioner/dr", "Device/d1",
		"Consent/share", "Encounter/ea1", "Group/gmixed", "Provenance/va"}
)

// testRestrict: a restriction admits the patients of its facilities, by
// their current managingOrganization or an active permit Consent, the
// resources that refer to them or to no patient, and every resource of
// other types; in matches and totals.
func testRestrict(d *db) {
	d.facilities()
	a := restriction("A")
	d.expect("patients", restricted(a, all("Patient")), patientsOfA...)
	d.expect("observations", restricted(a, all("Observation")), obsOfA...)
	d.expect("encounters", restricted(a, all("Encounter")), "Encounter/ea1")
	d.expect("consents: only the one of an admitted patient", restricted(a, all("Consent")), "Consent/share")
	d.expect("groups with an admitted member", restricted(a, all("Group")), "Group/gmixed")
	d.expect("provenances", restricted(a, all("Provenance")), "Provenance/va")
	d.expect("types of no patient", restricted(a, all("Organization", "Practitioner", "Device")),
		"Organization/A", "Organization/B", "Organization/C", "Practitioner/dr", "Device/d1")
	d.expect("several types", restricted(a, all("Patient", "Encounter", "Organization")),
		append([]string{"Encounter/ea1", "Organization/A", "Organization/B", "Organization/C"}, patientsOfA...)...)
	everything := slices.Concat(patientsOfA, obsOfA, othersOfA)
	d.expect("all types", restricted(a, all()), everything...)

	for _, tc := range []struct {
		what string
		q    *karte.Query
		want int
	}{
		{"patients", all("Patient"), len(patientsOfA)},
		{"observations", all("Observation"), len(obsOfA)},
		{"observations by code", query("Observation", one(karte.Condition{Param: "code", Kind: karte.KindToken, String: "8867-4", AnySystem: true})), len(obsOfA)},
		{"all types", all(), len(everything)},
		{"another facility's patient by id", query("Patient", byID("pb1")), 0},
	} {
		q := restricted(a, tc.q)
		q.Total = true
		q.Count = 0 // _summary=count
		if res := d.search(q); res.Total != tc.want || len(res.Matches) != 0 {
			d.t.Errorf("count of %s: %d (%d matches), want %d", tc.what, res.Total, len(res.Matches), tc.want)
		}
		q.Count = 2
		if res := d.search(q); res.Total != tc.want {
			d.t.Errorf("_total of %s on a page of 2: %d, want %d", tc.what, res.Total, tc.want)
		}
	}

	// Compartment-style searches: another facility's patient has nothing.
	for _, tc := range []struct {
		patient string
		obs     []string
	}{
		{"pa1", []string{"Observation/oa1"}},
		{"pb2", []string{"Observation/ob2"}},
		{"pb3", nil}, {"pb4", nil}, {"pm1", nil}, {"missing", nil},
		// Admitted through its performer, an admitted patient; it names
		// pb1 in its body anyway.
		{"pb1", []string{"Observation/operf"}},
	} {
		q := restricted(a, query("Observation", byRef("subject", "Patient", tc.patient)))
		q.Total = true
		d.expect("observations of "+tc.patient, q, tc.obs...)
		if res := d.search(q); res.Total != len(tc.obs) {
			d.t.Errorf("total of the observations of %s: %d, want %d", tc.patient, res.Total, len(tc.obs))
		}
		d.expect("encounters of "+tc.patient, restricted(a, query("Encounter", byRef("patient", "Patient", tc.patient))),
			map[string][]string{"pa1": {"Encounter/ea1"}}[tc.patient]...)
	}
	d.expect("performer of an admitted observation", restricted(a, query("Observation", byRef("performer", "Patient", "pa1"))),
		"Observation/operf")

	// Other restrictions, and none.
	d.expect("facility B", restricted(restriction("B"), all("Patient")),
		"Patient/pb1", "Patient/pb2", "Patient/pb3", "Patient/pb4", "Patient/pm1")
	d.expect("facilities A and B", restricted(restriction("A", "B"), all("Patient")),
		"Patient/pa1", "Patient/pa2", "Patient/pb1", "Patient/pb2", "Patient/pb3", "Patient/pb4", "Patient/pm1", "Patient/pm2")
	d.expect("facility C, shared one patient", restricted(restriction("C"), all("Patient")), "Patient/pb1")
	d.expect("no facility: no patient", restricted(restriction(), all("Patient")))
	d.expect("no facility: observations of no patient", restricted(restriction(), all("Observation")),
		"Observation/odev", "Observation/onone")
	noShares := restriction("A")
	noShares.SharePermitParam = ""
	d.expect("without the share parameter, Consents share nothing", restricted(noShares, all("Patient")),
		"Patient/pa1", "Patient/pa2", "Patient/pm2")
	d.expect("no restriction", all("Patient"), "Patient/pa1", "Patient/pa2", "Patient/pb1", "Patient/pb2",
		"Patient/pb3", "Patient/pb4", "Patient/pnone", "Patient/pm1", "Patient/pm2")
	if res := d.search(&karte.Query{Types: []string{"Observation"}, Total: true}); res.Total != 14 {
		d.t.Errorf("no restriction: %d observations, want 14", res.Total)
	}
}

// testRestrictNested: chains and _has select among admitted resources
// only, so that they test nothing of an unadmitted patient's.
func testRestrictNested(d *db) {
	d.facilities()
	a := restriction("A")
	name := func(s string) *karte.Query {
		return query("Patient", one(karte.Condition{Param: "name", Kind: karte.KindString, String: s}))
	}
	chain := func(param string, sub *karte.Query) karte.Clause {
		return one(karte.Condition{Param: param, Kind: karte.KindReference, Chain: sub})
	}
	d.expect("subject.name of an admitted patient", restricted(a, query("Observation", chain("subject", name("adams")))),
		"Observation/oa1")
	d.expect("unrestricted chain", query("Observation", chain("subject", name("brown"))),
		"Observation/ob1", "Observation/operf", "Observation/ofocus")
	d.expect("subject.name of an unadmitted patient", restricted(a, query("Observation", chain("subject", name("brown")))))
	d.expect("member.name of an unadmitted member of an admitted group",
		restricted(a, query("Group", chain("member", name("brown")))))
	d.expect("member.name of an admitted member", restricted(a, query("Group", chain("member", name("adams")))),
		"Group/gmixed")
	d.expect("chain of two links", restricted(a, query("Observation", chain("subject", query("Patient",
		chain("organization", query("Organization", one(karte.Condition{Param: "name", Kind: karte.KindString, String: "bravo"}))))))),
		"Observation/ob2")

	has := func(typ, param string, sub *karte.Query) karte.Clause {
		return one(karte.Condition{Param: "_has", Kind: karte.KindReference, Has: &karte.Has{Type: typ, Param: param, Query: sub}})
	}
	secret := query("Observation", one(karte.Condition{Param: "code", Kind: karte.KindToken, String: "secret", AnySystem: true}))
	d.expect("unrestricted _has", query("Patient", has("Observation", "focus", secret)), "Patient/pa1")
	d.expect("_has through an unadmitted patient's observation", restricted(a, query("Patient", has("Observation", "focus", secret))))
	hr := query("Observation", one(karte.Condition{Param: "code", Kind: karte.KindToken, String: "8867-4", AnySystem: true}))
	d.expect("_has through admitted observations", restricted(a, query("Patient", has("Observation", "subject", hr))),
		"Patient/pa1", "Patient/pa2", "Patient/pb2", "Patient/pm2")
	d.expect("_has:Group:member", restricted(a, query("Patient", has("Group", "member", all("Group")))), "Patient/pa1")
}

// testRestrictIncludes: included resources of every round, forward and
// reverse, are those the restriction admits.
func testRestrictIncludes(d *db) {
	d.facilities()
	d.put("Observation", "ohm", ref("subject", "Patient", "pa1"),
		ref("has-member", "Observation", "ob1"), ref("has-member", "Observation", "oa2"))
	a := restriction("A")
	subject := karte.Include{Type: "Observation", Param: "subject"}
	q := restricted(a, all("Observation"))
	q.Include = []karte.Include{subject}
	obs := append([]string{"Observation/ohm"}, obsOfA...)
	d.expectIncluded("_include=Observation:subject", q, obs,
		[]string{"Patient/pa1", "Patient/pa2", "Patient/pb2", "Patient/pm2", "Device/d1"})
	q = restricted(a, all("Observation"))
	q.Include = []karte.Include{{Type: "Observation", Param: "performer"}}
	d.expectIncluded("_include=Observation:performer", q, obs, []string{"Patient/pa1"})
	q = restricted(a, query("Observation", byID("operf")))
	q.Include = []karte.Include{{Type: "Observation", Param: "subject", TargetType: "Patient"}}
	d.expectIncluded("_include=Observation:subject:Patient of an unadmitted subject", q, []string{"Observation/operf"}, nil)
	q = restricted(a, all("Patient"))
	q.Include = []karte.Include{{Type: "Patient", Param: "organization"}}
	d.expectIncluded("_include=Patient:organization, of a type of no patient", q, patientsOfA,
		[]string{"Organization/A", "Organization/B"})
	q = restricted(a, query("Group", byID("gmixed")))
	q.Include = []karte.Include{{Type: "Group", Param: "member"}}
	d.expectIncluded("_include=Group:member", q, []string{"Group/gmixed"}, []string{"Patient/pa1"})

	rev := func(typ, param string, iterate bool) karte.Include {
		return karte.Include{Type: typ, Param: param, Reverse: true, Iterate: iterate}
	}
	q = restricted(a, all("Patient"))
	q.Include = []karte.Include{rev("Observation", "subject", false)}
	d.expectIncluded("_revinclude=Observation:subject", q, patientsOfA,
		[]string{"Observation/oa1", "Observation/oa2", "Observation/ob2", "Observation/om2", "Observation/ohm"})
	q = restricted(a, query("Patient", byID("pa1")))
	q.Include = []karte.Include{rev("Observation", "focus", false), rev("Observation", "performer", false)}
	d.expectIncluded("_revinclude of another patient's observation", q, []string{"Patient/pa1"}, []string{"Observation/operf"})
	q = restricted(a, all("Organization"))
	q.Include = []karte.Include{rev("Patient", "organization", false)}
	d.expectIncluded("_revinclude=Patient:organization", q, []string{"Organization/A", "Organization/B", "Organization/C"},
		[]string{"Patient/pa1", "Patient/pa2", "Patient/pb2", "Patient/pm2"})

	// :iterate, forward: has-member then subject, over two rounds.
	q = restricted(a, query("Observation", byID("ohm")))
	q.Include = []karte.Include{{Type: "Observation", Param: "has-member", Iterate: true}, {Type: "Observation", Param: "subject", Iterate: true}}
	d.expectIncluded("_include:iterate", q, []string{"Observation/ohm"},
		[]string{"Observation/oa2", "Patient/pa1", "Patient/pa2"})
	q.Restrict = nil
	d.expectIncluded("_include:iterate, unrestricted", q, []string{"Observation/ohm"},
		[]string{"Observation/oa2", "Observation/ob1", "Patient/pa1", "Patient/pa2", "Patient/pb1"})
	// :iterate, reverse: the observations, then their provenances.
	q = restricted(a, query("Patient", byID("pa1")))
	q.Include = []karte.Include{rev("Observation", "subject", false), rev("Provenance", "target", true)}
	d.expectIncluded("_revinclude:iterate", q, []string{"Patient/pa1"},
		[]string{"Observation/oa1", "Observation/ohm", "Provenance/va"})
	// Forward from an organization to its patients' observations and back.
	q = restricted(a, query("Organization", byID("B")))
	q.Include = []karte.Include{rev("Patient", "organization", false), rev("Observation", "subject", true),
		{Type: "Observation", Param: "performer", Iterate: true}}
	d.expectIncluded("_revinclude then :iterate", q, []string{"Organization/B"},
		[]string{"Patient/pb2", "Observation/ob2"})
}

// testRestrictPaging: pages cut by cursors hold the admitted resources
// only, each once, with the same total on every page; the restriction is
// the query's, so every page applies it.
func testRestrictPaging(d *db) {
	d.facilities()
	for i := range 7 {
		d.put("Observation", fmt.Sprintf("x%d", i), ref("subject", "Patient", []string{"pa1", "pb1", "pb2"}[i%3]))
	}
	a := restriction("A")
	want := slices.Clone(obsOfA)
	for _, i := range []int{0, 2, 3, 5, 6} {
		want = append(want, fmt.Sprintf("Observation/x%d", i))
	}
	slices.Sort(want) // by _id
	for _, sort := range []karte.SortKey{{Param: "_id", Kind: karte.KindID}, {Param: "_id", Kind: karte.KindID, Descending: true}} {
		order := slices.Clone(want)
		if sort.Descending {
			slices.Reverse(order)
		}
		q := restricted(a, sorted("Observation", sort))
		q.Total = true
		q.Count = 100
		if res := d.search(q); res.Total != len(order) {
			d.t.Errorf("total: %d, want %d", res.Total, len(order))
		}
		for _, count := range []int{1, 2, 3, 5} {
			if got := d.pages(q, count, func(int) {
				if res := d.search(q); res.Total != len(order) {
					d.t.Errorf("total after a cursor: %d, want %d", res.Total, len(order))
				}
			}); !slices.Equal(got, order) {
				d.t.Errorf("pages of %d, descending %v: %v, want %v", count, sort.Descending, got, order)
			}
		}
	}
	// Unsorted, and filtered by a clause that drives the query.
	q := restricted(a, query("Observation", byRef("subject", "Patient", "pb3")))
	if got := d.pages(q, 1, nil); len(got) != 0 {
		d.t.Errorf("pages of another facility's patient: %v, want none", got)
	}
	q = restricted(a, all("Observation"))
	got := d.pages(q, 3, nil)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		d.t.Errorf("unsorted pages of 3: %v, want %v", got, want)
	}
}

// testRestrictChanges: the restriction follows the current data: a
// Consent withdrawn or deleted shares no more, a patient moved to
// another facility leaves with its resources.
func testRestrictChanges(d *db) {
	d.facilities()
	a := restriction("A")
	d.expect("before", restricted(a, query("Observation", byRef("subject", "Patient", "pb2"))), "Observation/ob2")
	d.consent("share", "pb2", "A", "inactive", "permit")
	d.expect("consent made inactive", restricted(a, query("Observation", byRef("subject", "Patient", "pb2"))))
	d.consent("share", "pb2", "A", "active", "permit")
	d.expect("consent active again", restricted(a, query("Patient", byID("pb2"))), "Patient/pb2")
	d.del("Consent", "share")
	d.expect("consent deleted", restricted(a, query("Patient", byID("pb2"))))
	d.consent("deny", "pb3", "A", "active", "permit")
	d.expect("a deny turned into a permit", restricted(a, query("Patient", byID("pb3"))), "Patient/pb3")

	d.put("Patient", "pa1", str("name", "Adams"), ref("organization", "Organization", "B"))
	d.expect("a patient moved to B", restricted(a, query("Observation", byRef("subject", "Patient", "pa1"))))
	d.expect("its encounter", restricted(a, all("Encounter")))
	d.del("Patient", "pa2")
	d.expect("a deleted patient's observation", restricted(a, query("Observation", byID("oa2"))))
}

// testRestrictExplain: explain output shows the restriction, and no row
// counts that would count unadmitted resources.
func testRestrictExplain(d *db) {
	d.facilities()
	q := restricted(restriction("A"), query("Observation", byRef("subject", "Patient", "pb3"),
		one(karte.Condition{Param: "code", Kind: karte.KindToken, String: "8867-4", AnySystem: true})))
	q.Explain, q.Count = true, 10
	res := d.search(q)
	if !strings.Contains(res.Plan, "restricted to the patients of Organization/A") {
		d.t.Errorf("plan %q: want the restriction", res.Plan)
	}
	if strings.Contains(res.Plan, " index rows (") {
		d.t.Errorf("plan %q: shows row counts under a restriction", res.Plan)
	}
	if len(res.Matches) != 0 {
		d.t.Errorf("explained search: %d matches, want none", len(res.Matches))
	}
}
