package karte

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PrincipalKind says whether a Principal is a person or a system.
type PrincipalKind uint8

// The kinds of principal. The zero value is no kind: an Authorizer denies
// a Principal without one.
const (
	PrincipalUser   PrincipalKind = iota + 1 // a person with an account, possibly through an app
	PrincipalClient                          // a system acting on its own behalf (SMART Backend Services)
)

// String returns "user" or "client".
func (k PrincipalKind) String() string {
	switch k {
	case PrincipalUser:
		return "user"
	case PrincipalClient:
		return "client"
	}
	return fmt.Sprintf("principal-kind(%d)", int(k))
}

// Principal is who makes a request: a user (one ID per person, as the MHLW
// guideline asks) or a client system, with what its credentials grant. The
// listener that authenticates a request (OAuth2 bearer token, client
// certificate) builds it and puts it in the request's context with
// WithPrincipal; an Authorizer turns it into a Decision.
//
// A Principal is read-only once in a context: it is shared by every
// goroutine that serves the request.
type Principal struct {
	Kind PrincipalKind
	// ID is the account's or client's stable, opaque id: what audit
	// records name.
	ID string
	// Login is the user's login name, or the client's client_id.
	Login string
	// Name is a display name for people reading logs and audit trails.
	Name string
	// Person is the FHIR resource of the user (the SMART fhirUser), such as
	// "Practitioner/123"; empty for clients and for users without one.
	Person string
	// App is the OAuth client_id of the application a user acts through;
	// empty for clients and for the web console.
	App string

	// Roles are among the Role* constants. Users need one to be allowed
	// anything; clients may have none, and are then limited by their
	// scopes alone.
	Roles []string
	// Facilities are the ids of the Organizations (hospital, clinics) the
	// principal belongs to: a user sees the patients of these facilities.
	Facilities []string

	// Scopes are the SMART scopes granted to the request's token, parsed
	// (package authz parses them).
	Scopes []Scope
	// Patient is the id of the patient in context (SMART launch/patient),
	// which patient/ scopes are limited to; empty if none.
	Patient string

	// BreakGlass, if not nil, is an emergency-access grant: until it
	// expires, it lifts the facility filter for clinical roles, and every
	// access under it is flagged for audit.
	BreakGlass *BreakGlass
}

// BreakGlass is an emergency-access grant: the user states why they need
// a record outside their facilities, and the grant lasts until Until.
type BreakGlass struct {
	Reason string    // why, in the user's words; a grant without one has no effect
	Until  time.Time // the grant has no effect from this time on; zero: no effect
}

// Active reports whether the grant lifts the facility filter at now: it has
// a reason and has not expired.
func (g *BreakGlass) Active(now time.Time) bool {
	return g != nil && strings.TrimSpace(g.Reason) != "" && now.Before(g.Until)
}

// HasRole reports whether p holds role.
func (p *Principal) HasRole(role string) bool {
	return p != nil && slices.Contains(p.Roles, role)
}

