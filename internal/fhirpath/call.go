package fhirpath

import "regexp"

// fnImpl evaluates a function on its input; it evaluates the arguments
// itself, since some iterate over the input with $this.
type fnImpl func(c *evalCtx, n *callNode, in Collection) (Collection, error)

// funcSpec describes a function of the library.
type funcSpec struct {
	fn       fnImpl
	min, max int
	iterates bool // arguments are evaluated per input item, with $this the item
	keep     bool // the result's items are input items: their static type carries over
	ordered  bool // the result depends on the order of the input
	typeArg  bool // the first argument is a type name
}

// callNode is a function call: name(args) on the focus, or src.name(args).
type callNode struct {
	pos  int
	name string
	src  node // nil: the focus
	args []node
	fn   fnImpl
	typ  typeRef        // typeArg functions
	re   *regexp.Regexp // regular expression given as a literal
	desc []bool         // sort: which keys sort descending
	ext  string         // extension: the url given as a literal
}

func (n *callNode) eval(c *evalCtx, in Collection) (Collection, error) {
	if n.src != nil {
		var err error
		if in, err = n.src.eval(c, in); err != nil {
			return nil, err
		}
	}
	return n.fn(c, n, in)
}

// arg evaluates argument i with $this as its focus.
func (n *callNode) arg(c *evalCtx, i int) (Collection, error) {
	return n.args[i].eval(c, c.this)
}

// argFor evaluates argument i for item k of in: $this is that item and
// $index is k.
func (n *callNode) argFor(c *evalCtx, i int, in Collection, k int) (Collection, error) {
	this, index := c.this, c.index
	c.this, c.index = in[k:k+1:k+1], k
	out, err := n.args[i].eval(c, c.this)
	c.this, c.index = this, index
	return out, err
}

// argItem evaluates argument i, which must give at most one item.
func (n *callNode) argItem(c *evalCtx, i int) (Item, bool, error) {
	v, err := n.arg(c, i)
	if err != nil {
		return Item{}, false, err
	}
	return singleton(c, n.pos, n.name+" argument", v)
}

// argString evaluates argument i, which must be a String or empty.
func (n *callNode) argString(c *evalCtx, i int) (string, bool, error) {
	it, ok, err := n.argItem(c, i)
	if err != nil || !ok {
		return "", false, err
	}
	s, ok := stringOf(it)
	if !ok {
		return "", false, c.errorf(n.pos, "%s: argument %d must be a String, got %s", n.name, i+1, kindName(it))
	}
	return s, true, nil
}

// argInt evaluates argument i, which must be an Integer or empty.
func (n *callNode) argInt(c *evalCtx, i int) (int64, bool, error) {
	it, ok, err := n.argItem(c, i)
	if err != nil || !ok {
		return 0, false, err
	}
	v, ok := intOf(it)
	if !ok {
		return 0, false, c.errorf(n.pos, "%s: argument %d must be an Integer, got %s", n.name, i+1, kindName(it))
	}
	return v, true, nil
}

// input returns the single item of the input; ok is false if it is empty.
func (n *callNode) input(c *evalCtx, in Collection) (Item, bool, error) {
	return singleton(c, n.pos, n.name, in)
}

func (c *compiler) call(e *expr, focus static) (node, static, error) {
	spec, ok := funcs[e.name]
	if !ok {
		return nil, static{}, c.errorf(e.pos, "unknown function %s()", e.name)
	}
	if len(e.args) < spec.min || len(e.args) > spec.max {
		return nil, static{}, c.errorf(e.pos, "%s() takes %s, got %d", e.name, arity(spec), len(e.args))
	}
	n := &callNode{pos: e.pos, name: e.name, fn: spec.fn}
	in := focus
	if e.x != nil {
		var err error
		if n.src, in, err = c.compile(e.x, focus); err != nil {
			return nil, static{}, err
		}
	}
	if spec.ordered && in.unordered {
		return nil, static{}, c.errorf(e.pos, "%s() on a collection without defined order (from children() or descendants())", e.name)
	}
	this := c.this
	if spec.iterates {
		this = static{t: in.t}
	}
	if err := c.callArgs(n, spec, e, this); err != nil {
		return nil, static{}, err
	}
	return n, c.callResult(n, spec, in), nil
}

