package fhirimport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/record"
)

// Remote is a Sink that posts bundles to the FHIR API of a running server.
type Remote struct {
	Base   string // FHIR base URL, e.g. http://127.0.0.1:8080/fhir
	Client *http.Client
	// Token, if set, gives the access token to send with each request.
	Token func(ctx context.Context) (string, error)
}

var _ Sink = (*Remote)(nil)

// Transaction implements Sink.
func (rm *Remote) Transaction(ctx context.Context, b record.Bundle) ([]record.Result, error) {
	resp, err := rm.post(ctx, "transaction", b)
	if err != nil {
		return nil, err
	}
	return resultsOf(resp, len(b.Entries)), nil
}

// Batch implements Sink.
func (rm *Remote) Batch(ctx context.Context, b record.Bundle) []record.Result {
	resp, err := rm.post(ctx, "batch", b)
	if err != nil {
		results := make([]record.Result, len(b.Entries))
		for i := range results {
			results[i].Err = err
		}
		return results
	}
	return resultsOf(resp, len(b.Entries))
}

// post sends b as a Bundle of the given type and returns the response
// Bundle, or the server's OperationOutcome as an error.
func (rm *Remote) post(ctx context.Context, kind string, b record.Bundle) (*fhir.Object, error) {
	body := fhir.Append(nil, encodeBundle(kind, b))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(rm.Base, "/"), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Prefer", "return=minimal")
	if rm.Token != nil {
		token, err := rm.Token(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := rm.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	obj, perr := fhir.ParseObject(data)
	if resp.StatusCode != http.StatusOK {
		return nil, remoteError(resp.StatusCode, obj)
	}
	if perr != nil {
		return nil, fmt.Errorf("the server answered with bad JSON: %w", perr)
	}
	return obj, nil
}

// encodeBundle renders b as a FHIR Bundle. Known references are resolved
// here, since the server cannot know about the other files.
func encodeBundle(kind string, b record.Bundle) *fhir.Object {
	entries := make([]fhir.Value, len(b.Entries))
	for i, e := range b.Entries {
		if e.Resource != nil && len(b.KnownRefs) > 0 {
			fhir.WalkReferences(e.Resource, func(obj *fhir.Object, i int, ref string) {
				if to, found := b.KnownRefs[ref]; found {
					obj.Members[i].Value = to
				}
			})
		}
		req := &fhir.Object{}
		req.Set("method", e.Method)
		req.Set("url", e.URL)
		if e.IfNoneExist != "" {
			req.Set("ifNoneExist", e.IfNoneExist)
		}
		if e.IfMatch > 0 {
			req.Set("ifMatch", `W/"`+strconv.FormatInt(e.IfMatch, 10)+`"`)
		}
		entry := &fhir.Object{}
		if e.FullURL != "" {
			entry.Set("fullUrl", e.FullURL)
		}
		if e.Resource != nil {
			entry.Set("resource", e.Resource)
		}
		entry.Set("request", req)
		entries[i] = entry
	}
	out := &fhir.Object{}
	out.Set("resourceType", "Bundle")
	out.Set("type", kind)
	out.Set("entry", entries)
	return out
}

// resultsOf reads the per-entry statuses of a response Bundle.
func resultsOf(resp *fhir.Object, n int) []record.Result {
	results := make([]record.Result, n)
	for i, v := range entriesOf(resp) {
		e, _ := v.(*fhir.Object)
		if i >= n || e == nil {
			continue
		}
		r := e.Object("response")
		if r == nil {
			continue
		}
		status, _ := strconv.Atoi(strings.Fields(r.String("status") + " 0")[0])
		if status >= 400 {
			results[i].Err = remoteError(status, r.Object("outcome"))
		}
	}
	return results
}

// remoteError turns an error answer into a *karte.Error with the
// server's diagnostics.
func remoteError(status int, outcome *fhir.Object) error {
	msg := http.StatusText(status)
	if outcome != nil {
		v, _ := outcome.Get("issue")
		if list, _ := v.([]fhir.Value); len(list) > 0 {
			if is, _ := list[0].(*fhir.Object); is != nil {
				msg = is.String("diagnostics")
				if ex, _ := is.Get("expression"); ex != nil {
					if l, _ := ex.([]fhir.Value); len(l) > 0 {
						msg = fmt.Sprintf("%v: %s", l[0], msg)
					}
				}
			}
		}
	}
	return &karte.Error{Kind: kindOfStatus(status), Message: fmt.Sprintf("server answered %d: %s", status, msg)}
}

func kindOfStatus(status int) karte.Kind {
	switch status {
	case 400:
		return karte.Invalid
	case 404:
		return karte.NotFound
	case 409:
		return karte.Conflict
	case 412:
		return karte.PreconditionFailed
	case 422:
		return karte.Unprocessable
	}
	return karte.Internal
}
