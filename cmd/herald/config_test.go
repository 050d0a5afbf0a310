package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"herald"
	"herald/emulator"
)

func TestParseServeConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	conf := file("herald.conf", `# Herald
HERALD_ADDR = 127.0.0.1:4000
MicrosoftAppId=file-app
MicrosoftAppPassword="file secret"
HERALD_TOPICS='deploys:Deploy results,outages:Outages:critical,digest:Weekly digest:off,drills::critical+off'
HERALD_API_KEYS=file-key-0123456789abcdef
`)
	secret := file("secret", "secret-from-file\n")
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c serveConfig)
	}{
		{
			name: "flags win over the environment",
			args: []string{"--app-id", "flag-app", "--app-secret", "s", "--addr", "127.0.0.1:1"},
			env:  map[string]string{"HERALD_APP_ID": "env-app", "HERALD_ADDR": "127.0.0.1:2"},
			check: func(t *testing.T, c serveConfig) {
				if c.AppID != "flag-app" || c.Addr != "127.0.0.1:1" {
					t.Errorf("app id %q addr %q", c.AppID, c.Addr)
				}
			},
		},
		{
			name: "Bot Framework names, and SingleTenant follows a tenant id",
			env:  map[string]string{"MicrosoftAppId": "bf-app", "MicrosoftAppPassword": "bf-secret", "MicrosoftAppTenantId": "t1"},
			check: func(t *testing.T, c serveConfig) {
				if c.AppID != "bf-app" || c.AppSecret != "bf-secret" || c.TenantID != "t1" || c.AppType != appSingleTenant {
					t.Errorf("identity %+v", c)
				}
			},
		},
		{
			name: "HERALD_ names win over Bot Framework names",
			env:  map[string]string{"MicrosoftAppId": "bf-app", "HERALD_APP_ID": "h-app", "HERALD_APP_SECRET_FILE": secret, "MicrosoftAppType": "multitenant"},
			check: func(t *testing.T, c serveConfig) {
				if c.AppID != "h-app" || c.AppSecret != "secret-from-file" || c.AppType != appMultiTenant {
					t.Errorf("identity %+v", c)
				}
			},
		},
		{
			name: "config file below flags and environment",
			args: []string{"--config", conf, "--addr", "127.0.0.1:5"},
			env:  map[string]string{"MicrosoftAppId": "env-app"},
			check: func(t *testing.T, c serveConfig) {
				want := []herald.Topic{{Name: "deploys", Description: "Deploy results"}, {Name: "outages", Description: "Outages", Critical: true},
					{Name: "digest", Description: "Weekly digest", DefaultOff: true}, {Name: "drills", Critical: true, DefaultOff: true}}
				if diff := cmp.Diff(want, c.Topics); diff != "" {
					t.Errorf("topics (-want +got):\n%s", diff)
				}
				if c.Addr != "127.0.0.1:5" || c.AppID != "env-app" || c.AppSecret != "file secret" {
					t.Errorf("addr %q app %q secret %q", c.Addr, c.AppID, c.AppSecret)
				}
				if diff := cmp.Diff([]string{"file-key-0123456789abcdef"}, c.APIKeys); diff != "" {
					t.Errorf("keys (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "emulator sets the identity, endpoints and trust",
			args: []string{"--emulator", "http://127.0.0.1:3979/"},
			check: func(t *testing.T, c serveConfig) {
				got := []string{c.AppID, c.AppSecret, c.Authority, c.ServiceURL, c.MetadataURL, strings.Join(c.Trusted, " ")}
				want := []string{emulator.DefaultAppID, emulator.DefaultAppSecret, "http://127.0.0.1:3979", "http://127.0.0.1:3979/teams/",
					"http://127.0.0.1:3979/v1/.well-known/openidconfiguration", "http://127.0.0.1:3979"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "repeated --api-key, and HERALD_API_KEYS ignored then",
			args: []string{"--emulator", "http://127.0.0.1:3979", "--api-key", "first-key-0123456789", "--api-key", "second-key-0123456789"},
			env:  map[string]string{"HERALD_API_KEYS": "env-key-0123456789abc"},
			check: func(t *testing.T, c serveConfig) {
				if diff := cmp.Diff([]string{"first-key-0123456789", "second-key-0123456789"}, c.APIKeys); diff != "" {
					t.Errorf("keys (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "HERALD_API_KEYS is comma-separated; roster refresh off",
			args: []string{"--emulator", "http://127.0.0.1:3979", "--roster-refresh", "off"},
			env:  map[string]string{"HERALD_API_KEYS": " a-key-0123456789abcdef , b-key-0123456789abcdef,"},
			check: func(t *testing.T, c serveConfig) {
				if diff := cmp.Diff([]string{"a-key-0123456789abcdef", "b-key-0123456789abcdef"}, c.APIKeys); diff != "" {
					t.Errorf("keys (-want +got):\n%s", diff)
				}
				if c.RosterRefresh >= 0 {
					t.Errorf("roster refresh %v, want negative (off)", c.RosterRefresh)
				}
			},
		},
		{
			name: "accept wait 0 answers at once",
			args: []string{"--emulator", "http://127.0.0.1:3979", "--accept-wait", "0s"},
			check: func(t *testing.T, c serveConfig) {
				if c.AcceptWait >= 0 {
					t.Errorf("accept wait %v, want negative (at once)", c.AcceptWait)
				}
			},
		},
		{
			name: "defaults",
			args: []string{"--emulator", "http://127.0.0.1:3979"},
			check: func(t *testing.T, c serveConfig) {
				if c.Addr != "127.0.0.1:3978" || c.Store != "sqlite:herald.db" || c.RosterRefresh != 24*time.Hour ||
					c.Concurrency != 64 || c.TenantRPS != 50 || !c.Pacing || c.StopTimeout != 30*time.Second || c.AppType != appMultiTenant || c.AcceptWait != 2*time.Second {
					t.Errorf("defaults %+v", c)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := parseServeConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseServeConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte("HERALD_ADDR=x\nHERALD_NOPE=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emu := []string{"--emulator", "http://127.0.0.1:3979"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no identity", nil, nil, errNoIdentity.Error()},
		{"no identity despite a secret", []string{"--app-secret", "s"}, nil, errNoIdentity.Error()},
		{"id without secret", nil, map[string]string{"MicrosoftAppId": "a"}, "app-secret"},
		{"single tenant without tenant", []string{"--app-type", "SingleTenant"}, map[string]string{"MicrosoftAppId": "a", "MicrosoftAppPassword": "p"}, "needs --tenant-id"},
		{"bad emulator URL", []string{"--emulator", "127.0.0.1:3979"}, nil, "emulator"},
		{"short API key", append([]string{"--api-key", "short"}, emu...), nil, "a key of 5 characters is too short"},
		{"bad topics", append([]string{"--topics", "a:b:urgent"}, emu...), nil, "critical"},
		{"bad topic flag", append([]string{"--topics", "a:b:critical+maybe"}, emu...), nil, `"off"`},
		{"topic twice", append([]string{"--topics", "a,A"}, emu...), nil, "named twice"},
		{"bad roster refresh", append([]string{"--roster-refresh", "1s"}, emu...), nil, "roster-refresh"},
		{"bad accept wait", append([]string{"--accept-wait", "2h"}, emu...), nil, "accept-wait"},
		{"guide URL", append([]string{"--guide-url", "ftp://x"}, emu...), nil, "guide-url"},
		{"templates", append([]string{"--welcome-templates", filepath.Join(dir, "none")}, emu...), nil, "not a directory"},
		{"unknown config key", append([]string{"--config", bad}, emu...), nil, "bad.conf:2: unknown setting HERALD_NOPE"},
		{"missing config file", append([]string{"--config", filepath.Join(dir, "none.conf")}, emu...), nil, "config file"},
		{"argument", append([]string{"extra"}, emu...), nil, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseServeConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") && errors.Is(err, errNoIdentity) {
				t.Errorf("the missing identity is not one line: %q", err)
			}
		})
	}
}

func TestParseConfigFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []configValue
		wantErr string
	}{
		{in: "", want: nil},
		{in: "\ufeffA=1\r\n\n# c\n  B = two words \nC='q'\nD=\"\"\nA=again\nE=", want: []configValue{
			{"A", "1", 1}, {"B", "two words", 4}, {"C", "q", 5}, {"D", "", 6}, {"E", "", 8}}},
		{in: "A=x=y", want: []configValue{{"A", "x=y", 1}}},
		{in: "JUSTAKEY", wantErr: "line 1: want KEY=VALUE"},
		{in: "A B=1", wantErr: "line 1"},
		{in: "1A=1", wantErr: "line 1"},
		{in: "A=\"open", wantErr: "unterminated quote"},
	}
	for _, tc := range tests {
		got, err := parseConfigFile([]byte(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(configValue{})); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
}

func FuzzParseConfigFile(f *testing.F) {
	f.Add([]byte("A=1\n# c\nB='x'\n"))
	f.Add([]byte("\ufeffHERALD_ADDR = 127.0.0.1:1\r\nX=\"y"))
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := parseConfigFile(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, v := range vals {
			if !validConfigKey(v.key) || seen[v.key] || strings.ContainsAny(v.value, "\n") {
				t.Fatalf("bad value %+v from %q", v, data)
			}
			seen[v.key] = true
		}
	})
}

// TestREADMEServeReference checks that the README's configuration
// reference names every flag and environment variable of herald serve.
func TestREADMEServeReference(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var raw serveRaw
	for _, o := range serveOptions(&raw) {
		if !strings.Contains(string(readme), "`--"+o.flag+"`") {
			t.Errorf("README.md does not document --%s", o.flag)
		}
		for _, k := range o.env {
			if !strings.Contains(string(readme), k) {
				t.Errorf("README.md does not document %s", k)
			}
		}
	}
}
