package sqlsearch

// A restricted query (karte.Query.Restrict) is compiled to one more
// condition on each resource it reads: the matches, the rows it counts,
// the pages after a cursor, the resources that chains and _has test, and
// the resources each include round adds. The condition is a few EXISTS
// subqueries keyed by the resource's rid, and nothing is filtered after
// the SQL: counts and pages stay exact. It costs a handful of index
// lookups a resource, paid only by the resources that pass the query's
// other clauses (build.go, where).
//
// For a resource r of a type T of the restriction's Links (Observation:
// subject, performer), where F are the facilities:
//
//	( EXISTS (SELECT 1 FROM sp_reference l            -- a patient it refers to
//	          WHERE l.rid = r.rid AND l.ttype = 'Patient'
//	            AND l.pkey IN (T.subject, T.performer)
//	            AND <belongs(l.tkey, l.tid)>)
//	  OR NOT EXISTS (SELECT 1 FROM sp_reference n      -- or no patient at all
//	          WHERE n.rid = r.rid AND n.ttype IN ('Patient', '')
//	            AND n.pkey IN (T.subject, T.performer)) )
//
// where a patient (rkey k, id i) belongs to F if
//
//	EXISTS (SELECT 1 FROM live p CROSS JOIN sp_reference o
//	        WHERE o.rid = p.rid AND p.rkey = k AND p.type = 'Patient' AND p.id = i
//	          AND o.pkey = Patient.organization AND o.tkey IN (F keys)
//	          AND o.ttype = 'Organization' AND o.tid IN (F))
//	OR EXISTS (SELECT 1 FROM sp_reference c            -- a Consent of the patient
//	        WHERE c.pkey = Consent.patient AND c.tkey = k AND c.ttype = 'Patient' AND c.tid = i
//	          AND EXISTS (actor of c.rid refers to one of F)
//	          AND EXISTS (status of c.rid is active)
//	          AND EXISTS (SharePermitParam of c.rid is permit))
//
// A statement that tests thousands of resources (a count, or a sorted
// page, with many candidates: see Compile) tests the patients they refer
// to against the set of admitted patients instead, computed once
// (admittedSet): a lookup a resource instead of a few.
//
// A Patient is tested with belongs(r.rkey, r.id), reading its own
// managingOrganization rows by r.rid. A query of several types, or of any
// (a system search, an include), tests Patients so and every other type
// with the links of all its types at once (admits). Every lookup has an
// index: the live table by rkey, sp_reference by (rid, pkey) and by
// (pkey, tkey), sp_token by (rid, pkey). Only the index rows of live
// resources exist, so a deleted Consent or an old version's
// managingOrganization counts for nothing. The common case, a patient
// without Consents, costs the Consent test one probe of (pkey, tkey) that
// finds nothing, and only for the patients who do not belong by
// managingOrganization.
//
// Chains and _has. The conditions of a chain (subject:Patient.name=x) and
// of a _has (_has:Observation:subject:code=x) are queries of their own,
// and the restriction applies to them as well: the search behaves as if
// the database held only the admitted resources. Without that, both would
// reveal what an unadmitted patient's resources hold, though they only
// select among admitted resources:
//   - a chain tests the resource a reference points to. An admitted
//     Observation refers to an admitted patient by subject, but may also
//     name another patient (performer), and an admitted Group or
//     Provenance may name other patients besides: Observation?performer:
//     Patient.birthdate=1950-01-01 would tell, one guess at a time, the
//     birth date of a patient of another facility.
//   - a _has tests the resources that point to the match. Patient?_has:
//     Observation:focus:code=x selects admitted patients, but through
//     Observations of any patient (focus is not one of Observation's
//     patient links), so it would tell that some other facility's patient
//     has an Observation with code x about them.
// Restricting the nested queries closes both: a chain can only reach an
// admitted target, and a _has only count an admitted source.
//
// What the restriction does not hide: the existence of resources of the
// types that belong to no patient, and what an admitted resource itself
// holds (an admitted Observation's body names its performer, whoever that
// is). Explain output leaves out the planner's row counts under a
// restriction, since they count unadmitted resources too; PostgreSQL's own
// plan still shows its estimates, which come from table statistics.

