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
// unnoticed. token_endpoint_auth_method is "none" (the default: a public
// app) or "private_key_jwt" (a confidential app), which needs "jwks", the
// app's public keys as a JSON Web Key Set. ReadApps checks the form;
// Provider checks each app's content when it starts (Config.Apps).
func ReadApps(r io.Reader) ([]App, error) {
	var list []struct {
		ClientID               string          `json:"client_id"`
		ClientName             string          `json:"client_name"`
		RedirectURIs           []string        `json:"redirect_uris"`
		PostLogoutRedirectURIs []string        `json:"post_logout_redirect_uris"`
		Scope                  string          `json:"scope"`
		TokenEndpointAuth      string          `json:"token_endpoint_auth_method"`
		JWKS                   json.RawMessage `json:"jwks"`
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
		apps[i] = App{ClientID: a.ClientID, Name: a.ClientName, RedirectURIs: a.RedirectURIs,
			PostLogoutRedirectURIs: a.PostLogoutRedirectURIs, Scope: a.Scope}
		switch a.TokenEndpointAuth {
		case "", "none":
			if a.JWKS != nil {
				return nil, fmt.Errorf("apps: app %q: jwks is for a confidential app: give token_endpoint_auth_method \"private_key_jwt\" too", a.ClientID)
			}
		case "private_key_jwt":
			if len(a.JWKS) == 0 || string(a.JWKS) == "null" {
				return nil, fmt.Errorf("apps: app %q: private_key_jwt needs jwks, the app's public keys", a.ClientID)
			}
			apps[i].JWKS = a.JWKS
		default:
			return nil, fmt.Errorf("apps: app %q: token_endpoint_auth_method %q: an app is public (\"none\", with PKCE) or confidential with its keys (\"private_key_jwt\" and jwks); client secrets are for registered systems (kartehub admin client)",
				a.ClientID, a.TokenEndpointAuth)
		}
	}
	return apps, nil
}
