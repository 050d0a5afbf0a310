package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseErrorBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want errorBody
	}{
		{"empty", "", errorBody{}},
		{"graph", `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2026-12-01T10:00:00","request-id":"r-1","client-request-id":"c-1"}}}`,
			errorBody{code: "Authorization_RequestDenied", message: "Insufficient privileges to complete the operation.", requestID: "r-1"}},
		{"inner code", `{"error":{"code":"Forbidden","message":"App is blocked by app permission policy. TenantId: t","innerError":{"code":"AccessDenied"}}}`,
			errorBody{code: "Forbidden", innerCode: "AccessDenied", message: "App is blocked by app permission policy. TenantId: t"}},
		{"lower-case innererror", `{"error":{"code":"TooManyRequests","message":"Please retry again later.","innererror":{"code":"429"}}}`,
			errorBody{code: "TooManyRequests", innerCode: "429", message: "Please retry again later."}},
		{"string error", `{"error":"invalid_request","message":"bad"}`, errorBody{code: "invalid_request", message: "bad"}},
		{"numeric code", `{"error":{"code":412,"message":"x"}}`, errorBody{code: "412", message: "x"}},
		{"html", "<html>\n<body>Service Unavailable</body></html>", errorBody{message: "<html> <body>Service Unavailable</body></html>"}},
		{"json string", `"gateway said no"`, errorBody{message: "gateway said no"}},
		{"array", `[1,2]`, errorBody{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := parseErrorBody([]byte(tt.body)); got != tt.want {
				t.Errorf("parseErrorBody = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// graphErr builds the *Error of a canned answer.
func graphErr(status int, body string, required ...string) *Error {
	return newError("op", status, http.Header{}, []byte(body), time.Time{}, required)
}

func TestErrorKinds(t *testing.T) {
	t.Parallel()
	const missingRoles = `{"error":{"code":"Forbidden","message":"Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadForUser.All, TeamsAppInstallation.ReadWriteSelfForUser.All, TeamsAppInstallation.ReadWriteForUser.All'. Roles on the request '%s'."}}`
	tests := []struct {
		name   string
		status int
		body   string
		want   Kind
		retry  bool
	}{
		{"throttled", 429, `{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`, KindThrottled, true},
		{"unavailable", 503, ``, KindServiceUnavailable, true},
		{"bad gateway", 502, `<html>`, KindServiceUnavailable, true},
		{"gateway timeout", 504, ``, KindGatewayTimeout, true},
		{"server error", 500, `{"error":{"code":"generalException"}}`, KindServiceError, false},
		{"directory denied", 403, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`, KindPermissionMissing, false},
		{"no roles at all", 403, fmt.Sprintf(missingRoles, ""), KindConsentMissing, false},
		{"other roles", 403, fmt.Sprintf(missingRoles, "User.Read.All"), KindPermissionMissing, false},
		{"blocked by policy", 403, `{"error":{"code":"Forbidden","message":"App is blocked by app permission policy. TenantId: t, UserObjectId: u, AppId: a, AppType: Private","innerError":{"code":"AccessDenied"}}}`, KindBlockedByPolicy, false},
		{"no license", 403, `{"error":{"code":"Forbidden","message":"Failed to get license information for the user. Ensure user has a valid Office365 license assigned to them."}}`, KindLicenseMissing, false},
		{"wrong app", 403, `{"error":{"code":"Forbidden","message":"AAD App Id 'x' is not allowed to manage the Teams App ''."}}`, KindAppIdentityMismatch, false},
		{"rsc consent", 412, `{"error":{"code":"PreconditionFailed","message":"Failed to execute TeamsGraphService backend request IsUserAuthorizedToGrantGroupResourceSpecificPermissionsRequest"}}`, KindConsentMissing, false},
		{"disabled", 403, `{"error":{"code":"Forbidden","message":"The user account is disabled."}}`, KindDisabled, false},
		{"guest", 403, `{"error":{"code":"Forbidden","message":"Guest users are not allowed."}}`, KindGuestNotAllowed, false},
		{"user unknown", 404, `{"error":{"code":"NotFound","message":"User Id 'u' not found."}}`, KindNotFound, false},
		{"conflict", 409, `{"error":{"code":"Conflict","message":"App is already installed."}}`, KindConflict, false},
		{"gone", 410, `{"error":{"code":"resyncRequired","message":"Resync required."}}`, KindResyncRequired, false},
		{"sync state", 400, `{"error":{"code":"syncStateNotFound","message":"The delta token has expired."}}`, KindResyncRequired, false},
		{"dependency", 424, `{"error":{"code":"FailedDependency"}}`, KindDependencyFailed, false},
		{"unauthorized", 401, `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired."}}`, KindUnauthorized, false},
		{"forbidden", 403, `{"error":{"code":"Forbidden","message":"Nope."}}`, KindForbidden, false},
		{"bad request", 400, `{"error":{"code":"Request_BadRequest","message":"$count is not currently supported."}}`, KindBadRequest, false},
		{"request timeout is 4xx", 408, ``, KindBadRequest, false},
		{"redirect", 302, ``, KindRedirect, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := graphErr(tt.status, tt.body)
			c := Classify(fmt.Errorf("wrapped: %w", e))
			if c.Kind != tt.want || c.Retryable != tt.retry {
				t.Errorf("Classify = %+v, want %s (retryable %v); error %v", c, tt.want, tt.retry, e)
			}
		})
	}
}

func TestPermissionAdvice(t *testing.T) {
	t.Parallel()
	const teamsMsg = `{"error":{"code":"Forbidden","message":"Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadForUser.All, TeamsAppInstallation.ReadWriteSelfForUser.All'. Roles on the request '%s'."}}`
	tests := []struct {
		name      string
		err       *Error
		required  []string
		noRoles   bool
		adviceHas []string
	}{
		{"directory denied names the call's permission",
			graphErr(403, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`, PermOrganizationRead),
			[]string{PermOrganizationRead}, false, []string{"grant Herald's app the application permission Organization.Read.All", "admin"}},
		{"teams message lists the permissions",
			graphErr(403, fmt.Sprintf(teamsMsg, "User.Read.All, GroupMember.Read.All"), PermInstallForUser),
			[]string{"TeamsAppInstallation.ReadForUser.All", "TeamsAppInstallation.ReadWriteSelfForUser.All"}, false,
			[]string{"one of the application permissions TeamsAppInstallation.ReadForUser.All, TeamsAppInstallation.ReadWriteSelfForUser.All"}},
		{"no roles means no consent",
			graphErr(403, fmt.Sprintf(teamsMsg, "")),
			[]string{"TeamsAppInstallation.ReadForUser.All", "TeamsAppInstallation.ReadWriteSelfForUser.All"}, true,
			[]string{"no application permissions", "admin must grant consent", "TeamsAppInstallation.ReadWriteSelfForUser.All", "not delegated"}},
		{"rsc", graphErr(412, `{"error":{"message":"IsUserAuthorizedToGrantGroupResourceSpecificPermissionsRequest"}}`, PermInstallForChat),
			nil, false, []string{"resource-specific permissions", "consentedPermissionSet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !slices.Equal(tt.err.Required, tt.required) && tt.required != nil {
				t.Errorf("Required = %q, want %q", tt.err.Required, tt.required)
			}
			if tt.err.NoRoles != tt.noRoles {
				t.Errorf("NoRoles = %v, want %v", tt.err.NoRoles, tt.noRoles)
			}
			advice := PermissionAdvice(fmt.Errorf("install: %w", tt.err))
			for _, s := range tt.adviceHas {
				if !strings.Contains(advice, s) {
					t.Errorf("advice %q does not say %q", advice, s)
				}
			}
			if !strings.Contains(tt.err.Error(), advice) {
				t.Errorf("Error() = %q does not carry the advice", tt.err.Error())
			}
		})
	}
	if a := PermissionAdvice(graphErr(404, `{}`)); a != "" {
		t.Errorf("advice for a 404 = %q", a)
	}
	if a := PermissionAdvice(errors.New("x")); a != "" {
		t.Errorf("advice for a plain error = %q", a)
	}
}

func TestPermissionsFor(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, want string }{
		{"/v1.0/users", PermUserRead},
		{"/v1.0/users/delta", PermUserRead},
		{"/v1.0/users/u1/teamwork/installedApps", PermInstallForUser},
		{"/v1.0/users/u1/teamwork/installedApps/i1/chat", PermInstallForUser},
		{"/v1.0/chats/19:x/installedApps", PermInstallForChat},
		{"/v1.0/teams/t1/installedApps", PermInstallForTeam},
		{"/v1.0/groups/g1/transitiveMembers/microsoft.graph.user", PermGroupMemberRead},
		{"/v1.0/organization", PermOrganizationRead},
		{"/v1.0/appCatalogs/teamsApps", PermAppCatalogRead},
		{"/v1.0/$batch", ""},
	}
	for _, tt := range tests {
		got := strings.Join(permissionsFor(tt.path, "/v1.0"), ",")
		if got != tt.want {
			t.Errorf("permissionsFor(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if got := permissionsFor("/users/u1?$select=id", ""); len(got) != 1 || got[0] != PermUserRead {
		t.Errorf("batch item path: %q", got)
	}
}

func TestErrorFields(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("Retry-After", "Tue, 01 Dec 2026 10:00:30 GMT")
	h.Set("Date", "Tue, 01 Dec 2026 10:00:10 GMT")
	h.Set("request-id", "req-9")
	e := newError("list users", 429, h, []byte(`{"error":{"code":"TooManyRequests","message":"Please retry again later.","innerError":{"request-id":"inner"}}}`), now, nil)
	if e.RetryAfter != 20*time.Second || e.RequestID != "req-9" {
		t.Errorf("RetryAfter %v, RequestID %q; want 20s (from Date), req-9", e.RetryAfter, e.RequestID)
	}
	if want := "list users: status 429 TooManyRequests: Please retry again later."; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	tests := []struct {
		v, date string
		want    time.Duration
	}{
		{"7", "", 7 * time.Second},
		{"0", "", 0},
		{"-3", "", 0},
		{"1.5", "", 1500 * time.Millisecond},
		{"99999999", "", maxRetryAfter},
		{"NaN", "", 0},
		{"Tue, 01 Dec 2026 10:01:00 GMT", "", time.Minute},
		{"soon", "", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.v, tt.date, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestClassifyOtherErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want Kind
	}{
		{nil, ""},
		{context.Canceled, KindCanceled},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), KindTimeout},
		{fmt.Errorf("x: %w", ErrUntrustedLink), KindUntrusted},
		{fmt.Errorf("x: %w", ErrInvalidArgument), KindBadRequest},
		{fmt.Errorf("x: %w", ErrNotFound), KindNotFound},
		{&responseError{err: errors.New("eof")}, KindBadResponse},
		{&tokenError{err: errors.New("AADSTS7000215")}, KindToken},
		{&tokenError{err: context.DeadlineExceeded}, KindTimeout},
		{errors.New("odd"), KindUnknown},
	}
	for _, tt := range tests {
		if got := Classify(tt.err).Kind; got != tt.want {
			t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	gone := graphErr(410, ``)
	if !errors.Is(fmt.Errorf("w: %w", gone), ErrResyncRequired) || errors.Is(gone, ErrNotFound) {
		t.Error("410 must match ErrResyncRequired only")
	}
	if !errors.Is(graphErr(404, ``), ErrNotFound) {
		t.Error("404 must match ErrNotFound")
	}
}
