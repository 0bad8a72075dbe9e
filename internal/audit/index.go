package audit

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"kartehub/internal/karte"
)

// The names of the index entries that Index derives from an AuditEvent,
// each named after the R4 AuditEvent search parameter it serves.
const (
	// IndexAgent: every agent's who.reference ("Practitioner/123"),
	// who.identifier.value (a user's login name, or a client's client_id)
	// and altId.
	IndexAgent = "agent"
	// IndexAddress: the network address of every agent but the server
	// itself (the server agent's address is its base URL, the same on
	// every event).
	IndexAddress = "address"
	// IndexPatient: every Patient reference among the entities and
	// agents, without a version ("Patient/123").
	IndexPatient = "patient"
	// IndexEntity: every entity.what.reference, without a version, and
	// with it if it has one ("Observation/5", "Observation/5/_history/2").
	IndexEntity = "entity"
	// IndexEntityID: every entity.what.identifier.value, such as the
	// X-Request-Id of the request.
	IndexEntityID = "entity-id"
	// IndexAction: the action code (C, R, U, D, E).
	IndexAction = "action"
	// IndexOutcome: the outcome code (0, 4, 8, 12).
	IndexOutcome = "outcome"
	// IndexType, IndexSubtype and IndexPurpose: the codes of type, of
	// every subtype, and of every agent's purposeOfUse (BTG for a
	// break-glass access), each as "code" and as "system|code".
	IndexType    = "type"
	IndexSubtype = "subtype"
	IndexPurpose = "purpose"
)

// MaxIndexValue bounds the length of an indexed value in bytes: a longer
// value is left out of the index (no value that the server records comes
// near it), so that no index key grows past what the engines allow.
const MaxIndexValue = 1024

// The server agent's types: its address is not indexed.
const (
	destinationRoleID = "110152"
	applicationRole   = "110150"
)

// Index returns the index entries of an AuditEvent: the values an
// auditor finds it by (see the Index* names), sorted by name and value,
// without duplicates. It reads only the JSON, so it gives the same entries
// for an event however and whenever it was recorded, which is what lets
// Verify check the stored index against the events. It fails only if event
// is not a JSON object, or one of the elements it reads does not have the
// type that FHIR R4 gives it. Record times are no entries: the log keeps
// Time in a column of its own.
//
// The Writer derives the same entries from the AuditEvent it writes,
// without reading the JSON back (the rules are one method of auditEvent,
// and TestIndexAgrees holds the two ways to the same result). Changing
// what Index derives changes the index of every event recorded since: the
// stored entries of older events must then be rebuilt, or Verify reports
// them as altered.
func Index(event []byte) ([]karte.AuditIndexEntry, error) {
	// Only the elements that index reads, in the types of auditEvent.
	var in struct {
		Type    coding   `json:"type"`
		Subtype []coding `json:"subtype"`
		Action  string   `json:"action"`
		Outcome string   `json:"outcome"`
		Agent   []struct {
			Type         *codeableConcept  `json:"type"`
			Who          *reference        `json:"who"`
			AltID        string            `json:"altId"`
			Network      *network          `json:"network"`
			PurposeOfUse []codeableConcept `json:"purposeOfUse"`
		} `json:"agent"`
		Entity []struct {
			What *reference `json:"what"`
		} `json:"entity"`
	}
	if err := json.Unmarshal(event, &in); err != nil {
		return nil, fmt.Errorf("audit index: %w", err)
	}
	ae := auditEvent{Type: in.Type, Subtype: in.Subtype, Action: in.Action, Outcome: in.Outcome,
		Agent: make([]agent, len(in.Agent)), Entity: make([]entity, len(in.Entity))}
	for i, a := range in.Agent {
		ae.Agent[i] = agent{Type: a.Type, Who: a.Who, AltID: a.AltID, Network: a.Network, PurposeOfUse: a.PurposeOfUse}
	}
	for i, e := range in.Entity {
		ae.Entity[i] = entity{What: e.What}
	}
	return ae.index(), nil
}

// encode returns the AuditEvent of e, recorded at t by src, as JSON, and
// its index entries, which are those that Index derives from the JSON.
func (e *Event) encode(t time.Time, src Source) ([]byte, []karte.AuditIndexEntry, error) {
	ae, err := e.auditEvent(t, src)
	if err != nil {
		return nil, nil, err
	}
	return ae.appendJSON(make([]byte, 0, 2048)), ae.index(), nil
}

