package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// id writes the member "id": prefix, the patient's number and seq.
func (e *enc) id(prefix string, pat, seq, width int) {
	e.key("id")
	e.b = append(e.b, '"')
	e.b = appendID(e.b, prefix, pat, seq, width)
	e.b = append(e.b, '"')
	e.comma = true
}

func appendID(b []byte, prefix string, pat, seq, width int) []byte {
	b = append(b, prefix...)
	b = append(b, '-')
	b = appendPadded(b, pat, 6)
	b = append(b, '-')
	return appendPadded(b, seq, width)
}

// seqRef writes a Reference to typ/prefix-pat-seq, as member k or, if k is
// "", as an array element.
func (e *enc) seqRef(k, typ, prefix string, pat, seq, width int) {
	if k == "" {
		e.open()
	} else {
		e.obj(k)
	}
	e.key("reference")
	e.b = append(e.b, '"')
	e.b = append(e.b, typ...)
	e.b = append(e.b, '/')
	e.b = appendID(e.b, prefix, pat, seq, width)
	e.b = append(e.b, '"')
	e.comma = true
	e.close()
}

// Widths of the sequence numbers of each kind of resource.
const (
	wEnc  = 3
	wObs  = 4
	wCond = 2
	wProc = 2
	wRx   = 2
	wDR   = 3
)

func (g *generator) patientResource(p *patient, r *rand.Rand) {
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "Patient")
	e.key("id")
	e.quote(p.ref[len("Patient/"):])
	e.arr("identifier")
	g.mrn(p.home, p.n)
	if p.hubPatient && p.home != g.hub {
		g.mrn(g.hub, p.n)
	}
	e.end()
	e.boolean("active", true)
	g.names(p.fam, p.given)
	mobile := []string{"090", "080", "070"}[r.IntN(3)]
	g.telecom(mobile+"-"+pad4(r.IntN(10000))+"-"+pad4(r.IntN(10000)), "mobile")
	if p.female {
		e.str("gender", "female")
	} else {
		e.str("gender", "male")
	}
	e.date("birthDate", p.birth)
	t := p.home.town
	var line, postal string
	if p.home == g.hub {
		ward := wards[r.IntN(len(wards))]
		t.city += ward
		line = chome[r.IntN(len(chome))] + strconv.Itoa(1+r.IntN(9)) + "丁目" + strconv.Itoa(1+r.IntN(20)) + "-" + strconv.Itoa(1+r.IntN(30))
		postal = "0" + strconv.Itoa(60+r.IntN(7)) + "-" + pad4(r.IntN(10000))
	} else {
		line = chome[r.IntN(len(chome))] + strconv.Itoa(1+r.IntN(9)) + "丁目" + strconv.Itoa(1+r.IntN(20)) + "-" + strconv.Itoa(1+r.IntN(30))
		postal = t.postal + "-" + pad4(r.IntN(10000))
	}
	g.address(t, postal, line, "home", false)
	e.ref("managingOrganization", p.home.ref, p.home.name)
	e.close()
	g.put("Patient")
}

// mrn writes the patient's identifier at facility f: JP Core's system for
// the facility and a medical record number.
func (g *generator) mrn(f *facility, n int) {
	e := &g.e
	e.open()
	e.str("system", f.idSys)
	e.key("value")
	e.b = append(e.b, '"')
	if f.index == 0 {
		e.b = appendPadded(e.b, 10_000_000+n, 8)
	} else {
		e.b = appendPadded(e.b, n, 8)
	}
	e.b = append(e.b, '"')
	e.comma = true
	e.close()
}

