package fhirapi

import (
	"net/http"
	"strconv"
	"strings"

	"kartehub/internal/audit"
	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/record"
)

// bundle serves batch and transaction Bundles posted to the base.
func (h *Handler) bundle(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, resourceTypes...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, kind, err := decodeBundle(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if kind == "batch" {
		audit.NoteFrom(r.Context()).SetInteraction(karte.InteractionBatch, "", "")
	}
	var results []record.Result
	if kind == "transaction" {
		results, err = h.svc.Transaction(r.Context(), b)
		if err != nil {
			h.fail(w, r, err)
			return
		}
	} else {
		results = h.svc.Batch(r.Context(), b)
	}
	WriteJSON(w, r, http.StatusOK, h.responseBundle(r, kind+"-response", results))
}

// decodeBundle checks a posted Bundle and turns its entries into requests.
func decodeBundle(body []byte) (record.Bundle, string, error) {
	var b record.Bundle
	obj, err := fhir.ParseObject(body)
	if err != nil {
		return b, "", &karte.Error{Kind: karte.Invalid, Message: "the body is not valid JSON", Err: err}
	}
	if rt := obj.String("resourceType"); rt != "Bundle" {
		return b, "", karte.Errorf(karte.Invalid, "POST to the base takes a Bundle, not %q", rt)
	}
	kind := obj.String("type")
	if kind != "batch" && kind != "transaction" {
		return b, "", karte.Errorf(karte.Invalid, "Bundle.type must be batch or transaction, not %q", kind)
	}
	// Entry resources are validated by the record service, one by one; the
	// Bundle's own structure is checked here without them, so an error in
	// an entry is reported once, with its entry's location.
	entries, _ := obj.Get("entry")
	list, _ := entries.([]fhir.Value)
	for i, v := range list {
		e, err := decodeEntry(i, v)
		if err != nil {
			return b, "", err
		}
		b.Entries = append(b.Entries, e)
	}
	return b, kind, nil
}

func decodeEntry(i int, v fhir.Value) (record.Entry, error) {
	var e record.Entry
	at := "Bundle.entry[" + strconv.Itoa(i) + "]"
	obj, ok := v.(*fhir.Object)
	if !ok {
		return e, located(at, "an entry must be an object")
	}
	req := obj.Object("request")
	if req == nil {
		return e, located(at+".request", "every entry of a batch or transaction needs request")
	}
	e.Method, e.URL = req.String("method"), req.String("url")
	if e.Method == "" || e.URL == "" {
		return e, located(at+".request", "request needs method and url")
	}
	e.FullURL = obj.String("fullUrl")
	e.IfNoneExist = req.String("ifNoneExist")
	if m := req.String("ifMatch"); m != "" {
		n, err := parseETag(m)
		if err != nil {
			return e, located(at+".request.ifMatch", "ifMatch must be a version ETag like W/\"3\"")
		}
		e.IfMatch = n
	}
	if res, present := obj.Get("resource"); present {
		if e.Resource, ok = res.(*fhir.Object); !ok {
			return e, located(at+".resource", "resource must be an object")
		}
	}
	return e, nil
}

func located(expr, msg string) error {
	return &karte.Error{Kind: karte.Invalid, Message: expr + ": " + msg,
		Issues: []karte.Issue{{Severity: "error", Code: "structure", Expression: expr, Diagnostics: msg}}}
}

// responseBundle renders the results of a batch or transaction.
func (h *Handler) responseBundle(r *http.Request, kind string, results []record.Result) *fhir.Object {
	base := h.baseURL(r)
	prefer := preferReturn(r)
	entries := make([]fhir.Value, len(results))
	for i, res := range results {
		entries[i] = h.responseEntry(base, prefer, res)
		if res.Outcome != nil {
			notePatients(r, res.Outcome.Resource)
		}
		notePatients(r, res.Read)
	}
	b := &fhir.Object{}
	b.Set("resourceType", "Bundle")
	b.Set("type", kind)
	if len(entries) > 0 {
		b.Set("entry", entries)
	}
	return b
}

func (h *Handler) responseEntry(base, prefer string, res record.Result) *fhir.Object {
	e := &fhir.Object{}
	resp := &fhir.Object{}
	var stored *karte.Resource
	switch {
	case res.Err != nil:
		resp.Set("status", statusLine(errorStatus(res.Err)))
		resp.Set("outcome", operationOutcome(h.log, res.Err))
	case res.Read != nil:
		stored = res.Read
		resp.Set("status", "200 OK")
	case res.Outcome != nil && res.Outcome.Resource != nil && !res.Outcome.Resource.Deleted:
		stored = res.Outcome.Resource
		status := http.StatusOK
		if res.Outcome.Created {
			status = http.StatusCreated
		}
		resp.Set("status", statusLine(status))
		resp.Set("location", stored.Type+"/"+stored.ID+"/_history/"+strconv.FormatInt(stored.VersionID, 10))
	default: // a delete
		resp.Set("status", statusLine(http.StatusNoContent))
		if res.Outcome != nil && res.Outcome.Resource != nil {
			resp.Set("etag", etag(res.Outcome.Resource.VersionID))
		}
	}
	if stored != nil {
		e.Set("fullUrl", base+"/"+stored.Type+"/"+stored.ID)
		if res.Read != nil || prefer == "representation" {
			if v, err := fhir.Parse(stored.Body); err == nil {
				e.Set("resource", v)
			}
		}
		resp.Set("etag", etag(stored.VersionID))
		resp.Set("lastModified", record.FormatInstant(stored.LastUpdated))
	}
	e.Set("response", resp)
	return e
}

func statusLine(code int) string {
	return strconv.Itoa(code) + " " + strings.TrimSpace(http.StatusText(code))
}
