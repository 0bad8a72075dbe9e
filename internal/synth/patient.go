package synth

import (
	"math"
	"math/rand/v2"
)

// The data covers the visits of these years.
var (
	windowStart = date(2019, 1, 1)
	windowEnd   = date(2026, 3, 31)
)

// patient is what is planned for one patient before any resource is
// written: resources refer to each other (a request to the condition it
// treats, a report to its results), so the whole story is known first.
type patient struct {
	n       int
	ref     string // "Patient/pat-000123"
	display string
	fam     name
	given   name
	female  bool
	birth   day
	home    *facility
	doctor  person // the attending cardiologist at home
	first   day    // the first visit of the window

	conds []dx
	has   [nConds]int // 1 + the index in conds of each condition had, or 0

	visits []visit
	meds   []rx

	// Baselines that measurements vary around.
	ldl, hdl, tg, a1c, cre, bnp float64
	hr, sys, dia, weight        float64
	statinFrom, betaFrom        day // when a statin or a beta blocker starts (0: never)
	htTreatedFrom, pacedFrom    day
	hubPatient                  bool // has a record at the hub

	// Resource numbers, per kind.
	nEnc, nObs, nCond, nProc, nRx, nDR int
}

// The conditions of the population, as indexes of patient.has.
const (
	cHT = iota
	cDL
	cDM
	cAF
	cHF
	cAP
	cMI
	cOMI
	cSSS
	nConds
)

var condOf = [nConds]*condition{&condHT, &condDL, &condDM, &condAF, &condHF, &condAP, &condMI, &condOMI, &condSSS}

// dx is a condition of one patient.
type dx struct {
	c        *condition
	onset    day
	recorded day
	resolved day // 0 while active
	seq      int
}

// visit is an encounter: an outpatient visit or a stay at the hub.
type visit struct {
	seq    int
	day    day
	min    int // minute of the day it starts
	fac    *facility
	doctor person
	stay   *stay // nil for an outpatient visit
	labs   bool
	ecg    bool
	first  bool
}

type stayKind int

const (
	stayMI stayKind = iota
	stayCAG
	stayAblation
	stayPacemaker
)

// stayReason is the condition each kind of stay treats.
var stayReason = [...]int{stayMI: cMI, stayCAG: cAP, stayAblation: cAF, stayPacemaker: cSSS}

// stay is an admission to the hub.
type stay struct {
	kind   stayKind
	days   int
	reason int // index of the condition in patient.has order (cAF...)
	pci    bool
}

// rx is a prescribed drug: an order, and a renewal at a later visit.
type rx struct {
	d       *drug
	reason  int // condition index
	start   int // index of the visit that prescribes it
	renew   int // index of the renewing visit, or -1
	stopped bool
}

func (g *generator) patient(n int) error {
	g.pcg.Seed(g.cfg.Seed, uint64(n))
	r := g.r
	p := &g.p
	*p = patient{n: n, conds: p.conds[:0], visits: p.visits[:0], meds: p.meds[:0]}
	p.ref = "Patient/pat-" + string(appendPadded(nil, n, 6))
	g.demographics(p, r)
	g.diagnoses(p, r)
	g.plan(p, r)
	g.prescribe(p, r)
	g.baselines(p, r)

	g.patientResource(p, r)
	for i := range p.conds {
		g.condition(p, &p.conds[i])
	}
	if r.IntN(100) < 8 {
		g.allergy(p, r)
	}
	for i := range p.visits {
		g.encounter(p, &p.visits[i], r)
	}
	return g.err
}

