package authz_test

import (
	"reflect"
	"strings"
	"testing"

	"kartehub/internal/authz"
	"kartehub/internal/karte"
)

func TestParseScopes(t *testing.T) {
	const (
		c   = karte.PermCreate
		r   = karte.PermRead
		u   = karte.PermUpdate
		d   = karte.PermDelete
		s   = karte.PermSearch
		pat = karte.ScopePatient
		usr = karte.ScopeUser
		sys = karte.ScopeSystem
	)
	for _, tt := range []struct {
		in   string
		want []karte.Scope // nil with err
		err  string        // substring of the error
	}{
		// SMART v2
		{in: "patient/Observation.rs", want: []karte.Scope{{Raw: "patient/Observation.rs", Level: pat, Type: "Observation", Perms: r | s}}},
		{in: "user/*.cruds", want: []karte.Scope{{Raw: "user/*.cruds", Level: usr, Type: "*", Perms: c | r | u | d | s}}},
		{in: "system/Patient.r", want: []karte.Scope{{Raw: "system/Patient.r", Level: sys, Type: "Patient", Perms: r}}},
		{in: "user/Encounter.cud", want: []karte.Scope{{Raw: "user/Encounter.cud", Level: usr, Type: "Encounter", Perms: c | u | d}}},
		{in: "system/*.s", want: []karte.Scope{{Raw: "system/*.s", Level: sys, Type: "*", Perms: s}}},
		{in: "patient/Observation.rs?category=laboratory", want: []karte.Scope{{
			Raw: "patient/Observation.rs?category=laboratory", Level: pat, Type: "Observation", Perms: r | s, Query: "category=laboratory"}}},
		{in: "user/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs&status=final", want: []karte.Scope{{
			Raw:   "user/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs&status=final",
			Level: usr, Type: "Observation", Perms: r | s,
			Query: "category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs&status=final"}}},
		// SMART v1
		{in: "patient/*.read", want: []karte.Scope{{Raw: "patient/*.read", Level: pat, Type: "*", Perms: r | s, V1: true}}},
		{in: "user/Patient.write", want: []karte.Scope{{Raw: "user/Patient.write", Level: usr, Type: "Patient", Perms: c | u | d, V1: true}}},
		{in: "system/*.*", want: []karte.Scope{{Raw: "system/*.*", Level: sys, Type: "*", Perms: c | r | u | d | s, V1: true}}},
		// other scopes, lists, spacing
		{in: "", want: []karte.Scope{}},
		{in: "   \t\n ", want: []karte.Scope{}},
		{in: "openid fhirUser launch/patient offline_access", want: []karte.Scope{
			{Raw: "openid"}, {Raw: "fhirUser"}, {Raw: "launch/patient"}, {Raw: "offline_access"}}},
		{in: " launch  profile\tonline_access launch/encounter ", want: []karte.Scope{
			{Raw: "launch"}, {Raw: "profile"}, {Raw: "online_access"}, {Raw: "launch/encounter"}}},
		{in: "openid patient/Patient.r patient/Observation.rs", want: []karte.Scope{
			{Raw: "openid"},
			{Raw: "patient/Patient.r", Level: pat, Type: "Patient", Perms: r},
			{Raw: "patient/Observation.rs", Level: pat, Type: "Observation", Perms: r | s}}},

		// invalid
		{in: "email", err: `scope "email": unknown scope`},
		{in: "openid bogus", err: `scope "bogus": unknown scope`},
		{in: "Patient/Observation.rs", err: `unknown context "Patient": want patient, user or system`},
		{in: "practitioner/Observation.rs", err: `unknown context "practitioner"`},
		{in: "launch/organization", err: `unknown launch context`},
		{in: "patient/Observation", err: `no permissions`},
		{in: "patient/Observation.", err: `no permissions`},
		{in: "patient/.rs", err: `no resource type`},
		{in: "patient/observation.rs", err: `"observation" is not a resource type name`},
		{in: "patient/Obs-ervation.rs", err: `is not a resource type name`},
		{in: "patient/**.rs", err: `is not a resource type name`},
		{in: "patient/Observation.sr", err: `permissions "sr" must each appear once, in the order c, r, u, d, s`},
		{in: "patient/Observation.rr", err: `must each appear once`},
		{in: "patient/Observation.rx", err: `unknown permission "x" in "rx"`},
		{in: "patient/Observation.R", err: `unknown permission "R"`},
		{in: "patient/Observation.Read", err: `unknown permission`},
		{in: "patient/Observation.rs.x", err: `unknown permission "."`},
		{in: "patient/Observation.read?category=laboratory", err: `a query qualifier needs SMART v2 permissions`},
		{in: "system/*.*?_security=R", err: `a query qualifier needs SMART v2 permissions`},
		{in: "patient/Observation.rs?", err: `empty query qualifier`},
		{in: "patient/Observation.rs?category=%zz", err: `bad query qualifier`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := authz.ParseScopes(tt.in)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("ParseScopes(%q) = %v, want error %q", tt.in, got, tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseScopes(%q) error = %q, want it to contain %q", tt.in, err, tt.err)
				}
				if !karte.IsKind(err, karte.Invalid) {
					t.Errorf("error kind = %v, want invalid", karte.KindOf(err))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScopes(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual([]karte.Scope(got), tt.want) {
				t.Errorf("ParseScopes(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestScopesAllows(t *testing.T) {
	type check struct {
		interaction karte.Interaction
		typ         string
		want        bool
	}
	for _, tt := range []struct {
		scopes string
		checks []check
	}{
		{"patient/Observation.rs", []check{
			{karte.InteractionRead, "Observation", true},
			{karte.InteractionVRead, "Observation", true},
			{karte.InteractionHistoryInstance, "Observation", true},
			{karte.InteractionHistoryType, "Observation", true},
			{karte.InteractionSearchType, "Observation", true},
			{karte.InteractionSearchCompartment, "Observation", true},
			{karte.InteractionCreate, "Observation", false},
			{karte.InteractionUpdate, "Observation", false},
			{karte.InteractionPatch, "Observation", false},
			{karte.InteractionDelete, "Observation", false},
			{karte.InteractionRead, "Condition", false},
			{karte.InteractionSearchSystem, "", false}, // all types need a * scope
			{karte.InteractionTransaction, "", true},   // as a container
			{karte.InteractionBatch, "", true},
			{karte.InteractionCapabilities, "", true},
		}},
		{"patient/Observation.r", []check{
			{karte.InteractionRead, "Observation", true},
			{karte.InteractionSearchType, "Observation", false},
		}},
		{"patient/Observation.s", []check{
			{karte.InteractionRead, "Observation", false},
			{karte.InteractionSearchType, "Observation", true},
		}},
		{"user/*.cruds", []check{
			{karte.InteractionCreate, "Condition", true},
			{karte.InteractionPatch, "Patient", true},
			{karte.InteractionDelete, "AuditEvent", true}, // scopes alone; Authorize refuses it
			{karte.InteractionSearchSystem, "", true},
			{karte.InteractionHistorySystem, "", true},
			{karte.InteractionOperation, "Patient", false}, // operations are decided by Authorize
		}},
		{"user/Patient.u", []check{
			{karte.InteractionUpdate, "Patient", true},
			{karte.InteractionPatch, "Patient", true},
			{karte.InteractionCreate, "Patient", false},
		}},
		{"user/Patient.write", []check{ // v1: c, u, d
			{karte.InteractionCreate, "Patient", true},
			{karte.InteractionUpdate, "Patient", true},
			{karte.InteractionDelete, "Patient", true},
			{karte.InteractionRead, "Patient", false},
			{karte.InteractionSearchType, "Patient", false},
		}},
		{"patient/*.read", []check{ // v1: r, s
			{karte.InteractionRead, "Condition", true},
			{karte.InteractionSearchType, "Condition", true},
			{karte.InteractionSearchSystem, "", true},
			{karte.InteractionCreate, "Condition", false},
		}},
		{"system/*.*", []check{
			{karte.InteractionDelete, "Observation", true},
			{karte.InteractionSearchSystem, "", true},
		}},
		{"openid fhirUser launch/patient offline_access", []check{
			{karte.InteractionRead, "Patient", false},
			{karte.InteractionTransaction, "", false},
			{karte.InteractionCapabilities, "", true},
		}},
		{"user/Observation.rs?category=laboratory", []check{
			{karte.InteractionSearchType, "Observation", true}, // the qualifier limits, Authorize says how
			{karte.InteractionCreate, "Observation", false},
		}},
		{"", []check{
			{karte.InteractionRead, "Patient", false},
			{karte.InteractionBatch, "", false},
		}},
		{"user/Patient.rs", []check{
			{"bogus", "Patient", false},
		}},
	} {
		scopes, err := authz.ParseScopes(tt.scopes)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range tt.checks {
			t.Run(tt.scopes+"/"+string(c.interaction)+"/"+c.typ, func(t *testing.T) {
				if got := scopes.Allows(c.interaction, c.typ); got != c.want {
					t.Errorf("Scopes(%q).Allows(%s, %q) = %v, want %v", tt.scopes, c.interaction, c.typ, got, c.want)
				}
			})
		}
	}
}

func TestScopeString(t *testing.T) {
	for _, tt := range []struct {
		sc   karte.Scope
		want string
	}{
		{karte.Scope{Raw: "patient/*.read", Level: karte.ScopePatient, Type: "*", Perms: karte.PermRead | karte.PermSearch, V1: true}, "patient/*.read"},
		{karte.Scope{Level: karte.ScopeUser, Type: "Observation", Perms: karte.PermRead | karte.PermSearch, Query: "category=laboratory"}, "user/Observation.rs?category=laboratory"},
		{karte.Scope{Level: karte.ScopeSystem, Type: "*", Perms: karte.PermAll}, "system/*.cruds"},
		{karte.Scope{Raw: "openid"}, "openid"},
	} {
		if got := tt.sc.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.sc, got, tt.want)
		}
	}
	scopes, err := authz.ParseScopes("openid  patient/Observation.rs\tuser/*.read")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := scopes.String(), "openid patient/Observation.rs user/*.read"; got != want {
		t.Errorf("Scopes.String() = %q, want %q", got, want)
	}
}

func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{
		"", "openid fhirUser launch/patient offline_access",
		"patient/Observation.rs", "user/*.cruds", "system/*.*", "patient/*.read", "user/Patient.write",
		"patient/Observation.rs?category=laboratory", "user/Observation.rs?a=1&b=2",
		"patient/Observation.sr", "Patient/x.rs", "patient/Observation.rs?%zz", "launch/x", "a/b.c?d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scopes, err := authz.ParseScopes(s)
		if err != nil {
			if !karte.IsKind(err, karte.Invalid) {
				t.Fatalf("ParseScopes(%q) error %v of kind %v, want invalid", s, err, karte.KindOf(err))
			}
			return
		}
		fields := strings.Fields(s)
		if len(scopes) != len(fields) {
			t.Fatalf("ParseScopes(%q) = %d scopes for %d fields", s, len(scopes), len(fields))
		}
		for i, sc := range scopes {
			if sc.Raw != fields[i] {
				t.Fatalf("scope %d Raw = %q, want %q", i, sc.Raw, fields[i])
			}
			if sc.Level == karte.ScopeOther {
				if sc.Type != "" || sc.Perms != 0 || sc.Query != "" {
					t.Fatalf("other scope %q has resource fields: %#v", sc.Raw, sc)
				}
				continue
			}
			if sc.Type == "" || sc.Perms == 0 || sc.Perms&^karte.PermAll != 0 {
				t.Fatalf("resource scope %q parsed as %#v", sc.Raw, sc)
			}
			if sc.V1 && sc.Query != "" {
				t.Fatalf("v1 scope %q has a query", sc.Raw)
			}
			// Its v2 form (a v1 scope rewritten) parses back to the same grant.
			v2 := sc
			v2.Raw, v2.V1 = "", false
			again, err := authz.ParseScope(v2.String())
			if err != nil {
				t.Fatalf("v2 form %q of %q does not parse: %v", v2.String(), sc.Raw, err)
			}
			again.Raw = ""
			if again != v2 {
				t.Fatalf("v2 form %q of %q parses as %#v, want %#v", v2.String(), sc.Raw, again, v2)
			}
		}
		// Parsing is idempotent on the scopes' own spelling.
		again, err := authz.ParseScopes(scopes.String())
		if err != nil || !reflect.DeepEqual(again, scopes) {
			t.Fatalf("ParseScopes(%q) = %#v, %v; want %#v", scopes.String(), again, err, scopes)
		}
	})
}
