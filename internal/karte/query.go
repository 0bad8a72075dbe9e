package karte

import "context"

// Searcher runs searches. Engines implement it beside Store.
type Searcher interface {
	// Search returns one page of the current, not deleted resources that
	// match q, with what q asks to include.
	Search(ctx context.Context, q *Query) (*SearchResult, error)
}

// ParamKind is the type of a search parameter, as FHIR defines them.
type ParamKind uint8

// The kinds of search parameter.
const (
	KindString ParamKind = iota + 1
	KindToken
	KindReference
	KindDate
	KindNumber
	KindQuantity
	KindURI
	KindComposite
	KindID          // _id: the resource id itself
	KindLastUpdated // _lastUpdated: the time of the current version
)

// Op is how a condition compares: a FHIR prefix for ordered values, or the
// matching rule a modifier selects.
type Op uint8

// The comparisons. Eq is the default of every kind: for strings it means
// "starts with", for dates and numbers "within the criterion's precision".
const (
	Eq Op = iota
	Ne
	Lt
	Gt
	Le
	Ge
	Sa // starts after
	Eb // ends before
	Ap // approximately (10 %)
	Exact
	Contains
	Text   // token :text, against displays and texts
	Above  // uri :above: the criterion starts with the value
	Below  // uri :below: the value starts with the criterion
	In     // token :in: any of Codes
	Exists // :missing (Missing says which way)
)

// Query is a search, independent of any engine: package search builds it
// from a request, and a Searcher runs it.
type Query struct {
	// Types are the resource types searched: one for a type-level search,
	// several or none (all) for a system-level one.
	Types []string
	// Where holds the clauses that must all hold.
	Where []Clause
	// Sort orders the matches; the resource id breaks ties.
	Sort []SortKey
	// Count is the page size; After is the cursor of the page to return,
	// from a previous SearchResult.Next.
	Count int
	After string
	// Total asks for the number of all matches.
	Total bool
	// Include and RevInclude name the related resources to return.
	Include []Include
	// Explain asks the engine to describe its plan in SearchResult.Plan.
	Explain bool
	// Restrict, if not nil, limits the search to the resources that an
	// authorisation decision admits: the matches, the total, the pages and
	// the included resources of every round, and the resources that chains
	// and _has test. Nil: no restriction.
	Restrict *Restriction
}

// Restriction limits a search to the resources that an authorisation
// decision's facility filter admits (see Decision.Facilities), inside the
// search itself, so that no match, count, page or included resource
// reveals a patient of another facility. A Searcher applies it to a
// resource R of type T:
//
//   - T is Patient: R is admitted if it belongs to one of Facilities.
//   - T is a key of Links: R is admitted if, through the parameters
//     Links[T], it refers to no patient, or to at least one patient that
//     belongs to one of Facilities. A reference that is not to a resource
//     of this server (an absolute URL, a contained resource, an identifier
//     only) may be to any patient: it counts as a reference to a patient
//     who belongs to no facility.
//   - any other type (Organization, Practitioner, ValueSet, ...): R is
//     admitted.
//
// A patient belongs to facility F if its current version's
// managingOrganization (the Patient parameter "organization") refers to
// Organization/F, or if its record is shared with F: a live Consent with
// status "active", whose "patient" refers to the patient, whose "actor"
// refers to Organization/F, and whose SharePermitParam value is "permit".
//
// The search runs as if the database held the admitted resources only:
// chains and _has select among admitted resources too, so that they
// cannot test what an unadmitted patient's resources hold (see package
// sqlsearch).
type Restriction struct {
	// Facilities are the ids of the Organizations whose patients are
	// admitted. None: no patient is admitted, only resources that belong
	// to no patient.
	Facilities []string
	// Links maps each resource type that belongs to patients to the codes
	// of its reference search parameters that tie a resource of it to its
	// patients: the Patient compartment's parameters for that type
	// (searchparam.Compartment("Patient"), without DefParam). Patient
	// itself is not in it; a Patient entry is ignored.
	Links map[string][]string
	// SharePermitParam is the code of a token search parameter of Consent
	// that the record service registers to index Consent.provision.type:
	// the code "permit" in it makes a Consent share a patient's record.
	// Its expression should keep out Consents whose provision has nested
	// provisions (exceptions that the restriction cannot apply), such as
	// ShareParamExpression. Empty: Consents share nothing, and a patient
	// belongs only to the facility of its managingOrganization.
	SharePermitParam string
}

