// Command gen writes params_r4.go, the built-in search parameters and
// compartments of package searchparam, from the official FHIR R4 4.0.1
// definitions: the SearchParameter-*.json and CompartmentDefinition-*.json
// files of the npm package hl7.fhir.r4.examples@4.0.1. It runs from
// go:generate in internal/searchparam/doc.go, which says where to get them.
//
// Each SearchParameter becomes one Param per base type, its expression cut
// down to the part for that base (see package expr). Left out are the
// example SearchParameters (ids containing "example"), the ones defined by
// extension pages rather than by a resource (ids containing "-extensions-"
// or "-genetic-": most have no base or no expression, and the rest extract
// the Extension rather than its value), and the example
// CompartmentDefinition. What gen leaves out or changes it says on stderr.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"kartehub/internal/fhir"
	"kartehub/internal/searchparam/internal/expr"
)

func main() {
	defs := flag.String("defs", "", "directory of the unpacked hl7.fhir.r4.examples package (its package/ folder)")
	out := flag.String("out", "params_r4.go", "Go file to write")
	flag.Parse()
	if *defs == "" {
		fmt.Fprintln(os.Stderr, "gen: -defs is required")
		os.Exit(2)
	}
	if err := run(*defs, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// searchParameter holds the members of an R4 SearchParameter that gen uses.
type searchParameter struct {
	ResourceType string   `json:"resourceType"`
	ID           string   `json:"id"`
	URL          string   `json:"url"`
	Version      string   `json:"version"`
	Name         string   `json:"name"`
	Code         string   `json:"code"`
	Base         []string `json:"base"`
	Type         string   `json:"type"`
	Expression   string   `json:"expression"`
	XPath        string   `json:"xpath"`
	Target       []string `json:"target"`
	MultipleOr   *bool    `json:"multipleOr"`
	MultipleAnd  *bool    `json:"multipleAnd"`
	Comparator   []string `json:"comparator"`
	Modifier     []string `json:"modifier"`
	Chain        []string `json:"chain"`
	Component    []struct {
		Definition string `json:"definition"`
		Expression string `json:"expression"`
	} `json:"component"`
}

// compartmentDefinition holds the members of an R4 CompartmentDefinition
// that gen uses.
type compartmentDefinition struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	URL          string `json:"url"`
	Code         string `json:"code"`
	Resource     []struct {
		Code  string   `json:"code"`
		Param []string `json:"param"`
	} `json:"resource"`
}

// param is one generated Param.
type param struct {
	url, code, name, typ, base, expr string
	targets, comparators             []string
	modifiers, chains                []string
	components                       [][2]string // definition, expression
	multipleOr, multipleAnd          bool
}

const spPrefix = "http://hl7.org/fhir/SearchParameter/"

func run(dir, out string) error {
	sps, err := loadSearchParameters(dir)
	if err != nil {
		return err
	}
	params, err := expand(sps)
	if err != nil {
		return err
	}
	comps, err := loadCompartments(dir, params)
	if err != nil {
		return err
	}
	src := write(params, comps)
	formatted, err := format.Source(src)
	if err != nil {
		return fmt.Errorf("formatting the output: %w", err)
	}
	fmt.Fprintf(os.Stderr, "gen: %d SearchParameters, %d params, %d compartments\n", len(sps), len(params), len(comps))
	return os.WriteFile(out, formatted, 0o644)
}

func warn(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gen: "+format+"\n", args...)
}

func loadSearchParameters(dir string) ([]*searchParameter, error) {
	files, err := filepath.Glob(filepath.Join(dir, "SearchParameter-*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no SearchParameter-*.json in %s", dir)
	}
	var sps []*searchParameter
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sp := new(searchParameter)
		if err := json.Unmarshal(b, sp); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if sp.ResourceType != "SearchParameter" {
			return nil, fmt.Errorf("%s: resourceType %q", f, sp.ResourceType)
		}
		switch {
		case strings.Contains(sp.ID, "example"):
			warn("skip %s: an example", sp.ID)
			continue
		case strings.Contains(sp.ID, "-extensions-") || strings.Contains(sp.ID, "-genetic-"):
			why := "defined by an extension page"
			switch {
			case len(sp.Base) == 0:
				why += ", no base"
			case sp.Expression == "":
				why += ", no expression (xpath " + sp.XPath + ")"
			default:
				why += ", expression " + sp.Expression
			}
			warn("skip %s: %s", sp.ID, why)
			continue
		}
		if sp.Version != "4.0.1" {
			warn("%s: version %q, not 4.0.1", sp.ID, sp.Version)
		}
		sps = append(sps, sp)
	}
	sort.Slice(sps, func(i, j int) bool { return sps[i].URL < sps[j].URL })
	return sps, nil
}