func (g *generator) condition(p *patient, c *dx) {
	p.nCond++
	c.seq = p.nCond
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "Condition")
	e.id("cond", p.n, c.seq, wCond)
	status := "active"
	if c.resolved != 0 {
		status = "resolved"
	}
	e.concept("clinicalStatus", "", coding{condClin, status, ""})
	e.concept("verificationStatus", "", coding{condVer, "confirmed", ""})
	e.concepts("category", "", coding{condCat, "problem-list-item", "Problem List Item"})
	e.concept("code", c.c.display,
		coding{icd10, c.c.icd10, c.c.display},
		coding{medisDx, c.c.exCode, c.c.display},
		coding{snomed, c.c.snomed, c.c.english})
	e.ref("subject", p.ref, p.display)
	e.date("onsetDateTime", c.onset)
	if c.resolved != 0 {
		e.date("abatementDateTime", c.resolved)
	}
	e.date("recordedDate", c.recorded)
	e.ref("recorder", p.doctor.ref, p.doctor.name)
	e.close()
	g.put("Condition")
}

func (g *generator) allergy(p *patient, r *rand.Rand) {
	a := allergies[r.IntN(len(allergies))]
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "AllergyIntolerance")
	e.id("allergy", p.n, 1, 1)
	e.concept("clinicalStatus", "", coding{allergyCl, "active", "Active"})
	e.concept("verificationStatus", "", coding{allergyVe, "confirmed", "Confirmed"})
	e.str("type", "allergy")
	e.strs("category", a.category)
	e.str("criticality", "low")
	e.textConcept("code", a.text)
	e.ref("patient", p.ref, p.display)
	e.date("recordedDate", p.visits[0].day)
	e.ref("recorder", p.doctor.ref, p.doctor.name)
	e.arr("reaction")
	e.open()
	e.arr("manifestation")
	e.open()
	e.str("text", a.reaction)
	e.close()
	e.end()
	e.close()
	e.end()
	e.close()
	g.put("AllergyIntolerance")
}

// encounter writes visit v and everything recorded at it.
func (g *generator) encounter(p *patient, v *visit, r *rand.Rand) {
	p.nEnc = v.seq
	end, endMin := v.day, v.min+15+5*r.IntN(4)
	if v.stay != nil {
		end, endMin = v.day+day(v.stay.days), 10*60+30*r.IntN(6)
	}
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "Encounter")
	e.id("enc", p.n, v.seq, wEnc)
	e.str("status", "finished")
	if v.stay != nil {
		e.raw("class", `{"system":"`+actCode+`","code":"IMP","display":"inpatient encounter"}`)
		e.concepts("type", "入院", coding{snomed, "32485007", "Hospital admission"})
	} else {
		e.raw("class", `{"system":"`+actCode+`","code":"AMB","display":"ambulatory"}`)
		e.concepts("type", "外来診察", coding{snomed, "185349003", "Encounter for check up"})
	}
	e.concept("serviceType", "循環器内科", cardiology)
	e.ref("subject", p.ref, p.display)
	e.arr("participant")
	e.open()
	e.arr("type")
	e.open()
	e.codings(coding{partType, "ATND", "attender"})
	e.close()
	e.end()
	e.ref("individual", v.doctor.ref, v.doctor.name)
	e.close()
	e.end()
	e.period("period", v.day, v.min, end, endMin)
	if v.stay != nil {
		if i := p.has[v.stay.reason]; i != 0 {
			e.arr("reasonReference")
			e.seqRef("", "Condition", "cond", p.n, p.conds[i-1].seq, wCond)
			e.end()
		}
	}
	e.arr("location")
	for _, l := range g.encounterPlaces(v) {
		e.open()
		e.ref("location", l.ref, l.name)
		e.close()
	}
	e.end()
	e.ref("serviceProvider", v.fac.ref, v.fac.name)
	e.close()
	g.put("Encounter")

	if v.stay != nil {
		g.stayRecord(p, v, r)
	} else {
		g.visitRecord(p, v, r)
	}
	for i := range p.meds {
		m := &p.meds[i]
		if m.start == v.seq-1 {
			g.medicationRequest(p, v, m, i, false)
		}
		if m.renew == v.seq-1 {
			g.medicationRequest(p, v, m, i, true)
		}
	}
}

