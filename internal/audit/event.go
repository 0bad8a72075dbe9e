package audit

import (
	"cmp"
	"encoding/base64"
	"strings"
	"time"
	"unicode/utf8"

	"kartehub/internal/karte"
)

// Type is what kind of activity an Event records; it chooses the
// AuditEvent's type and subtype.
type Type int

// The types of Event.
const (
	// Rest is a FHIR RESTful interaction, named by Event.Interaction:
	// type audit-event-type "rest", subtype the restful-interaction code.
	Rest Type = iota
	// PatientRecord is an access to a patient's record other than over
	// the FHIR API (HL7 v2 feed, DICOM, import): DCM 110110 "Patient
	// Record". Event.Action must say what was done.
	PatientRecord
	// Login and Logout are DCM 110114 "User Authentication", subtype DCM
	// 110122 "Login" or 110123 "Logout". A failed login is a Login with a
	// failure Outcome.
	Login
	Logout
	// ApplicationStart and ApplicationStop are DCM 110100 "Application
	// Activity", subtype 110120 "Application Start" or 110121
	// "Application Stop", for the server itself.
	ApplicationStart
	ApplicationStop
	// Import is DCM 110107 "Import": data brought into the record other
	// than through the API, such as a kartehub import run on the server.
	// Its action is C unless Action says otherwise.
	Import
	// Export is DCM 110106 "Export": data taken out other than through
	// the API, such as a copy of the audit trail. Its action is R.
	Export
	// SecurityChange is DCM 110113 "Security Alert", subtype 110137 "User
	// Security Attributes Changed": an account, a client or a facility
	// changed by an administrator. Its action is U unless Action says
	// otherwise (C for one created).
	SecurityChange
)

// Action is the AuditEvent action code.
type Action string

// The actions of the R4 audit-event-action value set.
const (
	Create  Action = "C"
	Read    Action = "R" // read, view or print
	Update  Action = "U"
	Delete  Action = "D"
	Execute Action = "E" // a system or application function, such as a search or a login
)

// Outcome is the AuditEvent outcome code.
type Outcome int

// The outcomes of the R4 audit-event-outcome value set.
const (
	Success        Outcome = 0
	MinorFailure   Outcome = 4  // the action did not succeed, through no fault of the server (a bad request, a denial)
	SeriousFailure Outcome = 8  // the action was not done (e.g. the store failed)
	MajorFailure   Outcome = 12 // the server is not usable (e.g. it crashed mid-request)
)

// interactions maps each FHIR restful interaction to the action that BALP
// records for it.
var interactions = map[string]Action{
	"read": Read, "vread": Read,
	"history-instance": Read, "history-type": Read, "history-system": Read,
	"search-type": Execute, "search-system": Execute, "search-compartment": Execute,
	"create": Create, "update": Update, "patch": Update, "delete": Delete,
	"transaction": Execute, "batch": Execute, "operation": Execute, "capabilities": Read,
}

// Event is one auditable activity. JSON turns it into a FHIR R4 AuditEvent
// in the shape of the IHE Basic Audit Log Patterns (BALP).
type Event struct {
	Type Type
	// Interaction is the FHIR restful interaction code of a Rest event:
	// read, vread, update, patch, delete, history-instance, history-type,
	// history-system, create, search-type, search-system, transaction,
	// batch, operation.
	Interaction string
	// Action is left empty but for PatientRecord events: Rest events take
	// it from the interaction (as BALP does: searches are E), the others
	// are E.
	Action      Action
	Outcome     Outcome
	OutcomeDesc string // for a failure: what went wrong, in a line

	// User is the person who acted (the requestor), if known.
	User *User
	// Client is the software the request came through: a SMART app, a
	// departmental system, a DICOM modality.
	Client *Client

	// Resource is the resource acted on, as a relative reference
	// ("Observation/123", or with "/_history/2" for a version). Empty for
	// type and system level interactions.
	Resource string
	// Patients are the patients whose record was touched, as references
	// ("Patient/123"): the subject of Resource, or the patients a search
	// returned.
	Patients []string
	// Query is the query of a search or history interaction as it came,
	// e.g. "subject=Patient/123&code=http://loinc.org|8867-4". It is kept
	// base64-encoded, as AuditEvent.entity.query requires.
	Query string
	// RequestID is the X-Request-Id of the HTTP request, if any.
	RequestID string
	// BreakGlass is the reason a user gave for emergency access, when the
	// access relied on it: the user agent's purposeOfUse is then BTG
	// ("break the glass"), so that reviewers find these accesses first.
	BreakGlass string
}