// expand turns each SearchParameter into one param per base, sorted by
// base and code.
func expand(sps []*searchParameter) ([]*param, error) {
	var params []*param
	seen := map[[2]string]string{}
	nNarrowed := 0
	for _, sp := range sps {
		if _, ok := typeNames[sp.Type]; !ok {
			return nil, fmt.Errorf("%s: unknown type %q", sp.ID, sp.Type)
		}
		if len(sp.Base) == 0 {
			return nil, fmt.Errorf("%s: no base", sp.ID)
		}
		if sp.Expression == "" {
			warn("%s (%s, %s on %s) has no expression", sp.ID, sp.Code, sp.Type, strings.Join(sp.Base, ", "))
		}
		for _, t := range sp.Target {
			if !fhir.IsResourceType(t) {
				return nil, fmt.Errorf("%s: target %q is not a resource type", sp.ID, t)
			}
		}
		for _, base := range sp.Base {
			common := base == "Resource" || base == "DomainResource"
			if !common && !fhir.IsResourceType(base) {
				return nil, fmt.Errorf("%s: base %q is not a resource type", sp.ID, base)
			}
			key := [2]string{base, sp.Code}
			if other, ok := seen[key]; ok {
				return nil, fmt.Errorf("%s and %s both define %s on %s", other, sp.ID, sp.Code, base)
			}
			seen[key] = sp.ID
			p := &param{
				url: sp.URL, code: sp.Code, name: sp.Name, typ: sp.Type, base: base,
				expr:        sp.Expression,
				comparators: sp.Comparator, modifiers: sp.Modifier, chains: sp.Chain,
				multipleOr: sp.MultipleOr == nil || *sp.MultipleOr, multipleAnd: sp.MultipleAnd == nil || *sp.MultipleAnd,
			}
			if sp.Expression != "" && !common {
				e, prefixed := expr.ForBase(sp.Expression, base)
				if e == "" {
					return nil, fmt.Errorf("%s: no part of %q applies to %s", sp.ID, sp.Expression, base)
				}
				if prefixed {
					warn("%s on %s: relative expression %q made %q", sp.ID, base, sp.Expression, e)
				}
				p.expr = e
			}
			var narrowed bool
			p.targets, narrowed = expr.NarrowTargets(sp.Target, p.expr)
			if narrowed {
				nNarrowed++
			}
			for _, c := range sp.Component {
				p.components = append(p.components, [2]string{c.Definition, c.Expression})
			}
			params = append(params, p)
		}
	}
	warn("%d reference params narrowed to the targets their expression resolves to", nNarrowed)
	sort.Slice(params, func(i, j int) bool {
		if params[i].base != params[j].base {
			return params[i].base < params[j].base
		}
		return params[i].code < params[j].code
	})
	// Every component must resolve to a parameter on the composite's base.
	byURLBase := map[[2]string]bool{}
	for _, p := range params {
		byURLBase[[2]string{p.url, p.base}] = true
	}
	for _, p := range params {
		for _, c := range p.components {
			if !byURLBase[[2]string{c[0], p.base}] {
				return nil, fmt.Errorf("%s on %s: component %s has no param on %s", p.url, p.base, c[0], p.base)
			}
		}
	}
	return params, nil
}

// compartment is one generated CompartmentDef.
type compartment struct {
	url, code string
	resources [][2]any // type, []string param codes
}

func loadCompartments(dir string, params []*param) ([]*compartment, error) {
	files, err := filepath.Glob(filepath.Join(dir, "CompartmentDefinition-*.json"))
	if err != nil {
		return nil, err
	}
	have := map[[2]string]bool{}
	for _, p := range params {
		have[[2]string{p.base, p.code}] = true
	}
	var comps []*compartment
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var cd compartmentDefinition
		if err := json.Unmarshal(b, &cd); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if strings.Contains(cd.ID, "example") {
			warn("skip CompartmentDefinition %s: an example", cd.ID)
			continue
		}
		if !fhir.IsResourceType(cd.Code) {
			return nil, fmt.Errorf("CompartmentDefinition %s: code %q is not a resource type", cd.ID, cd.Code)
		}
		c := &compartment{url: cd.URL, code: cd.Code}
		own := false
		for _, r := range cd.Resource {
			if !fhir.IsResourceType(r.Code) {
				return nil, fmt.Errorf("CompartmentDefinition %s: %q is not a resource type", cd.ID, r.Code)
			}
			codes := r.Param
			if r.Code == cd.Code {
				own = true
				if !slices.Contains(codes, "{def}") {
					warn("CompartmentDefinition %s: %s %v lacks {def}; added", cd.ID, r.Code, codes)
					codes = append([]string{"{def}"}, codes...)
				}
			}
			if len(codes) == 0 {
				continue
			}
			for _, code := range codes {
				if code != "{def}" && !have[[2]string{r.Code, code}] {
					return nil, fmt.Errorf("CompartmentDefinition %s: %s has no search parameter %q", cd.ID, r.Code, code)
				}
			}
			c.resources = append(c.resources, [2]any{r.Code, codes})
		}
		if !own {
			warn("CompartmentDefinition %s: %s not listed; added with {def}", cd.ID, cd.Code)
			c.resources = append(c.resources, [2]any{cd.Code, []string{"{def}"}})
		}
		sort.Slice(c.resources, func(i, j int) bool { return c.resources[i][0].(string) < c.resources[j][0].(string) })
		comps = append(comps, c)
	}
	if len(comps) == 0 {
		return nil, errors.New("no CompartmentDefinition-*.json in " + dir)
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i].code < comps[j].code })
	return comps, nil
}

