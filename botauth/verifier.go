package botauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"herald/botframework"
)

// Defaults of [VerifierConfig].
const (
	// DefaultMetadataURL is the Bot Framework channel OpenID metadata of the
	// public cloud.
	DefaultMetadataURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
	// DefaultIssuer is the iss of Bot Framework channel tokens.
	DefaultIssuer = "https://api.botframework.com"
	// DefaultLeeway is the clock skew allowed on exp and nbf.
	DefaultLeeway = 5 * time.Minute
	// DefaultRefreshEvery is the longest time signing keys are cached.
	DefaultRefreshEvery = 24 * time.Hour
	// DefaultMinRefetchInterval is the shortest time between two key
	// fetches.
	DefaultMinRefetchInterval = time.Minute
)

// algorithm is the only signing algorithm accepted.
const algorithm = "RS256"

// VerifierConfig configures a [Verifier]. The zero value of every optional
// field selects its default.
type VerifierConfig struct {
	// AppID is the bot's Microsoft app id, the expected aud. Required.
	AppID string
	// MetadataURL is the OpenID metadata document naming the signing keys
	// (jwks_uri); default DefaultMetadataURL.
	MetadataURL string
	// Issuer is the expected iss; default DefaultIssuer.
	Issuer string
	// HTTPClient fetches metadata and keys; default http.DefaultClient.
	// Give it a timeout: a hung fetch holds up the verifications that need
	// it (each still ends with its own context).
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Leeway is the clock skew allowed on exp and nbf; default
	// DefaultLeeway, negative means none.
	Leeway time.Duration
	// RefreshEvery is how long fetched keys are trusted before they are
	// fetched again; default DefaultRefreshEvery. If a refresh fails, the
	// old keys stay in use for at most another RefreshEvery.
	RefreshEvery time.Duration
	// MinRefetchInterval is the shortest time between two fetches, whether
	// triggered by an unknown key id, a failed fetch or expiry; default
	// DefaultMinRefetchInterval. It must not exceed RefreshEvery.
	MinRefetchInterval time.Duration
	// Logger receives key refresh events; default discards. Tokens are
	// never logged.
	Logger *slog.Logger
}

// Verifier checks the JWTs the Bot Framework channel service sends with
// inbound activities. It is safe for concurrent use.
type Verifier struct {
	appID  string
	issuer string
	leeway time.Duration
	now    func() time.Time
	parser *jwt.Parser
	keys   *keySet
}

// Identity is what a verified token says about its sender.
type Identity struct {
	// AppID is the audience the token was issued for: the bot's app id.
	AppID string
	// Issuer is the token's iss.
	Issuer string
	// ServiceURL is the serviceurl claim, equal to the activity's
	// serviceUrl, and so trustworthy for sending replies.
	ServiceURL string
	// KeyID is the id of the key that signed the token.
	KeyID string
	// Claims holds every claim of the token.
	Claims map[string]any
	// Expires is the token's exp.
	Expires time.Time
}

// NewVerifier validates cfg and returns a verifier. It fetches nothing until
// the first Verify.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Verifier{
		appID:  cfg.AppID,
		issuer: cfg.Issuer,
		leeway: cfg.Leeway,
		now:    cfg.Now,
		parser: jwt.NewParser(jwt.WithStrictDecoding()),
		keys: &keySet{
			metadataURL:  cfg.MetadataURL,
			client:       cfg.HTTPClient,
			logger:       cfg.Logger,
			now:          cfg.Now,
			refreshEvery: cfg.RefreshEvery,
			minRefetch:   cfg.MinRefetchInterval,
			fetching:     make(chan struct{}, 1),
		},
	}, nil
}