func (g *generator) demographics(p *patient, r *rand.Rand) {
	p.female = r.IntN(100) < 38
	var year int
	switch u := r.IntN(100); {
	case u < 10:
		year = 1930 + r.IntN(10)
	case u < 70:
		year = 1940 + r.IntN(20)
	case u < 90:
		year = 1960 + r.IntN(15)
	default:
		year = 1975 + r.IntN(25)
	}
	p.birth = date(year, 1+r.IntN(12), 1+r.IntN(28))
	p.fam, p.given = pickName(r, p.female, year)
	p.display = p.fam.kanji + " " + p.given.kanji
	p.home = g.hub
	if len(g.facs) > 1 && r.IntN(100) >= 25 {
		total := g.satWeight[len(g.satWeight)-1]
		w := r.IntN(total)
		for i, cum := range g.satWeight {
			if w < cum {
				p.home = g.facs[i+1]
				break
			}
		}
	}
	p.doctor = p.home.doctors[r.IntN(len(p.home.doctors))]
	p.hubPatient = p.home == g.hub
	p.first = windowStart + day(r.IntN(int(windowEnd-windowStart)-400))
}

// ageAt returns the age in whole years on d.
func (p *patient) ageAt(d day) int {
	by, bm, bd := p.birth.civil()
	y, m, dd := d.civil()
	age := y - by
	if m < bm || m == bm && dd < bd {
		age--
	}
	return age
}

func (p *patient) add(c int, onset, recorded day) *dx {
	p.conds = append(p.conds, dx{c: condOf[c], onset: onset, recorded: recorded})
	p.has[c] = len(p.conds)
	return &p.conds[len(p.conds)-1]
}

func (p *patient) had(c int) bool { return p.has[c] != 0 }

// diagnoses decides the patient's conditions: a cardiology population,
// where hypertension and dyslipidaemia are the rule and everyone has at
// least one heart disease.
func (g *generator) diagnoses(p *patient, r *rand.Rand) {
	age := p.ageAt(p.first)
	old := age >= 75
	pct := func(x int) bool { return r.IntN(100) < x }
	// Chronic conditions started before the first visit of the window.
	chronic := func(c int) {
		adult := p.birth + 35*365
		onset := max(p.first-day(r.IntN(12*365)), adult)
		onset = min(onset, p.first)
		p.add(c, onset, p.first)
	}
	if pct(62) {
		chronic(cHT)
	}
	if pct(52) {
		chronic(cDL)
	}
	if pct(26) {
		chronic(cDM)
	}
	af := 12
	if old {
		af += 15
	}
	if pct(af) {
		chronic(cAF)
	}
	hf := 12
	if old {
		hf += 12
	}
	if p.had(cAF) {
		hf += 15
	}
	if pct(hf) {
		chronic(cHF)
	}
	ap, mi := 22, 10
	if !p.female {
		ap, mi = 28, 15
	}
	if pct(ap) {
		chronic(cAP)
	}
	if pct(mi) {
		if pct(55) {
			// An infarction in the window: an emergency admission to the
			// hub, then an old infarction for good.
			d := p.first + 30 + day(r.IntN(int(windowEnd-p.first)-90))
			p.add(cMI, d, d).resolved = d + 28
			p.add(cOMI, d+28, d+28)
		} else {
			chronic(cOMI)
		}
	}
	if age >= 70 && pct(5) {
		chronic(cSSS)
	}
	if !p.had(cAF) && !p.had(cHF) && !p.had(cAP) && !p.had(cMI) && !p.had(cOMI) && !p.had(cSSS) {
		chronic([]int{cAF, cAF, cAP, cAP, cHF}[r.IntN(5)])
	}
}

