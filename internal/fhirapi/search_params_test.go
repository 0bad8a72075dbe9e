package fhirapi_test

import (
	"slices"
	"strings"
	"testing"
)

// paramCase is one search whose matches the model computes: want returns
// the Type/id of the expected matches, in any order.
type paramCase struct {
	query string
	want  func(t testing.TB, d *dataset) []string
}

// runParamCases loads the dataset once and runs each case as a subtest
// named after its query.
func runParamCases(t *testing.T, cases []paramCase) {
	s := newSearchServer(t)
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			s.wantMatches(t, c.query, c.want(t, s.d))
		})
	}
}

// The matchers the cases share.

func names(param string, match func([]string, string) bool, v string) func(testing.TB, *dataset) []string {
	return func(_ testing.TB, d *dataset) []string {
		return d.where("Patient", func(r *res) bool {
			switch param {
			case "name":
				return match(r.nameParts("name"), v)
			case "family", "given":
				return match(r.strs("name."+param), v)
			case "address-city":
				return match(r.strs("address.city"), v)
			}
			return false
		})
	}
}

func exact(values []string, v string) bool { return slices.Contains(values, v) }

func explicit(keys ...string) func(testing.TB, *dataset) []string {
	return func(testing.TB, *dataset) []string { return keys }
}

// TestSearchString covers string parameters: the default prefix match with
// Japanese and Latin folding, :exact, :contains, :missing, and values
// joined by commas (or) and repeated parameters (and).
func TestSearchString(t *testing.T) {
	cases := []paramCase{
		// The kana patient is found however the kana are written.
		{"Patient?name=やまだ", names("name", startsWith, "やまだ")},
		{"Patient?name=ヤマダ", names("name", startsWith, "ヤマダ")},
		{"Patient?name=ﾔﾏﾀﾞ", names("name", startsWith, "ﾔﾏﾀﾞ")},
		{"Patient?family=やまだ", names("family", startsWith, "やまだ")},
		{"Patient?name=やまもと", names("name", startsWith, "やまもと")}, // stored in half-width kana
		{"Patient?name=たろう", names("name", startsWith, "たろう")},
		{"Patient?family=山田", names("family", startsWith, "山田")},
		{"Patient?family=山", names("family", startsWith, "山")},
		{"Patient?name=山", names("name", startsWith, "山")},
		{"Patient?name=山田 花子", names("name", startsWith, "山田 花子")},
		{"Patient?name=山田　花子", names("name", startsWith, "山田　花子")}, // ideographic space
		{"Patient?given=jose", names("given", startsWith, "jose")},
		{"Patient?given=JOSÉ", names("given", startsWith, "JOSÉ")},
		{"Patient?given=maria", names("given", startsWith, "maria")},
		{"Patient?family=SMI", names("family", startsWith, "SMI")},
		{"Patient?family=mith", names("family", startsWith, "mith")},
		{"Patient?address-city=横浜", names("address-city", startsWith, "横浜")},
		{"Patient?address-city=SAPPORO", names("address-city", startsWith, "SAPPORO")},

		{"Patient?family:exact=山田", names("family", exact, "山田")},
		{"Patient?family:exact=ヤマダ", names("family", exact, "ヤマダ")},
		{"Patient?family:exact=やまだ", names("family", exact, "やまだ")},
		{"Patient?family:exact=ﾔﾏﾓﾄ", names("family", exact, "ﾔﾏﾓﾄ")},
		{"Patient?family:exact=ヤマモト", names("family", exact, "ヤマモト")},
		{"Patient?given:exact=José", names("given", exact, "José")},
		{"Patient?given:exact=jose", names("given", exact, "jose")},
		{"Patient?family:exact=Smit", names("family", exact, "Smit")},

		{"Patient?family:contains=山", names("family", containsText, "山")},
		{"Patient?name:contains=ろう", names("name", containsText, "ろう")},
		{"Patient?name:contains=一郎", names("name", containsText, "一郎")},
		{"Patient?family:contains=MIT", names("family", containsText, "MIT")},
		{"Patient?family:contains=100%", names("family", containsText, "100%")}, // % is no wildcard
		{"Patient?family:contains=_", names("family", containsText, "_")},

		{"Patient?family:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool { return !r.has("name.family") })
		}},
		{"Patient?family:missing=false", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool { return r.has("name.family") })
		}},
		{"Patient?name:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool { return !r.has("name") })
		}},

		{"Patient?family=山田,鈴木", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool {
				return startsWith(r.strs("name.family"), "山田") || startsWith(r.strs("name.family"), "鈴木")
			})
		}},
		{"Patient?family=山&given=一郎", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool {
				return startsWith(r.strs("name.family"), "山") && startsWith(r.strs("name.given"), "一郎")
			})
		}},

		{"Practitioner?name=さとう", explicit()}, // kanji are not read as kana
		{"Practitioner?name=佐藤", explicit("Practitioner/prac-sato")},
		{"Organization?name=とうきょう", func(_ testing.TB, d *dataset) []string {
			return d.where("Organization", func(r *res) bool { return startsWith(r.strs("name", "alias"), "とうきょう") })
		}},
		{"Location?name=内科", func(_ testing.TB, d *dataset) []string {
			return d.where("Location", func(r *res) bool { return startsWith(r.strs("name", "alias"), "内科") })
		}},
		{"Observation?value-string=空腹", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool { return startsWith(r.strs("valueString", "valueCodeableConcept.text"), "空腹") })
		}},
	}
	runParamCases(t, cases)
}