import (
	"fmt"
	"slices"
	"strings"

	"kartehub/internal/karte"
)

// The search parameters of FHIR R4 that the restriction reads, as the
// contract of karte.Restriction names them.
const (
	patientType    = "Patient"
	facilityType   = "Organization"
	patientOrg     = "organization" // Patient.managingOrganization
	consentType    = "Consent"
	consentPatient = "patient"
	consentActor   = "actor"  // Consent.provision.actor.reference
	consentStatus  = "status" // Consent.status
	consentActive  = "active"
	consentPermit  = "permit"
)

// admits is the condition that the restriction of the statement admits
// resource alias r, one of types (nil: any type); "" if there is no
// restriction or it limits none of types.
//
// For several types, or any, the links of all of them are tested
// together: a pkey names the parameter of one type, so a resource only
// has the index rows of its own type's links among them. That keeps the
// statement short (an include of any type would otherwise test each of
// the 65 types of the Patient compartment in turn), at the price of a
// longer IN list.
func (b *builder) admits(types []string, r string) string {
	rs := b.restrict
	if rs == nil {
		return ""
	}
	if len(types) == 1 {
		return b.admitsType(types[0], r)
	}
	patients := len(types) == 0
	var keys []int64
	addLinks := func(t string) {
		for _, c := range rs.Links[t] {
			keys = append(keys, ParamKey(t, c))
		}
	}
	for _, t := range types {
		if t == patientType {
			patients = true
		} else {
			addLinks(t)
		}
	}
	if len(types) == 0 {
		for t := range rs.Links {
			if t != patientType {
				addLinks(t)
			}
		}
		// In a fixed order, for a statement text that does not change.
		slices.Sort(keys)
	}
	var alts []string
	if patients {
		alts = append(alts, "("+r+".type = '"+patientType+"' AND "+b.admitsType(patientType, r)+")")
	}
	switch {
	case len(keys) > 0:
		alts = append(alts, "("+r+".type <> '"+patientType+"' AND "+b.linked(keys, r)+")")
	case patients:
		alts = append(alts, r+".type <> '"+patientType+"'")
	default:
		return "" // no type that the restriction limits
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, " OR ") + ")"
}

// admitsType is the condition that the restriction admits resource alias
// r of type t, or "" if it does not limit t.
func (b *builder) admitsType(t, r string) string {
	rs := b.restrict
	switch {
	case t == patientType:
		return b.belongs(r+".rid", r+".rkey", r+".id")
	case len(rs.Links[t]) > 0:
		return b.linked(linkKeys(rs, t), r)
	}
	return ""
}

// linkKeys are the pkeys of the links of type t.
func linkKeys(rs *karte.Restriction, t string) []int64 {
	keys := make([]int64, len(rs.Links[t]))
	for i, c := range rs.Links[t] {
		keys[i] = ParamKey(t, c)
	}
	return keys
}

// linked is the condition that resource alias r refers, by the parameters
// of pkeys, to a patient who belongs to the facilities, or to no patient.
// A reference that is not local (empty ttype), which may be to any patient,
// counts as one to a patient of no facility.
func (b *builder) linked(pkeys []int64, r string) string {
	// A few pkeys are looked up in the (rid, pkey) index one by one. For
	// many (several types), the unary plus keeps SQLite from doing so, a
	// hundred lookups a resource: it reads the resource's few rows by rid,
	// and only those that refer to a patient are tested against the list,
	// which SQLite then builds only for resources that have such rows.
	keys := func() string { return "+" + "%[1]s.pkey IN (" + b.keyList(pkeys) + ")" }
	if len(pkeys) <= 8 {
		keys = func() string { return "%[1]s.pkey IN (" + b.keyList(pkeys) + ")" }
	}
	none := func() string {
		n := b.name("n")
		return fmt.Sprintf("NOT EXISTS (SELECT 1 FROM sp_reference %[1]s WHERE %[1]s.rid = %[2]s.rid AND %[1]s.ttype IN ('%[3]s', '') AND "+keys()+"%[4]s)",
			n, r, patientType, b.d.PerRow)
	}
	if len(b.restrict.Facilities) == 0 {
		return none()
	}
	l := b.name("l")
	some := fmt.Sprintf("EXISTS (SELECT 1 FROM sp_reference %[1]s WHERE %[1]s.rid = %[2]s.rid AND %[1]s.ttype = '%[3]s' AND "+keys()+" AND %[4]s%[5]s)",
		l, r, patientType, b.belongs("", l+".tkey", l+".tid"), b.d.PerRow)
	return "(" + some + " OR " + none() + ")"
}

