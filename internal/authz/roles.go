package authz

import (
	"slices"

	"kartehub/internal/karte"
)

// class groups the resource types that roles are granted together.
type class uint8

// The classes. Every R4 resource type is in one (a test checks it); a type
// in none (classNone) is allowed to no role.
const (
	classNone class = iota
	// clinical is the medical record: observations, conditions, orders,
	// reports, images, documents, notes, and the Bundles and Binaries
	// that carry them.
	clinical
	// registration is who the patient is: demographics and identity.
	registration
	// scheduling is appointments and encounters.
	scheduling
	// financial is insurance and billing.
	financial
	// audit is the audit trail.
	audit
	// directory is the facilities, people, places and devices of the
	// network.
	directory
	// knowledge is definitions: conformance, terminology, knowledge
	// artifacts and product catalogues.
	knowledge
	// infrastructure is what runs the server and its messaging.
	infrastructure
)

var classNames = [...]string{
	classNone: "unclassified", clinical: "clinical", registration: "registration",
	scheduling: "scheduling", financial: "financial", audit: "audit",
	directory: "directory", knowledge: "knowledge", infrastructure: "infrastructure",
}

func (c class) String() string { return classNames[c] }

// patientLinked reports whether resources of c belong to patients, so that
// the facility filter applies to them. Every type of the R4 Patient
// compartment is in such a class (a test checks it).
func (c class) patientLinked() bool {
	switch c {
	case clinical, registration, scheduling, financial, audit:
		return true
	}
	return false
}

// classes classifies the 146 R4 resource types.
var classes = func() map[string]class {
	m := map[string]class{}
	add := func(c class, types ...string) {
		for _, t := range types {
			if _, dup := m[t]; dup {
				panic("authz: " + t + " classified twice")
			}
			m[t] = c
		}
	}
	add(clinical,
		"AdverseEvent", "AllergyIntolerance", "Basic", "Binary", "BodyStructure", "Bundle",
		"CarePlan", "CareTeam", "ClinicalImpression", "Communication", "CommunicationRequest",
		"Composition", "Condition", "Consent", "DetectedIssue", "DeviceRequest",
		"DeviceUseStatement", "DiagnosticReport", "DocumentManifest", "DocumentReference",
		"FamilyMemberHistory", "Flag", "Goal", "Group", "GuidanceResponse", "ImagingStudy",
		"Immunization", "ImmunizationEvaluation", "ImmunizationRecommendation", "List",
		"MeasureReport", "Media", "MedicationAdministration", "MedicationDispense",
		"MedicationRequest", "MedicationStatement", "MolecularSequence", "NutritionOrder",
		"Observation", "Procedure", "Provenance", "QuestionnaireResponse", "RequestGroup",
		"ResearchSubject", "RiskAssessment", "ServiceRequest", "Specimen", "SupplyDelivery",
		"SupplyRequest", "Task", "VisionPrescription")
	add(registration, "Patient", "RelatedPerson", "Person", "Linkage")
	add(scheduling, "Appointment", "AppointmentResponse", "Encounter", "EpisodeOfCare", "Schedule", "Slot")
	add(financial,
		"Account", "ChargeItem", "Claim", "ClaimResponse", "Contract", "Coverage",
		"CoverageEligibilityRequest", "CoverageEligibilityResponse", "EnrollmentRequest",
		"EnrollmentResponse", "ExplanationOfBenefit", "Invoice", "PaymentNotice",
		"PaymentReconciliation")
	add(audit, "AuditEvent")
	add(directory,
		"Organization", "OrganizationAffiliation", "Practitioner", "PractitionerRole",
		"Location", "HealthcareService", "Endpoint", "Device", "DeviceMetric",
		"InsurancePlan", "VerificationResult")
	add(knowledge,
		"ActivityDefinition", "BiologicallyDerivedProduct", "CapabilityStatement",
		"CatalogEntry", "ChargeItemDefinition", "CodeSystem", "CompartmentDefinition",
		"ConceptMap", "DeviceDefinition", "EffectEvidenceSynthesis", "EventDefinition",
		"Evidence", "EvidenceVariable", "ExampleScenario", "GraphDefinition",
		"ImplementationGuide", "Library", "Measure", "Medication", "MedicationKnowledge",
		"MedicinalProduct", "MedicinalProductAuthorization", "MedicinalProductContraindication",
		"MedicinalProductIndication", "MedicinalProductIngredient", "MedicinalProductInteraction",
		"MedicinalProductManufactured", "MedicinalProductPackaged",
		"MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect",
		"MessageDefinition", "NamingSystem", "ObservationDefinition", "OperationDefinition",
		"PlanDefinition", "Questionnaire", "ResearchDefinition", "ResearchElementDefinition",
		"ResearchStudy", "RiskEvidenceSynthesis", "SearchParameter", "SpecimenDefinition",
		"StructureDefinition", "StructureMap", "Substance", "SubstanceNucleicAcid",
		"SubstancePolymer", "SubstanceProtein", "SubstanceReferenceInformation",
		"SubstanceSourceMaterial", "SubstanceSpecification", "TerminologyCapabilities",
		"TestReport", "TestScript", "ValueSet")
	add(infrastructure, "Subscription", "MessageHeader", "OperationOutcome", "Parameters")
	return m
}()

