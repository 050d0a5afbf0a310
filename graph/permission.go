package graph

import (
	"errors"
	"strings"
)

// Microsoft Graph application permissions of the calls this client makes:
// the ones an *Error's advice names when Graph's answer lists none.
const (
	PermUserRead         = "User.Read.All"
	PermGroupMemberRead  = "GroupMember.Read.All"
	PermOrganizationRead = "Organization.Read.All"
	PermAppCatalogRead   = "AppCatalog.Read.All"
	PermInstallForUser   = "TeamsAppInstallation.ReadWriteSelfForUser.All"
	PermInstallForChat   = "TeamsAppInstallation.ReadWriteSelfForChat.All"
	PermInstallForTeam   = "TeamsAppInstallation.ReadWriteSelfForTeam.All"
	// The …AndConsent… variants install an app that declares
	// resource-specific permissions, with a consentedPermissionSet.
	PermInstallConsentForUser = "TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All"
	PermInstallConsentForChat = "TeamsAppInstallation.ReadWriteAndConsentSelfForChat.All"
	PermInstallConsentForTeam = "TeamsAppInstallation.ReadWriteAndConsentSelfForTeam.All"
)

// permissionsFor returns the application permission a request needs,
// from its escaped path (with the version root basePath, if
// any, in front). It returns nil for a path it does not know.
func permissionsFor(path, basePath string) []string {
	p := strings.ToLower(strings.TrimPrefix(path, basePath))
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	installed := strings.Contains(p, "/installedapps")
	switch {
	case strings.HasPrefix(p, "/users/") && installed:
		return []string{PermInstallForUser}
	case strings.HasPrefix(p, "/chats/") && installed:
		return []string{PermInstallForChat}
	case strings.HasPrefix(p, "/teams/") && installed:
		return []string{PermInstallForTeam}
	case strings.HasPrefix(p, "/appcatalogs"):
		return []string{PermAppCatalogRead}
	case strings.HasPrefix(p, "/groups"):
		return []string{PermGroupMemberRead}
	case strings.HasPrefix(p, "/organization"):
		return []string{PermOrganizationRead}
	case p == "/users" || strings.HasPrefix(p, "/users/") || strings.HasPrefix(p, "/users?"):
		return []string{PermUserRead}
	}
	return nil
}

// parsePermissions reads a Teams API refusal such as
//
//	Missing role permissions on the request. API requires one of 'A, B'. Roles on the request ''.
//
// for the permissions it requires and those the token carried. noRoles is
// true when the message lists the token's roles and there are none.
func parsePermissions(msg string) (required, granted []string, noRoles bool) {
	lower := asciiLower(msg)
	required = quotedList(msg, lower, "requires one of '")
	for _, marker := range []string{"roles on the request '", "scopes on the request '"} {
		if strings.Contains(lower, marker) {
			granted = quotedList(msg, lower, marker)
			noRoles = len(granted) == 0 && strings.Contains(lower, marker+"'")
			break
		}
	}
	return required, granted, noRoles
}

// asciiLower lower-cases ASCII letters only, so byte offsets in the result
// are offsets in s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

// quotedList returns the comma-separated names quoted after marker (found
// in lower, the lower-case msg), or nil.
func quotedList(msg, lower, marker string) []string {
	i := strings.Index(lower, marker)
	if i < 0 {
		return nil
	}
	rest := msg[i+len(marker):]
	end := strings.IndexByte(rest, '\'')
	if end < 0 {
		return nil
	}
	var out []string
	for name := range strings.SplitSeq(rest[:end], ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// Advice says what to grant when the answer is about a missing permission
// or consent, naming the permissions; otherwise it is "".
func (e *Error) Advice() string {
	k := e.Kind()
	if k != KindPermissionMissing && k != KindConsentMissing {
		return ""
	}
	perms := "the application permission this call needs"
	switch len(e.Required) {
	case 0:
	case 1:
		perms = "the application permission " + e.Required[0]
	default:
		perms = "one of the application permissions " + strings.Join(e.Required, ", ")
	}
	switch {
	case e.NoRoles:
		return "the token carries no application permissions: an admin must grant consent to " + perms +
			" (Microsoft Graph application permissions, not delegated)"
	case k == KindConsentMissing:
		return "the app declares resource-specific permissions: installing it needs the matching " +
			"TeamsAppInstallation.ReadWriteAndConsent…All permission and a consentedPermissionSet equal to the app's"
	}
	return "grant Herald's app " + perms + " (Microsoft Graph, application) and have an admin consent"
}

// PermissionAdvice returns the advice of the *Error in err's chain (see
// [Error.Advice]), or "".
func PermissionAdvice(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Advice()
	}
	return ""
}
