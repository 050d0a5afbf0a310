package emulator

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Identity constants, as Microsoft's services use them.
const (
	// ChannelIssuer is the iss of tokens on activities sent to the bot.
	ChannelIssuer = "https://api.botframework.com"
	// ConnectorAudience is the aud of the tokens the bot presents to the
	// Connector, and the resource of the token request's scope.
	ConnectorAudience = "https://api.botframework.com"
	// BotFrameworkTenantID is the id of the botframework.com tenant that
	// issues multi-tenant bots' tokens.
	BotFrameworkTenantID = "d6d49420-f39b-4df7-a1dc-d59a935871db"
	tokenLifetime        = time.Hour
	clockSkew            = 5 * time.Minute
)

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

// oauthError is an Entra error answer.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes,omitempty"`
	Timestamp   string `json:"timestamp"`
}

// tenantGUID maps the tenant segment of a token URL to a tenant id: the
// botframework.com tenant, or a tenant of the emulator.
func (e *Emulator) tenantGUID(segment string) (string, bool) {
	if strings.EqualFold(segment, "botframework.com") {
		return BotFrameworkTenantID, true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if segment == BotFrameworkTenantID {
		return segment, true
	}
	for _, id := range e.tenantOrder {
		t := e.tenants[id]
		if strings.EqualFold(id, segment) || strings.EqualFold(t.domain, segment) {
			return id, true
		}
	}
	return "", false
}

// handleToken is the client-credentials grant: POST /{tenant}/oauth2/v2.0/token.
func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request) {
	e.stats.count("token", "")
	if e.applyFaults(w, r, "token", "") {
		return
	}
	now := e.now()
	fail := func(status int, code, desc string, aadsts int) {
		e.stats.errorCode(code)
		writeJSON(w, status, oauthError{Error: code, Description: fmt.Sprintf("AADSTS%d: %s", aadsts, desc),
			Codes: []int{aadsts}, Timestamp: now.UTC().Format("2006-01-02 15:04:05Z")})
	}
	tid, ok := e.tenantGUID(r.PathValue("tenant"))
	if !ok {
		fail(http.StatusBadRequest, "invalid_request", "Tenant '"+r.PathValue("tenant")+"' not found.", 90002)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", "The request body must contain form parameters.", 900144)
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if bid, bsecret, ok := r.BasicAuth(); ok {
		id, secret = bid, bsecret
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		fail(http.StatusBadRequest, "unsupported_grant_type", "The grant type is not supported by the emulator: only client_credentials is.", 70003)
		return
	case id != e.cfg.AppID:
		fail(http.StatusUnauthorized, "invalid_client", "Application with identifier '"+id+"' was not found in the directory.", 700016)
		return
	case subtle.ConstantTimeCompare([]byte(secret), []byte(e.cfg.AppSecret)) != 1:
		fail(http.StatusUnauthorized, "invalid_client", "Invalid client secret provided.", 7000215)
		return
	}
	resource, ok := scopeResource(r.PostForm.Get("scope"))
	if !ok {
		fail(http.StatusBadRequest, "invalid_scope", "The provided value for scope "+r.PostForm.Get("scope")+" is not valid: use "+ConnectorAudience+"/.default or "+GraphAudience+"/.default.", 1002012)
		return
	}
	issuer := "https://sts.windows.net/" + tid + "/"
	claims := jwt.MapClaims{
		"aud": ConnectorAudience, "iss": issuer, "idp": issuer,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(tokenLifetime).Unix(),
		"appid": e.cfg.AppID, "appidacr": "1", "tid": tid, "ver": "1.0",
		"oid": e.servicePrincipal(), "sub": e.servicePrincipal(),
	}
	if resource == GraphAudience {
		if oe := e.graphTokenClaims(tid, claims); oe != nil {
			e.stats.errorCode(oe.Error)
			oe.Timestamp = now.UTC().Format("2006-01-02 15:04:05Z")
			writeJSON(w, http.StatusBadRequest, oe)
			return
		}
	}
	tok := e.keys.signer().sign(claims)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{TokenType: "Bearer", ExpiresIn: int(tokenLifetime.Seconds()),
		ExtExpiresIn: int(tokenLifetime.Seconds()), AccessToken: tok})
}

// servicePrincipal is the bot's service principal object id, stable per app id.
func (e *Emulator) servicePrincipal() string {
	b := seededIDs("sp:" + e.cfg.AppID).bytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatGUID(b)
}

// handleEntraMetadata serves MSAL-style OpenID metadata:
// GET /{tenant}/v2.0/.well-known/openid-configuration.
func (e *Emulator) handleEntraMetadata(w http.ResponseWriter, r *http.Request) {
	seg := r.PathValue("tenant")
	tid, ok := e.tenantGUID(seg)
	if !ok {
		writeJSON(w, http.StatusBadRequest, oauthError{Error: "invalid_tenant", Description: "AADSTS90002: Tenant '" + seg + "' not found."})
		return
	}
	base := e.BaseURL() + "/" + seg
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                "https://login.microsoftonline.com/" + tid + "/v2.0",
		"request_uri_parameter_supported":       false,
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"tenant_region_scope":                   nil,
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          "graph.microsoft.com",
	})
}

// handleChannelMetadata serves GET /v1/.well-known/openidconfiguration.
func (e *Emulator) handleChannelMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                ChannelIssuer,
		"authorization_endpoint":                "https://invalid.botframework.com",
		"jwks_uri":                              e.KeysURL(),
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

// handleKeys serves the JWKS, with endorsements: GET /v1/.well-known/keys
// (and the Entra discovery keys).
func (e *Emulator) handleKeys(w http.ResponseWriter, _ *http.Request) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	for _, k := range e.keys.published() {
		set.Keys = append(set.Keys, k.jwk())
	}
	writeJSON(w, http.StatusOK, set)
}

// errUnauthorized is any reason a Connector request's token is refused.
var errUnauthorized = errors.New("authorization has been denied for this request")

// verifyConnectorToken checks a Connector request's bearer token: RS256 by
// a published key, audience the Bot Framework, issued for the bot's app id,
// and in date (with 5 minutes of skew).
func (e *Emulator) verifyConnectorToken(r *http.Request) error {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return fmt.Errorf("%w: no bearer token", errUnauthorized)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k := e.keys.lookup(kid)
		if k == nil {
			return nil, fmt.Errorf("unknown key %q", kid)
		}
		return &k.priv.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(ConnectorAudience),
		jwt.WithLeeway(clockSkew), jwt.WithTimeFunc(e.now), jwt.WithExpirationRequired())
	if err != nil {
		return fmt.Errorf("%w: %w", errUnauthorized, err)
	}
	appID, _ := claims["appid"].(string)
	if appID == "" {
		appID, _ = claims["azp"].(string)
	}
	if appID != e.cfg.AppID {
		return fmt.Errorf("%w: token is for app %q", errUnauthorized, appID)
	}
	iss, _ := claims["iss"].(string)
	if !slices.ContainsFunc([]string{"https://sts.windows.net/", "https://login.microsoftonline.com/"},
		func(p string) bool { return strings.HasPrefix(iss, p) }) {
		return fmt.Errorf("%w: issuer %q", errUnauthorized, iss)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
