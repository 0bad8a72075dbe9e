package synth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Config says what to generate.
type Config struct {
	// Patients is the number of patients.
	Patients int
	// Facilities is the number of satellite clinics besides the hub, at
	// most MaxFacilities.
	Facilities int
	// Seed fixes the data: the same Config gives the same resources, byte
	// for byte. Patient i depends only on Seed, Facilities and i.
	Seed uint64
}

// MaxFacilities is the most satellite clinics there are town names for.
const MaxFacilities = 52

// DefaultFacilities is the number of satellite clinics of the hospital
// network kartehub was built for.
const DefaultFacilities = 40

// Check reports a Config that cannot be generated.
func (c Config) Check() error {
	switch {
	case c.Patients < 0:
		return fmt.Errorf("the number of patients must not be negative, not %d", c.Patients)
	case c.Patients > 99_999_999:
		return fmt.Errorf("at most 99999999 patients, not %d", c.Patients)
	case c.Facilities < 0 || c.Facilities > MaxFacilities:
		return fmt.Errorf("the number of satellite facilities must be between 0 and %d, not %d", MaxFacilities, c.Facilities)
	}
	return nil
}

// Emit receives one generated resource of type typ as compact JSON. res is
// only valid during the call.
type Emit func(typ string, res []byte) error

