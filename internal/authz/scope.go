package authz

import (
	"fmt"
	"net/url"
	"strings"

	"kartehub/internal/karte"
)

// Scopes are the SMART scopes of a token, parsed. Principal.Scopes holds
// the same list: karte.Principal{Scopes: s} and Scopes(p.Scopes) convert.
type Scopes []karte.Scope

// otherScopes are the scopes that grant no access to resources by
// themselves, but that kartehub recognises.
var otherScopes = map[string]bool{
	"openid":           true,
	"fhirUser":         true,
	"profile":          true,
	"launch":           true,
	"launch/patient":   true,
	"launch/encounter": true,
	"offline_access":   true,
	"online_access":    true,
}

// ParseScopes parses a space-separated list of SMART on FHIR scopes, the
// "scope" of an OAuth2 token:
//
//   - SMART v2 resource scopes: patient/Observation.rs, user/*.cruds,
//     system/Patient.r, with the permissions c, r, u, d, s in that order,
//     and with an optional query qualifier, as in
//     patient/Observation.rs?category=laboratory (kept in Scope.Query);
//   - SMART v1 resource scopes: patient/*.read, user/Patient.write,
//     system/*.* (read is r+s, write is c+u+d, * is all five);
//   - openid, fhirUser, profile, launch, launch/patient, launch/encounter,
//     offline_access and online_access.
//
// An empty string is no scope at all. Any other scope, and a malformed
// one, is an error of Kind Invalid that names the scope and what is wrong
// with it.
func ParseScopes(s string) (Scopes, error) {
	fields := strings.Fields(s)
	scopes := make(Scopes, 0, len(fields))
	for _, f := range fields {
		sc, err := ParseScope(f)
		if err != nil {
			return nil, err
		}
		scopes = append(scopes, sc)
	}
	return scopes, nil
}