// User is the person behind an Event.
type User struct {
	// Reference is the user's resource, such as "Practitioner/123".
	Reference string
	// System and ID identify the user's account (the one ID per person
	// the MHLW guideline asks for), e.g. the login name in the hospital's
	// directory.
	System, ID string
	Name       string   // for people reading the log
	Roles      []Coding // the roles the access was granted under
	// Facility is where the user works, or acted from.
	Facility *Facility
}

// Facility is a hospital or clinic of the network, recorded as the user
// agent's location.
type Facility struct {
	Reference    string // the facility's Organization or Location, e.g. "Organization/hub"
	System, Code string // e.g. the 10-digit medical institution code and its system
	Name         string
}

// Client is the software that made a request.
type Client struct {
	ID        string // OAuth client_id, HL7 sending application, DICOM AE title, ...
	Address   string // network address: IP address of the peer
	UserAgent string // HTTP User-Agent, recorded as the client agent's name
}

// Coding is a code from a code system.
type Coding struct {
	System, Code, Display string
}

// Source describes the kartehub server that records the events: it is
// the AuditEvent's observer and the server agent.
type Source struct {
	Observer string // this server, e.g. its host name
	Site     string // the hospital or data centre it runs in
	BaseURL  string // the FHIR base URL that clients reach it on
}

// Code systems of the AuditEvents.
const (
	dcm                = "http://dicom.nema.org/resources/ontology/DCM"
	eventTypeSystem    = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	interactionSystem  = "http://hl7.org/fhir/restful-interaction"
	entityTypeSystem   = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	objectRoleSystem   = "http://terminology.hl7.org/CodeSystem/object-role"
	sourceTypeSystem   = "http://terminology.hl7.org/CodeSystem/security-source-type"
	participationType  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	roleClassSystem    = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
	actReasonSystem    = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	balpEntityTypeCode = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
)

// maxText bounds every string taken from a request (a User-Agent can be
// long), and maxQuery the query kept of a search.
const (
	maxText  = 1024
	maxQuery = 16 << 10
)

// JSON returns the event as a FHIR R4 AuditEvent recorded at t by src.
// Strings from the request are cleaned so that the AuditEvent is always
// valid (control characters become spaces, invalid UTF-8 is replaced, long
// values are cut); JSON fails only for a Type or Interaction it does not
// know, or a PatientRecord without an Action.
func (e *Event) JSON(t time.Time, src Source) ([]byte, error) {
	ae, err := e.auditEvent(t, src)
	if err != nil {
		return nil, err
	}
	return ae.appendJSON(make([]byte, 0, 2048)), nil
}

// auditEvent returns the AuditEvent that JSON writes.
func (e *Event) auditEvent(t time.Time, src Source) (*auditEvent, error) {
	ae := &auditEvent{
		ResourceType: "AuditEvent",
		Recorded:     t.UTC().Format(time.RFC3339Nano),
		Outcome:      outcomeCode(e.Outcome),
		OutcomeDesc:  text(e.OutcomeDesc),
		Source: source{
			Site:     text(src.Site),
			Observer: reference{Display: orDefault(text(src.Observer), "kartehub")},
			Type:     []coding{{System: sourceTypeSystem, Code: "4", Display: "Application Server"}},
		},
	}
	if ae.Outcome == "" {
		return nil, karte.Errorf(karte.Internal, "audit: outcome %d is not 0, 4, 8 or 12", e.Outcome)
	}
	action := e.Action
	switch e.Type {
	case Rest:
		a, ok := interactions[e.Interaction]
		if !ok {
			return nil, karte.Errorf(karte.Internal, "audit: unknown FHIR interaction %q", e.Interaction)
		}
		if action == "" {
			action = a
		}
		ae.Type = coding{System: eventTypeSystem, Code: "rest", Display: "Restful Operation"}
		ae.Subtype = []coding{{System: interactionSystem, Code: e.Interaction}}
	case PatientRecord:
		if action == "" {
			return nil, karte.Errorf(karte.Internal, "audit: a PatientRecord event needs an Action")
		}
		ae.Type = coding{System: dcm, Code: "110110", Display: "Patient Record"}
	case Login, Logout:
		ae.Type = coding{System: dcm, Code: "110114", Display: "User Authentication"}
		ae.Subtype = []coding{{System: dcm, Code: "110122", Display: "Login"}}
		if e.Type == Logout {
			ae.Subtype[0] = coding{System: dcm, Code: "110123", Display: "Logout"}
		}
	case ApplicationStart, ApplicationStop:
		ae.Type = coding{System: dcm, Code: "110100", Display: "Application Activity"}
		ae.Subtype = []coding{{System: dcm, Code: "110120", Display: "Application Start"}}
		if e.Type == ApplicationStop {
			ae.Subtype[0] = coding{System: dcm, Code: "110121", Display: "Application Stop"}
		}
	case Import:
		ae.Type = coding{System: dcm, Code: "110107", Display: "Import"}
		action = cmp.Or(action, Create)
	case Export:
		ae.Type = coding{System: dcm, Code: "110106", Display: "Export"}
		action = cmp.Or(action, Read)
	case SecurityChange:
		ae.Type = coding{System: dcm, Code: "110113", Display: "Security Alert"}
		ae.Subtype = []coding{{System: dcm, Code: "110137", Display: "User Security Attributes Changed"}}
		action = cmp.Or(action, Update)
	default:
		return nil, karte.Errorf(karte.Internal, "audit: unknown event type %d", e.Type)
	}
	if action == "" {
		action = Execute
	}
	switch action {
	case Create, Read, Update, Delete, Execute:
	default:
		return nil, karte.Errorf(karte.Internal, "audit: unknown action %q", action)
	}
	ae.Action = string(action)
	ae.Agent = e.agents(src, action)
	ae.Entity = e.entities()
	return ae, nil
}