// TestSearchJapaneseNames states the Japanese name searches with explicit
// answers, read off the dataset, and checks the model against them too.
func TestSearchJapaneseNames(t *testing.T) {
	s := newSearchServer(t)
	for _, c := range []struct {
		query string
		model func(testing.TB, *dataset) []string
		want  []string
	}{
		{"Patient?name=やまだ", names("name", startsWith, "やまだ"), []string{"Patient/pat-kana"}},
		{"Patient?name=ヤマダ", names("name", startsWith, "ヤマダ"), []string{"Patient/pat-kana"}},
		{"Patient?name=ﾔﾏﾀﾞ", names("name", startsWith, "ﾔﾏﾀﾞ"), []string{"Patient/pat-kana"}},
		{"Patient?name=山田", names("name", startsWith, "山田"), []string{"Patient/pat-kanji"}},
		{"Patient?name=山", names("name", startsWith, "山"), []string{"Patient/pat-kanji", "Patient/pat-yamamoto"}},
		{"Patient?name=ヤマモト", names("name", startsWith, "ヤマモト"), []string{"Patient/pat-halfwidth"}},
		{"Patient?name=やま", names("name", startsWith, "やま"), []string{"Patient/pat-kana", "Patient/pat-halfwidth"}},
		{"Patient?family:contains=山", names("family", containsText, "山"), []string{"Patient/pat-kanji", "Patient/pat-yamamoto", "Patient/pat-nakayama"}},
	} {
		t.Run(c.query, func(t *testing.T) {
			if diff := sameSet(c.model(t, s.d), c.want); diff != "" {
				t.Errorf("the model disagrees with the dataset: %s", diff)
			}
			s.wantMatches(t, c.query, c.want)
		})
	}
}

func tokens(typ string, get func(r *res) []coding, crit string) func(testing.TB, *dataset) []string {
	return func(_ testing.TB, d *dataset) []string {
		return d.where(typ, func(r *res) bool { return tokenMatch(get(r), crit) })
	}
}

func notTokens(typ string, get func(r *res) []coding, crit string) func(testing.TB, *dataset) []string {
	return func(_ testing.TB, d *dataset) []string {
		return d.where(typ, func(r *res) bool { return !tokenMatch(get(r), crit) })
	}
}

// codes reads plain codes (code, string, boolean) at path as codings.
func codes(path string) func(r *res) []coding {
	return func(r *res) []coding {
		var out []coding
		for _, v := range vals(r.json, path) {
			switch v := v.(type) {
			case string:
				out = append(out, coding{code: v})
			case bool:
				c := "false"
				if v {
					c = "true"
				}
				out = append(out, coding{code: c})
			}
		}
		return out
	}
}

func concept(path string) func(r *res) []coding {
	return func(r *res) []coding { return r.codings(path) }
}

func idents(path string) func(r *res) []coding {
	return func(r *res) []coding { return r.identifiers(path) }
}

// metaCodings reads meta.tag or meta.security, which are Codings.
func metaCodings(path string) func(r *res) []coding {
	return func(r *res) []coding {
		var out []coding
		for _, v := range vals(r.json, path) {
			m := v.(map[string]any)
			s, _ := m["system"].(string)
			c, _ := m["code"].(string)
			out = append(out, coding{system: s, code: c})
		}
		return out
	}
}

// conceptText is what :text matches: the text of the CodeableConcepts at
// path and the display of their codings.
func conceptText(path, v string) func(testing.TB, *dataset) []string {
	return func(_ testing.TB, d *dataset) []string {
		return d.where("Observation", func(r *res) bool {
			return startsWith(r.strs(path+".text", path+".coding.display"), v)
		})
	}
}

// inValueSet is :in for the codes the dataset's ValueSets list.
func inValueSet(d *dataset, vsURL string, cs []coding) bool {
	for _, r := range d.list {
		if r.typ != "ValueSet" || !slices.Contains(r.strs("url"), vsURL) {
			continue
		}
		var members []coding
		for _, inc := range vals(r.json, "compose.include") {
			system, _ := inc.(map[string]any)["system"].(string)
			for _, c := range vals(inc, "concept") {
				members = append(members, coding{system: system, code: c.(map[string]any)["code"].(string)})
			}
		}
		for _, c := range vals(r.json, "expansion.contains") {
			m := c.(map[string]any)
			members = append(members, coding{system: m["system"].(string), code: m["code"].(string)})
		}
		for _, c := range cs {
			for _, m := range members {
				if c.system == m.system && c.code == m.code {
					return true
				}
			}
		}
	}
	return false
}

// ofType is identifier:of-type=type-system|type-code|value.
func ofType(typeSystem, typeCode, value string) func(testing.TB, *dataset) []string {
	return func(_ testing.TB, d *dataset) []string {
		return d.where("Patient", func(r *res) bool {
			for _, id := range vals(r.json, "identifier") {
				if id.(map[string]any)["value"] != value {
					continue
				}
				for _, c := range vals(id, "type.coding") {
					m := c.(map[string]any)
					if m["system"] == typeSystem && m["code"] == typeCode {
						return true
					}
				}
			}
			return false
		})
	}
}

const (
	mrn       = "urn:oid:1.2.392.100495.20.3.51.11311234567"
	loinc     = "http://loinc.org"
	jlac10    = "urn:oid:1.2.392.200119.4.504"
	v20203    = "http://terminology.hl7.org/CodeSystem/v2-0203"
	tagSystem = "http://kartehub.example/tags"
	vsGlucose = "http://kartehub.example/fhir/ValueSet/glucose"
	vsBP      = "http://kartehub.example/fhir/ValueSet/vital/bp"
)