func (g *generator) encounterPlaces(v *visit) []place {
	switch {
	case v.stay == nil:
		return []place{v.fac.clinic}
	case v.stay.kind == stayMI:
		return []place{v.fac.ccu, v.fac.cathLab, v.fac.ward}
	}
	return []place{v.fac.cathLab, v.fac.ward}
}

// visitRecord writes what an outpatient visit records: vital signs, an ECG
// on many, blood tests on some.
func (g *generator) visitRecord(p *patient, v *visit, r *rand.Rand) {
	nurse := v.fac.nurses[r.IntN(len(v.fac.nurses))]
	at := v.min
	years := float64(v.day-windowStart) / 365
	hr := p.hr + 5*r.NormFloat64()
	if p.betaFrom != 0 && v.day >= p.betaFrom {
		hr -= 7
	}
	if p.pacedFrom != 0 && v.day >= p.pacedFrom {
		hr = max(hr, 60+4*math.Abs(r.NormFloat64()))
	}
	hr = max(hr, 38)
	sys, dia := p.sys+9*r.NormFloat64(), p.dia+6*r.NormFloat64()
	if p.htTreatedFrom != 0 && v.day > p.htTreatedFrom {
		sys, dia = sys-16, dia-9
	}
	g.bloodPressure(p, v, nurse, at, sys, dia)
	g.vital(p, v, nurse, at, &vitalHR, math.Round(hr), 0)
	if v.first {
		h := 164 + 6*r.NormFloat64()
		if p.female {
			h = 151 + 6*r.NormFloat64()
		}
		g.vital(p, v, nurse, at, &vitalHeight, h, 1)
	}
	if v.first || r.IntN(100) < 70 {
		w := p.weight + 1.2*r.NormFloat64()
		if p.had(cHF) {
			w += 1.5 * r.NormFloat64()
		}
		g.vital(p, v, nurse, at, &vitalWeight, w, 1)
	}
	if r.IntN(100) < 50 {
		s := 97.3 + r.NormFloat64()
		if p.had(cHF) {
			s -= 1.5
		}
		g.vital(p, v, nurse, at, &vitalSpO2, math.Round(min(s, 100)), 0)
	}
	if v.ecg {
		g.ecg(p, v, r, at+10, hr, ecgRhythm(p, v.day))
	}
	if !v.labs {
		return
	}
	var res [10]int
	results := res[:0]
	draw := at - 30
	lab := func(t *test, value float64) {
		results = append(results, g.lab(p, v, t, draw, value))
	}
	ldl := p.ldl * (1 + 0.07*r.NormFloat64())
	if p.statinFrom != 0 && v.day > p.statinFrom {
		ldl *= 0.62
	}
	hdl := p.hdl * (1 + 0.06*r.NormFloat64())
	tg := p.tg * math.Exp(0.25*r.NormFloat64())
	lab(&testTC, ldl+hdl+tg/5+6*r.NormFloat64())
	lab(&testTG, tg)
	lab(&testHDL, hdl)
	lab(&testLDL, ldl)
	if p.had(cDM) || r.IntN(100) < 30 {
		lab(&testA1c, p.a1c+0.3*r.NormFloat64())
	}
	lab(&testCre, p.cre*(1+0.02*years)*(1+0.06*r.NormFloat64()))
	if p.had(cHF) || p.had(cAF) || p.ageAt(v.day) >= 75 && r.IntN(2) == 0 {
		lab(v.fac.natriuretic, natriuretic(v.fac.natriuretic, p.bnp*math.Exp(0.3*r.NormFloat64())))
	}
	if p.had(cAP) && v.fac != g.hub && r.IntN(100) < 5 { // chest pain: rule out an infarction
		lab(v.fac.troponin, troponin(v.fac.troponin, -1, r))
	}
	g.report(p, v, draw, results)
}