// Stream generates the resources of cfg and hands each to emit: first the
// network's own (organizations, locations, practitioners and their roles,
// medications), then patient by patient everything recorded about them. It
// holds one patient at a time, so memory stays constant at any scale. It
// stops at the first error of emit or when ctx is done.
func Stream(ctx context.Context, cfg Config, emit Emit) error {
	if err := cfg.Check(); err != nil {
		return err
	}
	g := newGenerator(cfg, emit)
	if err := g.network(); err != nil {
		return err
	}
	for i := 1; i <= cfg.Patients; i++ {
		if i%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := g.patient(i); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// generator holds what every patient refers to, and the buffers that each
// resource is built in.
type generator struct {
	cfg  Config
	emit Emit
	e    enc
	pcg  rand.PCG
	r    *rand.Rand
	hub  *facility
	facs []*facility // the hub first
	// satWeight is the cumulative weight of each satellite: regional
	// centres see more patients.
	satWeight []int
	meds      map[*drug]string // Medication references
	p         patient          // the patient being generated
	err       error            // the first error of emit
}

func newGenerator(cfg Config, emit Emit) *generator {
	g := &generator{cfg: cfg, emit: emit, meds: map[*drug]string{}}
	g.e.b = make([]byte, 0, 8<<10)
	g.r = rand.New(&g.pcg)
	g.pcg.Seed(cfg.Seed, 0x6e6574776f726b) // "network"
	g.facilities()
	return g
}

// put emits the resource in g.e, remembering the first error.
func (g *generator) put(typ string) {
	if g.err == nil {
		g.err = g.emit(typ, g.e.b)
	}
}

// A facility is the hub or a satellite clinic.
type facility struct {
	index   int
	id, ref string // "org-000", "Organization/org-000"
	code    string // the 10-digit medical institution code
	name    string
	town    town
	postal  string
	line    string // street address
	phone   string
	idSys   string // the system of its patients' identifiers
	// Locations: the outpatient clinic, and at the hub the ward, the cath
	// lab and the CCU.
	clinic, ward, cathLab, ccu place
	doctors, nurses, techs     []person
	natriuretic                *test // BNP or NT-proBNP: each laboratory runs one
	troponin                   *test // hs-TnT or hs-TnI
}

// A place is a Location.
type place struct{ ref, name string }

// A person is a Practitioner.
type person struct{ ref, name string }

func (g *generator) facilities() {
	r := g.r
	codes := map[string]bool{}
	newCode := func() string {
		for {
			// Prefecture 01 (Hokkaido), score table 1 (medical), 7 digits.
			c := "011" + strconv.Itoa(1000000+r.IntN(9000000))
			if !codes[c] {
				codes[c] = true
				return c
			}
		}
	}
	hub := &facility{index: 0, id: "org-000", ref: "Organization/org-000", code: newCode(),
		name: "石狩ハートセンター病院", town: hubTown, natriuretic: &testNTp, troponin: &testTnT}
	hub.postal = "060-" + pad4(r.IntN(10000))
	hub.line = "中央区北" + strconv.Itoa(1+r.IntN(20)) + "条西" + strconv.Itoa(1+r.IntN(20)) + "丁目" + strconv.Itoa(1+r.IntN(20)) + "-" + strconv.Itoa(1+r.IntN(30))
	g.hub = hub
	g.facs = append(g.facs, hub)
	suffixes := []string{"循環器クリニック", "ハートクリニック", "循環器内科医院", "内科循環器科クリニック"}
	for i := 1; i <= g.cfg.Facilities; i++ {
		t := towns[i-1]
		id := "org-" + pad3(i)
		f := &facility{index: i, id: id, ref: "Organization/" + id, code: newCode(), town: t,
			name: t.name + suffixes[r.IntN(len(suffixes))], natriuretic: &testBNP, troponin: &testTnI}
		if r.IntN(3) == 0 {
			f.natriuretic = &testNTp
		}
		if r.IntN(4) == 0 {
			f.troponin = &testTnT
		}
		f.postal = t.postal + "-" + pad4(r.IntN(10000))
		f.line = chome[r.IntN(len(chome))] + strconv.Itoa(1+r.IntN(9)) + "丁目" + strconv.Itoa(1+r.IntN(20)) + "-" + strconv.Itoa(1+r.IntN(30))
		g.facs = append(g.facs, f)
		w := 1
		if i <= 6 {
			w = 3 // the regional centres
		}
		last := 0
		if len(g.satWeight) > 0 {
			last = g.satWeight[len(g.satWeight)-1]
		}
		g.satWeight = append(g.satWeight, last+w)
	}
	for _, f := range g.facs {
		f.phone = phone(r, f.town.area)
		f.idSys = patientIDBase + f.code
	}
}

// network emits the resources of the network itself.
func (g *generator) network() error {
	for _, f := range g.facs {
		g.organization(f)
		g.locations(f)
		g.staff(f)
	}
	for i, d := range drugs {
		id := "med-" + d.key
		g.meds[d] = "Medication/" + id
		g.medication(id, d, i)
	}
	return g.err
}

func (g *generator) organization(f *facility) {
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "Organization")
	e.str("id", f.id)
	e.arr("identifier")
	e.open()
	e.str("system", institutionNo)
	e.str("value", f.code)
	e.close()
	e.end()
	e.boolean("active", true)
	e.concepts("type", "医療機関", coding{orgType, "prov", "Healthcare Provider"})
	e.str("name", f.name)
	g.telecom(f.phone, "work")
	g.address(f.town, f.postal, f.line, "work", false)
	e.close()
	g.put("Organization")
}

func (g *generator) locations(f *facility) {
	id := "loc-" + pad3(f.index)
	if f.index == 0 {
		f.clinic = g.location(f, id+"-1", "循環器内科外来", cvdx)
		f.ward = g.location(f, id+"-2", "循環器内科病棟", coding{roleCode, "HU", "Hospital unit"})
		f.cathLab = g.location(f, id+"-3", "心臓カテーテル室", coding{roleCode, "CATH", "Cardiac catheterization lab"})
		f.ccu = g.location(f, id+"-4", "CCU（冠疾患集中治療室）", coding{roleCode, "CCU", "Coronary care unit"})
		return
	}
	f.clinic = g.location(f, id+"-1", f.name+" 診察室", cvdx)
}

func (g *generator) location(f *facility, id, name string, typ coding) place {
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "Location")
	e.str("id", id)
	e.str("status", "active")
	e.str("name", name)
	e.concepts("type", "", typ)
	g.address(f.town, f.postal, f.line, "work", true)
	e.ref("managingOrganization", f.ref, f.name)
	e.close()
	g.put("Location")
	return place{"Location/" + id, name}
}

// A staffRole is a kind of practitioner and how many a facility has.
type staffRole struct {
	code     coding
	text     string
	hub, sat int
}

var staffRoles = []staffRole{
	{coding{pracRole, "doctor", "Doctor"}, "循環器内科医", 12, 2},
	{coding{pracRole, "nurse", "Nurse"}, "看護師", 10, 2},
	{coding{}, "臨床検査技師", 6, 1}, // no code of the R4 value set fits
}

var (
	cardiology = coding{snomed, "394579002", "Cardiology"}
	cvdx       = coding{roleCode, "CVDX", "Cardiovascular diagnostics or therapeutics unit"}
)

