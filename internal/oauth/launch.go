package oauth

import (
	"net/http"
	"strings"

	"kartehub/internal/audit"
	"kartehub/internal/karte"
)

// launchResponse is the answer of the launch endpoint.
type launchResponse struct {
	Launch    string `json:"launch"`
	ExpiresIn int    `json:"expires_in"`
}

// launch serves the EHR side of a SMART EHR launch: an EHR (a registered
// system, or a person's app) with a valid bearer token names the patient
// open in it, and the encounter if one is, and gets a launch parameter, valid once for launchTTL, to
// open an app with (?launch=...&iss=<FHIR base>). The app then asks for
// the scope launch, and its tokens carry that patient (and the token
// response the encounter: it is context, and limits nothing). The launch gives
// no access of its own: what the app may read is still what the person
// who logs in to it may read (roles, facilities, scopes), narrowed to the
// patient by patient/ scopes. Every launch is audited.
func (p *Provider) launch(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	pr, s, ok := p.bearer(w, r)
	if !ok {
		return
	}
	form, e := readForm(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	patient := strings.TrimPrefix(strings.TrimSpace(form.Get("patient")), "Patient/")
	if !fhirID.MatchString(patient) {
		writeError(w, badRequest("invalid_request", "patient must be the id of a Patient"))
		return
	}
	encounter := strings.TrimPrefix(strings.TrimSpace(form.Get("encounter")), "Encounter/")
	if encounter != "" && !fhirID.MatchString(encounter) {
		writeError(w, badRequest("invalid_request", "encounter must be the id of an Encounter"))
		return
	}
	now := p.now()
	token := randomToken()
	lc := &launchContext{patient: patient, encounter: encounter, by: pr.String(), expires: now.Add(launchTTL)}
	if !p.st.addLaunch(hashOf(token), lc, now) {
		writeError(w, unavailable("too many launches waiting: try again shortly"))
		return
	}
	desc := "EHR launch for Patient/" + patient
	if encounter != "" {
		desc += ", Encounter/" + encounter
	}
	ev := &audit.Event{
		Type: audit.Rest, Interaction: string(karte.InteractionOperation), Outcome: audit.Success,
		OutcomeDesc: desc,
		Patients:    []string{"Patient/" + patient},
		Client:      &audit.Client{ID: pr.Login},
	}
	if s != nil {
		ev.User, ev.Client.ID = auditUser(s.user, pr.Roles), s.clientID
	}
	if err := p.record(r, ev); err != nil {
		writeError(w, unavailable("the audit trail is not available"))
		return
	}
	writeJSON(w, http.StatusOK, launchResponse{Launch: token, ExpiresIn: int(launchTTL.Seconds())})
}