// natriuretic converts a BNP level to the test's scale: NT-proBNP runs
// some six times higher.
func natriuretic(t *test, bnp float64) float64 {
	if t == &testNTp {
		return bnp * 6.5
	}
	return bnp
}

// troponin returns a high-sensitivity troponin level hours after the
// onset of an infarction, or for hours < 0 the level of someone who has
// none.
func troponin(t *test, hours int, r *rand.Rand) float64 {
	if hours < 0 {
		if t == &testTnI {
			return 2 + 3*math.Abs(r.NormFloat64())
		}
		return 6 + 3*math.Abs(r.NormFloat64())
	}
	peak := 2500 * math.Exp(0.5*r.NormFloat64())
	if t == &testTnI {
		peak *= 3.5
	}
	return peak * (1 - math.Exp(-float64(hours+2)/10))
}

func ecgRhythm(p *patient, d day) string {
	switch {
	case p.pacedFrom != 0 && d >= p.pacedFrom:
		return "ペースメーカー調律"
	case p.had(cAF):
		return "心房細動"
	case p.had(cSSS):
		return "洞徐脈"
	case p.had(cOMI) && p.conds[p.has[cOMI]-1].onset <= d:
		return "洞調律、異常Q波（陳旧性心筋梗塞）"
	}
	return "洞調律"
}

// stayRecord writes what an admission records.
func (g *generator) stayRecord(p *patient, v *visit, r *rand.Rand) {
	st := v.stay
	nurse := v.fac.nurses[r.IntN(len(v.fac.nurses))]
	at := v.min
	hr := p.hr + 8*r.NormFloat64()
	sys, dia := p.sys+10*r.NormFloat64(), p.dia+7*r.NormFloat64()
	if st.kind == stayMI {
		hr += 15
	}
	g.bloodPressure(p, v, nurse, at, sys, dia)
	g.vital(p, v, nurse, at, &vitalHR, math.Round(max(hr, 40)), 0)
	g.vital(p, v, nurse, at, &vitalSpO2, math.Round(min(96+r.NormFloat64(), 100)), 0)
	g.vital(p, v, nurse, at, &vitalWeight, p.weight+r.NormFloat64(), 1)
	rhythm := ecgRhythm(p, v.day)
	if st.kind == stayMI {
		rhythm = "洞調律、ST上昇（急性心筋梗塞）"
	}
	g.ecg(p, v, r, at+5, hr, rhythm)

	var res [12]int
	results := res[:0]
	draw := at + 15
	lab := func(t *test, value float64, minute int) {
		results = append(results, g.lab(p, v, t, minute, value))
	}
	tn := v.fac.troponin
	if st.kind == stayMI {
		hours := 1 + r.IntN(4)
		lab(tn, troponin(tn, hours, r), draw)
		lab(tn, troponin(tn, hours+3, r), draw+180)
	} else if st.kind == stayCAG {
		lab(tn, troponin(tn, -1, r), draw)
	}
	ldl := p.ldl * (1 + 0.07*r.NormFloat64())
	hdl := p.hdl * (1 + 0.06*r.NormFloat64())
	tg := p.tg * math.Exp(0.25*r.NormFloat64())
	lab(&testTC, ldl+hdl+tg/5, draw)
	lab(&testTG, tg, draw)
	lab(&testHDL, hdl, draw)
	lab(&testLDL, ldl, draw)
	lab(&testA1c, p.a1c+0.3*r.NormFloat64(), draw)
	lab(&testCre, p.cre*(1+0.06*r.NormFloat64()), draw)
	bnp := p.bnp * math.Exp(0.3*r.NormFloat64())
	if st.kind == stayMI {
		bnp *= 4
	}
	lab(v.fac.natriuretic, natriuretic(v.fac.natriuretic, bnp), draw)
	g.report(p, v, draw, results)

	// The procedures, in the cath lab.
	doc := v.fac.doctors[r.IntN(len(v.fac.doctors))]
	pd, pm := v.day, at+90
	if st.kind != stayMI {
		pd, pm = v.day+1, 9*60+30+30*r.IntN(10)
	}
	switch st.kind {
	case stayMI:
		g.procedure(p, v, &procCAG, doc, pd, pm, st.reason)
		g.procedure(p, v, &procPCI, doc, pd, pm+procCAG.minutes, st.reason)
	case stayCAG:
		g.procedure(p, v, &procCAG, doc, pd, pm, st.reason)
		if st.pci {
			g.procedure(p, v, &procPCI, doc, pd, pm+procCAG.minutes, st.reason)
		}
	case stayAblation:
		g.procedure(p, v, &procAblation, doc, pd, pm, st.reason)
		g.ecg(p, v, r, pm+procAblation.minutes+120, p.hr-10, "洞調律")
	case stayPacemaker:
		g.procedure(p, v, &procPacemaker, doc, pd, pm, st.reason)
		g.ecg(p, v, r, pm+procPacemaker.minutes+120, 60, "ペースメーカー調律")
	}
	// Vital signs on the day of discharge.
	out := v.day + day(st.days)
	g.bloodPressureAt(p, v, nurse, out, 9*60, p.sys-8+8*r.NormFloat64(), p.dia-4+5*r.NormFloat64())
	g.vitalAt(p, v, nurse, out, 9*60, &vitalHR, math.Round(max(p.hr-4+5*r.NormFloat64(), 50)), 0)
}

