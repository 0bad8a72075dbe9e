// Package authz decides who may do what in kartehub: it implements
// karte.Authorizer from the SMART on FHIR scopes, the roles and the
// facilities of a karte.Principal. It is pure logic: no I/O, no HTTP. The
// record service calls it for every interaction, before touching data,
// and applies the limits of the karte.Decision it returns.
//
// # The decision
//
// A request is allowed if the principal's scopes allow it and one of its
// roles does (a client registered without roles is limited by its scopes
// alone). The AuditEvent trail is append-only: no one may update, patch
// or delete an AuditEvent. Denials say which of these failed, e.g.
// "scope patient/Observation.rs does not allow create of Observation" or
// "role clerk may not read Observation".
//
// # Scopes
//
// ParseScopes reads SMART v2 scopes (patient/Observation.rs, user/*.cruds,
// with query qualifiers such as patient/Observation.rs?category=laboratory)
// and v1 scopes (patient/*.read, user/Patient.write, system/*.*). Read,
// vread and history need r; searches s; create c; update and patch u;
// delete d. A transaction or batch is allowed as a container; each entry is
// authorised on its own. For a principal, user/ and patient/ scopes count
// for users, system/ scopes for clients; patient/ scopes need a patient in
// context and limit the Decision to that patient's compartment. Query
// qualifiers limit it to the resources that match them.
//
// # Roles
//
// Resource types are grouped in classes (roles.go lists every R4 type):
//
//   - clinical: the medical record (Observation, Condition, Procedure,
//     DiagnosticReport, ImagingStudy, Media, MedicationRequest,
//     DocumentReference, Composition, ServiceRequest, Consent, Provenance,
//     Binary, Bundle, ...)
//   - registration: Patient, RelatedPerson, Person, Linkage
//   - scheduling: Encounter, EpisodeOfCare, Appointment,
//     AppointmentResponse, Schedule, Slot
//   - financial: Coverage, Account, Claim, Invoice, ...
//   - audit: AuditEvent
//   - directory: Organization, Practitioner, PractitionerRole, Location,
//     HealthcareService, Endpoint, Device, ...
//   - knowledge: SearchParameter, ValueSet, CodeSystem, StructureDefinition,
//     Questionnaire, Medication, ...
//   - infrastructure: Subscription, MessageHeader
//
// The roles (R = read, vread, history; S = search; W = create, update,
// patch, delete; - = nothing):
//
//	role           clinical  registration  scheduling  financial  audit  directory  knowledge  infrastructure
//	physician      RSW       RSW           RSW         RS         -      RS         RS         -
//	nurse          RSW       RSW           RSW         RS         -      RS         RS         -
//	technologist   RSW (1)   RS Patient    -           -          -      RS         RS         -
//	clerk          -         RSW (2)       RSW (2)     RSW (2)    -      RS, W (2)  RS         -
//	researcher     RS        RS            RS          -          -      RS         RS         -
//	auditor        -         -             -           -          RS     -          -          -
//	administrator  -         -             -           -          -      RSW        RSW        RSW
//
//	(1) ImagingStudy, Observation, DiagnosticReport, Media, Procedure only.
//	(2) RSW on Patient, RelatedPerson; Encounter, Appointment,
//	    AppointmentResponse, Schedule, Slot; Coverage; Organization,
//	    Practitioner. Nothing else of these classes.
//
// Researchers only read; their results are to be de-identified by a later
// layer. Administrators see no patient data at all, demographics included:
// the MHLW guideline asks for access scoped by duty, and running the
// server needs none. A person who both administers and treats holds both
// roles, and their access to records is then a physician's, audited as
// such.
//
// # Facilities
//
// A user sees the patients of their facilities (Principal.Facilities,
// Organization ids): for the types of the clinical, registration,
// scheduling, financial and audit classes, an allowed Decision carries
// that set as its facility filter. For other types the filter is "any":
// they belong to no patient. A client is limited to its facilities if it
// has any, and otherwise sees every facility.
//
// An active break-glass grant (a reason, and an expiry still to come)
// lifts the filter to "any" for the care roles (physician, nurse,
// technologist): the Decision says so in BreakGlass, and audit must flag
// the access. It lifts nothing else: neither role nor scope limits. An
// expired grant lifts nothing, and the Decision notes why
// ("break-glass expired at ..."), for the denial that follows if the
// patient is of another facility. A user with no facility is denied
// patient data outright, unless break-glass lifts the filter.
//
// Authorize decides before any data is read; the data layer then checks
// each resource with Decision.Admit, or builds the same limits into its
// search.
package authz
