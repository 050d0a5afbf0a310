package teamsapp

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// validate checks c (defaults filled in) against the manifest schema and
// normalises its scopes.
func (c *ManifestConfig) validate() error {
	switch {
	case c.BotID == "":
		return fieldErr("BotID", "is required: the bot's Microsoft App ID")
	case !isGUID(c.BotID):
		return fieldErr("BotID", "%q is not a GUID such as 00000000-0000-0000-0000-000000000000", c.BotID)
	case !isGUID(c.AppID):
		return fieldErr("AppID", "%q is not a GUID", c.AppID)
	}
	for _, f := range []struct {
		field, value string
		max          int
	}{
		{"Name", c.Name, 30}, {"FullName", c.FullName, 100},
		{"ShortDescription", c.ShortDescription, 80}, {"FullDescription", c.FullDescription, 4000},
		{"Developer.Name", c.Developer.Name, 32}, {"Resource", c.Resource, 2048},
	} {
		if n := utf8.RuneCountInString(f.value); n > f.max {
			return fieldErr(f.field, "is %d characters; at most %d", n, f.max)
		}
	}
	for _, u := range []struct{ field, value string }{
		{"Developer.WebsiteURL", c.Developer.WebsiteURL},
		{"Developer.PrivacyURL", c.Developer.PrivacyURL},
		{"Developer.TermsURL", c.Developer.TermsURL},
	} {
		if err := checkHTTPS(u.field, u.value); err != nil {
			return err
		}
	}
	if !isHexColor(c.AccentColor) {
		return fieldErr("AccentColor", "%q is not a colour like #4F52B2", c.AccentColor)
	}
	if !isSemver(c.Version) {
		return fieldErr("Version", "%q is not a version like 1.0.0", c.Version)
	}
	if err := c.normaliseScopes(); err != nil {
		return err
	}
	if err := checkCommands(c.Commands); err != nil {
		return err
	}
	return checkDomains(c.ValidDomains)
}

func (c *ManifestConfig) normaliseScopes() error {
	out := make([]string, 0, len(c.Scopes))
	for i, s := range c.Scopes {
		var canon string
		for _, known := range []string{ScopePersonal, ScopeTeam, ScopeGroupChat} {
			if strings.EqualFold(strings.TrimSpace(s), known) {
				canon = known
			}
		}
		switch {
		case canon == "":
			return fieldErr(fmt.Sprintf("Scopes[%d]", i), "%q is not personal, team or groupChat", s)
		case slices.Contains(out, canon):
			return fieldErr(fmt.Sprintf("Scopes[%d]", i), "%q is listed twice", s)
		}
		out = append(out, canon)
	}
	c.Scopes = out
	return nil
}

func checkCommands(cmds []Command) error {
	if len(cmds) > 10 {
		return fieldErr("Commands", "has %d commands; at most 10", len(cmds))
	}
	seen := map[string]bool{}
	for i, cmd := range cmds {
		field := fmt.Sprintf("Commands[%d]", i)
		title := strings.ToLower(strings.TrimSpace(cmd.Title))
		switch {
		case title == "":
			return fieldErr(field+".Title", "is required")
		case utf8.RuneCountInString(cmd.Title) > 32:
			return fieldErr(field+".Title", "is longer than 32 characters")
		case strings.TrimSpace(cmd.Description) == "":
			return fieldErr(field+".Description", "is required")
		case utf8.RuneCountInString(cmd.Description) > 128:
			return fieldErr(field+".Description", "is longer than 128 characters")
		case seen[title]:
			return fieldErr(field+".Title", "%q is listed twice", cmd.Title)
		}
		seen[title] = true
	}
	return nil
}

func checkDomains(domains []string) error {
	if len(domains) > 16 {
		return fieldErr("ValidDomains", "has %d domains; at most 16", len(domains))
	}
	for i, d := range domains {
		if d == "" || len(d) > 2048 || strings.Contains(d, "://") || strings.ContainsAny(d, " \t\r\n/") {
			return fieldErr(fmt.Sprintf("ValidDomains[%d]", i), "%q is not a domain such as example.com", d)
		}
	}
	return nil
}

func checkHTTPS(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || len(s) > 2048 {
		return fieldErr(field, "%q is not an https URL", s)
	}
	return nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	_, err := hex.DecodeString(s[1:])
	return err == nil
}

// isSemver matches the manifest schema's version pattern: three dot
// separated numbers without leading zeros.
func isSemver(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(s) > 256 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 1 && p[0] == '0' || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
