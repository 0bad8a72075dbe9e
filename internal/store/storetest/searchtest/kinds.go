package searchtest

import (
	"time"

	"kartehub/internal/karte"
)

// testString: prefix (the default), :exact and :contains, on folded values
// compared byte for byte; LIKE wildcards in a criterion are plain text.
func testString(d *db) {
	d.put("Patient", "smith", str("name", "Smith"), str("name", "John"))
	d.put("Patient", "smithson", str("name", "Smithson"))
	d.put("Patient", "blacksmith", str("name", "Blacksmith"))
	d.put("Patient", "emile", karte.StringEntry{Param: "name", Value: "émile", Exact: "Émile"})
	d.put("Patient", "under", str("name", "a_b%c"))
	d.put("Patient", "other", str("address", "Smith Street")) // another parameter
	d.put("Patient", "none")

	name := func(op karte.Op, s string) karte.Condition {
		return karte.Condition{Param: "name", Kind: karte.KindString, Op: op, String: s}
	}
	d.expect("prefix", query("Patient", one(name(karte.Eq, "smith"))), "Patient/smith", "Patient/smithson")
	d.expect("prefix of one value of several", query("Patient", one(name(karte.Eq, "jo"))), "Patient/smith")
	d.expect("whole value as prefix", query("Patient", one(name(karte.Eq, "smithson"))), "Patient/smithson")
	d.expect("no prefix", query("Patient", one(name(karte.Eq, "mith"))))
	d.expect("non-ASCII prefix", query("Patient", one(name(karte.Eq, "émi"))), "Patient/emile")
	d.expect("empty prefix", query("Patient", one(name(karte.Eq, ""))),
		"Patient/smith", "Patient/smithson", "Patient/blacksmith", "Patient/emile", "Patient/under")
	d.expect("prefix with LIKE wildcards", query("Patient", one(name(karte.Eq, "a_b%"))), "Patient/under")
	d.expect("exact", query("Patient", one(name(karte.Exact, "Smith"))), "Patient/smith")
	d.expect("exact is case-sensitive", query("Patient", one(name(karte.Exact, "smith"))))
	d.expect("exact is not a prefix", query("Patient", one(name(karte.Exact, "Smit"))))
	d.expect("exact non-ASCII", query("Patient", one(name(karte.Exact, "Émile"))), "Patient/emile")
	d.expect("contains", query("Patient", one(name(karte.Contains, "smith"))),
		"Patient/smith", "Patient/smithson", "Patient/blacksmith")
	d.expect("contains in the middle", query("Patient", one(name(karte.Contains, "ksm"))), "Patient/blacksmith")
	d.expect("contains an underscore", query("Patient", one(name(karte.Contains, "_"))), "Patient/under")
	d.expect("contains a percent sign", query("Patient", one(name(karte.Contains, "b%c"))), "Patient/under")
	d.expect("contains: _ is no wildcard", query("Patient", one(name(karte.Contains, "h_n"))))
	d.expect("any of several", query("Patient", anyOf(name(karte.Eq, "john"), name(karte.Eq, "black"))),
		"Patient/smith", "Patient/blacksmith")
	d.expect("all of several", query("Patient", one(name(karte.Eq, "smith")), one(name(karte.Eq, "john"))),
		"Patient/smith")
	d.expect(":not on a string is a negation", query("Patient",
		one(karte.Condition{Param: "name", Kind: karte.KindString, String: "smith", Not: true})),
		"Patient/blacksmith", "Patient/emile", "Patient/under", "Patient/other", "Patient/none")
}

