package search

import (
	"context"
	"time"

	"kartehub/internal/karte"
	"kartehub/internal/searchparam"
)

// Engine holds what search needs: the search-parameter registry, the clock
// (for ap on dates), and how to expand a ValueSet for :in.
type Engine struct {
	reg *searchparam.Registry
	now func() time.Time
	// ValueSet returns the codes of the ValueSet with the given canonical
	// URL, for :in and :not-in. Nil: those modifiers are refused.
	ValueSet func(ctx context.Context, url string) ([]karte.Coding, error)
	// Pending reports whether the search parameter with this canonical
	// URL is still being indexed; searching by it would miss resources.
	Pending func(url string) bool
}

// New returns an Engine on registry reg.
func New(reg *searchparam.Registry) *Engine {
	return &Engine{reg: reg, now: time.Now}
}

// Registry returns the engine's search-parameter registry.
func (e *Engine) Registry() *searchparam.Registry { return e.reg }

// kindOf maps a parameter type to the kind the store indexes it as.
func kindOf(t searchparam.Type) karte.ParamKind {
	switch t {
	case searchparam.String:
		return karte.KindString
	case searchparam.Token:
		return karte.KindToken
	case searchparam.Reference:
		return karte.KindReference
	case searchparam.Date:
		return karte.KindDate
	case searchparam.Number:
		return karte.KindNumber
	case searchparam.Quantity:
		return karte.KindQuantity
	case searchparam.URI:
		return karte.KindURI
	case searchparam.Composite:
		return karte.KindComposite
	}
	return 0
}
