package searchparam

import (
	"slices"
	"strings"
)

// CompartmentDef is one of the R4 compartments: the resources that belong to
// a patient, an encounter, a related person, a practitioner or a device. A
// resource of a listed type is in the compartment of resource X if one of
// the type's parameters refers to X.
type CompartmentDef struct {
	URL  string // canonical URL of the CompartmentDefinition
	Code string // the resource type that owns the compartment: Patient, Encounter, ...

	resources []compartmentResource // sorted by type
}

// compartmentResource lists the parameters that link a type to a compartment.
type compartmentResource struct {
	typ    string
	params []string
}

// DefParam stands, among the parameters of a compartment, for the identity
// of the compartment's own resource: Patient/123 is in its own compartment.
// The R4 definitions leave it out of the Patient and Device compartments;
// they are given it here.
const DefParam = "{def}"

// Compartment returns the compartment whose code is code ("Patient",
// "Encounter", "RelatedPerson", "Practitioner", "Device").
func Compartment(code string) (*CompartmentDef, bool) {
	for i := range r4Compartments {
		if r4Compartments[i].Code == code {
			return &r4Compartments[i], true
		}
	}
	return nil, false
}

// Compartments returns the R4 compartments, sorted by code.
func Compartments() []*CompartmentDef {
	cs := make([]*CompartmentDef, len(r4Compartments))
	for i := range r4Compartments {
		cs[i] = &r4Compartments[i]
	}
	return cs
}

// Params returns the codes of the search parameters of resourceType that
// link a resource to c, in the order of the definition, or nil if no
// resource of that type is in c. DefParam stands for the compartment's own
// resource. The result is shared: do not modify it.
func (c *CompartmentDef) Params(resourceType string) []string {
	i, ok := slices.BinarySearchFunc(c.resources, resourceType, func(r compartmentResource, t string) int {
		return strings.Compare(r.typ, t)
	})
	if !ok {
		return nil
	}
	return c.resources[i].params
}

// Types returns the resource types that can be in c, sorted.
func (c *CompartmentDef) Types() []string {
	ts := make([]string, len(c.resources))
	for i, r := range c.resources {
		ts[i] = r.typ
	}
	return ts
}