// agents returns the BALP agents: the client (DICOM "Source Role ID"), the
// server ("Destination Role ID") and the user, who is the requestor if
// known (otherwise the client is).
func (e *Event) agents(src Source, action Action) []agent {
	var agents []agent
	server := agent{
		Type: &codeableConcept{Coding: []coding{{System: dcm, Code: "110152", Display: "Destination Role ID"}}},
		Who:  &reference{Display: orDefault(text(src.Observer), "kartehub")},
	}
	if e.Type == ApplicationStart || e.Type == ApplicationStop {
		server.Type = &codeableConcept{Coding: []coding{{System: dcm, Code: "110150", Display: "Application"}}}
	}
	if addr := text(src.BaseURL); addr != "" {
		server.Network = &network{Address: addr, Type: "5"} // URI
	}
	if c := e.Client; c != nil {
		client := agent{
			Type:      &codeableConcept{Coding: []coding{{System: dcm, Code: "110153", Display: "Source Role ID"}}},
			Requestor: e.User == nil,
		}
		if id := text(c.ID); id != "" {
			client.Who = &reference{Identifier: &identifier{Value: id}, Display: id}
		}
		client.Name = text(c.UserAgent)
		if addr := text(c.Address); addr != "" {
			client.Network = &network{Address: addr, Type: "2"} // IP address
		}
		agents = append(agents, client)
	}
	agents = append(agents, server)
	if u := e.User; u != nil {
		ua := agent{Requestor: true, Name: text(u.Name), Who: &reference{Reference: text(u.Reference), Display: text(u.Name)}}
		if id := text(u.ID); id != "" {
			ua.Who.Identifier = &identifier{System: uri(u.System), Value: id}
		}
		if *ua.Who == (reference{}) {
			ua.Who = nil
		}
		// BALP: the recipient of what a read or a search returns, or the
		// agent that pushes a change.
		if action == Read || e.Type == Rest && strings.HasPrefix(e.Interaction, "search-") {
			ua.Type = &codeableConcept{Coding: []coding{{System: participationType, Code: "IRCP", Display: "information recipient"}}}
		} else {
			ua.Type = &codeableConcept{Coding: []coding{{System: roleClassSystem, Code: "AGNT", Display: "agent"}}}
		}
		if e.BreakGlass != "" {
			ua.PurposeOfUse = []codeableConcept{{Coding: []coding{{System: actReasonSystem, Code: "BTG", Display: "break the glass"}}, Text: text(e.BreakGlass)}}
		}
		for _, r := range u.Roles {
			if c := r.coding(); c.Code != "" {
				ua.Role = append(ua.Role, codeableConcept{Coding: []coding{c}})
			}
		}
		if f := u.Facility; f != nil {
			typ, _, _ := strings.Cut(text(f.Reference), "/")
			if typ == "" {
				typ = "Location"
			}
			loc := &reference{Reference: text(f.Reference), Type: typ, Display: text(f.Name)}
			if code := text(f.Code); code != "" {
				loc.Identifier = &identifier{System: uri(f.System), Value: code}
			}
			if loc.Reference != "" || loc.Identifier != nil || loc.Display != "" {
				ua.Location = loc
			}
		}
		agents = append(agents, ua)
	}
	return agents
}

