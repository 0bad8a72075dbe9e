package synth

// Code systems.
const (
	ucum      = "http://unitsofmeasure.org"
	loinc     = "http://loinc.org"
	snomed    = "http://snomed.info/sct"
	jlac10    = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits"
	hot9      = "http://medis.or.jp/CodeSystem/master-HOT9"
	medisDx   = "http://medis.or.jp/CodeSystem/master-disease-exCode"
	icd10     = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
	obsCat    = "http://terminology.hl7.org/CodeSystem/observation-category"
	interpCS  = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	actCode   = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	partType  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	roleCode  = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
	orgType   = "http://terminology.hl7.org/CodeSystem/organization-type"
	pracRole  = "http://terminology.hl7.org/CodeSystem/practitioner-role"
	condClin  = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	condVer   = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	condCat   = "http://terminology.hl7.org/CodeSystem/condition-category"
	allergyCl = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	allergyVe = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
	v20074    = "http://terminology.hl7.org/CodeSystem/v2-0074"
	// JP Core: the prescription unit codes (MERIT-9) and identifiers.
	merit9Unit     = "urn:oid:1.2.392.100495.20.2.101"
	patientIDBase  = "urn:oid:1.2.392.100495.20.3.51.1" // + the 10-digit facility code
	institutionNo  = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no"
	nameRepr       = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
	vitalSignsProf = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
)

// A condition is a diagnosis the population carries.
//
// The ICD-10 codes follow the MHLW ICD-10 (2013) code system as JP Core
// writes it, without the dot. The MEDIS disease exchange codes are
// stand-ins of the right shape: the MEDIS master is licensed and was not at
// hand, so they are not checked against it; replace them from the master
// before the data is shown as real coding.
type condition struct {
	key     string
	icd10   string
	exCode  string
	display string // Japanese, as the MEDIS master names it
	snomed  string
	english string
}

var (
	condHF = condition{"hf", "I500", "R8U1", "うっ血性心不全", "42343007", "Congestive heart failure"}
	condAF = condition{"af", "I489", "K9K5", "心房細動", "49436004", "Atrial fibrillation"}
	// Angina pectoris.
	condAP  = condition{"ap", "I209", "D2V2", "狭心症", "194828000", "Angina"}
	condMI  = condition{"mi", "I219", "T1KJ", "急性心筋梗塞", "57054005", "Acute myocardial infarction"}
	condOMI = condition{"omi", "I252", "JTG2", "陳旧性心筋梗塞", "1755008", "Old myocardial infarction"}
	condHT  = condition{"ht", "I10", "K1RA", "本態性高血圧症", "59621000", "Essential hypertension"}
	condDL  = condition{"dl", "E785", "QDA3", "脂質異常症", "370992007", "Dyslipidemia"}
	condDM  = condition{"dm", "E119", "VQ9V", "２型糖尿病", "44054006", "Type 2 diabetes mellitus"}
	condSSS = condition{"sss", "I495", "S2P7", "洞不全症候群", "36083008", "Sick sinus syndrome"}
)

// A test is a lab test with its LOINC and JLAC10 codes, unit and reference
// range (the JCCLS common reference intervals where there is one, else the
// upper limit that laboratories report). The JLAC10 codes (analyte,
// identification, specimen, method, result) were checked against
// commercial laboratories' catalogues.
type test struct {
	key      string
	loinc    string
	loincTxt string
	jlac10   string
	name     string // Japanese
	unit     string // UCUM, written as unit and code
	prec     int    // digits after the point
	low      float64
	high     float64
	fLow     float64 // the range for women, where it differs
	fHigh    float64
	lowOK    bool // the range has a lower bound
}

func (t *test) rangeFor(female bool) (low, high float64) {
	if female && t.fHigh != 0 {
		return t.fLow, t.fHigh
	}
	return t.low, t.high
}

