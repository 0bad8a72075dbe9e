package fhirapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"kartehub/internal/audit"
	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/record"
)

func (h *Handler) read(w http.ResponseWriter, r *http.Request) {
	res, err := h.svc.Read(r.Context(), r.PathValue("type"), r.PathValue("id"))
	if err != nil {
		if res != nil { // deleted: say which version deleted it
			setVersionHeaders(w, res)
		}
		h.fail(w, r, err)
		return
	}
	if notModified(w, r, res) {
		return
	}
	if r.URL.Query().Get("_summary") == "true" {
		if res, err = summarized(res); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.writeResource(w, r, http.StatusOK, res)
}

// notModified answers conditional reads (If-None-Match, If-Modified-Since)
// with 304 when the client's copy is current.
func notModified(w http.ResponseWriter, r *http.Request, res *karte.Resource) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if v, err := parseETag(inm); err == nil && v == res.VersionID {
			setVersionHeaders(w, res)
			w.WriteHeader(http.StatusNotModified)
			return true
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !res.LastUpdated.Truncate(1e9).After(t) {
			setVersionHeaders(w, res)
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

func (h *Handler) vread(w http.ResponseWriter, r *http.Request) {
	vid, err := strconv.ParseInt(r.PathValue("vid"), 10, 64)
	if err != nil || vid < 1 {
		h.fail(w, r, karte.Errorf(karte.NotFound, "%q is not a version id", r.PathValue("vid")))
		return
	}
	res, err := h.svc.VRead(r.Context(), r.PathValue("type"), r.PathValue("id"), vid)
	if err != nil {
		if res != nil {
			setVersionHeaders(w, res)
		}
		h.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("_summary") == "true" {
		if res, err = summarized(res); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.writeResource(w, r, http.StatusOK, res)
}

// summarized returns the version with its body in the summary form that
// _summary=true asks of a read (see fhir.Summarize); the version headers
// stay those of the whole resource.
func summarized(res *karte.Resource) (*karte.Resource, error) {
	obj, err := fhir.ParseObject(res.Body)
	if err != nil {
		return nil, fmt.Errorf("summarize %s/%s: %w", res.Type, res.ID, err)
	}
	s := *res
	s.Body = fhir.Append(nil, fhir.Summarize(obj))
	return &s, nil
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, resourceTypes...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	typ := r.PathValue("type")
	out, err := h.svc.Create(r.Context(), typ, body, strings.TrimPrefix(r.Header.Get("If-None-Exist"), typ+"?"))
	h.respondWrite(w, r, out, err)
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	body, match, err := versionedBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.Update(r.Context(), r.PathValue("type"), r.PathValue("id"), body, match)
	h.respondWrite(w, r, out, err)
}

func (h *Handler) conditionalUpdate(w http.ResponseWriter, r *http.Request) {
	body, match, err := versionedBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.ConditionalUpdate(r.Context(), r.PathValue("type"), criteriaOf(r), body, match)
	h.respondWrite(w, r, out, err)
}

// versionedBody reads the resource of an update and its If-Match version.
func versionedBody(r *http.Request, types ...string) ([]byte, int64, error) {
	if len(types) == 0 {
		types = resourceTypes
	}
	body, err := readBody(r, types...)
	if err != nil {
		return nil, 0, err
	}
	match, err := ifMatch(r)
	return body, match, err
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request) {
	body, match, err := versionedBody(r, "application/json-patch+json")
	if err != nil {
		if r.Header.Get("Content-Type") != "" && !strings.Contains(r.Header.Get("Content-Type"), "json-patch") {
			err = unsupportedMediaType("PATCH takes application/json-patch+json (JSON Patch); " +
				"FHIRPath Patch and XML Patch are not supported")
		}
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.Patch(r.Context(), r.PathValue("type"), r.PathValue("id"), body, match)
	h.respondWrite(w, r, out, err)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	match, err := ifMatch(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.svc.Delete(r.Context(), r.PathValue("type"), r.PathValue("id"), match)
	h.respondDelete(w, r, out, err)
}

func (h *Handler) conditionalDelete(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.ConditionalDelete(r.Context(), r.PathValue("type"), criteriaOf(r))
	h.respondDelete(w, r, out, err)
}

// criteriaOf is the query string of a conditional request, without the
// parameters that shape the response rather than select resources.
func criteriaOf(r *http.Request) string {
	q := r.URL.Query()
	for _, p := range []string{"_format", "_pretty"} {
		q.Del(p)
	}
	return q.Encode()
}

// respondWrite answers a create, update or patch as Prefer asks.
func (h *Handler) respondWrite(w http.ResponseWriter, r *http.Request, out *record.Outcome, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res := out.Resource
	status := http.StatusOK
	if out.Created {
		status = http.StatusCreated
	}
	loc := h.baseURL(r) + "/" + res.Type + "/" + res.ID + "/_history/" + strconv.FormatInt(res.VersionID, 10)
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Location", loc)
	setVersionHeaders(w, res)
	audit.NoteFrom(r.Context()).SetResource(res.Type + "/" + res.ID + "/_history/" + strconv.FormatInt(res.VersionID, 10))
	notePatients(r, res)
	switch preferReturn(r) {
	case "minimal":
		w.WriteHeader(status)
	case "OperationOutcome":
		msg := "stored " + res.Type + "/" + res.ID + " version " + strconv.FormatInt(res.VersionID, 10)
		if out.Unchanged {
			msg = "no change: " + res.Type + "/" + res.ID + " version " + strconv.FormatInt(res.VersionID, 10) + " already holds this content"
		}
		WriteJSON(w, r, status, information(msg))
	default:
		h.writeResource(w, r, status, res)
	}
}

func (h *Handler) respondDelete(w http.ResponseWriter, r *http.Request, out *record.Outcome, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if out.Resource != nil {
		w.Header().Set("ETag", etag(out.Resource.VersionID))
	}
	if preferReturn(r) == "OperationOutcome" {
		msg := "deleted"
		if out.Unchanged {
			msg = "nothing to delete"
		}
		WriteJSON(w, r, http.StatusOK, information(msg))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// preferReturn reads return=... from the Prefer header.
func preferReturn(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Prefer"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "return="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "representation"
}