// defaults fills in defaults and validates, naming the bad field.
func (cfg *VerifierConfig) defaults() error {
	if cfg.AppID == "" {
		return errors.New("verifier config: AppID is required")
	}
	if cfg.MetadataURL == "" {
		cfg.MetadataURL = DefaultMetadataURL
	}
	if u, err := url.Parse(cfg.MetadataURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("verifier config: MetadataURL %q is not an http(s) URL", cfg.MetadataURL)
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	}
	if cfg.RefreshEvery == 0 {
		cfg.RefreshEvery = DefaultRefreshEvery
	}
	if cfg.RefreshEvery < 0 {
		return fmt.Errorf("verifier config: RefreshEvery %v is negative", cfg.RefreshEvery)
	}
	if cfg.MinRefetchInterval == 0 {
		cfg.MinRefetchInterval = min(DefaultMinRefetchInterval, cfg.RefreshEvery)
	}
	if cfg.MinRefetchInterval < 0 || cfg.MinRefetchInterval > cfg.RefreshEvery {
		return fmt.Errorf("verifier config: MinRefetchInterval %v is not between 0 and RefreshEvery", cfg.MinRefetchInterval)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Verify checks the Authorization header value of a request that carried
// activity, and returns the token's identity. Every refusal wraps one of the
// token sentinels (see [IsTokenError]); a failure to obtain the signing keys
// wraps [ErrMetadata] instead.
func (v *Verifier) Verify(ctx context.Context, authorization string, activity *botframework.Activity) (*Identity, error) {
	if activity == nil {
		return nil, errors.New("verify token: nil activity")
	}
	id, err := v.verify(ctx, authorization, activity)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	return id, nil
}

func (v *Verifier) verify(ctx context.Context, authorization string, activity *botframework.Activity) (*Identity, error) {
	raw, err := bearer(authorization)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	tok, parts, err := v.parser.ParseUnverified(raw, claims)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenUnverifiable) {
			// Header and claims decoded, but alg is absent or unknown.
			return nil, fmt.Errorf("%w: %q", ErrAlgorithm, botframework.Clip(fmt.Sprint(tok.Header["alg"]), 32))
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if alg, _ := tok.Header["alg"].(string); alg != algorithm {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, botframework.Clip(alg, 32))
	}
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		return nil, fmt.Errorf("%w: token names no kid", ErrUnknownKey)
	}
	key, err := v.keys.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if err := jwt.SigningMethodRS256.Verify(parts[0]+"."+parts[1], tok.Signature, key.pub); err != nil {
		return nil, fmt.Errorf("%w: key %q", ErrSignature, botframework.Clip(kid, 64))
	}
	id, err := v.checkClaims(claims, activity)
	if err != nil {
		return nil, err
	}
	if len(key.endorsements) > 0 && !slices.Contains(key.endorsements, activity.ChannelID) {
		return nil, fmt.Errorf("%w: key %q, channel %q", ErrEndorsement, botframework.Clip(kid, 64), botframework.Clip(activity.ChannelID, 64))
	}
	id.KeyID = kid
	return id, nil
}

// bearer extracts the token from an Authorization header value. The scheme
// is matched case-insensitively (RFC 9110).
func bearer(authorization string) (string, error) {
	authorization = strings.TrimSpace(authorization)
	if authorization == "" {
		return "", ErrNoToken
	}
	scheme, token, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// The scheme is not quoted back: it may be a bare token.
		return "", ErrNotBearer
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", ErrNoToken
	}
	return token, nil
}

// checkClaims applies the time, issuer, audience and serviceurl rules to the
// claims of a token whose signature has been verified.
func (v *Verifier) checkClaims(claims jwt.MapClaims, activity *botframework.Activity) (*Identity, error) {
	now := v.now()
	exp, err := claims.GetExpirationTime()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if exp == nil {
		return nil, fmt.Errorf("%w: no exp claim", ErrMalformed)
	}
	if now.After(exp.Add(v.leeway)) {
		return nil, fmt.Errorf("%w: at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	nbf, err := claims.GetNotBefore()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if nbf != nil && now.Before(nbf.Add(-v.leeway)) {
		return nil, fmt.Errorf("%w: until %s", ErrNotYetValid, nbf.UTC().Format(time.RFC3339))
	}
	iss, err := claims.GetIssuer()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if iss != v.issuer {
		return nil, fmt.Errorf("%w: %q", ErrIssuer, botframework.Clip(iss, 128))
	}
	aud, err := claims.GetAudience()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !slices.Contains(aud, v.appID) {
		return nil, fmt.Errorf("%w: %q", ErrAudience, botframework.Clip(strings.Join(aud, ","), 128))
	}
	su, present := claims["serviceurl"]
	if !present {
		return nil, ErrNoServiceURL
	}
	serviceURL, ok := su.(string)
	if !ok {
		return nil, fmt.Errorf("%w: serviceurl claim is not a string", ErrMalformed)
	}
	if serviceURL == "" {
		return nil, ErrNoServiceURL
	}
	if serviceURL != activity.ServiceURL {
		return nil, fmt.Errorf("%w: claim %q, activity %q", ErrServiceURLMismatch, botframework.Clip(serviceURL, 128), botframework.Clip(activity.ServiceURL, 128))
	}
	return &Identity{
		AppID:      v.appID,
		Issuer:     iss,
		ServiceURL: serviceURL,
		Claims:     map[string]any(claims),
		Expires:    exp.Time,
	}, nil
}
