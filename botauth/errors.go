package botauth

import "errors"

// tokenError is the type of every sentinel that means "this request's token
// is not acceptable", so that IsTokenError can recognise all of them.
type tokenError string

func (e tokenError) Error() string { return string(e) }

// Sentinel errors returned (wrapped) by [Verifier.Verify]. All except
// ErrMetadata are token errors: see [IsTokenError].
var (
	// ErrNoToken means the request carried no Authorization header or an
	// empty bearer token.
	ErrNoToken error = tokenError("no bearer token")
	// ErrNotBearer means the Authorization header uses a scheme other than
	// Bearer.
	ErrNotBearer error = tokenError("authorization scheme is not bearer")
	// ErrMalformed means the token is not a well-formed JWT or lacks a
	// required claim, or a claim has the wrong type.
	ErrMalformed error = tokenError("malformed token")
	// ErrAlgorithm means the token is signed with an algorithm other than
	// RS256 (including "none" and HMAC).
	ErrAlgorithm error = tokenError("signing algorithm not allowed")
	// ErrUnknownKey means no published signing key has the token's key id.
	ErrUnknownKey error = tokenError("unknown signing key")
	// ErrSignature means the signature does not verify under the key named
	// by the token.
	ErrSignature error = tokenError("invalid signature")
	// ErrExpired means the token expired longer ago than the allowed skew.
	ErrExpired error = tokenError("token expired")
	// ErrNotYetValid means the token's nbf lies further in the future than
	// the allowed skew.
	ErrNotYetValid error = tokenError("token not yet valid")
	// ErrIssuer means the iss claim is not the expected issuer.
	ErrIssuer error = tokenError("wrong issuer")
	// ErrAudience means the aud claim is not the bot's app id.
	ErrAudience error = tokenError("wrong audience")
	// ErrNoServiceURL means the token has no serviceurl claim.
	ErrNoServiceURL error = tokenError("no serviceurl claim")
	// ErrServiceURLMismatch means the serviceurl claim differs from the
	// activity's serviceUrl.
	ErrServiceURLMismatch error = tokenError("serviceurl claim does not match activity")
	// ErrEndorsement means the signing key is endorsed for channels that do
	// not include the activity's channel.
	ErrEndorsement error = tokenError("signing key not endorsed for channel")
)

// ErrMetadata means the OpenID metadata or the signing keys could not be
// fetched or understood. It says nothing about the token: answer 503, not
// 401. It is not a token error.
var ErrMetadata = errors.New("signing keys unavailable")

// IsTokenError reports whether err means the token itself was refused (an
// HTTP 401 case), as opposed to a failure to obtain the signing keys
// ([ErrMetadata], a 503 case) or any other error.
func IsTokenError(err error) bool {
	var te tokenError
	return errors.As(err, &te) && !errors.Is(err, ErrMetadata)
}