func (g *generator) staff(f *facility) {
	r := g.r
	n := 0
	for ri, role := range staffRoles {
		count := role.sat
		if f.index == 0 {
			count = role.hub
		}
		for range count {
			n++
			id := "prac-" + pad3(f.index) + "-" + pad2(n)
			female := r.IntN(100) < []int{25, 90, 50}[ri]
			born := 1960 + r.IntN(35)
			fam, given := pickName(r, female, born)
			g.practitioner(id, fam, given, female, born, r)
			p := person{"Practitioner/" + id, fam.kanji + " " + given.kanji}
			g.practitionerRole(f, n, p, role)
			switch ri {
			case 0:
				f.doctors = append(f.doctors, p)
			case 1:
				f.nurses = append(f.nurses, p)
			default:
				f.techs = append(f.techs, p)
			}
		}
	}
}

func (g *generator) practitioner(id string, fam, given name, female bool, born int, r *rand.Rand) {
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "Practitioner")
	e.str("id", id)
	e.boolean("active", true)
	g.names(fam, given)
	if female {
		e.str("gender", "female")
	} else {
		e.str("gender", "male")
	}
	e.date("birthDate", date(born, 1+r.IntN(12), 1+r.IntN(28)))
	e.close()
	g.put("Practitioner")
}

func (g *generator) practitionerRole(f *facility, n int, p person, role staffRole) {
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "PractitionerRole")
	e.str("id", "role-"+pad3(f.index)+"-"+pad2(n))
	e.boolean("active", true)
	e.ref("practitioner", p.ref, p.name)
	e.ref("organization", f.ref, f.name)
	e.concepts("code", role.text, role.code)
	e.concepts("specialty", "循環器内科", cardiology)
	e.refs("location", f.clinic.ref)
	e.close()
	g.put("PractitionerRole")
}

func (g *generator) medication(id string, d *drug, i int) {
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "Medication")
	e.str("id", id)
	e.concept("code", d.name, coding{hot9, d.hot9, d.name})
	e.str("status", "active")
	e.textConcept("form", "錠剤")
	e.arr("ingredient")
	e.open()
	e.textConcept("itemCodeableConcept", d.generic)
	e.boolean("isActive", true)
	e.close()
	e.end()
	e.close()
	g.put("Medication")
}

// names writes a Japanese person's name twice, as JP Core has it: in kanji
// (IDE) and in katakana (SYL).
func (g *generator) names(fam, given name) {
	e := &g.e
	e.arr("name")
	for _, rep := range [2]string{"IDE", "SYL"} {
		family, giv := fam.kanji, given.kanji
		if rep == "SYL" {
			family, giv = fam.kana, given.kana
		}
		e.open()
		e.arr("extension")
		e.open()
		e.str("url", nameRepr)
		e.str("valueCode", rep)
		e.close()
		e.end()
		e.str("use", "official")
		e.key("text")
		e.quote(family + " " + giv)
		e.str("family", family)
		e.strs("given", giv)
		e.close()
	}
	e.end()
}

func (g *generator) telecom(number, use string) {
	e := &g.e
	e.arr("telecom")
	e.open()
	e.str("system", "phone")
	e.str("value", number)
	e.str("use", use)
	e.close()
	e.end()
}

// address writes an address in Hokkaido as the member "address": an array
// of one, or if single, the address itself (Location has only one).
func (g *generator) address(t town, postal, line, use string, single bool) {
	e := &g.e
	if single {
		e.obj("address")
	} else {
		e.arr("address")
		e.open()
	}
	e.str("use", use)
	e.key("text")
	e.quote("北海道" + t.city + line)
	e.strs("line", line)
	e.str("city", t.city)
	e.str("state", "北海道")
	e.str("postalCode", postal)
	e.str("country", "JP")
	e.close()
	if !single {
		e.end()
	}
}

// pickName picks a family and a given name fitting sex and year of birth.
func pickName(r *rand.Rand, female bool, born int) (fam, given name) {
	fam = familyNames[r.IntN(len(familyNames))]
	var pool []name
	switch {
	case female && born < 1965:
		pool = femaleOlder
	case female:
		pool = femaleYounger
	case born < 1965:
		pool = maleOlder
	default:
		pool = maleYounger
	}
	return fam, pool[r.IntN(len(pool))]
}

func phone(r *rand.Rand, area string) string {
	// Japanese numbers have ten digits: the area code takes two to five.
	local := 10 - len(area)
	mid := max(local-4, 1)
	n := r.IntN(pow10(local-1)*9) + pow10(local-1)
	s := strconv.Itoa(n)
	return area + "-" + s[:mid] + "-" + s[mid:]
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

func pad2(n int) string { return string(appendPadded(nil, n, 2)) }
func pad3(n int) string { return string(appendPadded(nil, n, 3)) }
func pad4(n int) string { return string(appendPadded(nil, n, 4)) }
