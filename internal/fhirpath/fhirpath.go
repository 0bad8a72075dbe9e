package fhirpath

import (
	"fmt"
	"sync"
	"time"

	"kartehub/internal/fhir"
)

// Expression is a compiled FHIRPath expression. It is immutable, so one
// Expression may be evaluated by many goroutines at once.
type Expression struct {
	src  string
	root node
}

// Options are the inputs of one evaluation besides the resource. The zero
// value (or a nil *Options) is usable.
type Options struct {
	// Vars are environment variables beyond the ones FHIRPath defines
	// (%resource, %context, %rootResource, %ucum, %sct, %loinc, %vs-name,
	// %ext-name), keyed by name without the %. Of builds their values.
	Vars map[string]Collection

	// Resolve returns the resource a reference ("Patient/123", an absolute
	// URL, "#id" for a contained resource) points to, or nil if it cannot.
	// Without it, resolve() finds contained resources itself and otherwise
	// yields, for a reference of the form Type/id, an item of that type with
	// no content, enough for resolve() is Patient.
	Resolve func(reference string) fhir.Value

	// Now returns the current time for now(), today() and timeOfDay(); it
	// is called at most once per evaluation. Nil means time.Now.
	Now func() time.Time

	// Trace receives what trace() logs: its name and the collection. Nil
	// discards it.
	Trace func(name string, c Collection)
}

// Compile parses src and compiles it. It resolves function names, type
// names and literals once, and checks paths that start with a type name
// against the R4 model (Patient.nmae is an error), so that mistakes show
// here rather than on every evaluation. Errors are *Error values with the
// position of the problem.
func Compile(src string) (*Expression, error) {
	e, err := parse(src)
	if err != nil {
		return nil, err
	}
	c := &compiler{src: src}
	n, _, err := c.compile(e, static{})
	if err != nil {
		return nil, err
	}
	return &Expression{src: src, root: n}, nil
}

// MustCompile is like Compile but panics on error. It is for expressions
// fixed in the program, such as package-level variables.
func MustCompile(src string) *Expression {
	e, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the expression's source.
func (e *Expression) String() string { return e.src }

// Evaluate evaluates the expression against root, normally a resource
// (*fhir.Object). The root is the initial focus and $this, %context and
// %resource. A nil root evaluates the expression against an empty
// collection, which suits expressions that need no resource; another JSON
// value is taken as Of would.
//
// Errors are *Error values: a function given more items than it accepts,
// an operator applied to values of the wrong type, a path naming an
// element the R4 model does not define for the item's type, and so on.
func (e *Expression) Evaluate(root fhir.Value, opts *Options) (Collection, error) {
	c := newEvalCtx(e, opts)
	defer c.release()
	in := c.rootCollection(root)
	c.root, c.context, c.this = in, in, in
	return c.run(in)
}

// EvaluateFocus evaluates the expression on focus, items found in resource
// by an earlier evaluation, rather than on the resource itself: focus is
// the input, $this and %context, while %resource is the resource. Search
// uses it for the components of composite parameters, which apply to each
// value of the parameter's own expression (code and value.as(Quantity) on
// each Observation.component).
func (e *Expression) EvaluateFocus(resource fhir.Value, focus Collection, opts *Options) (Collection, error) {
	c := newEvalCtx(e, opts)
	defer c.release()
	c.root = c.rootCollection(resource)
	c.context, c.this = focus, focus
	return c.run(focus)
}

func newEvalCtx(e *Expression, opts *Options) *evalCtx {
	c := ctxPool.Get().(*evalCtx)
	c.expr, c.opts = e, opts
	if opts == nil {
		c.opts = &noOptions
	}
	return c
}

// rootCollection returns the collection of the root resource.
func (c *evalCtx) rootCollection(root fhir.Value) Collection {
	switch v := root.(type) {
	case nil:
		return nil
	case *fhir.Object:
		c.rootBuf[0] = objectItem(v, 0)
		return c.rootBuf[:1:1]
	}
	return Of(root)
}

// run evaluates the expression on in.
func (c *evalCtx) run(in Collection) (Collection, error) {
	out, err := c.expr.root.eval(c, in)
	if err != nil {
		return nil, err
	}
	if len(out) > 0 && &out[0] == &c.rootBuf[0] {
		out = append(Collection(nil), out...) // rootBuf goes back to the pool
	}
	return out, nil
}

var noOptions Options

var ctxPool = sync.Pool{New: func() any { return new(evalCtx) }}

// evalCtx is the state of one evaluation.
type evalCtx struct {
	expr    *Expression
	opts    *Options
	root    Collection // %resource
	context Collection // %context
	this    Collection // $this: the focus of paths inside function arguments
	index   int        // $index
	total   Collection // $total
	now     time.Time
	hasNow  bool
	rootBuf [1]Item
}

func (c *evalCtx) release() {
	*c = evalCtx{}
	ctxPool.Put(c)
}

func (c *evalCtx) errorf(pos int, format string, args ...any) error {
	return &Error{Expr: c.expr.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// clock returns the time of this evaluation, the same for every call.
func (c *evalCtx) clock() time.Time {
	if !c.hasNow {
		if c.opts.Now != nil {
			c.now = c.opts.Now()
		} else {
			c.now = time.Now()
		}
		c.hasNow = true
	}
	return c.now
}

// node is a compiled expression. eval returns the value of the node for
// the focus in. Results may share memory with in and with constants:
// collections are never written after they are built.
type node interface {
	eval(c *evalCtx, in Collection) (Collection, error)
}

// static is what the compiler knows of a collection before evaluation.
type static struct {
	t         fhir.Type // the FHIR type of all its items, or 0 if unknown
	unordered bool      // from children() or descendants(): order undefined
}