var (
	testTC   = test{"tc", "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "3F050000002327101", "総コレステロール", "mg/dL", 0, 142, 248, 0, 0, true}
	testTG   = test{"tg", "2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "3F015000002327101", "中性脂肪", "mg/dL", 0, 40, 234, 30, 117, true}
	testHDL  = test{"hdl", "2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "3F070000002327101", "HDLコレステロール", "mg/dL", 0, 38, 90, 48, 103, true}
	testLDL  = test{"ldl", "18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay", "3F077000002327101", "LDLコレステロール", "mg/dL", 0, 65, 163, 0, 0, true}
	testA1c  = test{"a1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "3D046000001906202", "HbA1c(NGSP)", "%", 1, 4.9, 6.0, 0, 0, true}
	testCre  = test{"cre", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "3C015000002327101", "クレアチニン", "mg/dL", 2, 0.65, 1.07, 0.46, 0.79, true}
	testBNP  = test{"bnp", "30934-4", "Natriuretic peptide B [Mass/volume] in Serum or Plasma", "4Z271000002205201", "BNP", "pg/mL", 1, 0, 18.4, 0, 0, false}
	testNTp  = test{"ntprobnp", "33762-6", "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma", "4Z272000002305301", "NT-proBNP", "pg/mL", 0, 0, 125, 0, 0, false}
	testTnT  = test{"hstnt", "67151-1", "Troponin T.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method", "5C093000002305301", "高感度心筋トロポニンT", "ng/L", 0, 0, 14, 0, 0, false}
	testTnI  = test{"hstni", "89579-7", "Troponin I.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method", "5C094000002305101", "高感度心筋トロポニンI", "ng/L", 1, 0, 26.2, 0, 0, false}
	labPanel = []*test{&testTC, &testTG, &testHDL, &testLDL, &testA1c, &testCre}
)

// A vital is a vital sign of the FHIR vital signs profile.
type vital struct {
	loinc, display, name, unit, code string
}

var (
	vitalHR     = vital{"8867-4", "Heart rate", "脈拍", "/min", "/min"}
	vitalBP     = vital{"85354-9", "Blood pressure panel with all children optional", "血圧", "", ""}
	vitalSys    = vital{"8480-6", "Systolic blood pressure", "収縮期血圧", "mm[Hg]", "mm[Hg]"}
	vitalDia    = vital{"8462-4", "Diastolic blood pressure", "拡張期血圧", "mm[Hg]", "mm[Hg]"}
	vitalWeight = vital{"29463-7", "Body weight", "体重", "kg", "kg"}
	vitalHeight = vital{"8302-2", "Body height", "身長", "cm", "cm"}
	vitalSpO2   = vital{"59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "経皮的動脈血酸素飽和度", "%", "%"}
)

// ECG measurements, as the JP Core electrocardiogram example codes them.
var (
	ecgStudy = coding{loinc, "11524-6", "EKG study"}
	ecgHR    = coding{loinc, "76282-3", "Heart rate.beat-to-beat by EKG"}
	ecgPR    = coding{loinc, "8625-6", "P-R Interval"}
	ecgQRS   = coding{loinc, "8633-0", "QRS duration"}
	ecgQT    = coding{loinc, "8634-8", "Q-T interval"}
	ecgQTc   = coding{loinc, "8636-3", "Q-T interval corrected"}
	ecgImpr  = coding{loinc, "8601-7", "EKG impression"}
)

// A drug is a medication the population takes. The HOT9 codes are
// stand-ins of the right shape (9 digits), not checked against the MEDIS
// HOT master, which was not at hand.
type drug struct {
	key     string
	hot9    string
	name    string // the product name as the HOT master writes it
	generic string
	dose    string // the dosage text
	perDose int    // tablets a dose
	times   int    // doses a day
}

var (
	drugAspirin     = drug{"aspirin", "107548701", "バイアスピリン錠１００ｍｇ", "アスピリン", "1回1錠 1日1回 朝食後", 1, 1}
	drugClopidogrel = drug{"clopidogrel", "114958701", "プラビックス錠７５ｍｇ", "クロピドグレル硫酸塩", "1回1錠 1日1回 朝食後", 1, 1}
	drugAtorva      = drug{"atorvastatin", "112154401", "リピトール錠１０ｍｇ", "アトルバスタチンカルシウム水和物", "1回1錠 1日1回 夕食後", 1, 1}
	drugBisoprolol  = drug{"bisoprolol", "110987201", "メインテート錠２．５ｍｇ", "ビソプロロールフマル酸塩", "1回1錠 1日1回 朝食後", 1, 1}
	drugWarfarin    = drug{"warfarin", "105931202", "ワーファリン錠１ｍｇ", "ワルファリンカリウム", "1回3錠 1日1回 朝食後", 3, 1}
	drugApixaban    = drug{"apixaban", "121884101", "エリキュース錠５ｍｇ", "アピキサバン", "1回1錠 1日2回 朝夕食後", 1, 2}
	drugFurosemide  = drug{"furosemide", "104839502", "ラシックス錠２０ｍｇ", "フロセミド", "1回1錠 1日1回 朝食後", 1, 1}
	drugAmlodipine  = drug{"amlodipine", "111702801", "アムロジピン錠５ｍｇ", "アムロジピンベシル酸塩", "1回1錠 1日1回 朝食後", 1, 1}
	drugMetformin   = drug{"metformin", "118953101", "メトグルコ錠２５０ｍｇ", "メトホルミン塩酸塩", "1回1錠 1日2回 朝夕食後", 1, 2}
	drugs           = []*drug{&drugAspirin, &drugClopidogrel, &drugAtorva, &drugBisoprolol, &drugWarfarin, &drugApixaban, &drugFurosemide, &drugAmlodipine, &drugMetformin}
)

// A procedure is done at the hub's cath lab.
type procedure struct {
	key, snomed, display, name string
	minutes                    int
}

var (
	procCAG       = procedure{"cag", "33367005", "Angiography of coronary artery", "冠動脈造影検査", 40}
	procPCI       = procedure{"pci", "415070008", "Percutaneous coronary intervention", "経皮的冠動脈インターベンション（ステント留置）", 90}
	procAblation  = procedure{"ablation", "18286008", "Catheter ablation of tissue of heart", "カテーテルアブレーション（肺静脈隔離術）", 180}
	procPacemaker = procedure{"pacemaker", "307280005", "Implantation of cardiac pacemaker", "ペースメーカー植込み術", 90}
)

// An allergy is one that matters to cardiology: contrast media before a
// catheterisation, drugs, foods.
type allergy struct {
	text, category, reaction string
}

var allergies = []allergy{
	{"ヨード造影剤", "medication", "蕁麻疹"},
	{"ペニシリン系抗菌薬", "medication", "発疹"},
	{"アスピリン", "medication", "喘息発作"},
	{"卵", "food", "蕁麻疹"},
	{"そば", "food", "呼吸困難"},
	{"ラテックス", "environment", "接触皮膚炎"},
}