// TestSearchToken covers token parameters: system|code in its four forms,
// codes, booleans, identifiers, ContactPoints, meta tags and security
// labels, and the modifiers :not, :text, :in, :not-in, :of-type, :missing.
func TestSearchToken(t *testing.T) {
	cases := []paramCase{
		{"Patient?gender=female", tokens("Patient", codes("gender"), "female")},
		{"Patient?gender=male,female", func(t testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool { return r.has("gender") })
		}},
		{"Patient?gender:not=male", notTokens("Patient", codes("gender"), "male")},
		{"Patient?gender:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool { return !r.has("gender") })
		}},
		{"Patient?gender:missing=false", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool { return r.has("gender") })
		}},
		{"Patient?gender=FEMALE", tokens("Patient", codes("gender"), "FEMALE")}, // codes are case-sensitive
		{"Patient?active=true", tokens("Patient", codes("active"), "true")},
		{"Patient?active=false", tokens("Patient", codes("active"), "false")},
		{"Patient?active:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool { return !r.has("active") })
		}},
		{"Patient?_id=pat-kanji,pat-kana", explicit("Patient/pat-kanji", "Patient/pat-kana")},
		{"Patient?_id=nothing", explicit()},

		{"Patient?identifier=" + mrn + "|00000001", tokens("Patient", idents("identifier"), mrn+"|00000001")},
		{"Patient?identifier=00000002", tokens("Patient", idents("identifier"), "00000002")},
		{"Patient?identifier=" + mrn + "|", tokens("Patient", idents("identifier"), mrn+"|")},
		{"Patient?identifier=|TMP-1", tokens("Patient", idents("identifier"), "|TMP-1")},
		{"Patient?identifier=|00000001", tokens("Patient", idents("identifier"), "|00000001")},
		{"Patient?identifier=http://kartehub.example/passport|TK1234567", tokens("Patient", idents("identifier"), "http://kartehub.example/passport|TK1234567")},
		{"Patient?identifier:of-type=" + v20203 + "|MR|00000001", ofType(v20203, "MR", "00000001")},
		{"Patient?identifier:of-type=" + v20203 + "|MB|06050116", ofType(v20203, "MB", "06050116")},
		{"Patient?identifier:of-type=" + v20203 + "|MR|00000004", ofType(v20203, "MR", "00000004")}, // no type
		{"Patient?identifier:of-type=" + v20203 + "|PPN|TK1234567", ofType(v20203, "PPN", "TK1234567")},
		{"Patient?telecom=090-1234-5678", tokens("Patient", codes("telecom.value"), "090-1234-5678")},

		{"Patient?_tag=" + tagSystem + "|study-a", tokens("Patient", metaCodings("meta.tag"), tagSystem+"|study-a")},
		{"Patient?_tag=study-b", tokens("Patient", metaCodings("meta.tag"), "study-b")},
		{"Patient?_tag:not=" + tagSystem + "|study-a", notTokens("Patient", metaCodings("meta.tag"), tagSystem+"|study-a")},
		{"Patient?_tag:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool { return !r.has("meta.tag") })
		}},
		{"Patient?_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R",
			tokens("Patient", metaCodings("meta.security"), "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R")},
		{"Observation?_tag=" + tagSystem + "|study-a", tokens("Observation", metaCodings("meta.tag"), tagSystem+"|study-a")},

		{"Observation?code=" + loinc + "|2345-7", tokens("Observation", concept("code"), loinc+"|2345-7")},
		{"Observation?code=3D010000001926101", tokens("Observation", concept("code"), "3D010000001926101")},
		{"Observation?code=" + jlac10 + "|", tokens("Observation", concept("code"), jlac10+"|")},
		{"Observation?code=|2345-7", tokens("Observation", concept("code"), "|2345-7")},
		{"Observation?code=" + jlac10 + "|2345-7", tokens("Observation", concept("code"), jlac10+"|2345-7")},
		{"Observation?code=" + loinc + "|2345-7," + loinc + "|4548-4", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool {
				return tokenMatch(r.codings("code"), loinc+"|2345-7") || tokenMatch(r.codings("code"), loinc+"|4548-4")
			})
		}},
		{"Observation?code:not=" + loinc + "|2345-7", notTokens("Observation", concept("code"), loinc+"|2345-7")},
		{"Observation?category=laboratory", tokens("Observation", concept("category"), "laboratory")},
		{"Observation?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs",
			tokens("Observation", concept("category"), "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs")},
		{"Observation?status=final", tokens("Observation", codes("status"), "final")},
		{"Observation?status:not=final", notTokens("Observation", codes("status"), "final")},
		{"Observation?status=final&category=vital-signs", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool {
				return tokenMatch(codes("status")(r), "final") && tokenMatch(r.codings("category"), "vital-signs")
			})
		}},
		{"Observation?value-concept=http://snomed.info/sct|266919005", tokens("Observation", concept("valueCodeableConcept"), "http://snomed.info/sct|266919005")},
		{"Observation?component-code=8462-4", tokens("Observation", concept("component.code"), "8462-4")},
		{"Observation?combo-code=" + loinc + "|8480-6", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool {
				return tokenMatch(append(r.codings("code"), r.codings("component.code")...), loinc+"|8480-6")
			})
		}},

		{"Observation?code:text=ぐるこーす", conceptText("code", "ぐるこーす")},
		{"Observation?code:text=glucose", conceptText("code", "glucose")},
		{"Observation?code:text=問診", conceptText("code", "問診")},

		{"Observation?code:in=" + vsGlucose, func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool { return inValueSet(d, vsGlucose, r.codings("code")) })
		}},
		{"Observation?code:in=" + vsBP, func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool { return inValueSet(d, vsBP, r.codings("code")) })
		}},
		{"Observation?code:not-in=" + vsGlucose, func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool { return !inValueSet(d, vsGlucose, r.codings("code")) })
		}},

		{"Condition?code=http://hl7.org/fhir/sid/icd-10|E11.9", tokens("Condition", concept("code"), "http://hl7.org/fhir/sid/icd-10|E11.9")},
		{"Condition?clinical-status=active", tokens("Condition", concept("clinicalStatus"), "active")},
		{"Encounter?class=IMP", func(_ testing.TB, d *dataset) []string {
			return d.where("Encounter", func(r *res) bool { return slices.Contains(r.strs("class.code"), "IMP") })
		}},
		{"MedicationRequest?code=urn:oid:1.2.392.100495.20.2.74|2171022F1093",
			tokens("MedicationRequest", concept("medicationCodeableConcept"), "urn:oid:1.2.392.100495.20.2.74|2171022F1093")},
		{"Medication?code=3962002F1030", tokens("Medication", concept("code"), "3962002F1030")},
	}
	runParamCases(t, cases)
}

