package oauth

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"kartehub/internal/account"
	"kartehub/internal/audit"
	"kartehub/internal/authz"
	"kartehub/internal/karte"
)

// The steps of a login, each a page with a form.
const (
	stepLogin    = "login"    // login name, password, code
	stepPassword = "password" // a one-time password must be changed
	stepTOTP     = "totp"     // an authenticator must be enrolled
)

// Bounds of the authorization request's parameters.
const (
	maxState = 1024
	maxNonce = 512
	maxField = 1024
)

var challengePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// authorize serves the authorization endpoint: a new authorization
// request (GET, or POST of its parameters), or a post of a login form.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			p.errorPage(w, http.StatusBadRequest, msgBadForm)
			return
		}
		if r.PostForm.Has("step") {
			p.loginStep(w, r, r.PostForm)
			return
		}
		p.startAuthorization(w, r, r.PostForm)
		return
	}
	p.startAuthorization(w, r, r.URL.Query())
}

// startAuthorization checks an authorization request (RFC 6749 4.1.1, RFC
// 7636, SMART) and shows the login page. Until the client and its
// redirect URI are known to be right, errors are shown as a page, never
// sent to the redirect URI (RFC 6749 4.1.2.1).
func (p *Provider) startAuthorization(w http.ResponseWriter, r *http.Request, q url.Values) {
	a := p.apps[q.Get("client_id")]
	if a == nil || len(q["client_id"]) > 1 {
		p.errorPage(w, http.StatusBadRequest, msgUnknownApp)
		return
	}
	redirect := q.Get("redirect_uri")
	if len(q["redirect_uri"]) > 1 || !slices.Contains(a.RedirectURIs, redirect) {
		p.errorPage(w, http.StatusBadRequest, msgBadRedirect)
		return
	}
	st := q.Get("state")
	if len(st) > maxState {
		st = ""
	}
	req, code, desc := p.checkAuthorization(a, redirect, q)
	if code != "" {
		p.redirectError(w, r, redirect, st, code, desc)
		return
	}
	now := p.now()
	req.id, req.csrf, req.expires, req.step = randomToken(), randomToken(), now.Add(requestTTL), stepLogin
	req.browser = hashOf(p.browserCookie(w, r))
	if !p.st.addRequest(req, now) {
		p.errorPage(w, http.StatusServiceUnavailable, msgBusy)
		return
	}
	p.showStep(w, req, "", "")
}

// checkAuthorization checks the parameters of a request from app a whose
// redirect URI is right, and returns the login to start, or an error code
// and description for the redirect URI.
func (p *Provider) checkAuthorization(a *app, redirect string, q url.Values) (*authRequest, string, string) {
	if name := repeated(q); name != "" {
		return nil, "invalid_request", "the parameter " + name + " is given more than once"
	}
	switch {
	case q.Get("response_type") != "code":
		return nil, "unsupported_response_type", "response_type must be code"
	case len(q.Get("state")) > maxState:
		return nil, "invalid_request", fmt.Sprintf("state is longer than %d bytes", maxState)
	case len(q.Get("nonce")) > maxNonce:
		return nil, "invalid_request", fmt.Sprintf("nonce is longer than %d bytes", maxNonce)
	case q.Get("code_challenge") == "":
		return nil, "invalid_request", "PKCE is required: code_challenge with code_challenge_method S256"
	case q.Get("code_challenge_method") != "S256":
		return nil, "invalid_request", "code_challenge_method must be S256 (plain is not accepted)"
	case !challengePattern.MatchString(q.Get("code_challenge")):
		return nil, "invalid_request", "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)"
	case q.Has("aud") && strings.TrimSuffix(q.Get("aud"), "/") != p.audience:
		return nil, "invalid_request", "aud must be the FHIR base URL of this server, " + p.audience
	case q.Has("request") || q.Has("request_uri"):
		return nil, "request_not_supported", "request objects are not supported"
	case slices.Contains(strings.Fields(q.Get("prompt")), "none"):
		return nil, "login_required", "there is no session to use without a login"
	}
	requested, err := authz.ParseScopes(q.Get("scope"))
	if err != nil {
		return nil, "invalid_scope", err.Error()
	}
	var scope []karte.Scope
	for _, s := range requested {
		if covers(a.scopes, s) {
			scope = append(scope, s)
		}
	}
	if len(scope) == 0 {
		return nil, "invalid_scope", "none of the scopes asked for may be granted to this app"
	}
	var launch *launchContext
	if q.Has("launch") {
		if !slices.ContainsFunc(scope, func(s karte.Scope) bool { return s.Raw == "launch" }) {
			return nil, "invalid_scope", "an EHR launch needs the scope launch, allowed to the app"
		}
		if launch = p.st.takeLaunch(hashOf(q.Get("launch")), p.now()); launch == nil {
			return nil, "invalid_request", "the launch is unknown, used or expired: launch the app from the EHR again"
		}
	}
	return &authRequest{
		launch:      launch,
		app:         a,
		redirectURI: redirect,
		state:       q.Get("state"),
		nonce:       q.Get("nonce"),
		challenge:   q.Get("code_challenge"),
		scope:       scope,
	}, "", ""
}