// obsHead starts an Observation at visit v: id, status, category, code.
func (g *generator) obsHead(p *patient, category, catDisplay string) int {
	p.nObs++
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "Observation")
	e.id("obs", p.n, p.nObs, wObs)
	e.str("status", "final")
	e.concepts("category", "", coding{obsCat, category, catDisplay})
	return p.nObs
}

// obsContext writes subject, encounter, time and performer.
func (g *generator) obsContext(p *patient, v *visit, d day, min int, performer string) {
	e := &g.e
	e.ref("subject", p.ref, "")
	e.seqRef("encounter", "Encounter", "enc", p.n, v.seq, wEnc)
	e.dateTime("effectiveDateTime", d, min)
	e.refs("performer", performer)
}

func (g *generator) vital(p *patient, v *visit, by person, min int, vt *vital, value float64, prec int) {
	g.vitalAt(p, v, by, v.day, min, vt, value, prec)
}

func (g *generator) vitalAt(p *patient, v *visit, by person, d day, min int, vt *vital, value float64, prec int) {
	g.obsHead(p, "vital-signs", "Vital Signs")
	e := &g.e
	e.concept("code", vt.name, coding{loinc, vt.loinc, vt.display})
	g.obsContext(p, v, d, min, by.ref)
	e.quantity("valueQuantity", value, prec, vt.unit, vt.code)
	e.close()
	g.put("Observation")
}

func (g *generator) bloodPressure(p *patient, v *visit, by person, min int, sys, dia float64) {
	g.bloodPressureAt(p, v, by, v.day, min, sys, dia)
}

func (g *generator) bloodPressureAt(p *patient, v *visit, by person, d day, min int, sys, dia float64) {
	g.obsHead(p, "vital-signs", "Vital Signs")
	e := &g.e
	e.concept("code", vitalBP.name, coding{loinc, vitalBP.loinc, vitalBP.display})
	g.obsContext(p, v, d, min, by.ref)
	e.arr("component")
	for _, c := range [2]struct {
		vt *vital
		v  float64
	}{{&vitalSys, sys}, {&vitalDia, dia}} {
		e.open()
		e.concept("code", c.vt.name, coding{loinc, c.vt.loinc, c.vt.display})
		e.quantity("valueQuantity", math.Round(c.v), 0, c.vt.unit, c.vt.code)
		e.close()
	}
	e.end()
	e.close()
	g.put("Observation")
}

