package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"kartehub/internal/karte"
)

// Authorizer decides requests by SMART scopes, roles and facilities; see
// the package documentation. It holds no state but its clock, and is safe
// for concurrent use.
type Authorizer struct {
	now func() time.Time
}

var _ karte.Authorizer = (*Authorizer)(nil)

// New returns an Authorizer that reads the time (for break-glass expiry)
// from now, or from time.Now if now is nil.
func New(now func() time.Time) *Authorizer {
	if now == nil {
		now = time.Now
	}
	return &Authorizer{now: now}
}

// Authorize decides whether p may make r: the scopes of p must allow it,
// and so must one of its roles (a client without roles is limited by its
// scopes alone). An allowed Decision carries the facility filter and the
// scope limits that the data layer must apply. ctx is not used.
func (a *Authorizer) Authorize(_ context.Context, p *karte.Principal, r karte.Request) karte.Decision {
	if p == nil {
		return deny("the request is not authenticated")
	}
	if p.Kind != karte.PrincipalUser && p.Kind != karte.PrincipalClient {
		return deny(fmt.Sprintf("%s has no kind (user or client)", p))
	}
	if r.Type != "" && !isTypeName(r.Type) {
		return deny(fmt.Sprintf("%q is not a resource type", r.Type))
	}

	switch r.Interaction {
	case karte.InteractionCapabilities:
		return karte.Decision{Allow: true, Reason: "the capability statement is open to every principal", Facilities: karte.FacilityFilter{Any: true}}
	case karte.InteractionTransaction, karte.InteractionBatch:
		if !slices.ContainsFunc(p.Scopes, func(sc karte.Scope) bool { return usable(p, sc) == "" && sc.Level != karte.ScopeOther }) {
			return deny(fmt.Sprintf("no scope of %s allows any interaction on resources, so none may be in a %s", p, r.Interaction))
		}
		return karte.Decision{
			Allow:      true,
			Reason:     fmt.Sprintf("a %s is allowed as a container: each entry is authorised on its own", r.Interaction),
			Facilities: baseFilter(p),
		}
	}

	need, what, reason := needs(r)
	if reason != "" {
		return deny(reason)
	}
	if r.Type == "AuditEvent" && need&(karte.PermUpdate|karte.PermDelete) != 0 {
		return deny("the audit trail is append-only: no AuditEvent may be updated or deleted")
	}

	limits, scope, reason := scopeLimits(p, need, r.Type, what)
	if reason != "" {
		return deny(reason)
	}

	var allowing []string // the roles that allow r
	if p.Kind == karte.PrincipalUser || len(p.Roles) > 0 {
		for _, role := range p.Roles {
			if roleAllows(role, need, r.Type) {
				allowing = append(allowing, role)
			}
		}
		if len(allowing) == 0 {
			return deny(roleDenial(p, r))
		}
	}

	d := karte.Decision{Allow: true, Limits: limits, Facilities: karte.FacilityFilter{Any: true}}
	by := "scope " + scope
	if len(allowing) > 0 {
		by = rolesWord(allowing) + " " + strings.Join(allowing, ", ") + " and " + by
	}
	d.Reason = fmt.Sprintf("%s allow %s", by, what)

	// The facility filter: only for types that belong to patients (all
	// types, when r.Type is empty).
	if r.Type != "" && !classOf(r.Type).patientLinked() {
		return d
	}
	d.Facilities = baseFilter(p)
	if g := p.BreakGlass; g != nil {
		now := a.now()
		care := slices.ContainsFunc(allowing, func(role string) bool { return slices.Contains(careRoles, role) })
		switch {
		case p.Kind != karte.PrincipalUser:
			d.BreakGlassNote = "break-glass applies to users only"
		case !care:
			d.BreakGlassNote = fmt.Sprintf("break-glass does not apply to %s %s", rolesWord(allowing), strings.Join(allowing, ", "))
		case strings.TrimSpace(g.Reason) == "":
			d.BreakGlassNote = "the break-glass grant gives no reason"
		case g.Until.IsZero():
			d.BreakGlassNote = "the break-glass grant has no expiry"
		case !now.Before(g.Until):
			d.BreakGlassNote = "break-glass expired at " + g.Until.UTC().Format(time.RFC3339)
		default:
			d.Facilities = karte.FacilityFilter{Any: true}
			d.BreakGlass = true
			d.Reason += fmt.Sprintf(", in any facility under break-glass until %s (%q)", g.Until.UTC().Format(time.RFC3339), g.Reason)
		}
	}
	if !d.Facilities.Any && len(d.Facilities.IDs) == 0 {
		msg := fmt.Sprintf("%s belongs to no facility, so may see no patient's record", p)
		if d.BreakGlassNote != "" {
			msg += "; " + d.BreakGlassNote
		}
		return deny(msg)
	}
	return d
}

func deny(reason string) karte.Decision { return karte.Decision{Reason: reason} }

// baseFilter is p's facility filter without break-glass: its facilities; a
// client registered without any sees every facility.
func baseFilter(p *karte.Principal) karte.FacilityFilter {
	if p.Kind == karte.PrincipalClient && len(p.Facilities) == 0 {
		return karte.FacilityFilter{Any: true}
	}
	return karte.FacilityFilter{IDs: slices.Clone(p.Facilities)}
}