// TestSearchTokenText covers :text on the text of a CodeableConcept whose
// codings have displays: FHIR matches "the text of the CodeableConcept or
// the display of Coding", both.
func TestSearchTokenText(t *testing.T) {
	runParamCases(t, []paramCase{
		{"Observation?code:text=空腹", conceptText("code", "空腹")},
		{"Observation?code:text=血圧", conceptText("code", "血圧")},
		{"Observation?code:text=血", conceptText("code", "血")},
	})
}

func refs(typ, path string, match func(ref string) bool) func(testing.TB, *dataset) []string {
	return func(_ testing.TB, d *dataset) []string {
		return d.where(typ, func(r *res) bool { return slices.ContainsFunc(r.refs(path), match) })
	}
}

func is(keys ...string) func(string) bool {
	return func(ref string) bool { return slices.Contains(keys, ref) }
}

// TestSearchReference covers reference parameters: Type/id, a bare id,
// type modifiers, absolute URLs of this server, :identifier, :missing, and
// the parameters defined with resolve() is Patient.
func TestSearchReference(t *testing.T) {
	s := newSearchServer(t)
	cases := []paramCase{
		{"Observation?subject=Patient/pat-kanji", refs("Observation", "subject", is("Patient/pat-kanji"))},
		{"Observation?subject=pat-kanji", refs("Observation", "subject", is("Patient/pat-kanji"))},
		{"Observation?subject:Patient=pat-kana", refs("Observation", "subject", is("Patient/pat-kana"))},
		{"Observation?subject:Group=pat-kana", explicit()},
		{"Observation?subject=" + s.url + "/fhir/Patient/pat-kanji", refs("Observation", "subject", is("Patient/pat-kanji"))},
		{"Observation?subject=Patient/pat-kanji/_history/1", refs("Observation", "subject", is("Patient/pat-kanji"))},
		{"Observation?subject=Patient/pat-kanji,Patient/pat-kana", refs("Observation", "subject", is("Patient/pat-kanji", "Patient/pat-kana"))},
		{"Observation?patient=pat-kana", refs("Observation", "subject", is("Patient/pat-kana"))},
		{"Observation?patient=Patient/pat-latin", refs("Observation", "subject", is("Patient/pat-latin"))},
		{"Observation?subject:identifier=" + mrn + "|00000001", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool { return tokenMatch(r.identifiers("subject.identifier"), mrn+"|00000001") })
		}},
		{"Observation?encounter:missing=false", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool { return r.has("encounter") })
		}},
		{"Observation?encounter=enc-1", refs("Observation", "encounter", is("Encounter/enc-1"))},
		{"Observation?encounter:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool { return !r.has("encounter") })
		}},
		{"Observation?performer=Practitioner/prac-sato", refs("Observation", "performer", is("Practitioner/prac-sato"))},
		{"Encounter?location=Location/loc-naika", refs("Encounter", "location.location", is("Location/loc-naika"))},
		{"Encounter?location=loc-ward3", refs("Encounter", "location.location", is("Location/loc-ward3"))},
		{"MedicationRequest?medication=Medication/med-metformin", refs("MedicationRequest", "medicationReference", is("Medication/med-metformin"))},
		{"MedicationRequest?medication:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("MedicationRequest", func(r *res) bool { return !r.has("medicationReference") })
		}},
		{"MedicationRequest?requester=Practitioner/prac-sato", refs("MedicationRequest", "requester", is("Practitioner/prac-sato"))},
		{"Patient?organization=Organization/org-tokyo", refs("Patient", "managingOrganization", is("Organization/org-tokyo"))},
		{"Patient?organization:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool { return !r.has("managingOrganization") })
		}},
		{"Patient?general-practitioner:Practitioner=prac-sato", refs("Patient", "generalPractitioner", is("Practitioner/prac-sato"))},
		{"Provenance?target=Observation/obs-glu1", refs("Provenance", "target", is("Observation/obs-glu1"))},
		{"Provenance?agent=Organization/org-sakura", refs("Provenance", "agent.who", is("Organization/org-sakura"))},
		{"Provenance?patient=pat-kana", refs("Provenance", "target", is("Patient/pat-kana"))},
		{"List?item=Patient/pat-kanji", refs("List", "entry.item", is("Patient/pat-kanji"))},
		{"Condition?encounter=Encounter/enc-1", refs("Condition", "encounter", is("Encounter/enc-1"))},
		{"Condition?subject=Patient/pat-kanji&code=E11.9", func(_ testing.TB, d *dataset) []string {
			return d.where("Condition", func(r *res) bool {
				return r.refersTo("subject", "Patient/pat-kanji") && tokenMatch(r.codings("code"), "E11.9")
			})
		}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) { s.wantMatches(t, c.query, c.want(t, s.d)) })
	}
}

// TestSearchReferenceMissing covers :missing on a reference that has only
// an identifier (a logical reference): the element is there, so
// subject:missing=true must not find obs-ext, and subject:missing=false
// must.
func TestSearchReferenceMissing(t *testing.T) {
	runParamCases(t, []paramCase{
		{"Observation?subject:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool { return !r.has("subject") })
		}},
		{"Observation?subject:missing=false", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool { return r.has("subject") })
		}},
	})
}

