package record

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"kartehub/internal/fhir"
	"kartehub/internal/jsonpatch"
	"kartehub/internal/karte"
)

// Bundle is the decoded content of a batch or transaction Bundle.
type Bundle struct {
	Entries []Entry
	// KnownRefs maps references that no entry of the bundle defines, such as
	// the urn:uuid: fullUrls of resources loaded earlier from other files, to
	// the "Type/id" they stand for.
	KnownRefs map[string]string
}

// Entry is one request of a batch or transaction.
type Entry struct {
	Method  string // GET, HEAD, POST, PUT, PATCH or DELETE
	URL     string // request.url: "Patient", "Patient/1", "Patient?identifier=x", "Patient/1/_history/2"
	FullURL string // the entry's fullUrl, often "urn:uuid:..."
	// Resource is the resource of a POST or PUT, and for a PATCH a Binary
	// that carries a JSON Patch.
	Resource    *fhir.Object
	IfNoneExist string
	IfMatch     int64
}

// Result is the outcome of one entry.
type Result struct {
	Outcome *Outcome        // for writes
	Read    *karte.Resource // for GET
	Err     error
}

// request is an Entry checked and decoded before any store work.
type request struct {
	index   int
	method  string
	typ, id string
	version int64  // GET of a version
	query   string // conditional criteria of the URL
	crit    *criteria
	ifNone  *criteria
	ifMatch int64
	res     *fhir.Object
	d       draft // res on its way to the store
	patch   jsonpatch.Patch
	// openRefs is set when some reference in res can only be resolved
	// inside the transaction.
	openRefs bool
	fullURL  string
	// grant is what the authoriser allowed the entry, checked by its
	// writes and reads inside the transaction.
	grant *grant
}

// interaction is the FHIR interaction the entry makes.
func (r *request) interaction() karte.Interaction {
	switch r.method {
	case "POST":
		return karte.InteractionCreate
	case "PUT":
		return karte.InteractionUpdate
	case "PATCH":
		return karte.InteractionPatch
	case "DELETE":
		return karte.InteractionDelete
	case "GET", "HEAD":
		if r.version > 0 {
			return karte.InteractionVRead
		}
	}
	return karte.InteractionRead
}

// settled reports whether the id and content of r are known before the
// transaction runs, so that it can be encoded ahead of it.
func (r *request) settled() bool {
	switch {
	case r.openRefs || r.res == nil || r.id == "":
		return false
	case r.method == "POST":
		return r.ifNone == nil
	case r.method == "PUT":
		return r.crit == nil
	}
	return false
}

// decodeEntry checks entry i and decodes it into a request.
func decodeEntry(i int, e Entry) (*request, error) {
	r := &request{index: i, method: strings.ToUpper(e.Method), ifMatch: e.IfMatch, res: e.Resource, fullURL: e.FullURL}
	r.d.res = e.Resource
	if r.method == "HEAD" {
		r.method = "GET"
	}
	if err := r.parseURL(e.URL); err != nil {
		return nil, err
	}
	var err error
	switch r.method {
	case "POST":
		err = r.decodePost(e)
	case "PUT":
		err = r.decodePut()
	case "PATCH":
		err = r.decodePatch()
	case "DELETE", "GET":
		if r.id == "" && r.query == "" {
			err = karte.Errorf(karte.Invalid, "%s %s needs an id or criteria", r.method, e.URL)
		}
		if r.method == "GET" && r.id == "" {
			err = karte.Errorf(karte.NotSupported, "search in a bundle is not supported yet (%s)", e.URL)
		}
	default:
		err = karte.Errorf(karte.Invalid, "request.method %q is not GET, HEAD, POST, PUT, PATCH or DELETE", e.Method)
	}
	if err == nil && r.query != "" && r.method != "GET" {
		r.crit, err = parseCriteria(r.typ, r.query)
	}
	return r, err
}

