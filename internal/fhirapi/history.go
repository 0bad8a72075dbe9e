package fhirapi

import (
	"net/http"
	"net/url"
	"strconv"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/record"
	"kartehub/internal/search"
)

// history serves the instance, type and system history interactions.
func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	q, err := historyQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.svc.History(r.Context(), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("_count") == "0" { // the total alone, as FHIR defines _count=0
		page.Versions, page.Next = nil, 0
	}
	if q.ID != "" && page.Total == 0 && q.Since.IsZero() && q.AtStart.IsZero() {
		if _, err := h.svc.Read(r.Context(), q.Type, q.ID); karte.IsKind(err, karte.NotFound) {
			h.fail(w, r, err)
			return
		}
	}
	WriteJSON(w, r, http.StatusOK, h.historyBundle(r, page))
}

func historyQuery(r *http.Request) (karte.HistoryQuery, error) {
	params := r.URL.Query()
	q := karte.HistoryQuery{Type: r.PathValue("type"), ID: r.PathValue("id")}
	if v := params.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, karte.Errorf(karte.Invalid, "_count %q is not a non-negative number", v)
		}
		q.Count = max(n, 1)
	}
	if v := params.Get("_since"); v != "" {
		start, _, err := search.DateRange(v)
		if err != nil {
			return q, karte.Errorf(karte.Invalid, "_since: %w", err)
		}
		q.Since = start
	}
	if v := params.Get("_at"); v != "" {
		start, end, err := search.DateRange(v)
		if err != nil {
			return q, karte.Errorf(karte.Invalid, "_at: %w", err)
		}
		q.AtStart, q.AtEnd = start, end
	}
	if v := params.Get("_cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return q, karte.Errorf(karte.Invalid, "_cursor %q is not valid", v)
		}
		q.Before = n
	}
	return q, nil
}

func (h *Handler) historyBundle(r *http.Request, page *karte.HistoryPage) *fhir.Object {
	base := h.baseURL(r)
	b := &fhir.Object{}
	b.Set("resourceType", "Bundle")
	b.Set("type", "history")
	if page.Total >= 0 { // unknown when the access may not count every version
		b.Set("total", fhir.Number(strconv.Itoa(page.Total)))
	}
	notePatients(r, page.Versions...)
	links := []fhir.Value{link("self", base, r.URL)}
	if page.Next > 0 {
		next := *r.URL
		q := next.Query()
		q.Set("_cursor", strconv.FormatInt(page.Next, 10))
		next.RawQuery = q.Encode()
		links = append(links, link("next", base, &next))
	}
	b.Set("link", links)
	if len(page.Versions) > 0 {
		entries := make([]fhir.Value, len(page.Versions))
		for i, v := range page.Versions {
			entries[i] = historyEntry(base, v)
		}
		b.Set("entry", entries)
	}
	return b
}

func link(rel, base string, u *url.URL) *fhir.Object {
	l := &fhir.Object{}
	l.Set("relation", rel)
	l.Set("url", baseOrigin(base)+u.RequestURI())
	return l
}

// baseOrigin strips the path from an absolute base URL.
func baseOrigin(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func historyEntry(base string, v *karte.Resource) *fhir.Object {
	e := &fhir.Object{}
	e.Set("fullUrl", base+"/"+v.Type+"/"+v.ID)
	if !v.Deleted {
		if res, err := fhir.Parse(v.Body); err == nil {
			e.Set("resource", res)
		}
	}
	req := &fhir.Object{}
	req.Set("method", v.Method)
	url := v.Type + "/" + v.ID
	if v.Method == "POST" {
		url = v.Type
	}
	req.Set("url", url)
	if ext := authorExtension(v.Author); ext != nil {
		req.Set("extension", []fhir.Value{ext})
	}
	e.Set("request", req)
	resp := &fhir.Object{}
	resp.Set("status", statusText(v))
	resp.Set("etag", etag(v.VersionID))
	resp.Set("lastModified", record.FormatInstant(v.LastUpdated))
	e.Set("response", resp)
	return e
}

func statusText(v *karte.Resource) string {
	switch {
	case v.Deleted:
		return "204 No Content"
	case v.Method == "POST" || v.VersionID == 1:
		return "201 Created"
	}
	return "200 OK"
}

// AuthorExtension is the URL of the extension on a history entry's request
// that names who made the version (karte.Author). It holds "who", a
// Reference to the person's FHIR resource if known, with the account,
// client or process as its identifier, and "app", the client_id of the
// application a user acted through, if any.
const AuthorExtension = "urn:kartehub:StructureDefinition:version-author"

// The identifier systems of AuthorExtension's "who", by Author.Kind. An
// account's identifier is its login name, as in audit events.
var authorSystems = map[string]string{
	karte.AuthorUser:    "urn:kartehub:account",
	karte.AuthorClient:  "urn:kartehub:client",
	karte.AuthorProcess: "urn:kartehub:process",
}

// authorExtension renders a as an AuthorExtension, or nil if a is zero.
func authorExtension(a karte.Author) *fhir.Object {
	if a.IsZero() {
		return nil
	}
	ident := &fhir.Object{}
	if sys := authorSystems[a.Kind]; sys != "" {
		ident.Set("system", sys)
	}
	ident.Set("value", a.ID)
	who := &fhir.Object{}
	if a.Person != "" {
		who.Set("reference", a.Person)
	}
	who.Set("identifier", ident)
	if a.Name != "" {
		who.Set("display", a.Name)
	}
	parts := []fhir.Value{valueExtension("who", "valueReference", who)}
	if a.App != "" {
		parts = append(parts, valueExtension("app", "valueString", a.App))
	}
	ext := &fhir.Object{}
	ext.Set("url", AuthorExtension)
	ext.Set("extension", parts)
	return ext
}

func valueExtension(url, key string, v fhir.Value) *fhir.Object {
	e := &fhir.Object{}
	e.Set("url", url)
	e.Set(key, v)
	return e
}