// index derives the index entries of the AuditEvent (see Index).
func (ae *auditEvent) index() []karte.AuditIndexEntry {
	ix := indexer{list: make([]karte.AuditIndexEntry, 0, 16)}
	ix.token(IndexType, ae.Type)
	for _, c := range ae.Subtype {
		ix.token(IndexSubtype, c)
	}
	ix.add(IndexAction, ae.Action)
	ix.add(IndexOutcome, ae.Outcome)
	for i := range ae.Agent {
		a := &ae.Agent[i]
		server := false
		if a.Type != nil {
			for _, c := range a.Type.Coding {
				server = server || c.System == dcm && (c.Code == destinationRoleID || c.Code == applicationRole)
			}
		}
		if w := a.Who; w != nil {
			ix.add(IndexAgent, w.Reference)
			if w.Identifier != nil {
				ix.add(IndexAgent, w.Identifier.Value)
			}
			if ref := versionless(w.Reference); referenceType(ref) == "Patient" {
				ix.add(IndexPatient, ref)
			}
		}
		ix.add(IndexAgent, a.AltID)
		if a.Network != nil && !server {
			ix.add(IndexAddress, a.Network.Address)
		}
		for _, p := range a.PurposeOfUse {
			for _, c := range p.Coding {
				ix.token(IndexPurpose, c)
			}
		}
	}
	for i := range ae.Entity {
		w := ae.Entity[i].What
		if w == nil {
			continue
		}
		if w.Identifier != nil {
			ix.add(IndexEntityID, w.Identifier.Value)
		}
		ref := versionless(w.Reference)
		ix.add(IndexEntity, ref)
		ix.add(IndexEntity, w.Reference)
		if referenceType(ref) == "Patient" {
			ix.add(IndexPatient, ref)
		}
	}
	return ix.entries()
}

// indexer collects entries.
type indexer struct {
	list []karte.AuditIndexEntry
}

func (ix *indexer) add(name, value string) {
	if value != "" && len(value) <= MaxIndexValue {
		ix.list = append(ix.list, karte.AuditIndexEntry{Name: name, Value: value})
	}
}

// token adds a coding as "code" and as "system|code", the two forms of a
// FHIR token search.
func (ix *indexer) token(name string, c coding) {
	if c.Code == "" {
		return
	}
	ix.add(name, c.Code)
	if c.System != "" {
		ix.add(name, c.System+"|"+c.Code)
	}
}

// entries returns the entries sorted and without duplicates.
func (ix *indexer) entries() []karte.AuditIndexEntry {
	slices.SortFunc(ix.list, CompareIndexEntries)
	return slices.Compact(ix.list)
}

// CompareIndexEntries orders index entries by Name, then Value, byte by
// byte: the order of Index and of karte.AuditLog.AuditRecords.
func CompareIndexEntries(a, b karte.AuditIndexEntry) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Value, b.Value))
}

// versionless cuts the version off a reference: "Patient/1/_history/2"
// becomes "Patient/1".
func versionless(ref string) string {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		return ref[:i]
	}
	return ref
}

// referenceType returns the resource type of a reference, relative
// ("Patient/1") or absolute ("https://hub.example.jp/fhir/Patient/1"), or
// "" if it has none.
func referenceType(ref string) string {
	i := strings.LastIndexByte(ref, '/')
	if i <= 0 || i == len(ref)-1 {
		return ""
	}
	typ := ref[:i]
	if j := strings.LastIndexByte(typ, '/'); j >= 0 {
		typ = typ[j+1:]
	}
	return typ
}

// Scope is whose an AuditEvent is, for showing it only to the auditors of
// some facilities: the patients it names, and the facilities its user
// acted from.
type Scope struct {
	// Patients are the Patient references of the event, without versions
	// ("Patient/123"), as IndexPatient holds them.
	Patients []string
	// Facilities are the ids of the Organizations that the event's agents
	// were located at (agent.location, "Organization/hub": the user's
	// facility).
	Facilities []string
}

// EventScope returns the Scope of an AuditEvent. It fails as Index does.
func EventScope(event []byte) (Scope, error) {
	entries, err := Index(event)
	if err != nil {
		return Scope{}, err
	}
	var sc Scope
	for _, e := range entries {
		if e.Name == IndexPatient {
			sc.Patients = append(sc.Patients, e.Value)
		}
	}
	var in struct {
		Agent []struct {
			Location *reference `json:"location"`
		} `json:"agent"`
	}
	if err := json.Unmarshal(event, &in); err != nil {
		return Scope{}, fmt.Errorf("audit event: %w", err)
	}
	for _, a := range in.Agent {
		if a.Location == nil {
			continue
		}
		if id, ok := strings.CutPrefix(versionless(a.Location.Reference), "Organization/"); ok && id != "" && !slices.Contains(sc.Facilities, id) {
			sc.Facilities = append(sc.Facilities, id)
		}
	}
	return sc, nil
}