// targets resolves the references at path to the dataset's resources.
func (d *dataset) targets(r *res, path string) []*res {
	var out []*res
	for _, ref := range r.refs(path) {
		if t := d.byKey[ref]; t != nil {
			out = append(out, t)
		}
	}
	return out
}

// chained returns the resources of typ whose reference at path leads to a
// resource for which match holds.
func chained(typ, path string, match func(d *dataset, t *res) bool) func(testing.TB, *dataset) []string {
	return func(_ testing.TB, d *dataset) []string {
		return d.where(typ, func(r *res) bool {
			return slices.ContainsFunc(d.targets(r, path), func(t *res) bool { return match(d, t) })
		})
	}
}

// hasRef returns the resources that a resource of typ refers to at path,
// among those of typ for which match holds: the model of _has.
func (d *dataset) hasRef(typ, path string, match func(r *res) bool) map[string]bool {
	out := map[string]bool{}
	for _, r := range d.list {
		if r.typ == typ && match(r) {
			for _, ref := range r.refs(path) {
				out[ref] = true
			}
		}
	}
	return out
}

// TestSearchChain covers chained parameters of one and two levels, with
// and without a type modifier.
func TestSearchChain(t *testing.T) {
	cases := []paramCase{
		{"Observation?subject:Patient.name=やまだ", chained("Observation", "subject", func(_ *dataset, p *res) bool {
			return p.typ == "Patient" && startsWith(p.nameParts("name"), "やまだ")
		})},
		{"Observation?subject:Patient.name=やまだ,山本", chained("Observation", "subject", func(_ *dataset, p *res) bool {
			return p.typ == "Patient" && (startsWith(p.nameParts("name"), "やまだ") || startsWith(p.nameParts("name"), "山本"))
		})},
		{"Observation?subject.family=山", chained("Observation", "subject", func(_ *dataset, p *res) bool {
			return p.typ == "Patient" && startsWith(p.strs("name.family"), "山")
		})},
		{"Observation?patient.birthdate=1970", chained("Observation", "subject", func(_ *dataset, p *res) bool {
			return p.typ == "Patient" && p.anyDate(t, "1970", "birthDate")
		})},
		{"Observation?subject:Patient.identifier=" + mrn + "|00000001", chained("Observation", "subject", func(_ *dataset, p *res) bool {
			return p.typ == "Patient" && tokenMatch(p.identifiers("identifier"), mrn+"|00000001")
		})},
		{"Observation?encounter.class=IMP", chained("Observation", "encounter", func(_ *dataset, e *res) bool {
			return slices.Contains(e.strs("class.code"), "IMP")
		})},
		{"MedicationRequest?medication.code=3962002F1030", chained("MedicationRequest", "medicationReference", func(_ *dataset, m *res) bool {
			return tokenMatch(m.codings("code"), "3962002F1030")
		})},
		// Two levels.
		{"Observation?subject:Patient.organization.name=東京中央", chained("Observation", "subject", func(d *dataset, p *res) bool {
			return p.typ == "Patient" && slices.ContainsFunc(d.targets(p, "managingOrganization"), func(o *res) bool {
				return startsWith(o.strs("name", "alias"), "東京中央")
			})
		})},
		{"MedicationRequest?encounter.location.name=第3", chained("MedicationRequest", "encounter", func(d *dataset, e *res) bool {
			return slices.ContainsFunc(d.targets(e, "location.location"), func(l *res) bool { return startsWith(l.strs("name", "alias"), "第3") })
		})},
		{"Encounter?location.organization.name=さくら", chained("Encounter", "location.location", func(d *dataset, l *res) bool {
			return slices.ContainsFunc(d.targets(l, "managingOrganization"), func(o *res) bool { return startsWith(o.strs("name", "alias"), "さくら") })
		})},
		{"Observation?encounter.subject:Patient.gender=female", chained("Observation", "encounter", func(d *dataset, e *res) bool {
			return slices.ContainsFunc(d.targets(e, "subject"), func(p *res) bool { return p.typ == "Patient" && slices.Contains(p.strs("gender"), "female") })
		})},
		{"Observation?subject:Patient.name=山&code=85354-9", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool {
				return tokenMatch(r.codings("code"), "85354-9") && slices.ContainsFunc(d.targets(r, "subject"), func(p *res) bool {
					return startsWith(p.nameParts("name"), "山")
				})
			})
		}},
	}
	runParamCases(t, cases)
}

