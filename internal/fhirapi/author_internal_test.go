package fhirapi

import (
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
)

// TestAuthorExtension renders each kind of author as a history entry's
// request extension, and none for a version without one.
func TestAuthorExtension(t *testing.T) {
	for _, tc := range []struct {
		name   string
		author karte.Author
		want   string
	}{
		{"none", karte.Author{}, ""},
		{"user through an app", karte.Author{Kind: karte.AuthorUser, ID: "sato", Person: "Practitioner/dr-sato", Name: "佐藤 花子", App: "bedside"},
			`{"url":"urn:kartehub:StructureDefinition:version-author","extension":[` +
				`{"url":"who","valueReference":{"reference":"Practitioner/dr-sato","identifier":{"system":"urn:kartehub:account","value":"sato"},"display":"佐藤 花子"}},` +
				`{"url":"app","valueString":"bedside"}]}`},
		{"client", karte.Author{Kind: karte.AuthorClient, ID: "c-lab", Name: "lab gateway"},
			`{"url":"urn:kartehub:StructureDefinition:version-author","extension":[` +
				`{"url":"who","valueReference":{"identifier":{"system":"urn:kartehub:client","value":"c-lab"},"display":"lab gateway"}}]}`},
		{"process", karte.Author{Kind: karte.AuthorProcess, ID: "kartehub import"},
			`{"url":"urn:kartehub:StructureDefinition:version-author","extension":[` +
				`{"url":"who","valueReference":{"identifier":{"system":"urn:kartehub:process","value":"kartehub import"}}}]}`},
	} {
		ext := authorExtension(tc.author)
		got := ""
		if ext != nil {
			got = string(fhir.Append(nil, ext))
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}