// plan lays out the encounters: outpatient visits at the home facility
// every few months, and admissions to the hub for an infarction or a
// catheter procedure, each followed by a visit to the hub's clinic.
func (g *generator) plan(p *patient, r *rand.Rand) {
	type event struct {
		d    day
		kind stayKind
		days int
		pci  bool
	}
	var events [4]event
	ne := 0
	later := func(from int) day { // a day between from days after the first visit and the end
		span := int(windowEnd-p.first) - from - 30
		return p.first + day(from+r.IntN(max(span, 1)))
	}
	if i := p.has[cMI]; i != 0 {
		events[ne] = event{p.conds[i-1].onset, stayMI, 10 + r.IntN(7), true}
		ne++
	}
	if p.had(cAP) && r.IntN(100) < 50 {
		events[ne] = event{later(14), stayCAG, 2 + r.IntN(2), r.IntN(100) < 55}
		ne++
	}
	if p.had(cAF) && p.ageAt(p.first) < 80 && r.IntN(100) < 20 {
		events[ne] = event{later(60), stayAblation, 3 + r.IntN(2), false}
		ne++
	}
	if p.had(cSSS) && r.IntN(100) < 70 {
		events[ne] = event{later(14), stayPacemaker, 6 + r.IntN(3), false}
		ne++
	}
	// Outpatient visits at home.
	nv := 3 + r.IntN(4)
	span := int(windowEnd - p.first)
	step := span / nv
	for k := range nv {
		d := p.first
		if k > 0 {
			d += day(k*step + r.IntN(step/2+1) - step/4)
		}
		g.addVisit(p, r, d, p.home, nil)
	}
	for _, ev := range events[:ne] {
		if ev.d <= p.first {
			ev.d = p.first + 1
		}
		if overlaps(p, ev.d, ev.days) {
			continue
		}
		st := &stay{kind: ev.kind, days: ev.days, reason: stayReason[ev.kind], pci: ev.pci}
		g.addVisit(p, r, ev.d, g.hub, st)
		p.hubPatient = true
		if ev.kind == stayPacemaker {
			p.pacedFrom = ev.d
		}
		if p.home != g.hub {
			if f := ev.d + day(ev.days+14+r.IntN(14)); f < windowEnd {
				g.addVisit(p, r, f, g.hub, nil)
			}
		}
	}
	sortVisits(p.visits)
	p.visits = dropDuringStays(p.visits)
	p.visits[0].first = true
	for i := range p.visits {
		v := &p.visits[i]
		v.seq = i + 1
		if v.stay == nil {
			v.labs = v.first || r.IntN(100) < 25
			ecg := 25
			if p.had(cAF) || p.had(cHF) || p.had(cSSS) || p.had(cOMI) {
				ecg = 45
			}
			v.ecg = r.IntN(100) < ecg
		}
	}
}

func (g *generator) addVisit(p *patient, r *rand.Rand, d day, f *facility, st *stay) {
	if d.weekday() == 0 && st == nil { // clinics close on Sundays
		d++
	}
	v := visit{day: d, fac: f, stay: st, min: 9*60 + 10*r.IntN(46)}
	switch {
	case f == p.home:
		v.doctor = p.doctor
	default:
		v.doctor = f.doctors[r.IntN(len(f.doctors))]
	}
	if st != nil && st.kind == stayMI {
		v.min = r.IntN(24 * 60) // infarctions keep no office hours
	}
	p.visits = append(p.visits, v)
}

func overlaps(p *patient, d day, days int) bool {
	for _, v := range p.visits {
		end := v.day
		if v.stay != nil {
			end += day(v.stay.days)
		}
		if d <= end+7 && v.day <= d+day(days)+7 && v.stay != nil {
			return true
		}
	}
	return false
}

// dropDuringStays drops the outpatient visits that fall during a stay.
func dropDuringStays(vs []visit) []visit {
	out := vs[:0]
	var until day = -1 << 30
	for _, v := range vs {
		if v.stay == nil && v.day <= until {
			continue
		}
		if v.stay != nil {
			until = max(until, v.day+day(v.stay.days))
		}
		out = append(out, v)
	}
	return out
}

func sortVisits(vs []visit) {
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && (vs[j].day < vs[j-1].day || vs[j].day == vs[j-1].day && vs[j].min < vs[j-1].min); j-- {
			vs[j], vs[j-1] = vs[j-1], vs[j]
		}
	}
}

// visitOn returns the index of the first visit on or after d, or -1.
func (p *patient) visitOn(d day) int {
	for i, v := range p.visits {
		if v.day >= d {
			return i
		}
	}
	return -1
}

