package fhirimport

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"kartehub/internal/fhir"
	"kartehub/internal/record"
)

// unit is one piece of a file that is written at once: a transaction, a
// batch, or a chunk of loose resources (written as a transaction).
type unit struct {
	bundle record.Bundle
	kind   unitKind
	// where gives, for each entry, its place in the file for reports:
	// "entry 12" or "line 40".
	where []string
}

// parseFile reads one file into units of at most chunk resources.
func parseFile(data []byte, ndjson bool, chunk int) ([]unit, []fileError) {
	if ndjson {
		return parseNDJSON(data, chunk)
	}
	obj, err := fhir.ParseObject(data)
	if err != nil {
		return nil, []fileError{{where: "", err: err}}
	}
	if obj.String("resourceType") != "Bundle" {
		return []unit{{bundle: record.Bundle{Entries: []record.Entry{putEntry(obj, "")}}, where: []string{"resource"}}}, nil
	}
	switch obj.String("type") {
	case "transaction":
		return []unit{bundleUnit(obj, transactionUnit)}, nil
	case "batch":
		return []unit{bundleUnit(obj, batchUnit)}, nil
	case "collection", "searchset", "history":
		return chunkEntries(obj, chunk), nil
	}
	// A document or message is a record of its own: store the Bundle itself.
	return []unit{{bundle: record.Bundle{Entries: []record.Entry{putEntry(obj, "")}}, where: []string{"bundle"}}}, nil
}

// unitKind says how a unit is written.
type unitKind int

const (
	chunkUnit       unitKind = iota // loose resources: a transaction, else one by one
	transactionUnit                 // a transaction Bundle of the file: whole or not at all
	batchUnit                       // a batch Bundle of the file: entry by entry
)

// fileError is a problem found while reading a file, before any write.
type fileError struct {
	where string
	err   error
}

func entriesOf(b *fhir.Object) []fhir.Value {
	v, _ := b.Get("entry")
	list, _ := v.([]fhir.Value)
	return list
}

// bundleUnit converts a transaction or batch for idempotent loading: a POST
// of a resource with a urn:uuid fullUrl becomes a PUT to that uuid.
func bundleUnit(b *fhir.Object, kind unitKind) unit {
	u := unit{kind: kind}
	for i, v := range entriesOf(b) {
		u.where = append(u.where, fmt.Sprintf("entry %d", i))
		e, _ := v.(*fhir.Object)
		if e == nil {
			u.bundle.Entries = append(u.bundle.Entries, record.Entry{})
			continue
		}
		u.bundle.Entries = append(u.bundle.Entries, convertEntry(e))
	}
	return u
}

func convertEntry(e *fhir.Object) record.Entry {
	res := e.Object("resource")
	req := e.Object("request")
	entry := record.Entry{FullURL: e.String("fullUrl"), Resource: res}
	if req != nil {
		entry.Method, entry.URL = req.String("method"), req.String("url")
		entry.IfNoneExist = req.String("ifNoneExist")
	}
	if res != nil && (entry.Method == "" || entry.Method == "POST") && entry.IfNoneExist == "" {
		return putEntry(res, entry.FullURL)
	}
	return entry
}

// putEntry makes a PUT of res with an id fixed by the input, so that
// loading it again finds and keeps the same resource.
func putEntry(res *fhir.Object, fullURL string) record.Entry {
	typ := res.String("resourceType")
	id := stableID(res, fullURL)
	res.SetAfter("resourceType", "id", id)
	return record.Entry{Method: "PUT", URL: typ + "/" + id, FullURL: fullURL, Resource: res}
}

// stableID is the uuid of a urn:uuid fullUrl, else the resource's own id,
// else a hash of its content.
func stableID(res *fhir.Object, fullURL string) string {
	if uuid, ok := strings.CutPrefix(fullURL, "urn:uuid:"); ok && validID(uuid) {
		return strings.ToLower(uuid)
	}
	if id := res.String("id"); validID(id) {
		return id
	}
	sum := sha256.Sum256(fhir.Append(nil, res))
	return hex.EncodeToString(sum[:16])
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// chunkEntries loads the resources of a collection as PUTs, chunk at a time.
func chunkEntries(b *fhir.Object, chunk int) []unit {
	var units []unit
	var cur unit
	for i, v := range entriesOf(b) {
		e, _ := v.(*fhir.Object)
		if e == nil || e.Object("resource") == nil {
			continue
		}
		cur.bundle.Entries = append(cur.bundle.Entries, putEntry(e.Object("resource"), e.String("fullUrl")))
		cur.where = append(cur.where, fmt.Sprintf("entry %d", i))
		if len(cur.bundle.Entries) == chunk {
			units, cur = append(units, cur), unit{}
		}
	}
	if len(cur.bundle.Entries) > 0 {
		units = append(units, cur)
	}
	return units
}

// parseNDJSON reads one resource per line; blank lines are skipped.
func parseNDJSON(data []byte, chunk int) ([]unit, []fileError) {
	var units []unit
	var errs []fileError
	var cur unit
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		where := fmt.Sprintf("line %d", line)
		res, err := fhir.ParseObject(text)
		if err != nil {
			// The report names the line already: say only where in it.
			var se *fhir.SyntaxError
			if errors.As(err, &se) {
				err = fmt.Errorf("column %d: %s", se.Column, se.Msg)
			}
			errs = append(errs, fileError{where, err})
			continue
		}
		cur.bundle.Entries = append(cur.bundle.Entries, putEntry(res, ""))
		cur.where = append(cur.where, where)
		if len(cur.bundle.Entries) == chunk {
			units, cur = append(units, cur), unit{}
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fileError{"", err})
	}
	if len(cur.bundle.Entries) > 0 {
		units = append(units, cur)
	}
	return units, errs
}