// testToken: code with and without a system, |code, system|, :not, :text
// and :in.
func testToken(d *db) {
	const loinc, snomed = "http://loinc.org", "http://snomed.info/sct"
	d.put("Observation", "loinc", tok("code", loinc, "1234-5", "glucose [mass/volume]"))
	d.put("Observation", "snomed", tok("code", snomed, "1234-5", "blood sugar"))
	d.put("Observation", "nosystem", tok("code", "", "1234-5", ""))
	d.put("Observation", "heart", tok("code", loinc, "9999-9", "heart rate"), tok("code", snomed, "777", "pulse"))
	d.put("Observation", "none", tok("status", "", "final", ""))

	code := func(c karte.Condition) karte.Clause {
		c.Param, c.Kind = "code", karte.KindToken
		return one(c)
	}
	d.expect("code in any system", query("Observation", code(karte.Condition{String: "1234-5", AnySystem: true})),
		"Observation/loinc", "Observation/snomed", "Observation/nosystem")
	d.expect("system|code", query("Observation", code(karte.Condition{System: loinc, String: "1234-5"})),
		"Observation/loinc")
	d.expect("|code: no system", query("Observation", code(karte.Condition{String: "1234-5", NoSystem: true})),
		"Observation/nosystem")
	d.expect("system|: any code", query("Observation", code(karte.Condition{System: loinc, AnyCode: true})),
		"Observation/loinc", "Observation/heart")
	d.expect("codes are not prefixes", query("Observation", code(karte.Condition{String: "1234", AnySystem: true})))
	d.expect("codes are case-sensitive", query("Observation", code(karte.Condition{String: "FINAL", AnySystem: true})))
	d.expect(":not: no coding matches, or none at all", query("Observation",
		code(karte.Condition{System: loinc, String: "1234-5", Not: true})),
		"Observation/snomed", "Observation/nosystem", "Observation/heart", "Observation/none")
	d.expect(":not with one of two codings matching", query("Observation",
		code(karte.Condition{String: "777", AnySystem: true, Not: true})),
		"Observation/loinc", "Observation/snomed", "Observation/nosystem", "Observation/none")
	d.expect(":text prefix", query("Observation", code(karte.Condition{Op: karte.Text, String: "gluc"})),
		"Observation/loinc")
	d.expect(":text of a second coding", query("Observation", code(karte.Condition{Op: karte.Text, String: "pulse"})),
		"Observation/heart")
	d.expect(":in", query("Observation", code(karte.Condition{Op: karte.In,
		Codes: []karte.Coding{{System: snomed, Code: "1234-5"}, {System: loinc, Code: "9999-9"}, {System: loinc, Code: "777"}}})),
		"Observation/snomed", "Observation/heart")
	d.expect(":in of an empty value set", query("Observation", code(karte.Condition{Op: karte.In})))
	d.expect(":not-in", query("Observation", code(karte.Condition{Op: karte.In, Not: true,
		Codes: []karte.Coding{{System: snomed, Code: "1234-5"}, {System: loinc, Code: "9999-9"}}})),
		"Observation/loinc", "Observation/nosystem", "Observation/none")
	d.expect("another parameter", query("Observation",
		one(karte.Condition{Param: "status", Kind: karte.KindToken, String: "final", AnySystem: true})),
		"Observation/none")
}

// testReference: by type and id, by id alone, by URL.
func testReference(d *db) {
	d.put("Patient", "p1")
	d.put("Group", "p1")
	d.put("Observation", "o1", ref("subject", "Patient", "p1"))
	d.put("Observation", "o2", ref("subject", "Group", "p1"))
	d.put("Observation", "o3", ref("subject", "Patient", "p2"), ref("performer", "Patient", "p1"))
	d.put("Observation", "o4", karte.ReferenceEntry{Param: "subject", URL: "http://elsewhere.org/fhir/Patient/p1"})
	d.put("Observation", "o5", ref("subject", "Patient", "p10"))

	subject := func(c karte.Condition) karte.Clause {
		c.Param, c.Kind = "subject", karte.KindReference
		return one(c)
	}
	d.expect("type and id", query("Observation", subject(karte.Condition{RefType: "Patient", RefID: "p1"})),
		"Observation/o1")
	d.expect("target need not exist", query("Observation", subject(karte.Condition{RefType: "Patient", RefID: "p2"})),
		"Observation/o3")
	d.expect("id of any type", query("Observation", subject(karte.Condition{RefID: "p1"})),
		"Observation/o1", "Observation/o2")
	d.expect("ids are not prefixes", query("Observation", subject(karte.Condition{RefType: "Patient", RefID: "p"})))
	d.expect("URL", query("Observation", subject(karte.Condition{URL: "http://elsewhere.org/fhir/Patient/p1"})),
		"Observation/o4")
	d.expect("any of two targets", query("Observation", anyOf(
		karte.Condition{Param: "subject", Kind: karte.KindReference, RefType: "Patient", RefID: "p1"},
		karte.Condition{Param: "subject", Kind: karte.KindReference, RefType: "Patient", RefID: "p10"})),
		"Observation/o1", "Observation/o5")
	d.expect(":not", query("Observation", subject(karte.Condition{RefType: "Patient", RefID: "p1", Not: true})),
		"Observation/o2", "Observation/o3", "Observation/o4", "Observation/o5")
}

