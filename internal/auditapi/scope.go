package auditapi

import (
	"context"
	"slices"
	"strings"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// PatientScope tells which patients a facility filter admits, by the rule
// the record applies to every search (record.Service implements it).
type PatientScope interface {
	PatientsIn(ctx context.Context, filter karte.FacilityFilter, ids []string) ([]string, error)
}

// scanBudget bounds the records one page of a scoped search reads: when
// few of them are the auditor's, the page comes back short, with a next
// link that goes on from the last record read.
var scanBudget = 10_000

// scope is what one request may see of the trail: the events that name a
// patient its facility filter admits, or whose user acted from one of its
// facilities.
type scope struct {
	filter   karte.FacilityFilter
	patients PatientScope
	admitted map[string]bool // "Patient/id" already decided
}

// scopeOf returns the scope of the request of ctx, or nil if it sees the
// whole trail: the Handler has no PatientScope, or the decision admits
// every facility.
func (h *Handler) scopeOf(ctx context.Context) (*scope, error) {
	if h.patients == nil {
		return nil, nil
	}
	d, ok := karte.DecisionFrom(ctx)
	switch {
	case !ok || !d.Allow:
		return nil, karte.Errorf(karte.Forbidden, "the audit trail is served only under an authorisation decision")
	case len(d.Limits) > 0:
		// Patient and query limits of SMART scopes select resources of the
		// record; nothing here could apply them to the trail.
		return nil, karte.Errorf(karte.Forbidden,
			"the audit trail cannot be limited to a patient or a query by a scope: ask for user/AuditEvent.rs (or system/AuditEvent.rs)")
	case d.Facilities.Any:
		return nil, nil
	}
	return &scope{filter: d.Facilities, patients: h.patients, admitted: map[string]bool{}}, nil
}

// keep returns the records of recs that sc admits, asking about the
// patients it has not yet decided in one go.
func (sc *scope) keep(ctx context.Context, recs []karte.AuditRecord) ([]karte.AuditRecord, error) {
	scopes := make([]audit.Scope, len(recs))
	var ask []string
	asked := map[string]bool{}
	for i, rec := range recs {
		es, err := audit.EventScope(rec.Event)
		if err != nil {
			return nil, karte.Errorf(karte.Internal, "audit record %d: %w", rec.Seq, err)
		}
		scopes[i] = es
		for _, p := range es.Patients {
			if _, done := sc.admitted[p]; !done && !asked[p] {
				asked[p] = true
				ask = append(ask, p)
			}
		}
	}
	if err := sc.decide(ctx, ask); err != nil {
		return nil, err
	}
	var kept []karte.AuditRecord
	for i, rec := range recs {
		if sc.admits(scopes[i]) {
			kept = append(kept, rec)
		}
	}
	return kept, nil
}

// askAtOnce bounds the patients of one PatientsIn call: a page of search
// events can name hundreds of thousands, more than a statement takes.
const askAtOnce = 500

// decide learns which of refs ("Patient/id") the filter admits.
func (sc *scope) decide(ctx context.Context, refs []string) error {
	for chunk := range slices.Chunk(refs, askAtOnce) {
		ids := make([]string, len(chunk))
		for i, ref := range chunk {
			ids[i] = strings.TrimPrefix(ref, "Patient/")
			sc.admitted[ref] = false
		}
		in, err := sc.patients.PatientsIn(ctx, sc.filter, ids)
		if err != nil {
			return err
		}
		for _, id := range in {
			sc.admitted["Patient/"+id] = true
		}
	}
	return nil
}

// admits reports whether an event of es is the scope's.
func (sc *scope) admits(es audit.Scope) bool {
	for _, f := range es.Facilities {
		if slices.Contains(sc.filter.IDs, f) {
			return true
		}
	}
	for _, p := range es.Patients {
		if sc.admitted[p] {
			return true
		}
	}
	return false
}

// describe says what the scope admits, for refusals.
func (sc *scope) describe() string {
	return "the events of the patients and users of " + sc.filter.String()
}
