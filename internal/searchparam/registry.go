package searchparam

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam/internal/expr"
)

// Registry holds the search parameters of every resource type. Lookups read
// an immutable snapshot without locking; Add and Remove build a new snapshot
// and swap it in, so a reader sees each change whole or not at all.
//
// New and Default return registries of the R4 parameters; the zero Registry
// is empty, ready for Add. A Registry must not be copied after first use.
type Registry struct {
	mu   sync.Mutex // serialises writers
	snap atomic.Pointer[snapshot]
}

// snapshot is one immutable state of a Registry. Params in it are never
// modified once it is published.
type snapshot struct {
	byURL  map[string][]*Param   // every param by definition URL
	own    map[string][]*Param   // per resource type, the params with that base, sorted by code
	common []*Param              // params based on Resource or DomainResource, sorted by code
	types  map[string]*typeIndex // per resource type, and Resource and DomainResource
}

// typeIndex is what a resource type can be searched by: its own params and
// the common ones that apply to it.
type typeIndex struct {
	byCode map[string]*Param
	sorted []*Param
}

// extraParams are the parameters for all resources that R4 describes on its
// search page but defines by no SearchParameter resource. Their URLs follow
// the pattern of the other common ones.
var extraParams = [...]Param{
	{URL: spPrefix + "Resource-has", Code: "_has", Name: "_has", Type: Special, Base: "Resource", MultipleOr: true, MultipleAnd: true},
	{URL: spPrefix + "Resource-list", Code: "_list", Name: "_list", Type: Special, Base: "Resource", MultipleOr: true, MultipleAnd: true},
	{URL: spPrefix + "Resource-type", Code: "_type", Name: "_type", Type: Special, Base: "Resource", MultipleOr: true, MultipleAnd: true},
}

// ownParams are kartehub's own parameters, which its authorisation needs
// indexed on every write: whether a Consent shares a patient's record (see
// karte.Restriction).
var ownParams = [...]Param{
	{URL: karte.ShareParamURL, Code: karte.ShareParamCode, Name: "sharePermit", Type: Token, Base: "Consent",
		Expression: karte.ShareParamExpression},
}

// builtin is the snapshot of the R4 parameters, built on first use.
var builtin = sync.OnceValue(func() *snapshot {
	ps := make([]*Param, 0, len(r4Params)+len(extraParams)+len(ownParams))
	for i := range r4Params {
		ps = append(ps, &r4Params[i])
	}
	for i := range extraParams {
		ps = append(ps, &extraParams[i])
	}
	for i := range ownParams {
		ps = append(ps, &ownParams[i])
	}
	s, err := empty.with(nil, ps)
	if err != nil {
		panic("searchparam: built-in parameters: " + err.Error())
	}
	return s
})

// empty is the snapshot of the zero Registry.
var empty = &snapshot{}

// load returns the current snapshot.
func (r *Registry) load() *snapshot {
	if s := r.snap.Load(); s != nil {
		return s
	}
	return empty
}

var defaultRegistry = sync.OnceValue(New)

// Default returns the Registry of the built-in R4 parameters, shared by the
// whole process. Add custom parameters to a Registry from New instead,
// unless every user of Default should see them.
func Default() *Registry { return defaultRegistry() }

// New returns a Registry holding the built-in R4 parameters, to be extended
// with custom ones. The built-in snapshot is shared, so New is cheap.
func New() *Registry {
	r := new(Registry)
	r.snap.Store(builtin())
	return r
}

// Lookup returns the parameter code of resourceType, one of its own or a
// common one such as _id. resourceType may also be Resource or
// DomainResource, for the parameters of searches across all types.
func (r *Registry) Lookup(resourceType, code string) (*Param, bool) {
	idx := r.load().types[resourceType]
	if idx == nil {
		return nil, false
	}
	p, ok := idx.byCode[code]
	return p, ok
}

// Params returns the parameters of resourceType, its own and the common
// ones, sorted by code; nil if resourceType is not a resource type. The
// slice is shared: do not modify it.
func (r *Registry) Params(resourceType string) []*Param {
	idx := r.load().types[resourceType]
	if idx == nil {
		return nil
	}
	return slices.Clip(idx.sorted)
}