// testChain: references to resources matching a query of the target type,
// live ones only.
func testChain(d *db) {
	d.put("Organization", "acme", str("name", "Acme"))
	d.put("Patient", "ann", str("name", "Ann"), ref("organization", "Organization", "acme"))
	d.put("Patient", "bob", str("name", "Bob"))
	d.put("Patient", "anna", str("name", "Anna"))
	d.put("Group", "ann", str("name", "Ann"))
	d.put("Observation", "o1", ref("subject", "Patient", "ann"))
	d.put("Observation", "o2", ref("subject", "Patient", "bob"))
	d.put("Observation", "o3", ref("subject", "Patient", "anna"))
	d.put("Observation", "o4", ref("subject", "Group", "ann"))
	d.put("Observation", "o5", ref("subject", "Patient", "gone"))
	d.put("Patient", "gone", str("name", "Ann"))
	d.del("Patient", "gone")

	chain := func(sub *karte.Query) karte.Clause {
		return one(karte.Condition{Param: "subject", Kind: karte.KindReference, Chain: sub})
	}
	name := func(typ, s string) *karte.Query {
		return query(typ, one(karte.Condition{Param: "name", Kind: karte.KindString, String: s}))
	}
	d.expect("subject:Patient.name", query("Observation", chain(name("Patient", "ann"))),
		"Observation/o1", "Observation/o3")
	d.expect("subject:Group.name", query("Observation", chain(name("Group", "ann"))), "Observation/o4")
	d.expect("subject.name over two types", query("Observation", chain(&karte.Query{Types: []string{"Patient", "Group"},
		Where: []karte.Clause{one(karte.Condition{Param: "name", Kind: karte.KindString, String: "ann"})}})),
		"Observation/o1", "Observation/o3", "Observation/o4")
	d.expect("two links", query("Observation", chain(query("Patient", one(karte.Condition{
		Param: "organization", Kind: karte.KindReference, Chain: name("Organization", "acme")})))),
		"Observation/o1")
	d.expect("subject._id", query("Observation", chain(query("Patient",
		one(karte.Condition{Param: "_id", Kind: karte.KindID, String: "bob"})))), "Observation/o2")
	d.expect("chain and another clause", query("Observation", chain(name("Patient", "ann")),
		one(karte.Condition{Param: "subject", Kind: karte.KindReference, RefType: "Patient", RefID: "anna"})),
		"Observation/o3")
}

// testHas: resources that resources of another type refer to, among those
// matching a query.
func testHas(d *db) {
	d.put("Patient", "p1")
	d.put("Patient", "p2")
	d.put("Patient", "p3")
	d.put("Group", "p1")
	d.put("Observation", "o1", ref("subject", "Patient", "p1"), tok("code", "http://loinc.org", "1234-5", ""))
	d.put("Observation", "o2", ref("subject", "Patient", "p2"), tok("code", "http://loinc.org", "9999-9", ""))
	d.put("Observation", "o3", ref("subject", "Patient", "p3"), tok("code", "http://loinc.org", "1234-5", ""))
	d.del("Observation", "o3")
	d.put("Encounter", "e1", ref("subject", "Patient", "p2"))
	d.put("List", "l1", ref("item", "Patient", "p2"), ref("item", "Patient", "p3"))

	has := func(typ, param string, sub *karte.Query) karte.Condition {
		return karte.Condition{Param: "_has", Kind: karte.KindReference, Has: &karte.Has{Type: typ, Param: param, Query: sub}}
	}
	code := func(c string) *karte.Query {
		return query("Observation", one(karte.Condition{Param: "code", Kind: karte.KindToken, String: c, AnySystem: true}))
	}
	d.expect("_has:Observation:subject:code, a deleted referrer counting for nothing",
		query("Patient", one(has("Observation", "subject", code("1234-5")))), "Patient/p1")
	d.expect("_has on another type", query("Group", one(has("Observation", "subject", code("1234-5")))))
	d.expect("_has with any referrer", query("Patient", one(has("Encounter", "subject", query("Encounter")))),
		"Patient/p2")
	d.expect("_list", query("Patient", one(has("List", "item", query("List",
		one(karte.Condition{Param: "_id", Kind: karte.KindID, String: "l1"}))))),
		"Patient/p2", "Patient/p3")
	d.expect("_has and another clause", query("Patient",
		one(has("List", "item", query("List"))), one(has("Encounter", "subject", query("Encounter")))),
		"Patient/p2")
	d.expect("either of two _has", query("Patient", anyOf(has("Observation", "subject", code("1234-5")),
		has("Encounter", "subject", query("Encounter")))),
		"Patient/p1", "Patient/p2")
	not := has("Observation", "subject", code("1234-5"))
	not.Not = true
	d.expect("negated _has", query("Patient", one(not)), "Patient/p2", "Patient/p3")
}