// typeLevel lists the interactions that need a resource type.
var typeLevel = map[karte.Interaction]bool{
	karte.InteractionRead: true, karte.InteractionVRead: true,
	karte.InteractionUpdate: true, karte.InteractionPatch: true, karte.InteractionDelete: true,
	karte.InteractionHistoryInstance: true, karte.InteractionHistoryType: true,
	karte.InteractionCreate: true, karte.InteractionSearchType: true,
	karte.InteractionSearchCompartment: true,
}

// needs returns the permissions r needs, and r's name in reasons, or why r
// cannot be decided.
func needs(r karte.Request) (need karte.Perm, what, reason string) {
	if r.Interaction == karte.InteractionOperation {
		name := strings.TrimPrefix(r.Operation, "$")
		if name == "" {
			return 0, "", "an operation request names no operation"
		}
		need, ok := operationPerms[name]
		if !ok {
			return 0, "", fmt.Sprintf("operation $%s is unknown to the authorisation layer", name)
		}
		return need, "$" + name + " on " + typeWord(r.Type), ""
	}
	need, ok := interactionPerms[r.Interaction]
	if !ok {
		return 0, "", fmt.Sprintf("unknown interaction %q", r.Interaction)
	}
	if typeLevel[r.Interaction] && r.Type == "" {
		return 0, "", fmt.Sprintf("a %s needs a resource type", r.Interaction)
	}
	return need, string(r.Interaction) + " of " + typeWord(r.Type), ""
}

func typeWord(typ string) string {
	if typ == "" {
		return "all resource types"
	}
	return typ
}

// usable says why scope sc cannot serve p, or "" if it can: system/ scopes
// are for clients, user/ and patient/ scopes for users, and patient/
// scopes need a patient in context.
func usable(p *karte.Principal, sc karte.Scope) string {
	switch {
	case sc.Level == karte.ScopeOther:
		return ""
	case p.Kind == karte.PrincipalUser && sc.Level == karte.ScopeSystem:
		return fmt.Sprintf("scope %s is for clients, and %s is a user", sc, p)
	case p.Kind == karte.PrincipalClient && sc.Level != karte.ScopeSystem:
		return fmt.Sprintf("scope %s is for an app acting for a user, and %s is a client: it needs system/ scopes", sc, p)
	case sc.Level == karte.ScopePatient && p.Patient == "":
		return fmt.Sprintf("scope %s needs a patient in context (launch/patient), and there is none", sc)
	}
	return ""
}

// scopeLimits finds the scopes of p that allow need on typ. It returns
// their limits (nil if one of them has none) and the scope to name in the
// reason, or why no scope allows it.
func scopeLimits(p *karte.Principal, need karte.Perm, typ, what string) (limits []karte.ScopeLimit, via, reason string) {
	var unusable, short []string
	unlimited := ""
	for _, sc := range p.Scopes {
		if sc.Level == karte.ScopeOther || !typeMatches(sc.Type, typ) {
			continue
		}
		if !sc.Perms.Has(need) {
			short = append(short, sc.String())
			continue
		}
		if why := usable(p, sc); why != "" {
			unusable = append(unusable, why)
			continue
		}
		l := karte.ScopeLimit{Scope: sc.String(), Query: sc.Query}
		if sc.Level == karte.ScopePatient {
			l.Patient = p.Patient
		}
		if l.Patient == "" && l.Query == "" && unlimited == "" {
			unlimited = l.Scope
		}
		limits = append(limits, l)
	}
	switch {
	case unlimited != "":
		return nil, unlimited, ""
	case len(limits) > 0:
		scopes := make([]string, len(limits))
		for i, l := range limits {
			scopes[i] = l.Scope
		}
		return limits, strings.Join(scopes, ", "), ""
	case len(unusable) > 0:
		return nil, "", strings.Join(unusable, "; ")
	case len(short) == 1:
		return nil, "", fmt.Sprintf("scope %s does not allow %s", short[0], what)
	case len(short) > 1:
		return nil, "", fmt.Sprintf("scopes %s do not allow %s", strings.Join(short, ", "), what)
	}
	return nil, "", fmt.Sprintf("no scope of %s allows %s", p, what)
}

// roleDenial says why no role of p allows r.
func roleDenial(p *karte.Principal, r karte.Request) string {
	if len(p.Roles) == 0 {
		return fmt.Sprintf("%s has no role", p)
	}
	var verb string
	switch r.Interaction {
	case karte.InteractionRead, karte.InteractionVRead:
		verb = "read"
	case karte.InteractionHistoryInstance, karte.InteractionHistoryType, karte.InteractionHistorySystem:
		verb = "read the history of"
	case karte.InteractionSearchType, karte.InteractionSearchSystem, karte.InteractionSearchCompartment:
		verb = "search"
	case karte.InteractionOperation:
		verb = "call $" + strings.TrimPrefix(r.Operation, "$") + " on"
	default:
		verb = string(r.Interaction)
	}
	return fmt.Sprintf("%s %s may not %s %s", rolesWord(p.Roles), strings.Join(p.Roles, ", "), verb, typeWord(r.Type))
}

func rolesWord(roles []string) string {
	if len(roles) == 1 {
		return "role"
	}
	return "roles"
}
