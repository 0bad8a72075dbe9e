// Package auditapi serves kartehub's audit trail to auditors over FHIR:
// search (GET [base]/AuditEvent?patient=...&agent=...&date=ge...) and read
// (GET [base]/AuditEvent/[id]) of the AuditEvents in the audit log, found
// through the log's index (karte.AuditSearcher), not in the resource store.
// An AuditEvent's id is its record's sequence number in the log. Writes are
// refused with 405: only the server records audit events, and the trail is
// append-only.
//
// The Handler does not decide who may search: whatever mounts it must let
// only the auditor role reach it, and hand it the decision in the
// request's context (karte.WithDecision; guard.Authorize does both). With
// Options.Patients it applies that decision's facility filter: an auditor
// sees the events of their facilities' patients and of the people who
// acted from their facilities (scope.go).
package auditapi