// ecg writes a 12-lead ECG with its measurements and impression.
func (g *generator) ecg(p *patient, v *visit, r *rand.Rand, min int, hr float64, rhythm string) {
	tech := v.fac.techs[r.IntN(len(v.fac.techs))]
	g.obsHead(p, "procedure", "Procedure")
	e := &g.e
	e.concept("code", "標準12誘導心電図", ecgStudy)
	g.obsContext(p, v, v.day, min, tech.ref)
	hr = math.Round(max(hr+3*r.NormFloat64(), 35))
	paced := rhythm == "ペースメーカー調律"
	qrs := 92 + 10*r.NormFloat64()
	if paced {
		qrs = 150 + 8*r.NormFloat64()
	}
	qtc := 420 + 18*r.NormFloat64()
	if paced {
		qtc += 30
	}
	rr := 60 / hr
	qt := qtc * math.Sqrt(rr)
	e.arr("component")
	component := func(c coding, v float64, unit, code string) {
		e.open()
		e.concept("code", "", c)
		e.quantity("valueQuantity", math.Round(v), 0, unit, code)
		e.close()
	}
	component(ecgHR, hr, "/min", "/min")
	if rhythm != "心房細動" && !paced {
		component(ecgPR, 160+18*r.NormFloat64(), "ms", "ms")
	}
	component(ecgQRS, qrs, "ms", "ms")
	component(ecgQT, qt, "ms", "ms")
	component(ecgQTc, qtc, "ms", "ms")
	e.open()
	e.concept("code", "", ecgImpr)
	e.str("valueString", rhythm)
	e.close()
	e.end()
	e.close()
	g.put("Observation")
}

// lab writes a laboratory result drawn at minute min of the visit's day
// and returns its number.
func (g *generator) lab(p *patient, v *visit, t *test, min int, value float64) int {
	n := g.obsHead(p, "laboratory", "Laboratory")
	e := &g.e
	e.concept("code", t.name, coding{loinc, t.loinc, t.loincTxt}, coding{jlac10, t.jlac10, t.name})
	g.obsContext(p, v, v.day, min, v.fac.ref)
	e.key("issued")
	e.b = append(e.b, '"')
	e.b = appendDateTime(e.b, v.day, min+60)
	e.b = append(e.b, '"')
	e.comma = true
	scale := math.Pow10(t.prec)
	value = math.Max(math.Round(value*scale)/scale, 1/scale)
	e.quantity("valueQuantity", value, t.prec, t.unit, t.unit)
	low, high := t.rangeFor(p.female)
	flag, display := "N", "Normal"
	switch {
	case value > high:
		flag, display = "H", "High"
	case t.lowOK && value < low:
		flag, display = "L", "Low"
	}
	e.concepts("interpretation", "", coding{interpCS, flag, display})
	e.arr("referenceRange")
	e.open()
	if t.lowOK {
		e.quantity("low", low, t.prec, t.unit, t.unit)
	}
	e.quantity("high", high, t.prec, t.unit, t.unit)
	e.close()
	e.end()
	e.close()
	g.put("Observation")
	return n
}

// report writes the DiagnosticReport that groups the results of one draw.
func (g *generator) report(p *patient, v *visit, min int, results []int) {
	p.nDR++
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "DiagnosticReport")
	e.id("report", p.n, p.nDR, wDR)
	e.str("status", "final")
	e.concepts("category", "", coding{v20074, "LAB", "Laboratory"})
	e.concept("code", "検体検査", coding{loinc, "11502-2", "Laboratory report"})
	e.ref("subject", p.ref, p.display)
	e.seqRef("encounter", "Encounter", "enc", p.n, v.seq, wEnc)
	e.dateTime("effectiveDateTime", v.day, min)
	e.key("issued")
	e.b = append(e.b, '"')
	e.b = appendDateTime(e.b, v.day, min+90)
	e.b = append(e.b, '"')
	e.comma = true
	e.arr("performer")
	e.open()
	e.str("reference", v.fac.ref)
	e.str("display", v.fac.name)
	e.close()
	e.end()
	e.arr("result")
	for _, n := range results {
		e.seqRef("", "Observation", "obs", p.n, n, wObs)
	}
	e.end()
	e.close()
	g.put("DiagnosticReport")
}

