package botframework

import "testing"

func TestTrusted(t *testing.T) {
	t.Parallel()
	conn := NewConnector(ConnectorOptions{
		Tokens:       &fakeTokens{token: "t"},
		TrustedHosts: []string{"127.0.0.1:3979", "localhost", "[::1]:8080", "Proxy.Example.com", "http://10.0.0.5:9000/", " ", "emu.example:443"},
	})
	tests := []struct {
		url  string
		want bool
	}{
		// Teams service hosts: https only, default port only.
		{"https://smba.trafficmanager.net/amer/", true},
		{"https://smba.trafficmanager.net/teams", true},
		{"https://SMBA.TrafficManager.net/emea/", true},
		{"https://smba.trafficmanager.net:443/apac/", true},
		{"https://smba.infra.gcc.teams.microsoft.com/teams", true},
		{"https://smba.infra.gov.teams.microsoft.us/teams", true},
		{"https://smba.infra.dod.teams.microsoft.us/teams", true},
		{"http://smba.trafficmanager.net/amer/", false},
		{"https://smba.trafficmanager.net:8443/amer/", false},
		{"https://smba.trafficmanager.net.evil.example/amer/", false},
		{"https://evil.smba.trafficmanager.net/amer/", false},
		{"https://smba.trafficmanager.net./amer/", false},
		{"https://trafficmanager.net/", false},
		{"https://smba.trafficmanager.net@evil.example/", false},
		{"https://user:pw@smba.trafficmanager.net/amer/", false},
		{"https://smba.trafficmanager.net/amer/?x=1", false},
		{"https://smba.trafficmanager.net/amer/#frag", false},
		{"smba.trafficmanager.net/amer/", false},
		{"//smba.trafficmanager.net/amer/", false},
		{"ftp://smba.trafficmanager.net/", false},
		{"https:smba.trafficmanager.net", false},
		{"", false},
		{"https://%zz", false},
		// TrustedHosts with a port: that port only.
		{"http://127.0.0.1:3979/", true},
		{"http://127.0.0.1:3979", true},
		{"https://127.0.0.1:3979/teams/", true},
		{"http://127.0.0.1:3980/", false},
		{"http://127.0.0.1/", false},
		// Without a port: any port; http allowed because loopback.
		{"http://localhost:1234/x", true},
		{"http://LOCALHOST/", true},
		{"http://[::1]:8080/", true},
		{"http://[::1]:8081/", false},
		// Non-loopback trusted hosts: https only.
		{"https://proxy.example.com/teams/", true},
		{"https://proxy.example.com:8443/teams/", true},
		{"http://proxy.example.com/teams/", false},
		{"https://10.0.0.5:9000/", true},
		{"http://10.0.0.5:9000/", false},
		{"https://emu.example/", true},
		{"https://emu.example:443/", true},
		{"https://emu.example:444/", false},
	}
	for _, tt := range tests {
		if got := conn.Trusted(tt.url); got != tt.want {
			t.Errorf("Trusted(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestDefaultServiceURL(t *testing.T) {
	t.Parallel()
	conn := NewConnector(ConnectorOptions{Tokens: &fakeTokens{token: "t"}})
	tests := map[string]string{
		"":          "https://smba.trafficmanager.net/teams/",
		CloudPublic: "https://smba.trafficmanager.net/teams/",
		"GCC":       "https://smba.infra.gcc.teams.microsoft.com/teams",
		CloudGCCH:   "https://smba.infra.gov.teams.microsoft.us/teams",
		CloudDoD:    "https://smba.infra.dod.teams.microsoft.us/teams",
		"china":     "",
	}
	for cloud, want := range tests {
		got := DefaultServiceURL(cloud)
		if got != want {
			t.Errorf("DefaultServiceURL(%q) = %q, want %q", cloud, got, want)
		}
		if got != "" && !conn.Trusted(got) {
			t.Errorf("default serviceUrl %q is not trusted by default", got)
		}
	}
}