// TestSearchHas covers _has, alone, with other parameters and nested.
func TestSearchHas(t *testing.T) {
	patientsWith := func(typ, path string, match func(d *dataset, r *res) bool) func(testing.TB, *dataset) []string {
		return func(_ testing.TB, d *dataset) []string {
			set := d.hasRef(typ, path, func(r *res) bool { return match(d, r) })
			return d.where("Patient", func(p *res) bool { return set[p.key()] })
		}
	}
	cases := []paramCase{
		{"Patient?_has:Observation:patient:code=" + loinc + "|85354-9", patientsWith("Observation", "subject", func(_ *dataset, o *res) bool {
			return tokenMatch(o.codings("code"), loinc+"|85354-9")
		})},
		{"Patient?_has:Observation:subject:code=2345-7", patientsWith("Observation", "subject", func(_ *dataset, o *res) bool {
			return tokenMatch(o.codings("code"), "2345-7")
		})},
		{"Patient?_has:Observation:subject:code=3D010000001926101", patientsWith("Observation", "subject", func(_ *dataset, o *res) bool {
			return tokenMatch(o.codings("code"), "3D010000001926101")
		})},
		{"Patient?_has:Observation:subject:value-quantity=gt100|http://unitsofmeasure.org|mg/dL", patientsWith("Observation", "subject", func(_ *dataset, o *res) bool {
			return o.anyQuantity(t, "gt100|http://unitsofmeasure.org|mg/dL", "valueQuantity")
		})},
		{"Patient?_has:Provenance:target:agent=Organization/org-sakura", patientsWith("Provenance", "target", func(_ *dataset, p *res) bool {
			return p.refersTo("agent.who", "Organization/org-sakura")
		})},
		{"Patient?gender=female&_has:Observation:subject:code=2345-7", func(_ testing.TB, d *dataset) []string {
			set := d.hasRef("Observation", "subject", func(o *res) bool { return tokenMatch(o.codings("code"), "2345-7") })
			return d.where("Patient", func(p *res) bool { return set[p.key()] && slices.Contains(p.strs("gender"), "female") })
		}},
		{"Practitioner?_has:Observation:performer:status=final", func(_ testing.TB, d *dataset) []string {
			set := d.hasRef("Observation", "performer", func(o *res) bool { return slices.Contains(o.strs("status"), "final") })
			return d.where("Practitioner", func(p *res) bool { return set[p.key()] })
		}},
		{"Encounter?_has:Observation:encounter:code=85354-9", func(_ testing.TB, d *dataset) []string {
			set := d.hasRef("Observation", "encounter", func(o *res) bool { return tokenMatch(o.codings("code"), "85354-9") })
			return d.where("Encounter", func(e *res) bool { return set[e.key()] })
		}},
		// Nested: patients with an encounter that has a glucose result
		// in JLAC10, or one with a metformin prescription.
		{"Patient?_has:Encounter:subject:_has:Observation:encounter:code=3D010000001926101", patientsWith("Encounter", "subject", func(d *dataset, e *res) bool {
			return d.hasRef("Observation", "encounter", func(o *res) bool { return tokenMatch(o.codings("code"), "3D010000001926101") })[e.key()]
		})},
		{"Patient?_has:Encounter:patient:_has:MedicationRequest:encounter:medication=Medication/med-metformin", patientsWith("Encounter", "subject", func(d *dataset, e *res) bool {
			return d.hasRef("MedicationRequest", "encounter", func(m *res) bool { return m.refersTo("medicationReference", "Medication/med-metformin") })[e.key()]
		})},
		// _has with a chain inside.
		{"Patient?_has:Observation:subject:encounter.class=IMP", patientsWith("Observation", "subject", func(d *dataset, o *res) bool {
			return slices.ContainsFunc(d.targets(o, "encounter"), func(e *res) bool { return slices.Contains(e.strs("class.code"), "IMP") })
		})},
		// _list is a _has on List.item.
		{"Patient?_list=list-dm", func(_ testing.TB, d *dataset) []string {
			set := d.hasRef("List", "entry.item", func(l *res) bool { return l.id == "list-dm" })
			return d.where("Patient", func(p *res) bool { return set[p.key()] })
		}},
		{"Observation?_list=list-dm", func(_ testing.TB, d *dataset) []string {
			set := d.hasRef("List", "entry.item", func(l *res) bool { return l.id == "list-dm" })
			return d.where("Observation", func(o *res) bool { return set[o.key()] })
		}},
	}
	runParamCases(t, cases)
}

func dates(typ, crit string, paths ...string) func(testing.TB, *dataset) []string {
	return func(t testing.TB, d *dataset) []string {
		return d.where(typ, func(r *res) bool { return r.anyDate(t, crit, paths...) })
	}
}

// TestSearchDate covers date parameters on dates of year, month and day
// precision, dateTimes with time zones, and Periods (closed and open),
// with every prefix.
func TestSearchDate(t *testing.T) {
	var cases []paramCase
	for _, crit := range []string{"1970", "1970-05", "1970-05-03", "1970-05-03T00:00:00Z"} {
		cases = append(cases, paramCase{"Patient?birthdate=" + crit, dates("Patient", crit, "birthDate")})
	}
	for _, p := range []string{"eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap"} {
		cases = append(cases, paramCase{"Patient?birthdate=" + p + "1970-05", dates("Patient", p+"1970-05", "birthDate")})
	}
	cases = append(cases,
		paramCase{"Patient?birthdate=ap1970-05-03", dates("Patient", "ap1970-05-03", "birthDate")},
		paramCase{"Patient?birthdate=ge1970&birthdate=lt1971", func(t testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool {
				return r.anyDate(t, "ge1970", "birthDate") && r.anyDate(t, "lt1971", "birthDate")
			})
		}},
		paramCase{"Patient?birthdate=1968,2001", func(t testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool {
				return r.anyDate(t, "1968", "birthDate") || r.anyDate(t, "2001", "birthDate")
			})
		}},
		paramCase{"Patient?birthdate:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool { return !r.has("birthDate") })
		}},
	)
	obs := []string{"effectiveDateTime", "effectivePeriod"}
	for _, crit := range []string{
		"2024-04-01", "2024-04", "2024", "2024-06-01", "eq2024-06-01", "2024-06",
		"ge2024-06-01", "gt2024-05-11", "lt2024-04", "le2024-05-11", "sa2024-05", "eb2024-04", "ne2024-04", "ap2024-05-11",
		"ge2024-04-01T09:35:00+09:00", "lt2024-04-01T00:35:00Z", "2024-04-01T09:30:00+09:00",
	} {
		cases = append(cases, paramCase{"Observation?date=" + crit, dates("Observation", crit, obs...)})
	}
	cases = append(cases, paramCase{"Observation?date=ge2024-04&date=lt2024-05", func(t testing.TB, d *dataset) []string {
		return d.where("Observation", func(r *res) bool {
			return r.anyDate(t, "ge2024-04", obs...) && r.anyDate(t, "lt2024-05", obs...)
		})
	}})
	for _, crit := range []string{"2024-04-01", "2024-05", "2024-05-15", "ge2024-07", "gt2024-05", "lt2024-01", "sa2024-05-20", "eb2024-05-10", "ne2024-05"} {
		cases = append(cases, paramCase{"Encounter?date=" + crit, dates("Encounter", crit, "period")})
	}
	for _, crit := range []string{"2015", "ge2020", "lt2016", "2020-03"} {
		cases = append(cases, paramCase{"Condition?onset-date=" + crit, dates("Condition", crit, "onsetDateTime", "onsetPeriod")})
	}
	cases = append(cases,
		paramCase{"MedicationRequest?authoredon=2024-04", dates("MedicationRequest", "2024-04", "authoredOn")},
		paramCase{"Provenance?recorded=2024-04-01", dates("Provenance", "2024-04-01", "recorded")},
	)
	runParamCases(t, cases)
}

