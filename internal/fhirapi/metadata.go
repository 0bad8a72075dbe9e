package fhirapi

import (
	"net/http"

	"kartehub/internal/fhir"
	"kartehub/internal/record"
)

// Version is the kartehub release reported in the CapabilityStatement.
var Version = "0.1.0-dev"

// metadata serves the CapabilityStatement. It states only what this server
// does: every entry below is backed by a handler and a test.
func (h *Handler) metadata(w http.ResponseWriter, r *http.Request) {
	cs := &fhir.Object{}
	cs.Set("resourceType", "CapabilityStatement")
	cs.Set("status", "active")
	cs.Set("date", record.FormatInstant(h.start))
	cs.Set("publisher", "kartehub")
	cs.Set("kind", "instance")
	cs.Set("software", obj("name", "kartehub", "version", Version))
	cs.Set("implementation", obj("description", "kartehub clinical data hub", "url", h.baseURL(r)))
	cs.Set("fhirVersion", "4.0.1")
	cs.Set("format", []fhir.Value{"application/fhir+json", "json"})
	cs.Set("patchFormat", []fhir.Value{"application/json-patch+json"})
	rest := &fhir.Object{}
	rest.Set("mode", "server")
	rest.Set("resource", resourceCapabilities())
	rest.Set("interaction", interactions("transaction", "batch", "history-system"))
	if h.OAuth != nil {
		rest.Set("security", h.security())
	}
	cs.Set("rest", []fhir.Value{rest})
	WriteJSON(w, r, http.StatusOK, cs)
}

// OAuthURIs are the endpoints of the OAuth server that guards the API,
// announced in the CapabilityStatement as SMART on FHIR asks.
type OAuthURIs struct {
	Authorize, Token, Revoke string
}

// security is the CapabilityStatement's rest.security: SMART on FHIR, with
// the oauth-uris extension.
func (h *Handler) security() *fhir.Object {
	uris := &fhir.Object{}
	uris.Set("url", "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris")
	var ext []fhir.Value
	for _, e := range [][2]string{{"authorize", h.OAuth.Authorize}, {"token", h.OAuth.Token}, {"revoke", h.OAuth.Revoke}} {
		if e[1] != "" {
			ext = append(ext, obj("url", e[0], "valueUri", e[1]))
		}
	}
	uris.Set("extension", ext)
	service := &fhir.Object{}
	service.Set("coding", []fhir.Value{obj("system", "http://terminology.hl7.org/CodeSystem/restful-security-service", "code", "SMART-on-FHIR")})
	service.Set("text", "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)")
	sec := &fhir.Object{}
	sec.Set("cors", false)
	sec.Set("service", []fhir.Value{service})
	sec.Set("extension", []fhir.Value{uris})
	return sec
}

func resourceCapabilities() []fhir.Value {
	types := fhir.ResourceTypes()
	list := make([]fhir.Value, len(types))
	for i, t := range types {
		rc := &fhir.Object{}
		rc.Set("type", t)
		rc.Set("interaction", interactions("read", "vread", "update", "patch", "delete",
			"history-instance", "history-type", "create"))
		rc.Set("versioning", "versioned-update")
		rc.Set("readHistory", true)
		rc.Set("updateCreate", true)
		rc.Set("conditionalCreate", true)
		rc.Set("conditionalRead", "full-support")
		rc.Set("conditionalUpdate", true)
		rc.Set("conditionalDelete", "single")
		rc.Set("referencePolicy", []fhir.Value{"literal", "local"})
		list[i] = rc
	}
	return list
}

func interactions(codes ...string) []fhir.Value {
	list := make([]fhir.Value, len(codes))
	for i, c := range codes {
		list[i] = obj("code", c)
	}
	return list
}

// obj builds an object from alternating keys and string values.
func obj(kv ...string) *fhir.Object {
	o := &fhir.Object{}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i], kv[i+1])
	}
	return o
}
