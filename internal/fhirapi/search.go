package fhirapi

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/record"
	"kartehub/internal/search"
)

// search serves GET [base]/{type} and POST [base]/{type}/_search.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	params, err := h.searchParams(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	found, err := h.svc.Search(r.Context(), []string{r.PathValue("type")}, params, strict(r))
	h.respondSearch(w, r, params, found, err)
}

// systemSearch serves GET [base]?params (types from _type); the bare base
// without parameters shows the CapabilityStatement.
func (h *Handler) systemSearch(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery == "" {
		http.Redirect(w, r, h.prefix+"/metadata", http.StatusFound)
		return
	}
	params, err := h.searchParams(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var types []string
	for _, t := range strings.Split(params.Get("_type"), ",") {
		if t != "" {
			types = append(types, t)
		}
	}
	found, err := h.svc.Search(r.Context(), types, params, strict(r))
	h.respondSearch(w, r, params, found, err)
}

// compartment serves GET [base]/{ctype}/{cid}/{type}.
func (h *Handler) compartment(w http.ResponseWriter, r *http.Request) {
	params, err := h.searchParams(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	found, err := h.svc.SearchCompartment(r.Context(), r.PathValue("ctype"), r.PathValue("cid"), r.PathValue("type"), params, strict(r))
	h.respondSearch(w, r, params, found, err)
}

// everything serves GET [base]/Patient/{id}/$everything.
func (h *Handler) everything(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	found, err := h.svc.Everything(r.Context(), r.PathValue("type"), r.PathValue("id"), params)
	h.respondSearch(w, r, params, found, err)
}

// searchParams are the query parameters, and for POST _search the form
// parameters of the body too. References given as absolute URLs of this
// server are made relative: the search engine takes every absolute URL
// for another server's.
func (h *Handler) searchParams(r *http.Request) (url.Values, error) {
	params, err := formParams(r)
	if err != nil {
		return nil, err
	}
	own := h.baseURL(r) + "/"
	for _, vs := range params {
		for i, v := range vs {
			vs[i] = strings.ReplaceAll(v, own, "")
		}
	}
	return params, nil
}

func formParams(r *http.Request) (url.Values, error) {
	params := r.URL.Query()
	if r.Method != http.MethodPost {
		return params, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" && mt != "" {
		return nil, unsupportedMediaType("POST _search takes application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err != nil {
		return nil, karte.Errorf(karte.Invalid, "reading the body: %w", err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, karte.Errorf(karte.Invalid, "the form is not valid: %w", err)
	}
	for k, vs := range form {
		params[k] = append(params[k], vs...)
	}
	return params, nil
}

// strict reports whether the client asked for Prefer: handling=strict.
func strict(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Prefer"), ",") {
		if strings.TrimSpace(part) == "handling=strict" {
			return true
		}
	}
	return false
}

func (h *Handler) respondSearch(w http.ResponseWriter, r *http.Request, params url.Values, found *record.Found, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.searchset(r, params, found)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, b)
}

// searchset renders a page of search results.
func (h *Handler) searchset(r *http.Request, params url.Values, f *record.Found) (*fhir.Object, error) {
	base := h.baseURL(r)
	res := f.Result
	b := &fhir.Object{}
	b.Set("resourceType", "Bundle")
	b.Set("type", "searchset")
	if res.Total >= 0 {
		b.Set("total", fhir.Number(strconv.Itoa(res.Total)))
	}
	links := []fhir.Value{link("self", base, searchURL(r, params))}
	if res.Next != "" {
		next := *searchURL(r, params)
		q := url.Values{}
		for k, v := range params {
			q[k] = v
		}
		q.Set("_cursor", res.Next)
		next.RawQuery = q.Encode()
		links = append(links, link("next", base, &next))
	}
	b.Set("link", links)
	notePatients(r, res.Matches...)
	notePatients(r, res.Included...)
	var entries []fhir.Value
	for _, m := range res.Matches {
		e, err := searchEntry(base, m, "match", f.Request)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	for _, m := range res.Included {
		e, err := searchEntry(base, m, "include", f.Request)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	var issues []karte.Issue
	issues = append(issues, f.Request.Warnings...)
	if res.Plan != "" {
		issues = append(issues, karte.Issue{Severity: "information", Code: "informational", Diagnostics: res.Plan})
	}
	if len(issues) > 0 {
		e := &fhir.Object{}
		e.Set("resource", outcomeOf(issues))
		e.Set("search", obj("mode", "outcome"))
		entries = append(entries, e)
	}
	if len(entries) > 0 {
		b.Set("entry", entries)
	}
	return b, nil
}

// searchURL is the search as a GET, for the links: a POST to
// [type]/_search becomes [type] with the form parameters in the query, since
// a GET of [type]/_search would read the resource with id _search.
func searchURL(r *http.Request, params url.Values) *url.URL {
	u := *r.URL
	if r.Method == http.MethodPost {
		u.Path = strings.TrimSuffix(u.Path, "/_search")
		u.RawPath = ""
		u.RawQuery = params.Encode()
	}
	return &u
}

func searchEntry(base string, v *karte.Resource, mode string, req *search.Request) (*fhir.Object, error) {
	res, err := fhir.ParseObject(v.Body)
	if err != nil {
		return nil, err
	}
	if err := shape(res, req); err != nil {
		return nil, err
	}
	e := &fhir.Object{}
	e.Set("fullUrl", base+"/"+v.Type+"/"+v.ID)
	e.Set("resource", res)
	e.Set("search", obj("mode", mode))
	return e, nil
}

// shape applies _summary and _elements to one resource, marking what it
// cut with the SUBSETTED tag as FHIR asks.
func shape(res *fhir.Object, req *search.Request) error {
	keep := map[string]bool{}
	switch req.Summary {
	case "", "false", "count":
		if len(req.Elements) == 0 {
			return nil
		}
		for _, e := range req.Elements {
			keep[strings.TrimSpace(e)] = true
		}
	case "text":
		keep["text"] = true
	case "data":
		if !res.Delete("text") {
			return nil
		}
		subsetted(res)
		return nil
	case "true":
		*res = *fhir.Summarize(res)
		return nil
	}
	for _, always := range []string{"resourceType", "id", "meta"} {
		keep[always] = true
	}
	kept := res.Members[:0]
	for _, m := range res.Members {
		if keep[m.Key] {
			kept = append(kept, m)
		}
	}
	res.Members = kept
	subsetted(res)
	return nil
}

func subsetted(res *fhir.Object) {
	meta := res.Object("meta")
	if meta == nil {
		meta = &fhir.Object{}
		res.SetAfter("id", "meta", meta)
	}
	tags, _ := meta.Get("tag")
	list, _ := tags.([]fhir.Value)
	meta.Set("tag", append(list, obj("system", "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code", "SUBSETTED")))
}