// typeNames maps the FHIR codes of search parameter types to the constants
// of package searchparam.
var typeNames = map[string]string{
	"number": "Number", "date": "Date", "string": "String", "token": "Token",
	"reference": "Reference", "composite": "Composite", "quantity": "Quantity",
	"uri": "URI", "special": "Special",
}

// write returns the unformatted source of params_r4.go. Target lists of
// more than three types and the comparator list, each repeated across many
// params, are shared package variables; URLs are written as the constant
// spPrefix plus the id.
func write(params []*param, comps []*compartment) []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by gen from the FHIR R4 4.0.1 SearchParameters and CompartmentDefinitions (hl7.fhir.r4.examples@4.0.1); DO NOT EDIT.\n\n")
	b.WriteString("package searchparam\n\n")
	fmt.Fprintf(&b, "// spPrefix starts the canonical URL of every built-in SearchParameter.\nconst spPrefix = %q\n\n", spPrefix)

	shared := map[string]string{}
	counts := map[string]int{}
	var sharedDecls []string
	share := func(list []string, prefix string) string {
		key := prefix + ":" + strings.Join(list, ",")
		if name, ok := shared[key]; ok {
			return name
		}
		counts[prefix]++
		name := fmt.Sprintf("%s%d", prefix, counts[prefix])
		shared[key] = name
		sharedDecls = append(sharedDecls, name+" = "+stringSlice(list))
		return name
	}
	list := func(l []string, prefix string) string {
		if len(l) > 3 {
			return share(l, prefix)
		}
		return stringSlice(l)
	}

	var body bytes.Buffer
	body.WriteString("// r4Params are the built-in parameters, one per code and base, sorted by base and code.\n")
	body.WriteString("var r4Params = [...]Param{\n")
	base := ""
	for _, p := range params {
		if p.base != base {
			base = p.base
			fmt.Fprintf(&body, "// %s\n", base)
		}
		body.WriteString("{")
		if id, ok := strings.CutPrefix(p.url, spPrefix); ok {
			fmt.Fprintf(&body, "URL: spPrefix + %q", id)
		} else {
			fmt.Fprintf(&body, "URL: %q", p.url)
		}
		fmt.Fprintf(&body, ", Code: %q, Name: %q, Type: %s, Base: %q", p.code, p.name, typeNames[p.typ], p.base)
		if p.expr != "" {
			fmt.Fprintf(&body, ", Expression: %q", p.expr)
		}
		if len(p.targets) > 0 {
			fmt.Fprintf(&body, ", Targets: %s", list(p.targets, "targets"))
		}
		if len(p.components) > 0 {
			body.WriteString(", Components: []Component{")
			for _, c := range p.components {
				if id, ok := strings.CutPrefix(c[0], spPrefix); ok {
					fmt.Fprintf(&body, "{Definition: spPrefix + %q, Expression: %q}, ", id, c[1])
				} else {
					fmt.Fprintf(&body, "{Definition: %q, Expression: %q}, ", c[0], c[1])
				}
			}
			body.WriteString("}")
		}
		if len(p.modifiers) > 0 {
			fmt.Fprintf(&body, ", Modifiers: %s", list(p.modifiers, "modifiers"))
		}
		if len(p.comparators) > 0 {
			fmt.Fprintf(&body, ", Comparators: %s", list(p.comparators, "comparators"))
		}
		if len(p.chains) > 0 {
			fmt.Fprintf(&body, ", Chains: %s", list(p.chains, "chains"))
		}
		if p.multipleOr {
			body.WriteString(", MultipleOr: true")
		}
		if p.multipleAnd {
			body.WriteString(", MultipleAnd: true")
		}
		body.WriteString("},\n")
	}
	body.WriteString("}\n\n")

	body.WriteString("// r4Compartments are the compartments of R4, sorted by code, each listing its resource types sorted.\n")
	body.WriteString("var r4Compartments = [...]CompartmentDef{\n")
	for _, c := range comps {
		fmt.Fprintf(&body, "{URL: %q, Code: %q, resources: []compartmentResource{\n", c.url, c.code)
		for _, r := range c.resources {
			fmt.Fprintf(&body, "{%q, %s},\n", r[0], stringSlice(r[1].([]string)))
		}
		body.WriteString("}},\n")
	}
	body.WriteString("}\n")

	if len(sharedDecls) > 0 {
		b.WriteString("// Lists shared by many params.\nvar (\n")
		for _, d := range sharedDecls {
			b.WriteString(d + "\n")
		}
		b.WriteString(")\n\n")
	}
	b.Write(body.Bytes())
	return b.Bytes()
}

func stringSlice(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}