// covers reports whether one of the allowed scopes covers s: the same
// scope, or a resource scope of the same context on the same type or *,
// with at least its permissions and no other query.
func covers(allowed []karte.Scope, s karte.Scope) bool {
	for _, a := range allowed {
		switch {
		case a.Level != s.Level:
		case s.Level == karte.ScopeOther:
			if a.Raw == s.Raw {
				return true
			}
		case (a.Type == "*" || a.Type == s.Type) && a.Perms.Has(s.Perms) && (a.Query == "" || a.Query == s.Query):
			return true
		}
	}
	return false
}

// grantFor returns the scopes granted for a login with the patient and
// the encounter in context ("" for none), launched from an EHR or not.
// launch is granted only to an EHR launch, and launch/encounter only with
// an encounter, which only an EHR launch gives. Without a patient, neither
// launch/patient nor patient/ scopes are granted, which would allow
// nothing.
func grantFor(scope []karte.Scope, patient, encounter string, launched bool) []karte.Scope {
	var out []karte.Scope
	for _, s := range scope {
		switch {
		case s.Raw == "launch" && !launched, s.Raw == "launch/encounter" && encounter == "":
		case patient == "" && (s.Raw == "launch/patient" || s.Level == karte.ScopePatient):
		default:
			out = append(out, s)
		}
	}
	return out
}

// wantsPatient reports whether the login page asks for a patient: the app
// was granted launch/patient, and no EHR launch gave one.
func (r *authRequest) wantsPatient() bool {
	return r.launch == nil && slices.ContainsFunc(r.scope, func(s karte.Scope) bool { return s.Raw == "launch/patient" })
}

// encounter is the encounter in context: an EHR launch's, if it gave one.
func (r *authRequest) encounter() string {
	if r.launch == nil {
		return ""
	}
	return r.launch.encounter
}

// contextPatient is the patient in context: the EHR launch's, or the one
// typed into the login form f if the page asked for one.
func (r *authRequest) contextPatient(f url.Values) (patient string, ok bool) {
	if r.launch != nil {
		return r.launch.patient, true
	}
	if !r.wantsPatient() {
		return "", true
	}
	patient = strings.TrimPrefix(strings.TrimSpace(f.Get("patient")), "Patient/")
	return patient, patient == "" || fhirID.MatchString(patient)
}

// redirectError sends an error to the app's (checked) redirect URI.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, redirect, state, code, desc string) {
	v := url.Values{"error": {code}, "error_description": {desc}, "iss": {p.issuer}}
	if state != "" {
		v.Set("state", state)
	}
	p.redirect(w, r, redirect, v)
}

// redirect sends the browser to the redirect URI with the parameters v
// added to its query.
func (p *Provider) redirect(w http.ResponseWriter, r *http.Request, redirect string, v url.Values) {
	u, _ := url.Parse(redirect) // checked at New
	if u.RawQuery != "" {
		u.RawQuery += "&" + v.Encode()
	} else {
		u.RawQuery = v.Encode()
	}
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// browserCookie returns the value of the browser's login cookie, setting
// a new one if it has none. A login in progress is bound to it, so that a
// form cannot be posted from another browser (login CSRF).
func (p *Provider) browserCookie(w http.ResponseWriter, r *http.Request) string {
	name := p.cookieName()
	if c, err := r.Cookie(name); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	v := randomToken()
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: v, Path: "/", HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode,
	})
	return v
}

