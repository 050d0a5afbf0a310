package botframework

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Clouds accepted by DefaultServiceURL.
const (
	CloudPublic = "public"
	CloudGCC    = "gcc"
	CloudGCCH   = "gcch"
	CloudDoD    = "dod"
)

// DefaultServiceURL returns the global Teams serviceUrl of a cloud, for use
// when no serviceUrl was learnt from an inbound activity: "public" (or "")
// https://smba.trafficmanager.net/teams/, "gcc", "gcch" and "dod" the
// government ones. It returns "" for an unknown cloud. A serviceUrl from an
// activity is better: it names the tenant's region.
func DefaultServiceURL(cloud string) string {
	switch strings.ToLower(cloud) {
	case "", CloudPublic:
		return "https://smba.trafficmanager.net/teams/"
	case CloudGCC:
		return "https://smba.infra.gcc.teams.microsoft.com/teams"
	case CloudGCCH:
		return "https://smba.infra.gov.teams.microsoft.us/teams"
	case CloudDoD:
		return "https://smba.infra.dod.teams.microsoft.us/teams"
	}
	return ""
}

// isTeamsServiceHost reports whether host (lower case, no port) is one of
// the hosts Teams puts in serviceUrl, in the public and government clouds.
func isTeamsServiceHost(host string) bool {
	switch host {
	case "smba.trafficmanager.net",
		"smba.infra.gcc.teams.microsoft.com",
		"smba.infra.gov.teams.microsoft.us",
		"smba.infra.dod.teams.microsoft.us":
		return true
	}
	return false
}

// hostRule is one entry of ConnectorOptions.TrustedHosts.
type hostRule struct {
	host string // lower case, no brackets
	port string // "" means any port
}

// parseHostRules normalizes TrustedHosts entries. An entry may be written
// as host, host:port, [v6]:port, or a URL whose host part is used.
func parseHostRules(entries []string) []hostRule {
	var out []hostRule
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSpace(e))
		if i := strings.Index(e, "://"); i >= 0 {
			if u, err := url.Parse(e); err == nil {
				e = u.Host
			}
		}
		e = strings.TrimSuffix(e, "/")
		if e == "" {
			continue
		}
		host, port, err := net.SplitHostPort(e)
		if err != nil {
			host, port = strings.Trim(e, "[]"), ""
		}
		if host == "" {
			continue
		}
		out = append(out, hostRule{host: host, port: port})
	}
	return out
}

// Trusted reports whether the Connector would send its token to
// serviceURL: a Teams service host over https on the default port, or a
// host of ConnectorOptions.TrustedHosts (plain http only on loopback).
func (c *Connector) Trusted(serviceURL string) bool {
	_, err := c.checkServiceURL(serviceURL)
	return err == nil
}

// checkServiceURL parses serviceURL and returns an error wrapping
// ErrUntrustedServiceURL unless its host is trusted.
func (c *Connector) checkServiceURL(serviceURL string) (*url.URL, error) {
	u, err := url.Parse(serviceURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUntrustedServiceURL, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("%w: scheme %q", ErrUntrustedServiceURL, u.Scheme)
	case u.Opaque != "" || u.Host == "":
		return nil, fmt.Errorf("%w: %q has no host", ErrUntrustedServiceURL, serviceURL)
	case u.User != nil:
		return nil, fmt.Errorf("%w: user info in url", ErrUntrustedServiceURL)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%w: query or fragment in url", ErrUntrustedServiceURL)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if u.Scheme == "https" && (port == "" || port == "443") && isTeamsServiceHost(host) {
		return u, nil
	}
	for _, r := range c.trusted {
		if r.host != host || !portMatches(r.port, port, u.Scheme) {
			continue
		}
		if u.Scheme == "https" || isLoopback(host) {
			return u, nil
		}
		return nil, fmt.Errorf("%w: plain http to non-loopback host %s", ErrUntrustedServiceURL, host)
	}
	return nil, fmt.Errorf("%w: host %s", ErrUntrustedServiceURL, u.Host)
}

// portMatches reports whether a rule's port admits a URL's port.
func portMatches(rule, port, scheme string) bool {
	if rule == "" || rule == port {
		return true
	}
	if port != "" {
		return false
	}
	switch scheme {
	case "https":
		return rule == "443"
	case "http":
		return rule == "80"
	}
	return false
}

// isLoopback reports whether host names the local machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