func (g *generator) procedure(p *patient, v *visit, pr *procedure, doc person, d day, min, reason int) {
	p.nProc++
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "Procedure")
	e.id("proc", p.n, p.nProc, wProc)
	e.str("status", "completed")
	e.concept("code", pr.name, coding{snomed, pr.snomed, pr.display})
	e.ref("subject", p.ref, p.display)
	e.seqRef("encounter", "Encounter", "enc", p.n, v.seq, wEnc)
	e.period("performedPeriod", d, min, d, min+pr.minutes)
	e.arr("performer")
	e.open()
	e.ref("actor", doc.ref, doc.name)
	e.close()
	e.end()
	e.ref("location", v.fac.cathLab.ref, v.fac.cathLab.name)
	if i := p.has[reason]; i != 0 {
		e.arr("reasonReference")
		e.seqRef("", "Condition", "cond", p.n, p.conds[i-1].seq, wCond)
		e.end()
	}
	e.close()
	g.put("Procedure")
}

// medicationRequest writes the order of m at visit v, or its renewal. A
// third of the orders refer to a Medication resource rather than coding
// the drug inline, so that _include=MedicationRequest:medication finds
// something.
func (g *generator) medicationRequest(p *patient, v *visit, m *rx, i int, renewal bool) {
	p.nRx++
	e := &g.e
	e.reset()
	e.open()
	e.str("resourceType", "MedicationRequest")
	e.id("medrx", p.n, p.nRx, wRx)
	status := "active"
	if !renewal && m.stopped {
		status = "completed"
	}
	e.str("status", status)
	e.str("intent", "order")
	if (p.n+i)%3 == 0 {
		e.ref("medicationReference", g.meds[m.d], m.d.name)
	} else {
		e.concept("medicationCodeableConcept", m.d.name, coding{hot9, m.d.hot9, m.d.name})
	}
	e.ref("subject", p.ref, p.display)
	e.seqRef("encounter", "Encounter", "enc", p.n, v.seq, wEnc)
	e.dateTime("authoredOn", v.day, v.min+10)
	e.ref("requester", v.doctor.ref, v.doctor.name)
	if c := p.has[m.reason]; c != 0 {
		e.arr("reasonReference")
		e.seqRef("", "Condition", "cond", p.n, p.conds[c-1].seq, wCond)
		e.end()
	}
	e.arr("dosageInstruction")
	e.open()
	e.str("text", m.d.dose)
	e.obj("timing")
	e.obj("repeat")
	e.integer("frequency", m.d.times)
	e.integer("period", 1)
	e.str("periodUnit", "d")
	e.close()
	e.close()
	e.textConcept("route", "経口")
	e.arr("doseAndRate")
	e.open()
	e.obj("doseQuantity")
	e.integer("value", m.d.perDose)
	e.str("unit", "錠")
	e.str("system", merit9Unit)
	e.str("code", "TAB")
	e.close()
	e.close()
	e.end()
	e.close()
	e.end()
	days := 28 + 28*(v.seq%3)
	e.obj("dispenseRequest")
	e.obj("quantity")
	e.integer("value", days*m.d.perDose*m.d.times)
	e.str("unit", "錠")
	e.str("system", merit9Unit)
	e.str("code", "TAB")
	e.close()
	e.obj("expectedSupplyDuration")
	e.integer("value", days)
	e.str("unit", "日")
	e.str("system", ucum)
	e.str("code", "d")
	e.close()
	e.close()
	e.close()
	g.put("MedicationRequest")
}