// callArgs compiles the arguments of a call, and what can be prepared of
// them: type names, literal patterns, sort directions.
func (c *compiler) callArgs(n *callNode, spec funcSpec, e *expr, this static) error {
	args := e.args
	if spec.typeArg {
		name, ok := typeName(args[0])
		if !ok {
			return c.errorf(args[0].pos, "%s() takes a type name", e.name)
		}
		t, err := c.resolveType(name, args[0].pos)
		if err != nil {
			return err
		}
		n.typ = t
		return nil
	}
	switch e.name {
	case "matches", "matchesFull", "replaceMatches":
		re, err := c.compileRegexp(args[0], e.name == "matchesFull")
		if err != nil {
			return err
		}
		n.re = re
	case "sort":
		for i, a := range args {
			n.desc = append(n.desc, false)
			if a.kind == exUnary && a.op == "-" {
				args[i], n.desc[i] = a.x, true
			}
		}
	case "extension":
		if args[0].kind == exLiteral && args[0].lit.st == sysString {
			n.ext = args[0].lit.v.(string)
		}
	}
	for _, a := range args {
		an, _, err := c.compileArg(a, this)
		if err != nil {
			return err
		}
		n.args = append(n.args, an)
	}
	return nil
}

// callResult returns what the compiler knows of a call's result.
func (c *compiler) callResult(n *callNode, spec funcSpec, in static) static {
	switch {
	case spec.keep:
		return in
	case n.name == "as" || n.name == "ofType":
		return static{t: n.typ.ft, unordered: in.unordered && n.name == "ofType"}
	case n.name == "extension":
		return static{t: typeExtension}
	case n.name == "children" || n.name == "descendants":
		return static{unordered: true}
	}
	return static{}
}