// parseURL splits request.url into type, id, version and query. An
// absolute URL is accepted if its path ends in a FHIR resource path.
func (r *request) parseURL(raw string) error {
	path, query, _ := strings.Cut(raw, "?")
	r.query = query
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- { // find the resource type from the end
		if fhir.IsResourceType(segs[i]) {
			segs = segs[i:]
			break
		}
	}
	if len(segs) == 0 || !fhir.IsResourceType(segs[0]) {
		return karte.Errorf(karte.Invalid, "request.url %q does not name a resource type", raw)
	}
	r.typ = segs[0]
	switch {
	case len(segs) == 1:
	case len(segs) == 2:
		r.id = segs[1]
	case len(segs) == 4 && segs[2] == "_history" && r.method == "GET":
		r.id = segs[1]
		v, err := strconv.ParseInt(segs[3], 10, 64)
		if err != nil || v < 1 {
			return karte.Errorf(karte.Invalid, "request.url %q: bad version", raw)
		}
		r.version = v
	default:
		return karte.Errorf(karte.Invalid, "request.url %q is not a resource URL", raw)
	}
	if r.id != "" && r.query != "" {
		return karte.Errorf(karte.Invalid, "request.url %q has both an id and criteria", raw)
	}
	return nil
}

func (r *request) decodePost(e Entry) error {
	if r.id != "" || r.query != "" {
		return karte.Errorf(karte.Invalid, "POST goes to the type (%s), not to %s", r.typ, e.URL)
	}
	if err := r.checkResource(); err != nil {
		return err
	}
	var err error
	if e.IfNoneExist != "" {
		r.ifNone, err = parseCriteria(r.typ, strings.TrimPrefix(e.IfNoneExist, r.typ+"?"))
	}
	return err
}

func (r *request) decodePut() error {
	if err := r.checkResource(); err != nil {
		return err
	}
	if r.id != "" {
		return checkBodyID(r.res, r.id)
	}
	if r.query == "" {
		return karte.Errorf(karte.Invalid, "PUT needs an id or criteria in request.url")
	}
	return nil
}

func (r *request) checkResource() error {
	if r.res == nil {
		return karte.Errorf(karte.Invalid, "%s %s has no resource", r.method, r.typ)
	}
	return checkResource(r.typ, r.res)
}

// decodePatch takes the JSON Patch out of the Binary that carries it.
func (r *request) decodePatch() error {
	if r.id == "" {
		return karte.Errorf(karte.NotSupported, "conditional PATCH is not supported yet")
	}
	if r.res == nil || r.res.String("resourceType") != "Binary" {
		return karte.Errorf(karte.Invalid, "PATCH in a bundle needs a Binary resource holding a JSON Patch")
	}
	if ct := r.res.String("contentType"); ct != "application/json-patch+json" {
		return karte.Errorf(karte.NotSupported, "PATCH with contentType %q is not supported (use application/json-patch+json)", ct)
	}
	data, err := base64.StdEncoding.DecodeString(r.res.String("data"))
	if err != nil {
		return karte.Errorf(karte.Invalid, "Binary.data is not base64: %w", err)
	}
	r.patch, err = jsonpatch.Parse(data)
	if err != nil {
		return karte.Errorf(karte.Invalid, "bad JSON Patch: %w", err)
	}
	return nil
}

// entryError places err at entry i of the bundle, in its message and in
// the FHIRPath location of its issues.
func entryError(i int, err error) error {
	prefix := fmt.Sprintf("Bundle.entry[%d]", i)
	ke, ok := err.(*karte.Error)
	if !ok {
		if k := karte.KindOf(err); k != karte.Internal {
			return &karte.Error{Kind: k, Message: prefix, Err: err}
		}
		return fmt.Errorf("%s: %w", prefix, err)
	}
	out := *ke
	out.Message = prefix + ": " + ke.Message
	out.Issues = make([]karte.Issue, len(ke.Issues))
	for j, is := range ke.Issues {
		// Issues located in the resource ("Patient.name[0]") move into
		// the entry's resource; the others concern the entry as a whole.
		switch _, rest, found := strings.Cut(is.Expression, "."); {
		case found:
			is.Expression = prefix + ".resource." + rest
		case is.Expression != "":
			is.Expression = prefix + ".resource"
		default:
			is.Expression = prefix
		}
		out.Issues[j] = is
	}
	if len(out.Issues) == 0 {
		out.Issues = []karte.Issue{{Severity: "error", Code: "processing", Expression: prefix, Diagnostics: ke.Message}}
	}
	return &out
}
