package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// clientTokens gets access tokens for an API client the way SMART Backend
// Services clients do: the token endpoint from the server's
// .well-known/smart-configuration, then the client_credentials grant with
// the client's secret. It keeps a token until shortly before it expires,
// so that a long import renews its token as it goes.
type clientTokens struct {
	base, id, secret, scope string
	http                    *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Token returns a valid access token.
func (ct *clientTokens) Token(ctx context.Context) (string, error) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.token != "" && time.Until(ct.expires) > 30*time.Second {
		return ct.token, nil
	}
	endpoint, err := ct.tokenEndpoint(ctx)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {ct.scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(ct.id), url.QueryEscape(ct.secret))
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := ct.getJSON(req, &tok); err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	if tok.AccessToken == "" {
		return "", fmt.Errorf("token request refused: %s %s", tok.Error, tok.Description)
	}
	ct.token, ct.expires = tok.AccessToken, time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second)
	return ct.token, nil
}

func (ct *clientTokens) tokenEndpoint(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(ct.base, "/")+"/.well-known/smart-configuration", nil)
	if err != nil {
		return "", err
	}
	var conf struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := ct.getJSON(req, &conf); err != nil || conf.TokenEndpoint == "" {
		return "", fmt.Errorf("%s serves no SMART configuration with a token endpoint: %v", ct.base, err)
	}
	return conf.TokenEndpoint, nil
}

// getJSON sends req and decodes a JSON answer, also of an error status
// (OAuth errors are JSON with status 400 or 401).
func (ct *clientTokens) getJSON(req *http.Request, v any) error {
	c := ct.http
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