func (p *Provider) cookieName() string {
	if p.secure {
		return "__Host-kartehub-login"
	}
	return "kartehub-login"
}

// loginStep handles the post of a login form.
func (p *Provider) loginStep(w http.ResponseWriter, r *http.Request, f url.Values) {
	if repeated(f) != "" {
		p.errorPage(w, http.StatusBadRequest, msgBadForm)
		return
	}
	req := p.st.request(f.Get("request"), p.now())
	if req == nil {
		p.errorPage(w, http.StatusBadRequest, msgExpired)
		return
	}
	req.mu.Lock()
	defer req.mu.Unlock()
	c, err := r.Cookie(p.cookieName())
	if err != nil || hashOf(c.Value) != req.browser ||
		subtle.ConstantTimeCompare([]byte(f.Get("csrf")), []byte(req.csrf)) != 1 {
		p.errorPage(w, http.StatusForbidden, msgForeignForm)
		return
	}
	if req.posts++; req.posts > maxFormPosts {
		p.st.dropRequest(req.id)
		p.errorPage(w, http.StatusBadRequest, msgTooManyPosts)
		return
	}
	if f.Get("step") != req.step {
		p.showStep(w, req, "", "")
		return
	}
	switch req.step {
	case stepLogin:
		p.stepLogin(w, r, req, f)
	case stepPassword:
		p.stepPassword(w, r, req, f)
	case stepTOTP:
		p.stepTOTP(w, r, req, f)
	}
}

var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// stepLogin checks the login name, password and code.
func (p *Provider) stepLogin(w http.ResponseWriter, r *http.Request, req *authRequest, f url.Values) {
	name := strings.TrimSpace(f.Get("login"))
	if len(name) > maxField {
		name = name[:maxField]
	}
	req.lastName = name
	patient, ok := req.contextPatient(f)
	if !ok {
		p.showStep(w, req, msgBadPatient, "")
		return
	}
	if len(grantFor(req.scope, patient, req.encounter(), req.launch != nil)) == 0 {
		p.showStep(w, req, msgNeedPatient, "")
		return
	}
	l, err := p.accounts.Authenticate(r.Context(), name, f.Get("password"), f.Get("code"))
	if err != nil {
		p.loginFailed(w, r, req, name, err)
		return
	}
	if l.Restricted() {
		p.restrictedLogin(w, r, req, l)
		return
	}
	p.finishLogin(w, r, req, l, patient)
}

// loginFailed audits a failed login and shows the form again, with the
// same message whatever the reason.
func (p *Provider) loginFailed(w http.ResponseWriter, r *http.Request, req *authRequest, name string, err error) {
	if !karte.IsKind(err, karte.Unauthorized) {
		p.log.Error("oauth: login", "err", err)
		p.errorPage(w, http.StatusServiceUnavailable, msgLoginUnavailable)
		return
	}
	user, desc := failedUser(err, name)
	p.record(r, &audit.Event{
		Type: audit.Login, Outcome: audit.MinorFailure, OutcomeDesc: desc,
		User: user, Client: &audit.Client{ID: req.app.ClientID},
	})
	p.showStep(w, req, msgLoginFailed, "")
}

// restrictedLogin starts the set-up a login requires: a new password, an
// authenticator, or both. It opens no session: the person logs in again
// afterwards, with the new password and a code, as package account asks.
func (p *Provider) restrictedLogin(w http.ResponseWriter, r *http.Request, req *authRequest, l *account.Login) {
	var needs []string
	if l.MustChangePassword {
		needs = append(needs, "change the one-time password")
	}
	if l.MustEnrolTOTP {
		needs = append(needs, "enrol an authenticator")
	}
	if err := p.record(r, &audit.Event{
		Type: audit.Login, Outcome: audit.Success,
		OutcomeDesc: "password accepted for account set-up only (" + strings.Join(needs, ", ") + "): no session",
		User:        auditUser(userOf(l.Account, p.now()), l.Account.Roles),
		Client:      &audit.Client{ID: req.app.ClientID},
	}); err != nil {
		p.errorPage(w, http.StatusServiceUnavailable, msgLoginUnavailable)
		return
	}
	req.login = l
	if l.MustChangePassword {
		req.step = stepPassword
		p.showStep(w, req, "", "")
		return
	}
	p.beginEnrol(w, r, req)
}