// String describes p for logs and reasons, such as "user alice (u123)".
func (p *Principal) String() string {
	if p == nil {
		return "no principal"
	}
	name := p.Login
	if name == "" {
		name = p.Name
	}
	if name == "" {
		return fmt.Sprintf("%s %s", p.Kind, p.ID)
	}
	return fmt.Sprintf("%s %s (%s)", p.Kind, name, p.ID)
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx that carries p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the Principal that ctx carries, or nil if none: the
// request is not authenticated.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// ScopeLevel is the context of a SMART scope: whose data a resource scope
// applies to.
type ScopeLevel uint8

// The levels of SMART scope.
const (
	// ScopeOther is a scope that grants no access to resources by itself:
	// openid, fhirUser, profile, launch, launch/patient, launch/encounter,
	// offline_access, online_access.
	ScopeOther   ScopeLevel = iota
	ScopePatient            // patient/: the record of the patient in context
	ScopeUser               // user/: what the user may see
	ScopeSystem             // system/: a client acting on its own behalf
)

// String returns "patient", "user", "system" or "other".
func (l ScopeLevel) String() string {
	switch l {
	case ScopeOther:
		return "other"
	case ScopePatient:
		return "patient"
	case ScopeUser:
		return "user"
	case ScopeSystem:
		return "system"
	}
	return fmt.Sprintf("scope-level(%d)", int(l))
}

// Perm is a set of SMART v2 permissions: create, read, update, delete,
// search.
type Perm uint8

// The permissions, in SMART v2 order. Read covers read, vread and history;
// Update covers update and patch.
const (
	PermCreate Perm = 1 << iota
	PermRead
	PermUpdate
	PermDelete
	PermSearch

	PermNone  Perm = 0
	PermWrite      = PermCreate | PermUpdate | PermDelete                         // SMART v1 "write"
	PermAll        = PermCreate | PermRead | PermUpdate | PermDelete | PermSearch // "cruds", v1 "*"
)

// String returns the permission letters in SMART v2 order, such as "rs";
// empty for none.
func (p Perm) String() string {
	var b [5]byte
	n := 0
	for i, c := range "cruds" {
		if p&(1<<i) != 0 {
			b[n] = byte(c)
			n++
		}
	}
	return string(b[:n])
}

// Has reports whether p holds every permission of q.
func (p Perm) Has(q Perm) bool { return p&q == q }

// Scope is one SMART on FHIR scope, parsed. A resource scope (Level
// patient, user or system) grants Perms on resources of Type, or of every
// type if Type is "*"; a SMART v2 scope may narrow that to the resources
// that match Query. Other scopes (openid, launch/patient, ...) have Level
// ScopeOther and name themselves in Raw.
type Scope struct {
	// Raw is the scope as granted, e.g. "patient/Observation.rs?category=laboratory".
	Raw   string
	Level ScopeLevel
	Type  string // a resource type, or "*"
	Perms Perm
	// Query is the SMART v2 query qualifier without its "?", such as
	// "category=laboratory": a search the resources must match. Empty:
	// no qualifier.
	Query string
	// V1 says that the scope was written in SMART v1 form (read, write, *).
	V1 bool
}

// String returns the scope as granted; for a Scope built by hand, its
// SMART v2 form.
func (s Scope) String() string {
	if s.Raw != "" || s.Level == ScopeOther {
		return s.Raw
	}
	str := s.Level.String() + "/" + s.Type + "." + s.Perms.String()
	if s.Query != "" {
		str += "?" + s.Query
	}
	return str
}

// Interaction is a FHIR RESTful interaction, by its code in
// http://hl7.org/fhir/restful-interaction (the codes audit records use).
type Interaction string

// The interactions.
const (
	InteractionRead              Interaction = "read"
	InteractionVRead             Interaction = "vread"
	InteractionUpdate            Interaction = "update"
	InteractionPatch             Interaction = "patch"
	InteractionDelete            Interaction = "delete"
	InteractionHistoryInstance   Interaction = "history-instance"
	InteractionHistoryType       Interaction = "history-type"
	InteractionHistorySystem     Interaction = "history-system"
	InteractionCreate            Interaction = "create"
	InteractionSearchType        Interaction = "search-type"
	InteractionSearchSystem      Interaction = "search-system"
	InteractionSearchCompartment Interaction = "search-compartment"
	InteractionTransaction       Interaction = "transaction"
	InteractionBatch             Interaction = "batch"
	InteractionOperation         Interaction = "operation"
	InteractionCapabilities      Interaction = "capabilities"
)

// Request is what a principal asks to do, as an Authorizer sees it.
type Request struct {
	Interaction Interaction
	// Type is the resource type acted on: the type of the instance, of a
	// type-level interaction, or the type searched in a compartment. It is
	// empty for system-level interactions over all types (a search-system
	// without _type, history-system, a system-level operation) and for
	// transaction and batch.
	Type string
	// Operation is the name of an operation, such as "$everything"
	// (the "$" may be left out); only for InteractionOperation.
	Operation string
}

// Authorizer decides whether a principal may make a request.
//
// It is called before the request touches any data, so it decides by the
// kind of request alone and returns, with an allowed Decision, the limits
// that the data layer must then apply to every resource it reads, returns
// or writes (Decision.Admit). A transaction or a batch is allowed only as
// a container: each of its entries must be authorised on its own.
//
// Authorize never fails: a request it cannot decide (no principal, an
// unknown interaction) is denied, with the reason. It is safe for
// concurrent use.
type Authorizer interface {
	Authorize(ctx context.Context, p *Principal, r Request) Decision
}

// Decision is an Authorizer's answer. The zero Decision denies.
type Decision struct {
	Allow bool
	// Reason says why, for audit and for the OperationOutcome of a denial:
	// "role clerk may not read Observation", "scope
	// patient/Observation.rs does not allow create of Observation". An
	// allowed decision names the role and scope that allowed it, and the
	// break-glass grant it relies on.
	Reason string

	// Facilities limits an allowed decision to the patients of some
	// facilities. It applies to the Patient (by managingOrganization)
	// and to the resources of a patient's compartment (by their patient);
	// resources of no patient (Organization, ValueSet, ...) are not
	// limited by it.
	Facilities FacilityFilter
	// Limits are the limits of the SMART scopes that allowed the request:
	// a resource passes if it passes one of them. Empty: the scopes do not
	// limit it (some scope allowed it without a patient or a query).
	Limits []ScopeLimit

	// BreakGlass says that the decision relies on a break-glass grant: it
	// lifted the facility filter. Audit must flag the access.
	BreakGlass bool
	// BreakGlassNote, when the principal holds a break-glass grant that did
	// not lift the filter, says why ("break-glass expired at ..."); a
	// denial by Admit cites it.
	BreakGlassNote string
}

type decisionKey struct{}

// WithDecision returns a copy of ctx that carries d, the decision that
// allowed the request, for handlers that apply its limits to data kept
// outside the record (the audit trail).
func WithDecision(ctx context.Context, d Decision) context.Context {
	return context.WithValue(ctx, decisionKey{}, d)
}

// DecisionFrom returns the decision that ctx carries, and false if none.
func DecisionFrom(ctx context.Context) (Decision, bool) {
	d, ok := ctx.Value(decisionKey{}).(Decision)
	return d, ok
}

// FacilityFilter is the set of facilities whose patients a decision
// admits. The zero FacilityFilter admits no patient.
type FacilityFilter struct {
	// Any admits the patients of every facility, and patients of none
	// (break-glass, clients registered without facilities, and types that
	// belong to no patient).
	Any bool
	// IDs are the ids of the Organizations whose patients are admitted.
	IDs []string
}

// Admits reports whether f admits a patient who belongs to facilities (the
// Organization ids of the patient's managingOrganization, and of the
// facilities the patient's record is shared with).
func (f FacilityFilter) Admits(facilities []string) bool {
	if f.Any {
		return true
	}
	for _, id := range facilities {
		if slices.Contains(f.IDs, id) {
			return true
		}
	}
	return false
}

// String describes f for reasons: "any facility", "no facility", or the
// Organizations, such as "Organization/hub, Organization/clinic".
func (f FacilityFilter) String() string {
	if f.Any {
		return "any facility"
	}
	if len(f.IDs) == 0 {
		return "no facility"
	}
	refs := make([]string, len(f.IDs))
	for i, id := range f.IDs {
		refs[i] = "Organization/" + id
	}
	return strings.Join(refs, ", ")
}

// ScopeLimit is one SMART scope's limit on the resources it allows.
type ScopeLimit struct {
	Scope string // the scope, as granted
	// Patient, if set, limits to the compartment of Patient/<Patient>
	// (the patient itself included): a patient/ scope. Resources of no
	// patient are not limited by it.
	Patient string
	// Query, if set, limits to the resources that match this search (a
	// SMART v2 query qualifier), e.g. "category=laboratory".
	Query string
}

// Patient returns the patient that every limit of d confines it to, or ""
// if d is not confined to one patient. The search layer adds it to a search
// of a type of the Patient compartment, as that patient's compartment.
func (d *Decision) Patient() string {
	if len(d.Limits) == 0 {
		return ""
	}
	p := d.Limits[0].Patient
	for _, l := range d.Limits[1:] {
		if l.Patient != p {
			return ""
		}
	}
	return p
}

// Admit checks one resource against d: a resource in the compartment of
// Patient/<patient>, who belongs to facilities. match reports whether the
// resource matches a search query (a ScopeLimit's Query); with a nil match,
// no query matches. Admit returns nil if the resource passes, and otherwise
// an *Error of Kind Forbidden that says why.
//
// patient is empty for a resource that belongs to no patient (an
// Organization, a ValueSet, an Observation of a device): neither the
// facility filter nor the patient of a patient/ scope limits it, only the
// scopes' queries do.
//
// The record service calls it for the resource read, and for the current
// and the new version of a resource written; the search layer applies the
// same limits within the search, then may check each match.
func (d *Decision) Admit(patient string, facilities []string, match func(query string) bool) error {
	if !d.Allow {
		return &Error{Kind: Forbidden, Message: d.Reason}
	}
	if patient != "" && !d.Facilities.Admits(facilities) {
		msg := fmt.Sprintf("Patient/%s is not a patient of the facilities allowed (%s)", patient, d.Facilities)
		if d.BreakGlassNote != "" {
			msg += "; " + d.BreakGlassNote
		}
		return &Error{Kind: Forbidden, Message: msg}
	}
	if len(d.Limits) == 0 {
		return nil
	}
	for _, l := range d.Limits {
		if l.Patient != "" && patient != "" && l.Patient != patient {
			continue
		}
		if l.Query != "" && (match == nil || !match(l.Query)) {
			continue
		}
		return nil
	}
	if len(d.Limits) == 1 {
		l := d.Limits[0]
		what := "resources"
		if l.Patient != "" {
			what += " of Patient/" + l.Patient
		}
		if l.Query != "" {
			what += " that match " + l.Query
		}
		return &Error{Kind: Forbidden, Message: fmt.Sprintf("scope %s admits only %s", l.Scope, what)}
	}
	scopes := make([]string, len(d.Limits))
	for i, l := range d.Limits {
		scopes[i] = l.Scope
	}
	return &Error{Kind: Forbidden, Message: "none of the scopes " + strings.Join(scopes, ", ") + " admits this resource"}
}
