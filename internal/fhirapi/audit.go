package fhirapi

import (
	"bytes"
	"net/http"
	"strings"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// interactionOf maps the routes of the API, without the prefix, to the
// interactions they serve.
var interactionOf = map[string]karte.Interaction{
	"GET /metadata":                   karte.InteractionCapabilities,
	"POST /{$}":                       karte.InteractionTransaction,
	"GET /_history":                   karte.InteractionHistorySystem,
	"GET /{$}":                        karte.InteractionSearchSystem,
	"GET /{type}":                     karte.InteractionSearchType,
	"POST /{type}/_search":            karte.InteractionSearchType,
	"GET /{type}/{id}/$everything":    karte.InteractionOperation,
	"GET /{ctype}/{cid}/{type}":       karte.InteractionSearchCompartment,
	"POST /{type}":                    karte.InteractionCreate,
	"PUT /{type}":                     karte.InteractionUpdate,
	"DELETE /{type}":                  karte.InteractionDelete,
	"GET /{type}/_history":            karte.InteractionHistoryType,
	"GET /{type}/{id}":                karte.InteractionRead,
	"PUT /{type}/{id}":                karte.InteractionUpdate,
	"PATCH /{type}/{id}":              karte.InteractionPatch,
	"DELETE /{type}/{id}":             karte.InteractionDelete,
	"GET /{type}/{id}/_history":       karte.InteractionHistoryInstance,
	"GET /{type}/{id}/_history/{vid}": karte.InteractionVRead,
}

// Classify names the interaction of a request to the API and the resource
// it acts on ("Patient/1", "Patient/1/_history/2"; "" at type and system
// level), for the audit trail. A request that matches no route is an
// "operation" on nothing.
func (h *Handler) Classify(r *http.Request) (karte.Interaction, string) {
	_, pattern := h.mux.Handler(r)
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimPrefix(path, h.prefix)
	if path == "" {
		path = "/{$}"
	}
	if method == http.MethodHead {
		method = http.MethodGet
	}
	in, ok := interactionOf[method+" "+path]
	if !ok {
		return karte.InteractionOperation, ""
	}
	rest := strings.TrimPrefix(r.URL.Path, h.prefix+"/")
	switch in {
	case karte.InteractionRead, karte.InteractionVRead, karte.InteractionHistoryInstance,
		karte.InteractionOperation, karte.InteractionPatch:
		return in, strings.TrimSuffix(strings.TrimSuffix(rest, "/_history"), "/$everything")
	case karte.InteractionUpdate, karte.InteractionDelete:
		if strings.Contains(rest, "/") {
			return in, rest
		}
	}
	return in, ""
}

// note tells the audit note of r which interaction r is.
func (h *Handler) note(r *http.Request) {
	n := audit.NoteFrom(r.Context())
	if n == nil {
		return
	}
	in, res := h.Classify(r)
	query := ""
	switch in {
	case karte.InteractionSearchType, karte.InteractionSearchSystem, karte.InteractionSearchCompartment,
		karte.InteractionHistoryType, karte.InteractionHistorySystem, karte.InteractionHistoryInstance,
		karte.InteractionOperation, karte.InteractionUpdate, karte.InteractionDelete:
		query = r.URL.RawQuery
	}
	n.SetInteraction(in, res, query)
}

// notePatients tells the audit note of r which patients' records a
// response carries: the patients themselves, and those the other resources
// refer to.
func notePatients(r *http.Request, list ...*karte.Resource) {
	n := audit.NoteFrom(r.Context())
	if n == nil {
		return
	}
	for _, res := range list {
		if res == nil {
			continue
		}
		if res.Type == "Patient" {
			n.AddPatients("Patient/" + res.ID)
			continue
		}
		n.AddPatients(patientRefs(res.Body)...)
	}
}

var patientRef = []byte(`"reference":"Patient/`)

// patientRefs finds the relative references to patients in a stored body.
// Stored bodies are compact JSON, so a byte scan finds them without the
// cost of parsing on every read.
func patientRefs(body []byte) []string {
	var refs []string
	for {
		i := bytes.Index(body, patientRef)
		if i < 0 {
			return refs
		}
		body = body[i+len(patientRef)-len("Patient/"):]
		end := bytes.IndexByte(body, '"')
		if end < 0 {
			return refs
		}
		if ref := string(body[:end]); !strings.ContainsAny(ref[len("Patient/"):], "/\\") {
			refs = append(refs, ref)
		}
		body = body[end:]
	}
}

// WriteError writes err as an OperationOutcome with the status of its
// Kind: the error responses of the layers in front of the API (a missing
// token, a refused role) look like the API's own.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	h.fail(w, r, err)
}