// testDate: each prefix against values of several precisions. The
// criterion is the day 2024-03-01, [Mar 1, Mar 2).
func testDate(d *db) {
	mar1 := time.Date(2024, time.March, 1, 0, 0, 0, 0, time.UTC)
	d.put("Patient", "second", period("birthdate", mar1.Add(10*time.Hour), mar1.Add(10*time.Hour+time.Second)))
	d.put("Patient", "month", period("birthdate", mar1, mar1.AddDate(0, 1, 0)))
	d.put("Patient", "feb15", day("birthdate", "2024-02-15"))
	d.put("Patient", "mar5", day("birthdate", "2024-03-05"))
	d.put("Patient", "y2023", period("birthdate", mar1.AddDate(-1, -2, 0), mar1.AddDate(0, -2, 0)))
	d.put("Patient", "mar1", day("birthdate", "2024-03-01"))
	d.put("Patient", "none")

	lo, hi := dayRange("2024-03-01")
	date := func(op karte.Op) *karte.Query {
		return query("Patient", one(karte.Condition{Param: "birthdate", Kind: karte.KindDate, Op: op, Lo: lo, Hi: hi}))
	}
	d.expect("eq: within the day", date(karte.Eq), "Patient/second", "Patient/mar1")
	d.expect("ne", date(karte.Ne), "Patient/month", "Patient/feb15", "Patient/mar5", "Patient/y2023")
	d.expect("lt: starts before", date(karte.Lt), "Patient/feb15", "Patient/y2023")
	// R4: le is lt or within the criterion; ge is gt or within it.
	d.expect("le: starts before, or within", date(karte.Le),
		"Patient/second", "Patient/feb15", "Patient/y2023", "Patient/mar1")
	d.expect("gt: ends after", date(karte.Gt), "Patient/month", "Patient/mar5")
	d.expect("ge: ends after, or within", date(karte.Ge), "Patient/second", "Patient/month", "Patient/mar5", "Patient/mar1")
	d.expect("sa: starts after the end", date(karte.Sa), "Patient/mar5")
	d.expect("eb: ends before the start", date(karte.Eb), "Patient/feb15", "Patient/y2023")
	d.expect("ap: overlaps the widened criterion", query("Patient", one(karte.Condition{Param: "birthdate",
		Kind: karte.KindDate, Op: karte.Ap, Lo: lo - 86_400_000, Hi: hi + 86_400_000})),
		"Patient/second", "Patient/month", "Patient/mar1")
	mlo, _ := dayRange("2024-03-01")
	_, mhi := dayRange("2024-03-31")
	d.expect("eq a month", query("Patient", one(karte.Condition{Param: "birthdate", Kind: karte.KindDate, Lo: mlo, Hi: mhi})),
		"Patient/second", "Patient/month", "Patient/mar5", "Patient/mar1")
	d.expect("a range of two clauses", query("Patient",
		one(karte.Condition{Param: "birthdate", Kind: karte.KindDate, Op: karte.Ge, Lo: lo, Hi: hi}),
		one(karte.Condition{Param: "birthdate", Kind: karte.KindDate, Op: karte.Lt, Lo: mhi, Hi: mhi + 86_400_000})),
		"Patient/second", "Patient/month", "Patient/mar5", "Patient/mar1")
}

