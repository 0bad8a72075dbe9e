package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ReadApps reads the apps of an apps file: a JSON array of the apps'
// client metadata, named as in OAuth 2.0 Dynamic Client Registration
// (RFC 7591) and OpenID Connect RP-Initiated Logout:
//
//	[{"client_id": "jp.example.viewer", "client_name": "画像ビューア",
//	  "redirect_uris": ["https://viewer.example.jp/callback"],
//	  "post_logout_redirect_uris": ["https://viewer.example.jp/"],
//	  "scope": "openid fhirUser launch launch/patient patient/*.rs"}]
//
// Unknown members are refused, so that a misspelt one does not go
// unnoticed. Apps are public clients: token_endpoint_auth_method may be
// given, as "none" only. ReadApps checks the form; Provider checks each
// app's content when it starts (Config.Apps).
func ReadApps(r io.Reader) ([]App, error) {
	var list []struct {
		ClientID               string   `json:"client_id"`
		ClientName             string   `json:"client_name"`
		RedirectURIs           []string `json:"redirect_uris"`
		PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
		Scope                  string   `json:"scope"`
		TokenEndpointAuth      string   `json:"token_endpoint_auth_method"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("apps: %w", err)
	}
	if err := dec.Decode(&json.RawMessage{}); err != io.EOF {
		return nil, errors.New("apps: more than one JSON value; want one array of apps")
	}
	apps := make([]App, len(list))
	for i, a := range list {
		if a.TokenEndpointAuth != "" && a.TokenEndpointAuth != "none" {
			return nil, fmt.Errorf("apps: app %q: token_endpoint_auth_method %q: apps are public clients (\"none\", with PKCE); a system that keeps a secret is registered with kartehub admin client",
				a.ClientID, a.TokenEndpointAuth)
		}
		apps[i] = App{ClientID: a.ClientID, Name: a.ClientName, RedirectURIs: a.RedirectURIs,
			PostLogoutRedirectURIs: a.PostLogoutRedirectURIs, Scope: a.Scope}
	}
	return apps, nil
}