// classOf returns the class of a resource type; classNone for an unknown
// type or "".
func classOf(typ string) class { return classes[typ] }

// rule grants perms on the types of a class, or on the listed types.
type rule struct {
	class class
	types []string
	perms karte.Perm
}

func (r rule) covers(typ string) bool {
	if r.types != nil {
		return slices.Contains(r.types, typ)
	}
	return r.class != classNone && classOf(typ) == r.class
}

const (
	rs  = karte.PermRead | karte.PermSearch // read (with vread and history) and search
	all = karte.PermAll                     // read, search, create, update, patch, delete
)

// careRules are the physician's and the nurse's.
var careRules = []rule{
	{class: clinical, perms: all},
	{class: registration, perms: all},
	{class: scheduling, perms: all},
	{class: financial, perms: rs},
	{class: directory, perms: rs},
	{class: knowledge, perms: rs},
}

// roleRules is the role table; see the package documentation, which shows
// it as a table (keep the two in step). A role not listed is granted
// nothing. A request is allowed by roles if one of the principal's roles
// has a rule that covers its type with the permissions it needs.
//
// Administrators see no patient data: least privilege, as the MHLW
// guideline asks. Running the server (directory, definitions,
// subscriptions) needs no access to records, and an administrator who also
// treats patients holds the physician role beside, and is then audited as
// one.
var roleRules = map[string][]rule{
	karte.RolePhysician: careRules,
	karte.RoleNurse:     careRules,
	karte.RoleTechnologist: {
		{types: []string{"ImagingStudy", "Observation", "DiagnosticReport", "Media", "Procedure"}, perms: all},
		{types: []string{"Patient"}, perms: rs},
		{class: directory, perms: rs},
		{class: knowledge, perms: rs},
	},
	karte.RoleClerk: {
		{types: []string{
			"Patient", "RelatedPerson", // demographics
			"Encounter", "Appointment", "AppointmentResponse", "Schedule", "Slot", // scheduling
			"Coverage",                     // insurance
			"Organization", "Practitioner", // the directory entries a front desk keeps
		}, perms: all},
		{class: directory, perms: rs},
		{class: knowledge, perms: rs},
	},
	karte.RoleResearcher: {
		{class: clinical, perms: rs},
		{class: registration, perms: rs},
		{class: scheduling, perms: rs},
		{class: directory, perms: rs},
		{class: knowledge, perms: rs},
	},
	karte.RoleAuditor: {
		{class: audit, perms: rs},
	},
	karte.RoleAdministrator: {
		{class: directory, perms: all},
		{class: knowledge, perms: all},
		{class: infrastructure, perms: all},
	},
}

// careRoles are the roles that treat patients: break-glass lifts the
// facility filter for them alone.
var careRoles = []string{karte.RolePhysician, karte.RoleNurse, karte.RoleTechnologist}

// roleAllows reports whether role may do what needs perms on typ. An empty
// typ (every type) is allowed to no role.
func roleAllows(role string, need karte.Perm, typ string) bool {
	for _, r := range roleRules[role] {
		if r.covers(typ) && r.perms.Has(need) {
			return true
		}
	}
	return false
}