// testNumber: each prefix on numbers, with the precision of the criterion.
func testNumber(d *db) {
	d.put("RiskAssessment", "half", num("probability", 0.5))
	d.put("RiskAssessment", "one", num("probability", 1))
	d.put("RiskAssessment", "hundred", num("probability", 100))
	d.put("RiskAssessment", "hundred4", num("probability", 100.4))
	d.put("RiskAssessment", "minus", num("probability", -2))
	d.put("RiskAssessment", "both", num("probability", 0.5), num("probability", 50))
	d.put("RiskAssessment", "none")

	// 100 means [99.5, 100.5), 1.0 means [0.95, 1.05).
	n := func(op karte.Op, v, half float64) *karte.Query {
		return query("RiskAssessment", one(karte.Condition{Param: "probability", Kind: karte.KindNumber,
			Op: op, Number: v, NumLo: v - half, NumHi: v + half}))
	}
	d.expect("eq 100", n(karte.Eq, 100, 0.5), "RiskAssessment/hundred", "RiskAssessment/hundred4")
	d.expect("eq 100.0", n(karte.Eq, 100, 0.05), "RiskAssessment/hundred")
	d.expect("eq -2", n(karte.Eq, -2, 0.5), "RiskAssessment/minus")
	d.expect("ne 100", n(karte.Ne, 100, 0.5),
		"RiskAssessment/half", "RiskAssessment/one", "RiskAssessment/minus", "RiskAssessment/both")
	d.expect("lt 1", n(karte.Lt, 1, 0.5), "RiskAssessment/half", "RiskAssessment/minus", "RiskAssessment/both")
	d.expect("le 1", n(karte.Le, 1, 0.5),
		"RiskAssessment/half", "RiskAssessment/one", "RiskAssessment/minus", "RiskAssessment/both")
	d.expect("gt 1", n(karte.Gt, 1, 0.5), "RiskAssessment/hundred", "RiskAssessment/hundred4", "RiskAssessment/both")
	d.expect("ge 1", n(karte.Ge, 1, 0.5),
		"RiskAssessment/one", "RiskAssessment/hundred", "RiskAssessment/hundred4", "RiskAssessment/both")
	d.expect("sa 50", n(karte.Sa, 50, 0.5), "RiskAssessment/hundred", "RiskAssessment/hundred4")
	d.expect("eb 0.5", n(karte.Eb, 0.5, 0.05), "RiskAssessment/minus")
	d.expect("ap 100 (10 %)", query("RiskAssessment", one(karte.Condition{Param: "probability", Kind: karte.KindNumber,
		Number: 100, NumLo: 90, NumHi: 110.5})), "RiskAssessment/hundred", "RiskAssessment/hundred4")
}

// testQuantity: quantities with and without units, in their own units and
// in canonical ones.
func testQuantity(d *db) {
	const ucum = "http://unitsofmeasure.org"
	qty := func(v float64, system, code string, cv float64, cc string) karte.NumberEntry {
		return karte.NumberEntry{Param: "value-quantity", Value: v, System: system, Code: code, Unit: code,
			CanonicalValue: cv, CanonicalCode: cc}
	}
	d.put("Observation", "mgdl", qty(100, ucum, "mg/dL", 1000, "g.m-3"))
	d.put("Observation", "gl", qty(1, ucum, "g/L", 1000, "g.m-3"))
	d.put("Observation", "other", qty(100, "http://other.org/units", "mg/dL", 0, ""))
	d.put("Observation", "bare", qty(100, "", "", 0, ""))
	d.put("Observation", "mmol", qty(5.5, ucum, "mmol/L", 5.5, "mol.m-3"))

	q := func(c karte.Condition) *karte.Query {
		c.Param, c.Kind = "value-quantity", karte.KindQuantity
		return query("Observation", one(c))
	}
	d.expect("number alone", q(karte.Condition{Number: 100, NumLo: 99.5, NumHi: 100.5, AnySystem: true}),
		"Observation/mgdl", "Observation/other", "Observation/bare")
	d.expect("system and code", q(karte.Condition{Number: 100, NumLo: 99.5, NumHi: 100.5,
		System: "http://other.org/units", String: "mg/dL"}), "Observation/other")
	d.expect("code of any system", q(karte.Condition{Number: 100, NumLo: 99.5, NumHi: 100.5,
		String: "mg/dL", AnySystem: true}), "Observation/mgdl", "Observation/other")
	d.expect("canonical eq", q(karte.Condition{Number: 1000, NumLo: 995, NumHi: 1005, String: "g.m-3", Canonical: true}),
		"Observation/mgdl", "Observation/gl")
	d.expect("canonical gt", q(karte.Condition{Op: karte.Gt, Number: 500, NumLo: 450, NumHi: 550,
		String: "g.m-3", Canonical: true}), "Observation/mgdl", "Observation/gl")
	d.expect("canonical lt", q(karte.Condition{Op: karte.Lt, Number: 500, NumLo: 450, NumHi: 550,
		String: "g.m-3", Canonical: true}))
	d.expect("canonical of another dimension", q(karte.Condition{Op: karte.Ge, Number: 1, NumLo: 0.5, NumHi: 1.5,
		String: "mol.m-3", Canonical: true}), "Observation/mmol")
}