// entities returns the BALP entities: the resource acted on, each patient,
// the query of a search, and the transaction (X-Request-Id).
func (e *Event) entities() []entity {
	var out []entity
	if ref := text(e.Resource); ref != "" {
		out = append(out, entity{
			What: &reference{Reference: ref},
			Type: &coding{System: entityTypeSystem, Code: "2", Display: "System Object"},
			Role: &coding{System: objectRoleSystem, Code: "4", Display: "Domain Resource"},
		})
	}
	for _, p := range e.Patients {
		if ref := text(p); ref != "" {
			out = append(out, entity{
				What: &reference{Reference: ref},
				Type: &coding{System: entityTypeSystem, Code: "1", Display: "Person"},
				Role: &coding{System: objectRoleSystem, Code: "1", Display: "Patient"},
			})
		}
	}
	if e.Query != "" {
		q := e.Query
		if len(q) > maxQuery {
			q = q[:maxQuery]
		}
		out = append(out, entity{
			Type:  &coding{System: entityTypeSystem, Code: "2", Display: "System Object"},
			Role:  &coding{System: objectRoleSystem, Code: "24", Display: "Query"},
			Query: base64.StdEncoding.EncodeToString([]byte(q)),
		})
	}
	if id := text(e.RequestID); id != "" {
		out = append(out, entity{
			What: &reference{Identifier: &identifier{Value: id}},
			Type: &coding{System: balpEntityTypeCode, Code: "XrequestId"},
		})
	}
	return out
}

func (c Coding) coding() coding {
	return coding{System: uri(c.System), Code: code(c.Code), Display: text(c.Display)}
}

func outcomeCode(o Outcome) string {
	switch o {
	case Success:
		return "0"
	case MinorFailure:
		return "4"
	case SeriousFailure:
		return "8"
	case MajorFailure:
		return "12"
	}
	return ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// text cleans a value for a FHIR string: valid UTF-8, no control
// characters, no surrounding space, at most maxText bytes. "" means leave
// the element out, as FHIR JSON has no empty strings.
func text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxText {
		i := maxText
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// code cleans a value for a FHIR code: text with single spaces inside.
func code(s string) string { return strings.Join(strings.Fields(text(s)), " ") }

// uri cleans a value for a FHIR uri, which may hold no whitespace.
func uri(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' {
			return -1
		}
		return r
	}, text(s))
}

// The AuditEvent, as far as kartehub fills it in. Field order is the
// order of the R4 definition, which keeps the JSON easy to read. JSON
// writes it with appendJSON (encode.go), which must follow these tags;
// Index reads the elements it indexes back into these types, with
// encoding/json.
type auditEvent struct {
	ResourceType string   `json:"resourceType"`
	Type         coding   `json:"type"`
	Subtype      []coding `json:"subtype,omitempty"`
	Action       string   `json:"action,omitempty"`
	Recorded     string   `json:"recorded"`
	Outcome      string   `json:"outcome,omitempty"`
	OutcomeDesc  string   `json:"outcomeDesc,omitempty"`
	Agent        []agent  `json:"agent"`
	Source       source   `json:"source"`
	Entity       []entity `json:"entity,omitempty"`
}

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type codeableConcept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

type reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

type network struct {
	Address string `json:"address,omitempty"`
	Type    string `json:"type,omitempty"` // 2: IP address, 5: URI
}

type agent struct {
	Type      *codeableConcept  `json:"type,omitempty"`
	Role      []codeableConcept `json:"role,omitempty"`
	Who       *reference        `json:"who,omitempty"`
	AltID     string            `json:"altId,omitempty"` // never set here, but indexed (Index)
	Name      string            `json:"name,omitempty"`
	Requestor bool              `json:"requestor"`
	Location  *reference        `json:"location,omitempty"`
	Network   *network          `json:"network,omitempty"`
	// PurposeOfUse flags an access under break-glass.
	PurposeOfUse []codeableConcept `json:"purposeOfUse,omitempty"`
}

type source struct {
	Site     string    `json:"site,omitempty"`
	Observer reference `json:"observer"`
	Type     []coding  `json:"type,omitempty"`
}

type entity struct {
	What  *reference `json:"what,omitempty"`
	Type  *coding    `json:"type,omitempty"`
	Role  *coding    `json:"role,omitempty"`
	Query string     `json:"query,omitempty"`
}