// The search parameter that a record service registers for
// Restriction.SharePermitParam: a token of Consent holding the type
// (permit or deny) of the Consent's provision, when that provision has no
// nested provisions.
const (
	ShareParamCode       = "_share-permit"
	ShareParamURL        = "urn:kartehub:SearchParameter:Consent-share-permit"
	ShareParamExpression = "Consent.provision.where(provision.empty()).type"
)

// Clause holds if any of its conditions holds: the comma of FHIR search.
type Clause []Condition

// Condition is one test of one search parameter.
type Condition struct {
	Param string
	Kind  ParamKind
	Op    Op
	Not   bool // negated: :not, :not-in, :missing=false negations
	// Missing is the value of :missing (with Op Exists).
	Missing bool

	// String is the value of string, uri, token-code and token-text tests
	// (strings folded as the index is).
	String string
	// System and its flags qualify token and quantity tests: System
	// "x" with AnySystem false means system x; NoSystem means "|code".
	System    string
	AnySystem bool
	NoSystem  bool
	AnyCode   bool // "system|": any code of the system

	// Lo and Hi are the period of a date criterion (unix ms, [Lo, Hi)).
	Lo, Hi int64
	// Number, with NumLo and NumHi, is a number or quantity criterion and
	// the range its precision implies.
	Number, NumLo, NumHi float64
	// Canonical says that a quantity criterion is in canonical UCUM units:
	// String is then the canonical unit code.
	Canonical bool

	// RefType and RefID name the target of a reference test (RefType may be
	// empty: any type with that id); URL matches absolute references.
	RefType, RefID, URL string
	// Chain, if set, matches references to resources that match it.
	Chain *Query
	// Has, if set, matches resources that resources of another type refer
	// to by a parameter and that match a query (_has).
	Has *Has
	// Codes are the codes of an In test, expanded from a ValueSet.
	Codes []Coding

	// Second is the second component of a composite condition.
	Second *Condition
}

// Coding is a code in a system.
type Coding struct{ System, Code string }

// Has is a reverse chain: resources of Type whose Param refers to the
// searched resource, and that match Query.
type Has struct {
	Type, Param string
	Query       *Query
}

// SortKey orders search results by a parameter.
type SortKey struct {
	Param      string
	Kind       ParamKind
	Descending bool
}

// Include names related resources to add to search results: the targets of
// Param in matches of Type (Reverse false), or the resources of Type whose
// Param refers to a match (Reverse true). TargetType narrows the targets.
// Iterate applies the include to included resources too.
type Include struct {
	Type, Param, TargetType string
	Reverse, Iterate        bool
}

// SearchResult is one page of a search.
type SearchResult struct {
	Matches  []*Resource
	Included []*Resource
	// Total is the number of all matches when the query asked for it, or
	// -1.
	Total int
	// Next is the cursor of the following page, or "" on the last one.
	Next string
	// Plan describes how the engine ran the query, when asked.
	Plan string
}

// Reindexer is implemented by engines that keep a search index, so that
// the index can be rebuilt when search parameters change.
type Reindexer interface {
	// Reindex replaces the search index of version r with ix, if r is
	// still the current version; otherwise it does nothing (the write that
	// replaced r indexed the new version itself).
	Reindex(ctx context.Context, r *Resource, ix *Index) error
}

// JobStore keeps the progress of long-running jobs, so that they resume
// where they stopped after a restart.
type JobStore interface {
	PutJob(ctx context.Context, name string, state []byte) error
	DeleteJob(ctx context.Context, name string) error
	Jobs(ctx context.Context) (map[string][]byte, error)
}

// TxSearcher is implemented by the transactions of engines with a search
// index: a search inside a write transaction sees the transaction's own
// writes, and engines with concurrent writers serialise it with Tx.Lock.
type TxSearcher interface {
	Search(ctx context.Context, q *Query) (*SearchResult, error)
}