// keyList lists pkeys as arguments, each once.
func (b *builder) keyList(pkeys []int64) string {
	ph := make([]string, 0, len(pkeys))
	for i, k := range pkeys {
		if !slices.Contains(pkeys[:i], k) {
			ph = append(ph, b.arg(k))
		}
	}
	return strings.Join(ph, ", ")
}

// belongs is the condition that the patient whose rkey and id are the
// columns key and id belongs to one of the facilities: by its
// managingOrganization, or by a Consent that shares its record. rid, if
// not "", is the patient's rid, known to be a live Patient.
func (b *builder) belongs(rid, key, id string) string {
	rs := b.restrict
	if len(rs.Facilities) == 0 {
		return "1 = 0"
	}
	if rid == "" && b.admitBySet {
		return b.admittedSet(key, id)
	}
	o := b.name("o")
	var managed string
	if rid != "" {
		managed = fmt.Sprintf("EXISTS (SELECT 1 FROM sp_reference %[1]s WHERE %[1]s.rid = %[2]s AND %[3]s%[4]s)", o, rid, b.facilityRef(o, patientType, patientOrg), b.d.PerRow)
	} else {
		p := b.name("p")
		// CROSS JOIN: SQLite then keeps the order written, finding the
		// patient by its rkey first; left to itself, it may walk every
		// patient of a facility instead.
		managed = fmt.Sprintf("EXISTS (SELECT 1 FROM %[1]s %[2]s CROSS JOIN sp_reference %[3]s WHERE %[3]s.rid = %[2]s.rid AND %[2]s.rkey = %[4]s AND %[2]s.type = '%[5]s' AND %[2]s.id = %[6]s AND %[7]s%[8]s)",
			b.d.Live, p, o, key, patientType, id, b.facilityRef(o, patientType, patientOrg), b.d.PerRow)
	}
	if rs.SharePermitParam == "" {
		return managed
	}
	c, a, status, permit := b.name("c"), b.name("a"), b.name("z"), b.name("z")
	shared := fmt.Sprintf("EXISTS (SELECT 1 FROM sp_reference %[1]s WHERE %[1]s.pkey = %[2]s AND %[1]s.tkey = %[3]s AND %[1]s.ttype = '%[4]s' AND %[1]s.tid = %[5]s"+
		" AND EXISTS (SELECT 1 FROM sp_reference %[6]s WHERE %[6]s.rid = %[1]s.rid AND %[7]s%[14]s)"+
		" AND EXISTS (SELECT 1 FROM sp_token %[8]s WHERE %[8]s.rid = %[1]s.rid AND %[8]s.pkey = %[9]s AND %[8]s.code = '%[10]s'%[14]s)"+
		" AND EXISTS (SELECT 1 FROM sp_token %[11]s WHERE %[11]s.rid = %[1]s.rid AND %[11]s.pkey = %[12]s AND %[11]s.code = '%[13]s'%[14]s)%[14]s)",
		c, b.arg(ParamKey(consentType, consentPatient)), key, patientType, id,
		a, b.facilityRef(a, consentType, consentActor),
		status, b.arg(ParamKey(consentType, consentStatus)), consentActive,
		permit, b.arg(ParamKey(consentType, rs.SharePermitParam)), consentPermit, b.d.PerRow)
	return "(" + managed + " OR " + shared + ")"
}