func arity(s funcSpec) string {
	switch {
	case s.min == s.max && s.min == 0:
		return "no arguments"
	case s.min == s.max && s.min == 1:
		return "1 argument"
	case s.min == s.max:
		return itoa(s.min) + " arguments"
	}
	return itoa(s.min) + " to " + itoa(s.max) + " arguments"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// funcs is the function library, resolved at compile time.
var funcs map[string]funcSpec

func init() {
	funcs = map[string]funcSpec{
		// Existence
		"empty":      {fn: fnEmpty},
		"exists":     {fn: fnExists, max: 1, iterates: true},
		"all":        {fn: fnAll, min: 1, max: 1, iterates: true},
		"allTrue":    {fn: fnAllTrue},
		"anyTrue":    {fn: fnAnyTrue},
		"allFalse":   {fn: fnAllFalse},
		"anyFalse":   {fn: fnAnyFalse},
		"subsetOf":   {fn: fnSubsetOf, min: 1, max: 1},
		"supersetOf": {fn: fnSupersetOf, min: 1, max: 1},
		"count":      {fn: fnCount},
		"distinct":   {fn: fnDistinct, keep: true},
		"isDistinct": {fn: fnIsDistinct},
		// Filtering and projection
		"where":     {fn: fnWhere, min: 1, max: 1, iterates: true, keep: true},
		"select":    {fn: fnSelect, min: 1, max: 1, iterates: true},
		"repeat":    {fn: fnRepeat, min: 1, max: 1, iterates: true},
		"ofType":    {fn: fnOfType, min: 1, max: 1, typeArg: true},
		"aggregate": {fn: fnAggregate, min: 1, max: 2, iterates: true},
		"sort":      {fn: fnSort, max: 10, iterates: true, keep: true},
		// Subsetting
		"single":    {fn: fnSingle, keep: true},
		"first":     {fn: fnFirst, keep: true, ordered: true},
		"last":      {fn: fnLast, keep: true, ordered: true},
		"tail":      {fn: fnTail, keep: true, ordered: true},
		"skip":      {fn: fnSkip, min: 1, max: 1, keep: true, ordered: true},
		"take":      {fn: fnTake, min: 1, max: 1, keep: true, ordered: true},
		"intersect": {fn: fnIntersect, min: 1, max: 1, keep: true},
		"exclude":   {fn: fnExclude, min: 1, max: 1, keep: true},
		// Combining
		"union":   {fn: fnUnion, min: 1, max: 1},
		"combine": {fn: fnCombine, min: 1, max: 1},
		// Conversion
		"iif":                {fn: fnIif, min: 2, max: 3, iterates: true},
		"toBoolean":          {fn: conversion(toBoolean, false)},
		"convertsToBoolean":  {fn: conversion(toBoolean, true)},
		"toInteger":          {fn: conversion(toInteger, false)},
		"convertsToInteger":  {fn: conversion(toInteger, true)},
		"toDecimal":          {fn: conversion(toDecimal, false)},
		"convertsToDecimal":  {fn: conversion(toDecimal, true)},
		"toString":           {fn: conversion(toStringItem, false)},
		"convertsToString":   {fn: conversion(toStringItem, true)},
		"toDate":             {fn: conversion(toDate, false)},
		"convertsToDate":     {fn: conversion(toDate, true)},
		"toDateTime":         {fn: conversion(toDateTime, false)},
		"convertsToDateTime": {fn: conversion(toDateTime, true)},
		"toTime":             {fn: conversion(toTime, false)},
		"convertsToTime":     {fn: conversion(toTime, true)},
		"toQuantity":         {fn: fnToQuantity(false), max: 1},
		"convertsToQuantity": {fn: fnToQuantity(true), max: 1},
		// Strings
		"indexOf":        {fn: fnIndexOf, min: 1, max: 1},
		"substring":      {fn: fnSubstring, min: 1, max: 2},
		"startsWith":     {fn: stringTest(func(s, a string) bool { return len(s) >= len(a) && s[:len(a)] == a }), min: 1, max: 1},
		"endsWith":       {fn: stringTest(func(s, a string) bool { return len(s) >= len(a) && s[len(s)-len(a):] == a }), min: 1, max: 1},
		"contains":       {fn: stringTest(stringsContains), min: 1, max: 1},
		"upper":          {fn: stringMap(upper)},
		"lower":          {fn: stringMap(lower)},
		"trim":           {fn: stringMap(trim)},
		"replace":        {fn: fnReplace, min: 2, max: 2},
		"matches":        {fn: fnMatches, min: 1, max: 1},
		"matchesFull":    {fn: fnMatches, min: 1, max: 1},
		"replaceMatches": {fn: fnReplaceMatches, min: 2, max: 2},
		"length":         {fn: fnLength},
		"toChars":        {fn: fnToChars},
		"split":          {fn: fnSplit, min: 1, max: 1},
		"join":           {fn: fnJoin, max: 1},
		"encode":         {fn: fnEncode, min: 1, max: 1},
		"decode":         {fn: fnDecode, min: 1, max: 1},
		"escape":         {fn: fnEscape, min: 1, max: 1},
		"unescape":       {fn: fnUnescape, min: 1, max: 1},
		// Math
		"abs":      {fn: fnAbs},
		"ceiling":  {fn: mathInt(decimal.ceilTo)},
		"floor":    {fn: mathInt(decimal.floorTo)},
		"truncate": {fn: mathInt(decimal.truncTo)},
		"round":    {fn: fnRound, max: 1},
		"exp":      {fn: mathFloat(mathExp)},
		"ln":       {fn: mathFloat(mathLn)},
		"sqrt":     {fn: mathFloat(mathSqrt)},
		"log":      {fn: fnLog, min: 1, max: 1},
		"power":    {fn: fnPower, min: 1, max: 1},
		"sum":      {fn: fnSum},
		"min":      {fn: fnMinMax(-1)},
		"max":      {fn: fnMinMax(1)},
		"avg":      {fn: fnAvg},
		// Tree navigation
		"children":    {fn: fnChildren},
		"descendants": {fn: fnDescendants},
		// Utility
		"trace":     {fn: fnTrace, min: 1, max: 2, iterates: true, keep: true},
		"now":       {fn: fnNow},
		"today":     {fn: fnToday},
		"timeOfDay": {fn: fnTimeOfDay},
		"not":       {fn: fnNot},
		// Types
		"is":   {fn: fnIs, min: 1, max: 1, typeArg: true},
		"as":   {fn: fnAs, min: 1, max: 1, typeArg: true},
		"type": {fn: fnType},
		// FHIR
		"extension":    {fn: fnExtension, min: 1, max: 1},
		"hasValue":     {fn: fnHasValue},
		"getValue":     {fn: fnGetValue},
		"resolve":      {fn: fnResolve},
		"conformsTo":   {fn: fnConformsTo, min: 1, max: 1},
		"htmlChecks":   {fn: fnHTMLChecks},
		"lowBoundary":  {fn: fnBoundary(false), max: 1},
		"highBoundary": {fn: fnBoundary(true), max: 1},
		"precision":    {fn: fnPrecision},
		"comparable":   {fn: fnComparable, min: 1, max: 1},
	}
}
