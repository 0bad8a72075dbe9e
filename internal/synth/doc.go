// Package synth generates realistic synthetic FHIR R4 data at any scale,
// for benchmarks and demonstrations: the records of a cardiology hub
// hospital in Sapporo and its satellite clinics across Hokkaido, in the
// shape of JP Core.
//
// The network has the hub and up to MaxFacilities satellite clinics
// (Organization, Location, Practitioner, PractitionerRole) and a formulary
// (Medication). Each patient belongs to one facility and has, over
// 2019-2026, a cardiology record: conditions (hypertension, dyslipidaemia,
// diabetes, atrial fibrillation, heart failure, angina, myocardial
// infarction, sick sinus syndrome) coded in ICD-10 and MEDIS; outpatient
// encounters with vital signs, 12-lead ECGs and blood tests (LOINC and
// JLAC10, with reference ranges, grouped by DiagnosticReports); admissions
// to the hub for infarctions, coronary angiography and PCI, ablation or a
// pacemaker (Procedure); medication orders (MedicationRequest, a third of
// them referring to a Medication); a few allergies. That is some 50
// resources a patient.
//
// Everything is fixed by Config.Seed: the same Config gives the same bytes,
// and resources have ids made from the patient's number ("pat-000123",
// "obs-000123-0042"), with references written as "Type/id". Generation
// streams one patient at a time, so memory stays constant at any scale.
// Writer puts the resources in NDJSON files that "kartehub import" loads.
package synth
