package audit

import (
	"context"
	"slices"
	"sync"

	"kartehub/internal/karte"
)

// Note collects, while a request is served, what the audit event of the
// request must say: who made it, which interaction it was, what it touched
// and why it was allowed or refused. The listener puts one in the
// request's context (WithNote), the layers that learn something add it,
// and the listener turns it into the Event it records.
//
// Its methods are safe for concurrent use (a batch runs entries in
// parallel) and do nothing on a nil *Note, so that code serving a request
// without a note need not check.
type Note struct {
	mu          sync.Mutex
	principal   *karte.Principal
	interaction karte.Interaction
	resource    string
	query       string
	patients    []string
	failure     string
	breakGlass  string
}

type noteKey struct{}

// WithNote returns a copy of ctx that carries a new Note, and the Note.
func WithNote(ctx context.Context) (context.Context, *Note) {
	n := &Note{}
	return context.WithValue(ctx, noteKey{}, n), n
}

// NoteFrom returns the Note of ctx, or nil if it has none.
func NoteFrom(ctx context.Context) *Note {
	n, _ := ctx.Value(noteKey{}).(*Note)
	return n
}

// SetPrincipal records who made the request.
func (n *Note) SetPrincipal(p *karte.Principal) {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.principal = p
	n.mu.Unlock()
}

// SetInteraction records the FHIR interaction, the resource it acts on
// ("Observation/1", "" at type or system level) and the query of a search
// or history.
func (n *Note) SetInteraction(in karte.Interaction, resource, query string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.interaction, n.resource, n.query = in, resource, query
	n.mu.Unlock()
}

// Noted reports whether a layer has recorded the request's interaction.
func (n *Note) Noted() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.interaction != ""
}

// SetResource records the resource the request acted on, once known (the
// id of a created resource, the version written).
func (n *Note) SetResource(ref string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.resource = ref
	n.mu.Unlock()
}

// AddPatients records patients ("Patient/1") whose record the request
// touched.
func (n *Note) AddPatients(refs ...string) {
	if n == nil || len(refs) == 0 {
		return
	}
	n.mu.Lock()
	for _, r := range refs {
		if !slices.Contains(n.patients, r) {
			n.patients = append(n.patients, r)
		}
	}
	n.mu.Unlock()
}

// Fail records why the request failed or was refused; the first reason
// stays.
func (n *Note) Fail(reason string) {
	if n == nil || reason == "" {
		return
	}
	n.mu.Lock()
	if n.failure == "" {
		n.failure = reason
	}
	n.mu.Unlock()
}

// Decided records an authorisation decision taken for the request: a
// denial's reason, and the break-glass grant an allowed access relied on.
func (n *Note) Decided(p *karte.Principal, d karte.Decision) {
	if n == nil {
		return
	}
	if !d.Allow {
		n.Fail(d.Reason)
		return
	}
	if d.BreakGlass && p != nil && p.BreakGlass != nil {
		n.mu.Lock()
		n.breakGlass = p.BreakGlass.Reason
		n.mu.Unlock()
	}
}

// Principal returns who made the request, nil if unknown.
func (n *Note) Principal() *karte.Principal {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.principal
}

// Request describes the HTTP side of a request for its event.
type Request struct {
	Address, UserAgent, RequestID string
	// Interaction is the request's interaction when no layer noted one
	// (a request refused before it reached the API).
	Interaction karte.Interaction
	Resource    string
}

// Event returns the audit event of the request, whose response has
// status code status.
func (n *Note) Event(r Request, status int) *Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := &Event{
		Type:        Rest,
		Interaction: string(n.interaction),
		Resource:    n.resource,
		Query:       n.query,
		Patients:    slices.Clone(n.patients),
		RequestID:   r.RequestID,
		BreakGlass:  n.breakGlass,
		Client:      &Client{Address: r.Address, UserAgent: r.UserAgent},
	}
	if e.Interaction == "" {
		e.Interaction, e.Resource = string(r.Interaction), r.Resource
	}
	switch {
	case status >= 500:
		e.Outcome = SeriousFailure
	case status >= 400:
		e.Outcome = MinorFailure
	}
	if e.Outcome != Success {
		e.OutcomeDesc = n.failure
	}
	if p := n.principal; p != nil {
		e.Client.ID = p.Login
		if p.Kind == karte.PrincipalUser {
			e.Client.ID = p.App
			e.User = userOf(p)
		}
	}
	return e
}

// AccountSystem is the identifier system of kartehub's accounts in audit
// events: the value is the login name, one per person.
const AccountSystem = "urn:kartehub:account"

func userOf(p *karte.Principal) *User {
	u := &User{Reference: p.Person, System: AccountSystem, ID: p.Login, Name: p.Name}
	for _, r := range p.Roles {
		u.Roles = append(u.Roles, Coding{System: RoleSystem, Code: r})
	}
	if len(p.Facilities) > 0 {
		u.Facility = &Facility{Reference: "Organization/" + p.Facilities[0]}
	}
	return u
}

// RoleSystem is the code system of kartehub's roles (karte.Roles).
const RoleSystem = "urn:kartehub:role"

// NotingAuthorizer is a karte.Authorizer that records each decision in the
// Note of the request's context, so that the audit event says why an
// access was refused, and flags the accesses that relied on break-glass.
type NotingAuthorizer struct {
	karte.Authorizer
}

// Authorize decides with the wrapped Authorizer and notes the decision.
func (a NotingAuthorizer) Authorize(ctx context.Context, p *karte.Principal, r karte.Request) karte.Decision {
	d := a.Authorizer.Authorize(ctx, p, r)
	NoteFrom(ctx).Decided(p, d)
	return d
}
