package authz

import (
	"slices"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam"
)

// TestClassesCoverR4 checks that every R4 resource type is in a class, and
// that the classes name no other type.
func TestClassesCoverR4(t *testing.T) {
	types := fhir.ResourceTypes()
	for _, typ := range types {
		if classOf(typ) == classNone {
			t.Errorf("R4 type %s is in no class", typ)
		}
	}
	for typ := range classes {
		if !slices.Contains(types, typ) {
			t.Errorf("class %s lists %s, which is not an R4 resource type", classes[typ], typ)
		}
	}
}

// TestPatientCompartmentIsFiltered checks that every type of the R4 Patient
// compartment is in a class that the facility filter applies to: else a
// user would see those resources of every facility's patients.
func TestPatientCompartmentIsFiltered(t *testing.T) {
	c, ok := searchparam.Compartment("Patient")
	if !ok {
		t.Fatal("no Patient compartment")
	}
	for _, typ := range c.Types() {
		if cl := classOf(typ); !cl.patientLinked() {
			t.Errorf("%s is in the Patient compartment, but in class %s, which the facility filter does not apply to", typ, cl)
		}
	}
}

// TestRoleRulesNameKnownRolesAndTypes checks the role table against the
// roles karte knows and the types of the classes.
func TestRoleRulesNameKnownRolesAndTypes(t *testing.T) {
	for _, role := range karte.Roles {
		if len(roleRules[role]) == 0 {
			t.Errorf("role %s has no rules", role)
		}
	}
	for role, rules := range roleRules {
		if !slices.Contains(karte.Roles, role) {
			t.Errorf("rules for unknown role %s", role)
		}
		for _, r := range rules {
			if r.perms == 0 {
				t.Errorf("role %s: a rule grants nothing", role)
			}
			if (r.types == nil) == (r.class == classNone) {
				t.Errorf("role %s: a rule must name a class or types: %+v", role, r)
			}
			for _, typ := range r.types {
				if classOf(typ) == classNone {
					t.Errorf("role %s: rule names unclassified type %s", role, typ)
				}
			}
		}
	}
	for _, role := range careRoles {
		if !slices.Contains(karte.Roles, role) {
			t.Errorf("care role %s is not a role", role)
		}
	}
}

// TestRoleTable checks the role table, class by class, against the table
// of the package documentation.
func TestRoleTable(t *testing.T) {
	const (
		r = karte.PermRead
		s = karte.PermSearch
		c = karte.PermCreate
		u = karte.PermUpdate
		d = karte.PermDelete
	)
	// One type per class; the types that the table's footnotes name are
	// checked by the matrix test.
	sample := map[class]string{
		clinical: "Condition", registration: "RelatedPerson", scheduling: "EpisodeOfCare",
		financial: "Account", audit: "AuditEvent", directory: "PractitionerRole",
		knowledge: "ValueSet", infrastructure: "Subscription",
	}
	order := []class{clinical, registration, scheduling, financial, audit, directory, knowledge, infrastructure}
	want := map[string][]string{
		//                     clinical registration scheduling financial audit directory knowledge infrastructure
		karte.RolePhysician:     {"cruds", "cruds", "cruds", "rs", "", "rs", "rs", ""},
		karte.RoleNurse:         {"cruds", "cruds", "cruds", "rs", "", "rs", "rs", ""},
		karte.RoleTechnologist:  {"", "", "", "", "", "rs", "rs", ""},
		karte.RoleClerk:         {"", "cruds", "", "", "", "rs", "rs", ""},
		karte.RoleResearcher:    {"rs", "rs", "rs", "", "", "rs", "rs", ""},
		karte.RoleAuditor:       {"", "", "", "", "rs", "", "", ""},
		karte.RoleAdministrator: {"", "", "", "", "", "cruds", "cruds", "cruds"},
	}
	for role, cells := range want {
		for i, cl := range order {
			typ := sample[cl]
			var got karte.Perm
			for _, p := range []karte.Perm{c, r, u, d, s} {
				if roleAllows(role, p, typ) {
					got |= p
				}
			}
			if got.String() != cells[i] {
				t.Errorf("role %s on %s (%s) = %q, want %q", role, typ, cl, got, cells[i])
			}
		}
	}
}