// testURI: equality, :below and :above, all case-sensitive, with LIKE
// wildcards plain text.
func testURI(d *db) {
	u := func(s string) karte.URIEntry { return karte.URIEntry{Param: "url", URI: s} }
	d.put("ValueSet", "a", u("http://acme.org/fhir/ValueSet/a"))
	d.put("ValueSet", "b", u("http://acme.org/fhir/ValueSet/b"))
	d.put("ValueSet", "base", u("http://acme.org/fhir"))
	d.put("ValueSet", "under", u("http://acme.org/fhir/ValueSet/a_b"))
	d.put("ValueSet", "urn", u("urn:oid:1.2.3"))

	q := func(op karte.Op, s string) *karte.Query {
		return query("ValueSet", one(karte.Condition{Param: "url", Kind: karte.KindURI, Op: op, String: s}))
	}
	d.expect("equal", q(karte.Eq, "http://acme.org/fhir/ValueSet/a"), "ValueSet/a")
	d.expect("equal is case-sensitive", q(karte.Eq, "http://acme.org/fhir/valueset/a"))
	d.expect("equal is not a prefix", q(karte.Eq, "http://acme.org/fhir/ValueSet/"))
	d.expect("urn", q(karte.Eq, "urn:oid:1.2.3"), "ValueSet/urn")
	d.expect("below", q(karte.Below, "http://acme.org/fhir/ValueSet/"), "ValueSet/a", "ValueSet/b", "ValueSet/under")
	d.expect("below with an underscore", q(karte.Below, "http://acme.org/fhir/ValueSet/a_"), "ValueSet/under")
	d.expect("above", q(karte.Above, "http://acme.org/fhir/ValueSet/a/v2"), "ValueSet/a", "ValueSet/base")
	d.expect("above, an underscore in the stored uri", q(karte.Above, "http://acme.org/fhir/ValueSet/aXb/1"),
		"ValueSet/a", "ValueSet/base")
	d.expect("above is not below", q(karte.Above, "http://acme.org/fhir/ValueSet/"), "ValueSet/base")
	d.expect("above of an equal uri", q(karte.Above, "http://acme.org/fhir"), "ValueSet/base")
}

// testURICase: uris compare case-sensitively.
func testURICase(d *db) {
	u := func(s string) karte.URIEntry { return karte.URIEntry{Param: "url", URI: s} }
	d.put("ValueSet", "lower", u("http://acme.org/fhir/ValueSet/a"))
	d.put("ValueSet", "upper", u("http://ACME.org/fhir/ValueSet/A"))
	q := func(op karte.Op, s string) *karte.Query {
		return query("ValueSet", one(karte.Condition{Param: "url", Kind: karte.KindURI, Op: op, String: s}))
	}
	d.expect("equal", q(karte.Eq, "http://ACME.org/fhir/ValueSet/A"), "ValueSet/upper")
	d.expect("above", q(karte.Above, "http://acme.org/fhir/ValueSet/A/1"))
	d.expect("above, upper case", q(karte.Above, "http://ACME.org/fhir/ValueSet/A/1"), "ValueSet/upper")
	// SQLite's LIKE ignores the case of ASCII letters (unless PRAGMA
	// case_sensitive_like is on), PostgreSQL's does not.
	d.expect("below", q(karte.Below, "http://acme.org/"), "ValueSet/lower")
	d.expect("below, upper case", q(karte.Below, "http://ACME.org/fhir/ValueSet/"), "ValueSet/upper")
}