// ParseScope parses one SMART scope, as ParseScopes does.
func ParseScope(s string) (karte.Scope, error) {
	sc := karte.Scope{Raw: s}
	if otherScopes[s] {
		return sc, nil
	}
	fail := func(format string, args ...any) (karte.Scope, error) {
		return karte.Scope{}, karte.Errorf(karte.Invalid, "scope %q: %s", s, fmt.Sprintf(format, args...))
	}
	level, rest, ok := strings.Cut(s, "/")
	if !ok {
		return fail("unknown scope: want a resource scope such as patient/Observation.rs, or one of openid, fhirUser, profile, launch, launch/patient, launch/encounter, offline_access, online_access")
	}
	switch level {
	case "launch":
		return fail("unknown launch context: want launch, launch/patient or launch/encounter")
	case "patient":
		sc.Level = karte.ScopePatient
	case "user":
		sc.Level = karte.ScopeUser
	case "system":
		sc.Level = karte.ScopeSystem
	default:
		return fail("unknown context %q: want patient, user or system", level)
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok || perms == "" {
		return fail("no permissions: want %s/Type.permissions, such as %s/Observation.rs", level, level)
	}
	switch {
	case typ == "":
		return fail("no resource type: want a type such as Observation, or *")
	case typ != "*" && !isTypeName(typ):
		return fail("%q is not a resource type name (such as Observation) or *", typ)
	}
	sc.Type = typ
	switch perms {
	case "read":
		sc.Perms, sc.V1 = karte.PermRead|karte.PermSearch, true
	case "write":
		sc.Perms, sc.V1 = karte.PermWrite, true
	case "*":
		sc.Perms, sc.V1 = karte.PermAll, true
	default:
		p, err := parsePerms(perms)
		if err != "" {
			return fail("%s", err)
		}
		sc.Perms = p
	}
	if hasQuery {
		switch {
		case sc.V1:
			return fail("a query qualifier needs SMART v2 permissions (c, r, u, d, s), not %q", perms)
		case query == "":
			return fail("empty query qualifier after \"?\"")
		}
		if _, err := url.ParseQuery(query); err != nil {
			return fail("bad query qualifier %q: %v", query, err)
		}
		sc.Query = query
	}
	return sc, nil
}

// parsePerms parses SMART v2 permissions: some of c, r, u, d, s, each at
// most once and in that order. It returns what is wrong, or "".
func parsePerms(s string) (karte.Perm, string) {
	const order = "cruds"
	var p karte.Perm
	last := -1
	for i := 0; i < len(s); i++ {
		k := strings.IndexByte(order, s[i])
		if k < 0 {
			return 0, fmt.Sprintf("unknown permission %q in %q: want some of c, r, u, d, s in that order (SMART v2), or read, write or * (SMART v1)", s[i:i+1], s)
		}
		if k <= last {
			return 0, fmt.Sprintf("permissions %q must each appear once, in the order c, r, u, d, s", s)
		}
		last = k
		p |= 1 << k
	}
	return p, ""
}

// isTypeName reports whether s is shaped like a FHIR resource type name:
// an upper-case ASCII letter, then ASCII letters and digits.
func isTypeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// String returns the scopes as granted, separated by spaces.
func (s Scopes) String() string {
	strs := make([]string, len(s))
	for i, sc := range s {
		strs[i] = sc.String()
	}
	return strings.Join(strs, " ")
}

// Allows reports whether some resource scope of s, of any level, allows
// interaction on resourceType (empty: on all types, which only "*" scopes
// allow). The interactions need these permissions: read, vread and the
// history interactions r; the searches s; create c; update and patch u;
// delete d. A transaction or a batch is allowed as a container if s holds
// any resource scope, since each entry is checked on its own; capabilities
// are always allowed. An operation depends on its name, so Allows does not
// allow one: Authorize decides operations.
//
// Allows looks at the scopes alone: which levels count for a principal
// (patient/ needs a patient in context, system/ is for clients) is for
// Authorize, as is a scope's query qualifier.
func (s Scopes) Allows(interaction karte.Interaction, resourceType string) bool {
	switch interaction {
	case karte.InteractionCapabilities:
		return true
	case karte.InteractionTransaction, karte.InteractionBatch:
		for _, sc := range s {
			if sc.Level != karte.ScopeOther {
				return true
			}
		}
		return false
	}
	need, ok := interactionPerms[interaction]
	if !ok {
		return false
	}
	for _, sc := range s {
		if sc.Level != karte.ScopeOther && typeMatches(sc.Type, resourceType) && sc.Perms.Has(need) {
			return true
		}
	}
	return false
}

// typeMatches reports whether a scope on scopeType covers typ; an empty typ
// (all types) is covered by "*" alone.
func typeMatches(scopeType, typ string) bool {
	return scopeType == "*" || typ != "" && scopeType == typ
}

// interactionPerms maps each interaction on resources to the SMART
// permission it needs.
var interactionPerms = map[karte.Interaction]karte.Perm{
	karte.InteractionRead:              karte.PermRead,
	karte.InteractionVRead:             karte.PermRead,
	karte.InteractionHistoryInstance:   karte.PermRead,
	karte.InteractionHistoryType:       karte.PermRead,
	karte.InteractionHistorySystem:     karte.PermRead,
	karte.InteractionSearchType:        karte.PermSearch,
	karte.InteractionSearchSystem:      karte.PermSearch,
	karte.InteractionSearchCompartment: karte.PermSearch,
	karte.InteractionCreate:            karte.PermCreate,
	karte.InteractionUpdate:            karte.PermUpdate,
	karte.InteractionPatch:             karte.PermUpdate,
	karte.InteractionDelete:            karte.PermDelete,
}

// operationPerms maps the operations kartehub knows (without their "$") to
// the permissions they need on the type they are called on. An operation
// not listed is denied. $everything and $export read and search many
// types: the data layer authorises each type they return.
var operationPerms = map[string]karte.Perm{
	"everything":    karte.PermRead | karte.PermSearch,
	"export":        karte.PermRead | karte.PermSearch,
	"document":      karte.PermRead,
	"meta":          karte.PermRead,
	"meta-add":      karte.PermUpdate,
	"meta-delete":   karte.PermUpdate,
	"validate":      karte.PermRead,
	"expand":        karte.PermRead,
	"lookup":        karte.PermRead,
	"validate-code": karte.PermRead,
	"translate":     karte.PermRead,
	"subsumes":      karte.PermRead,
	"lastn":         karte.PermSearch,
	"stats":         karte.PermSearch,
	"match":         karte.PermSearch,
}