// stepPassword sets the new password of a restricted login.
func (p *Provider) stepPassword(w http.ResponseWriter, r *http.Request, req *authRequest, f url.Values) {
	pw := f.Get("new_password")
	if pw != f.Get("confirm_password") {
		p.showStep(w, req, msgPasswordsDiffer, "")
		return
	}
	if err := p.accounts.SetPassword(r.Context(), req.login.Account.Login, pw); err != nil {
		if k := karte.KindOf(err); k == karte.Unprocessable || k == karte.Invalid {
			p.showStep(w, req, msgPasswordRefused+" "+err.Error(), "")
			return
		}
		p.log.Error("oauth: set password", "err", err)
		p.errorPage(w, http.StatusServiceUnavailable, msgLoginUnavailable)
		return
	}
	req.login.MustChangePassword = false
	if req.login.MustEnrolTOTP {
		p.beginEnrol(w, r, req)
		return
	}
	req.login, req.step = nil, stepLogin
	p.showStep(w, req, "", msgPasswordChanged)
}

// beginEnrol makes a TOTP secret for the restricted login and shows it.
func (p *Provider) beginEnrol(w http.ResponseWriter, r *http.Request, req *authRequest) {
	en, err := p.accounts.BeginTOTP(r.Context(), req.login.Account.Login)
	if err != nil {
		p.log.Error("oauth: begin TOTP enrolment", "err", err)
		p.errorPage(w, http.StatusServiceUnavailable, msgLoginUnavailable)
		return
	}
	req.enrol, req.step = en, stepTOTP
	p.showStep(w, req, "", "")
}

// stepTOTP confirms the enrolment with a code from the authenticator.
func (p *Provider) stepTOTP(w http.ResponseWriter, r *http.Request, req *authRequest, f url.Values) {
	if err := p.accounts.ConfirmTOTP(r.Context(), req.login.Account.Login, f.Get("code")); err != nil {
		if karte.IsKind(err, karte.Unprocessable) {
			p.showStep(w, req, msgBadCode, "")
			return
		}
		p.log.Error("oauth: confirm TOTP", "err", err)
		p.errorPage(w, http.StatusServiceUnavailable, msgLoginUnavailable)
		return
	}
	req.login, req.enrol, req.step = nil, nil, stepLogin
	p.showStep(w, req, "", msgEnrolled)
}

// finishLogin issues the authorization code of a full login and sends the
// browser back to the app.
func (p *Provider) finishLogin(w http.ResponseWriter, r *http.Request, req *authRequest, l *account.Login, patient string) {
	now := p.now()
	code := randomToken()
	h := hashOf(code)
	g := &codeGrant{
		expires:     now.Add(codeTTL),
		clientID:    req.app.ClientID,
		redirectURI: req.redirectURI,
		challenge:   req.challenge,
		user:        userOf(l.Account, now),
		scope:       joinScopes(grantFor(req.scope, patient, req.encounter(), req.launch != nil)),
		patient:     patient,
		encounter:   req.encounter(),
		nonce:       req.nonce,
	}
	if !p.st.addCode(h, g, now) {
		p.errorPage(w, http.StatusServiceUnavailable, msgBusy)
		return
	}
	factors := "password only"
	if l.UsedTOTP {
		factors = "password and TOTP code"
	}
	if err := p.record(r, &audit.Event{
		Type: audit.Login, Outcome: audit.Success,
		OutcomeDesc: fmt.Sprintf("login to app %q (%s), scope %s", req.app.ClientID, factors, g.scope),
		User:        auditUser(g.user, l.Account.Roles),
		Client:      &audit.Client{ID: req.app.ClientID},
	}); err != nil {
		p.st.dropCode(h)
		p.errorPage(w, http.StatusServiceUnavailable, msgLoginUnavailable)
		return
	}
	p.st.dropRequest(req.id)
	p.redirect(w, r, req.redirectURI, url.Values{"code": {code}, "state": nonEmpty(req.state), "iss": {p.issuer}})
}

// nonEmpty is a parameter's values: none for an empty string.
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