// testComposite: both components from one element, the second a quantity,
// a token, a date or a string.
func testComposite(d *db) {
	const loinc = "http://loinc.org"
	cq := func(code string, v float64) karte.CompositeEntry {
		return karte.CompositeEntry{Param: "code-value-quantity", System1: loinc, Code1: code, Number2: v, HasNumber2: true}
	}
	d.put("Observation", "glucose54", cq("glucose", 5.4))
	d.put("Observation", "glucose10", cq("glucose", 10))
	// Two components: glucose 1 and sodium 10, never glucose 10.
	d.put("Observation", "mixed", cq("glucose", 1), cq("sodium", 10))
	d.put("Observation", "concept", karte.CompositeEntry{Param: "code-value-concept", System1: loinc, Code1: "colour",
		System2: "http://snomed.info/sct", Code2: "red"})
	lo, hi := dayRange("2024-03-01")
	d.put("Observation", "dated", karte.CompositeEntry{Param: "code-value-date", System1: loinc, Code1: "onset",
		Lo2: lo, Hi2: hi})
	d.put("Observation", "string", karte.CompositeEntry{Param: "code-value-string", System1: loinc, Code1: "note",
		String2: "fasting"})

	cvq := func(code string, second karte.Condition) *karte.Query {
		second.Param, second.Kind = "value-quantity", karte.KindQuantity
		return query("Observation", one(karte.Condition{Param: "code-value-quantity", Kind: karte.KindComposite,
			System: loinc, String: code, Second: &second}))
	}
	d.expect("code$value", cvq("glucose", karte.Condition{Number: 10, NumLo: 9.5, NumHi: 10.5}), "Observation/glucose10")
	d.expect("code$gt value", cvq("glucose", karte.Condition{Op: karte.Gt, Number: 5}),
		"Observation/glucose54", "Observation/glucose10")
	d.expect("code$le value", cvq("glucose", karte.Condition{Op: karte.Le, Number: 5.4}),
		"Observation/glucose54", "Observation/mixed")
	d.expect("both components from one element", cvq("sodium", karte.Condition{Number: 1, NumLo: 0.5, NumHi: 1.5}))
	d.expect("code of any system", query("Observation", one(karte.Condition{Param: "code-value-quantity",
		Kind: karte.KindComposite, String: "sodium", AnySystem: true,
		Second: &karte.Condition{Kind: karte.KindQuantity, Number: 10, NumLo: 9.5, NumHi: 10.5}})),
		"Observation/mixed")
	d.expect("token second", query("Observation", one(karte.Condition{Param: "code-value-concept",
		Kind: karte.KindComposite, System: loinc, String: "colour",
		Second: &karte.Condition{Kind: karte.KindToken, System: "http://snomed.info/sct", String: "red"}})),
		"Observation/concept")
	d.expect("token second, wrong code", query("Observation", one(karte.Condition{Param: "code-value-concept",
		Kind: karte.KindComposite, System: loinc, String: "colour",
		Second: &karte.Condition{Kind: karte.KindToken, AnySystem: true, String: "blue"}})))
	d.expect("date second", query("Observation", one(karte.Condition{Param: "code-value-date",
		Kind: karte.KindComposite, System: loinc, String: "onset",
		Second: &karte.Condition{Kind: karte.KindDate, Op: karte.Ge, Lo: lo, Hi: hi}})),
		"Observation/dated")
	d.expect("date second, eb", query("Observation", one(karte.Condition{Param: "code-value-date",
		Kind: karte.KindComposite, System: loinc, String: "onset",
		Second: &karte.Condition{Kind: karte.KindDate, Op: karte.Eb, Lo: lo, Hi: hi}})))
	d.expect("string second", query("Observation", one(karte.Condition{Param: "code-value-string",
		Kind: karte.KindComposite, System: loinc, String: "note",
		Second: &karte.Condition{Kind: karte.KindString, String: "fast"}})),
		"Observation/string")
}

// testMissing: :missing=true and :missing=false, per parameter.
func testMissing(d *db) {
	d.put("Patient", "both", str("name", "Ann"), day("birthdate", "2000-01-01"))
	d.put("Patient", "name", str("name", "Bob"))
	d.put("Patient", "date", day("birthdate", "2001-01-01"))
	d.put("Patient", "neither")
	d.put("Patient", "emptyish", str("address", "x")) // another parameter of the same table

	missing := func(param string, kind karte.ParamKind, m bool) *karte.Query {
		return query("Patient", one(karte.Condition{Param: param, Kind: kind, Op: karte.Exists, Missing: m}))
	}
	d.expect("name:missing=true", missing("name", karte.KindString, true), "Patient/date", "Patient/neither", "Patient/emptyish")
	d.expect("name:missing=false", missing("name", karte.KindString, false), "Patient/both", "Patient/name")
	d.expect("birthdate:missing=true", missing("birthdate", karte.KindDate, true),
		"Patient/name", "Patient/neither", "Patient/emptyish")
	d.expect("birthdate:missing=false", missing("birthdate", karte.KindDate, false), "Patient/both", "Patient/date")
	d.expect("both present", query("Patient",
		one(karte.Condition{Param: "name", Kind: karte.KindString, Op: karte.Exists}),
		one(karte.Condition{Param: "birthdate", Kind: karte.KindDate, Op: karte.Exists})), "Patient/both")
}