// admittedSet is belongs as a test against the set of the patients who
// belong to the facilities, which the engine computes once for the
// statement: the live Patients whose managingOrganization is one of them,
// and the patients of the Consents that share with one of them. A
// resource then costs one lookup in that set instead of a few index
// lookups. Computing the set costs about as much as testing a few hundred
// resources one by one, so the planner chooses it only for statements
// that test thousands (setFrom).
func (b *builder) admittedSet(key, id string) string {
	rs := b.restrict
	o, p := b.name("o"), b.name("p")
	set := fmt.Sprintf("SELECT %[2]s.rkey, %[2]s.id FROM sp_reference %[1]s CROSS JOIN %[3]s %[2]s WHERE %[4]s AND %[2]s.rid = %[1]s.rid AND %[2]s.type = '%[5]s'",
		o, p, b.d.Live, b.facilityRef(o, patientType, patientOrg), patientType)
	if rs.SharePermitParam != "" {
		c, a, status, permit := b.name("c"), b.name("a"), b.name("z"), b.name("z")
		set += fmt.Sprintf(" UNION ALL SELECT %[1]s.tkey, %[1]s.tid FROM sp_reference %[1]s WHERE %[1]s.pkey = %[2]s AND %[1]s.ttype = '%[3]s'"+
			" AND EXISTS (SELECT 1 FROM sp_reference %[4]s WHERE %[4]s.rid = %[1]s.rid AND %[5]s)"+
			" AND EXISTS (SELECT 1 FROM sp_token %[6]s WHERE %[6]s.rid = %[1]s.rid AND %[6]s.pkey = %[7]s AND %[6]s.code = '%[8]s')"+
			" AND EXISTS (SELECT 1 FROM sp_token %[9]s WHERE %[9]s.rid = %[1]s.rid AND %[9]s.pkey = %[10]s AND %[9]s.code = '%[11]s')",
			c, b.arg(ParamKey(consentType, consentPatient)), patientType,
			a, b.facilityRef(a, consentType, consentActor),
			status, b.arg(ParamKey(consentType, consentStatus)), consentActive,
			permit, b.arg(ParamKey(consentType, rs.SharePermitParam)), consentPermit)
	}
	return "(" + key + ", " + id + ") IN (" + set + ")"
}

// facilityRef is the condition that sp_reference row x is a value of
// parameter code of type t that refers to one of the facilities.
func (b *builder) facilityRef(x, t, code string) string {
	rs := b.restrict
	pkey := b.arg(ParamKey(t, code))
	keys := make([]string, len(rs.Facilities))
	for i, f := range rs.Facilities {
		keys[i] = b.arg(ResourceKey(facilityType, f))
	}
	return fmt.Sprintf("%[1]s.pkey = %[2]s AND %[1]s.tkey IN (%[3]s) AND %[1]s.ttype = '%[4]s' AND %[1]s.tid IN (%[5]s)",
		x, pkey, strings.Join(keys, ", "), facilityType, b.stringList(rs.Facilities))
}

// stringList lists string arguments.
func (b *builder) stringList(vs []string) string {
	ph := make([]string, len(vs))
	for i, v := range vs {
		ph[i] = b.arg(v)
	}
	return strings.Join(ph, ", ")
}

// describeRestriction says what a restriction admits, for explain output.
func describeRestriction(rs *karte.Restriction) string {
	facilities := "no facility"
	if len(rs.Facilities) > 0 {
		refs := make([]string, len(rs.Facilities))
		for i, f := range rs.Facilities {
			refs[i] = facilityType + "/" + f
		}
		facilities = strings.Join(refs, ", ")
	}
	how := "managingOrganization"
	if rs.SharePermitParam != "" {
		how += " or an active Consent that permits (" + rs.SharePermitParam + ")"
	}
	types := 0
	for t, codes := range rs.Links {
		if t != patientType && len(codes) > 0 {
			types++
		}
	}
	return fmt.Sprintf("restricted to the patients of %s (by %s) and the resources of %d types that refer to them or to no patient; row counts hidden",
		facilities, how, types)
}