// ByURL returns the parameters defined by the SearchParameter with the
// canonical URL url, one per base, sorted by base.
func (r *Registry) ByURL(url string) []*Param {
	return slices.Clone(r.load().byURL[url])
}

// Add registers ps, the parameters of one or more SearchParameter
// resources, as FromResource returns them, all at once or (on error) not at
// all. Params already registered under the URL of any of ps are replaced,
// on every base: pass all the bases of a definition in one call. Add copies
// each Param but keeps its slices, which must not be modified afterwards.
//
// The error is an *karte.Error: Unprocessable if a Param is invalid or a
// component of a composite names no parameter on its base, Conflict if a
// code is already taken on a base by a parameter of another URL.
func (r *Registry) Add(ps ...*Param) error {
	if len(ps) == 0 {
		return nil
	}
	urls := map[string]bool{}
	own := make([]*Param, len(ps))
	seen := map[[2]string]bool{}
	for i, p := range ps {
		if err := p.check(); err != nil {
			return err
		}
		key := [2]string{p.URL, p.Base}
		if seen[key] {
			return karte.Errorf(karte.Unprocessable, "search parameter %s: base %s given twice", p.URL, p.Base)
		}
		seen[key] = true
		urls[p.URL] = true
		c := *p
		c.Components = slices.Clone(p.Components)
		own[i] = &c
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.load().with(urls, own)
	if err != nil {
		return err
	}
	r.snap.Store(s)
	return nil
}

// Remove unregisters the parameters defined by the SearchParameter with the
// canonical URL url, on every base, and reports whether there were any. It
// removes built-in parameters too. A composite that has one of them as a
// component keeps the definition it resolved when it was added.
func (r *Registry) Remove(url string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	if len(old.byURL[url]) == 0 {
		return false
	}
	s, err := old.with(map[string]bool{url: true}, nil)
	if err != nil {
		// Removing parameters cannot make codes clash.
		panic("searchparam: Remove: " + err.Error())
	}
	r.snap.Store(s)
	return true
}

// check reports whether p can enter a registry, as an *karte.Error of kind
// Unprocessable.
func (p *Param) check() error {
	bad := func(format string, args ...any) error {
		return karte.Errorf(karte.Unprocessable, "search parameter %s (%s on %s): %s", p.URL, p.Code, p.Base, fmt.Sprintf(format, args...))
	}
	switch {
	case p.URL == "":
		return karte.Errorf(karte.Unprocessable, "search parameter %s on %s: no URL", p.Code, p.Base)
	case !validCode(p.Code):
		return bad("invalid code")
	case p.Type.String() == "":
		return bad("invalid type %d", p.Type)
	case !p.IsCommon() && !fhir.IsResourceType(p.Base):
		return bad("base is not a resource type")
	case p.Expression == "" && p.Type != Special && p.Type != Composite:
		return bad("no expression")
	case p.Type == Composite && len(p.Components) < 2:
		return bad("a composite needs at least two components")
	case p.Type != Composite && len(p.Components) > 0:
		return bad("components on a %s parameter", p.Type)
	}
	for _, t := range p.Targets {
		if !fhir.IsResourceType(t) {
			return bad("target %q is not a resource type", t)
		}
	}
	for _, c := range p.Components {
		if c.Definition == "" || c.Expression == "" {
			return bad("a component needs a definition and an expression")
		}
	}
	return nil
}

// validCode reports whether code can name a search parameter in a URL: a
// letter or underscore, then letters, digits, '-' and '_'. That keeps out
// the characters search syntax gives a meaning (":" for modifiers, "." for
// chains, "=", "&", ",", "$", "|").
func validCode(code string) bool {
	if code == "" {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && (c == '-' || '0' <= c && c <= '9'):
		default:
			return false
		}
	}
	return true
}