// TestSearchDatePeriodPrefixes covers ge and le on a Period that overlaps
// the criterion only in part. R4 §3.1.1.4.2 defines ge as "the range above
// the search value intersects the range of the target value, or the range
// of the search value fully contains the range of the target value": an
// encounter of 10-20 May is not ge 2024-05-20 (it neither ends after 20 May
// nor lies within it), and not le 2024-05-10.
func TestSearchDatePeriodPrefixes(t *testing.T) {
	runParamCases(t, []paramCase{
		{"Encounter?date=ge2024-05-20", dates("Encounter", "ge2024-05-20", "period")},
		{"Encounter?date=le2024-05-10", dates("Encounter", "le2024-05-10", "period")},
	})
}

// TestSearchNumber covers number parameters with every prefix, the range
// of a value's precision, several values on one resource and :missing.
func TestSearchNumber(t *testing.T) {
	var cases []paramCase
	for _, crit := range []string{
		"0.25", "0.250", "0.12", "0.1", "eq0.7", "ne0.25", "gt0.5", "lt0.1", "ge0.25", "le0.25", "sa0.25", "eb0.25", "ap0.25", "ap0.13", "gt0.1",
	} {
		cases = append(cases, paramCase{"RiskAssessment?probability=" + crit, func(t testing.TB, d *dataset) []string {
			return d.where("RiskAssessment", func(r *res) bool {
				return slices.ContainsFunc(r.numbers(t, "prediction.probabilityDecimal"), func(v float64) bool { return numberMatch(t, v, crit) })
			})
		}})
	}
	cases = append(cases, paramCase{"RiskAssessment?probability:missing=true", func(_ testing.TB, d *dataset) []string {
		return d.where("RiskAssessment", func(r *res) bool { return !r.has("prediction.probabilityDecimal") })
	}})
	runParamCases(t, cases)
}

// TestSearchQuantity covers quantity parameters: every prefix, criteria
// with system and code, code only and no unit, and UCUM conversion between
// mg/dL and g/L, kg and g, minutes, hours and days.
func TestSearchQuantity(t *testing.T) {
	var cases []paramCase
	for _, crit := range []string{
		"98|http://unitsofmeasure.org|mg/dL", "0.98|http://unitsofmeasure.org|g/L", "110||mg/dL", "1.1||g/L",
		"gt100|http://unitsofmeasure.org|mg/dL", "lt0.9|http://unitsofmeasure.org|g/L", "ge100||mg/dL", "le98|http://unitsofmeasure.org|mg/dL",
		"ne100|http://unitsofmeasure.org|mg/dL", "sa1|http://unitsofmeasure.org|g/L", "eb98|http://unitsofmeasure.org|mg/dL", "ap105|http://unitsofmeasure.org|mg/dL",
		"6.5", "6.5||%", "6.5|http://unitsofmeasure.org|%", "6.5|http://example.org/units|%",
		"65|http://unitsofmeasure.org|kg", "70.5||kg", "gt66000|http://unitsofmeasure.org|g", "70500", "le65",
	} {
		cases = append(cases, paramCase{"Observation?value-quantity=" + crit, func(t testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool { return r.anyQuantity(t, crit, "valueQuantity") })
		}})
	}
	for _, crit := range []string{"1|http://unitsofmeasure.org|h", "60|http://unitsofmeasure.org|min", "gt2|http://unitsofmeasure.org|d", "lt2||h"} {
		cases = append(cases, paramCase{"Encounter?length=" + crit, func(t testing.TB, d *dataset) []string {
			return d.where("Encounter", func(r *res) bool { return r.anyQuantity(t, crit, "length") })
		}})
	}
	cases = append(cases, paramCase{"Observation?value-quantity:missing=true", func(_ testing.TB, d *dataset) []string {
		return d.where("Observation", func(r *res) bool { return !r.has("valueQuantity") })
	}})
	runParamCases(t, cases)
}

// uriBelow and uriAbove compare URIs by their path segments.
func uriBelow(stored, crit string) bool {
	return stored == crit || strings.HasPrefix(stored, strings.TrimSuffix(crit, "/")+"/")
}

func uriAbove(stored, crit string) bool { return uriBelow(crit, stored) }