// prescribe decides the drugs each condition calls for, each ordered at a
// visit and often renewed a year or more later.
func (g *generator) prescribe(p *patient, r *rand.Rand) {
	pct := func(x int) bool { return r.IntN(100) < x }
	order := func(d *drug, reason int, from day) {
		for _, m := range p.meds {
			if m.d == d {
				return
			}
		}
		start := p.visitOn(from)
		if start < 0 {
			return
		}
		m := rx{d: d, reason: reason, start: start, renew: -1}
		for i := start + 1; i < len(p.visits); i++ {
			if p.visits[i].day >= p.visits[start].day+365 && p.visits[i].stay == nil && pct(60) {
				m.renew = i
				break
			}
		}
		p.meds = append(p.meds, m)
	}
	first := p.visits[0].day
	// The condition a drug is for: the first of those given that the
	// patient has.
	forCond := func(cs ...int) int {
		for _, c := range cs {
			if p.had(c) {
				return c
			}
		}
		return cs[0]
	}
	if p.had(cHT) && pct(75) {
		order(&drugAmlodipine, cHT, first)
		p.htTreatedFrom = first
	}
	if p.had(cDL) || p.had(cOMI) {
		order(&drugAtorva, forCond(cDL, cOMI), first)
		p.statinFrom = first
	}
	if p.had(cDM) && pct(60) {
		order(&drugMetformin, cDM, first)
	}
	if p.had(cAF) {
		if pct(70) {
			order(&drugApixaban, cAF, first)
		} else {
			order(&drugWarfarin, cAF, first)
		}
	}
	if (p.had(cAF) && pct(60)) || p.had(cHF) || p.had(cOMI) {
		order(&drugBisoprolol, forCond(cHF, cAF, cOMI), first)
		p.betaFrom = first
	}
	if p.had(cHF) {
		order(&drugFurosemide, cHF, first)
	}
	if p.had(cAP) || p.had(cOMI) {
		order(&drugAspirin, forCond(cAP, cOMI), first)
	}
	for i, v := range p.visits {
		if v.stay != nil && v.stay.pci {
			order(&drugAspirin, v.stay.reason, v.day)
			// Dual antiplatelet therapy for a year after a stent.
			n := len(p.meds)
			order(&drugClopidogrel, v.stay.reason, v.day)
			if len(p.meds) > n {
				p.meds[n].start = i
				p.meds[n].stopped = true
				p.meds[n].renew = -1
			}
		}
	}
	for i := range p.meds {
		if p.meds[i].renew >= 0 {
			p.meds[i].stopped = true // superseded by the renewal
		}
	}
}

// baselines sets the values that the patient's measurements vary around.
func (g *generator) baselines(p *patient, r *rand.Rand) {
	nrm := func(mean, sd float64) float64 { return mean + sd*r.NormFloat64() }
	age := float64(p.ageAt(p.first))
	if p.had(cDL) {
		p.ldl = nrm(158, 28)
	} else {
		p.ldl = nrm(112, 22)
	}
	if p.female {
		p.hdl = nrm(62, 13)
		p.cre = nrm(0.62, 0.10)
		p.weight = nrm(54, 8)
	} else {
		p.hdl = nrm(52, 11)
		p.cre = nrm(0.84, 0.13)
		p.weight = nrm(66, 9)
	}
	p.hdl = max(p.hdl, 25)
	p.tg = max(nrm(115, 40), 35)
	if p.had(cDL) || p.had(cDM) {
		p.tg = max(nrm(175, 60), 50)
	}
	p.a1c = nrm(5.6, 0.25)
	if p.had(cDM) {
		p.a1c = nrm(7.1, 0.8)
	}
	if p.had(cHF) {
		p.cre += 0.25
	}
	if age >= 80 {
		p.cre += 0.15
	}
	// BNP rises with age; atrial fibrillation and heart failure raise it
	// several times over.
	p.bnp = math.Exp(nrm(math.Log(max(age/3-5, 5)), 0.6))
	if p.had(cAF) {
		p.bnp *= 3
	}
	if p.had(cHF) {
		p.bnp *= 6
	}
	p.hr = nrm(70, 8)
	switch {
	case p.had(cAF):
		p.hr = nrm(84, 12)
	case p.had(cSSS):
		p.hr = nrm(48, 5)
	}
	p.sys, p.dia = nrm(124, 11), nrm(74, 7)
	if p.had(cHT) {
		p.sys, p.dia = nrm(150, 12), nrm(88, 8)
	}
}