// with returns a new snapshot: s without the params of the URLs in remove,
// plus add. It resolves the components of the composites in add, setting
// their Param, so add must be owned by the caller. Only the indexes of the
// types whose params change are rebuilt (all of them if a common param
// changes); the others are shared with s.
func (s *snapshot) with(remove map[string]bool, add []*Param) (*snapshot, error) {
	n := &snapshot{
		byURL:  make(map[string][]*Param, len(s.byURL)+len(add)),
		own:    make(map[string][]*Param, len(s.own)),
		common: s.common,
		types:  make(map[string]*typeIndex, len(s.types)),
	}
	changed := map[string]bool{} // bases whose params change
	for url, ps := range s.byURL {
		if remove[url] {
			for _, p := range ps {
				changed[p.Base] = true
			}
			continue
		}
		n.byURL[url] = ps
	}
	for _, p := range add {
		n.byURL[p.URL] = append(n.byURL[p.URL], p)
		changed[p.Base] = true
	}
	for _, p := range add {
		slices.SortFunc(n.byURL[p.URL], func(a, b *Param) int { return strings.Compare(a.Base, b.Base) })
	}

	for _, p := range add {
		for i := range p.Components {
			c := &p.Components[i]
			for _, q := range n.byURL[c.Definition] {
				if q.Base == p.Base || q.IsCommon() {
					c.Param = q
					break
				}
			}
			if c.Param == nil {
				return nil, karte.Errorf(karte.Unprocessable, "search parameter %s on %s: component %s names no parameter on %s", p.URL, p.Base, c.Definition, p.Base)
			}
		}
	}

	rebuild := func(old []*Param, base string) []*Param {
		var ps []*Param
		for _, p := range old {
			if !remove[p.URL] {
				ps = append(ps, p)
			}
		}
		for _, p := range add {
			if p.Base == base || base == "" && p.IsCommon() {
				ps = append(ps, p)
			}
		}
		slices.SortFunc(ps, func(a, b *Param) int {
			if c := strings.Compare(a.Code, b.Code); c != 0 {
				return c
			}
			return strings.Compare(a.Base, b.Base)
		})
		return ps
	}
	commonChanged := changed["Resource"] || changed["DomainResource"]
	if commonChanged {
		n.common = rebuild(s.common, "")
	}
	for t, ps := range s.own {
		n.own[t] = ps
	}
	for t := range changed {
		if t != "Resource" && t != "DomainResource" {
			n.own[t] = rebuild(s.own[t], t)
		}
	}

	for t, idx := range s.types {
		n.types[t] = idx
	}
	index := func(t string) error {
		idx, err := newTypeIndex(t, n.own[t], n.common)
		if err != nil {
			return err
		}
		n.types[t] = idx
		return nil
	}
	if commonChanged || len(s.types) == 0 {
		for _, t := range fhir.ResourceTypes() {
			if err := index(t); err != nil {
				return nil, err
			}
		}
		for _, t := range []string{"Resource", "DomainResource"} {
			if err := index(t); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
	for t := range changed {
		if err := index(t); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// newTypeIndex indexes the params of type t: own (sorted by code) and those
// of common that apply to t. t may be Resource or DomainResource, whose
// index holds the common params of that base and (for DomainResource) of
// Resource.
func newTypeIndex(t string, own, common []*Param) (*typeIndex, error) {
	domain := expr.IsDomainResource(t)
	idx := &typeIndex{byCode: make(map[string]*Param, len(own)+len(common))}
	put := func(p *Param) error {
		if q, ok := idx.byCode[p.Code]; ok {
			return karte.Errorf(karte.Conflict, "search parameter %s: code %s on %s is taken by %s", p.URL, p.Code, t, q.URL)
		}
		idx.byCode[p.Code] = p
		return nil
	}
	for _, p := range own {
		if err := put(p); err != nil {
			return nil, err
		}
	}
	for _, p := range common {
		if p.Base == "Resource" || domain && p.Base == "DomainResource" {
			if err := put(p); err != nil {
				return nil, err
			}
		}
	}
	idx.sorted = make([]*Param, 0, len(idx.byCode))
	for _, p := range idx.byCode {
		idx.sorted = append(idx.sorted, p)
	}
	slices.SortFunc(idx.sorted, func(a, b *Param) int { return strings.Compare(a.Code, b.Code) })
	return idx, nil
}