// TestSearchURI covers uri parameters: equality, :below, :above, and the
// canonical meta.profile through _profile.
func TestSearchURI(t *testing.T) {
	vs := func(match func(string) bool) func(testing.TB, *dataset) []string {
		return func(_ testing.TB, d *dataset) []string {
			return d.where("ValueSet", func(r *res) bool { return slices.ContainsFunc(r.strs("url"), match) })
		}
	}
	const base = "http://kartehub.example/fhir/ValueSet"
	cases := []paramCase{
		{"ValueSet?url=" + vsGlucose, vs(func(u string) bool { return u == vsGlucose })},
		{"ValueSet?url=" + base, vs(func(u string) bool { return u == base })},
		{"ValueSet?url:below=" + base, vs(func(u string) bool { return uriBelow(u, base) })},
		{"ValueSet?url:below=" + base + "/vital", vs(func(u string) bool { return uriBelow(u, base+"/vital") })},
		{"ValueSet?url:above=" + vsBP + "/v2", vs(func(u string) bool { return uriAbove(u, vsBP+"/v2") })},
		{"ValueSet?url:above=" + vsGlucose, vs(func(u string) bool { return uriAbove(u, vsGlucose) })},
		{"ValueSet?url:missing=true", func(_ testing.TB, d *dataset) []string {
			return d.where("ValueSet", func(r *res) bool { return !r.has("url") })
		}},
		{"Patient?_profile=http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient", func(_ testing.TB, d *dataset) []string {
			return d.where("Patient", func(r *res) bool {
				return slices.Contains(r.strs("meta.profile"), "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient")
			})
		}},
		{"Observation?_profile:below=http://jpfhir.jp/fhir/core/StructureDefinition", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool {
				return slices.ContainsFunc(r.strs("meta.profile"), func(u string) bool {
					return uriBelow(u, "http://jpfhir.jp/fhir/core/StructureDefinition")
				})
			})
		}},
	}
	runParamCases(t, cases)
}

// observationParts returns the Observation itself (self) and/or its
// components as code-value pairs.
func observationParts(r *res, self, components bool) []func(valueKey string) (codes []coding, values []any) {
	var out []func(string) ([]coding, []any)
	if self {
		out = append(out, func(k string) ([]coding, []any) { return r.codings("code"), vals(r.json, k) })
	}
	if components {
		for _, c := range vals(r.json, "component") {
			c := c
			out = append(out, func(k string) ([]coding, []any) {
				var cs []coding
				for _, x := range vals(c, "code.coding") {
					m := x.(map[string]any)
					s, _ := m["system"].(string)
					cs = append(cs, coding{system: s, code: m["code"].(string)})
				}
				return cs, vals(c, k)
			})
		}
	}
	return out
}

// compositeQuantity is a code$quantity composite over Observations: both
// parts must hold on the same code-value pair.
func compositeQuantity(self, components bool, crit string) func(testing.TB, *dataset) []string {
	code, value, _ := strings.Cut(crit, "$")
	return func(t testing.TB, d *dataset) []string {
		return d.where("Observation", func(r *res) bool {
			for _, part := range observationParts(r, self, components) {
				cs, vs := part("valueQuantity")
				if !tokenMatch(cs, code) {
					continue
				}
				for _, v := range vs {
					m := v.(map[string]any)
					q := quantity{value: number(t, m["value"])}
					q.system, _ = m["system"].(string)
					q.code, _ = m["code"].(string)
					if quantityMatch(t, q, value) {
						return true
					}
				}
			}
			return false
		})
	}
}

// TestSearchComposite covers composite parameters: code and value on the
// same component, on the Observation itself, on either, and code with a
// CodeableConcept value.
func TestSearchComposite(t *testing.T) {
	cases := []paramCase{
		{"Observation?component-code-value-quantity=" + loinc + "|8480-6$gt140", compositeQuantity(false, true, loinc+"|8480-6$gt140")},
		{"Observation?component-code-value-quantity=8462-4$gt90", compositeQuantity(false, true, "8462-4$gt90")},
		{"Observation?component-code-value-quantity=8480-6$lt120", compositeQuantity(false, true, "8480-6$lt120")},
		{"Observation?component-code-value-quantity=8480-6$135|http://unitsofmeasure.org|mm[Hg]", compositeQuantity(false, true, "8480-6$135|http://unitsofmeasure.org|mm[Hg]")},
		{"Observation?combo-code-value-quantity=8480-6$gt130", compositeQuantity(true, true, "8480-6$gt130")},
		{"Observation?combo-code-value-quantity=4548-4$6.5", compositeQuantity(true, true, "4548-4$6.5")},
		{"Observation?code-value-quantity=" + loinc + "|4548-4$ge6", compositeQuantity(true, false, loinc+"|4548-4$ge6")},
		{"Observation?code-value-concept=" + loinc + "|72166-2$http://snomed.info/sct|266919005", func(_ testing.TB, d *dataset) []string {
			return d.where("Observation", func(r *res) bool {
				return tokenMatch(r.codings("code"), loinc+"|72166-2") && tokenMatch(r.codings("valueCodeableConcept"), "http://snomed.info/sct|266919005")
			})
		}},
		{"Observation?code-value-concept=" + loinc + "|85354-9$http://snomed.info/sct|266919005", explicit()},
	}
	runParamCases(t, cases)
}

// TestSearchCompositeUnits covers a composite whose quantity is given in
// other units than the values stored: 2345-7$gt100 mg/dL must find the
// glucose of 1.1 g/L (110 mg/dL) and 105 mg/dL, and not the one of 98
// mg/dL, as value-quantity alone does; 2345-7$1.05 g/L finds the 105 mg/dL.
func TestSearchCompositeUnits(t *testing.T) {
	runParamCases(t, []paramCase{
		{"Observation?code-value-quantity=" + loinc + "|2345-7$gt100|http://unitsofmeasure.org|mg/dL", compositeQuantity(true, false, loinc+"|2345-7$gt100|http://unitsofmeasure.org|mg/dL")},
		{"Observation?code-value-quantity=" + loinc + "|2345-7$1.05|http://unitsofmeasure.org|g/L", compositeQuantity(true, false, loinc+"|2345-7$1.05|http://unitsofmeasure.org|g/L")},
	})
}