// testID: _id, one or several, and :not.
func testID(d *db) {
	for _, id := range []string{"a", "b", "ab", "B"} {
		d.put("Patient", id)
	}
	d.put("Observation", "a")
	id := func(s string) karte.Condition { return karte.Condition{Param: "_id", Kind: karte.KindID, String: s} }
	d.expect("one", query("Patient", one(id("a"))), "Patient/a")
	d.expect("case-sensitive", query("Patient", one(id("A"))))
	d.expect("several", query("Patient", anyOf(id("a"), id("B"), id("zz"))), "Patient/a", "Patient/B")
	not := id("a")
	not.Not = true
	d.expect(":not", query("Patient", one(not)), "Patient/b", "Patient/ab", "Patient/B")
	d.expect("all types", &karte.Query{Where: []karte.Clause{one(id("a"))}}, "Patient/a", "Observation/a")
	d.expectOrder("sorted byte for byte", sorted("Patient", karte.SortKey{Param: "_id", Kind: karte.KindID}),
		"Patient/B", "Patient/a", "Patient/ab", "Patient/b")
}

// testLastUpdated: the prefixes on the time of the current version, which
// has millisecond precision.
func testLastUpdated(d *db) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	d.putAt(at(0), "Patient", "p0")
	d.putAt(at(1), "Patient", "p1")
	d.putAt(at(2), "Patient", "p2")
	d.putAt(at(0), "Patient", "moved")
	d.putAt(at(3), "Patient", "moved") // only the current version counts

	lu := func(op karte.Op, lo, hi time.Time) *karte.Query {
		return query("Patient", one(karte.Condition{Param: "_lastUpdated", Kind: karte.KindLastUpdated,
			Op: op, Lo: lo.UnixMilli(), Hi: hi.UnixMilli()}))
	}
	ms := time.Millisecond
	d.expect("eq to the millisecond", lu(karte.Eq, at(1), at(1).Add(ms)), "Patient/p1")
	d.expect("eq a minute", lu(karte.Eq, at(1), at(2)), "Patient/p1")
	d.expect("eq a day", lu(karte.Eq, t0.Truncate(24*time.Hour), t0.Truncate(24*time.Hour).Add(24*time.Hour)),
		"Patient/p0", "Patient/p1", "Patient/p2", "Patient/moved")
	d.expect("gt", lu(karte.Gt, at(1), at(1).Add(ms)), "Patient/p2", "Patient/moved")
	d.expect("ge", lu(karte.Ge, at(1), at(1).Add(ms)), "Patient/p1", "Patient/p2", "Patient/moved")
	d.expect("lt", lu(karte.Lt, at(1), at(1).Add(ms)), "Patient/p0")
	d.expect("le", lu(karte.Le, at(1), at(1).Add(ms)), "Patient/p0", "Patient/p1")
	d.expect("ne", lu(karte.Ne, at(1), at(1).Add(ms)), "Patient/p0", "Patient/p2", "Patient/moved")
	d.expect("sa", lu(karte.Sa, at(1), at(1).Add(ms)), "Patient/p2", "Patient/moved")
	d.expect("eb", lu(karte.Eb, at(1), at(1).Add(ms)), "Patient/p0")
}

// testSeveralTypes: a system-level search tests each type's own parameter.
func testSeveralTypes(d *db) {
	d.put("Patient", "p", str("name", "Smith"))
	d.put("Practitioner", "d", str("name", "Smith"))
	d.put("Organization", "o", str("name", "Smith"))
	d.put("Patient", "q", str("name", "Jones"))
	q := &karte.Query{Types: []string{"Patient", "Practitioner"},
		Where: []karte.Clause{one(karte.Condition{Param: "name", Kind: karte.KindString, String: "smi"})}}
	d.expect("two types", q, "Patient/p", "Practitioner/d")
	d.expect("all types", &karte.Query{}, "Patient/p", "Practitioner/d", "Organization/o", "Patient/q")
}
