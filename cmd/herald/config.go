package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// serveConfig is the configuration of `herald serve`. Each value comes from
// its flag, else its HERALD_* environment variable, else (for the bot's
// identity) the Bot Framework SDKs' variables MicrosoftAppId,
// MicrosoftAppPassword, MicrosoftAppTenantId and MicrosoftAppType, else its
// default.
type serveConfig struct {
	Addr        string
	Store       string
	AppID       string
	AppSecret   string
	TenantID    string
	AppType     string
	Authority   string
	ServiceURL  string
	Trusted     []string
	Emulator    string
	Node        string
	Concurrency int
	TenantRPS   int
	Pacing      bool
	InternalAPI bool
	LogLevel    string
	StopTimeout time.Duration
}

// App types, as MicrosoftAppType spells them.
const (
	appMultiTenant  = "MultiTenant"
	appSingleTenant = "SingleTenant"
)

// option is one setting: its flag, environment variables in order of
// precedence, default and help.
type option struct {
	flag, help string
	env        []string
	def        string
	dest       *string
}

// configError names the setting and the bad value.
type configError struct {
	setting, value, why string
}

func (e configError) Error() string {
	return fmt.Sprintf("serve: %s %q: %s", e.setting, e.value, e.why)
}

// parseServeConfig reads flags, then the environment, then defaults.
func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	var raw serveRaw
	opts := []option{
		{"addr", "address of the HTTP server (health, bot endpoint)", []string{"HERALD_ADDR"}, "127.0.0.1:3978", &raw.addr},
		{"store", "the store: sqlite:<path> or postgres://…", []string{"HERALD_STORE"}, "sqlite:herald.db", &raw.store},
		{"app-id", "the bot's Microsoft app id", []string{"HERALD_APP_ID", "MicrosoftAppId"}, "", &raw.appID},
		{"app-secret", "the bot's app secret (prefer HERALD_APP_SECRET_FILE)", []string{"HERALD_APP_SECRET", "MicrosoftAppPassword"}, "", &raw.appSecret},
		{"app-secret-file", "a file holding the app secret", []string{"HERALD_APP_SECRET_FILE"}, "", &raw.appSecretFile},
		{"tenant-id", "the bot's tenant (single-tenant bots)", []string{"HERALD_TENANT_ID", "MicrosoftAppTenantId"}, "", &raw.tenantID},
		{"app-type", "MultiTenant or SingleTenant", []string{"HERALD_APP_TYPE", "MicrosoftAppType"}, appMultiTenant, &raw.appType},
		{"authority", "token authority (login URL); default Microsoft's", []string{"HERALD_AUTHORITY"}, "", &raw.authority},
		{"service-url", "serviceUrl for recipients whose tenant has none yet", []string{"HERALD_SERVICE_URL"}, "", &raw.serviceURL},
		{"trust-hosts", "extra hosts (comma separated) Herald may send its token to", []string{"HERALD_TRUST_HOSTS"}, "", &raw.trusted},
		{"emulator", "base URL of a herald emulator: sets authority, service URL and trust", []string{"HERALD_EMULATOR"}, "", &raw.emulator},
		{"node", "this process's name among those sharing the store (default: host name)", []string{"HERALD_NODE"}, "", &raw.node},
		{"concurrency", "calls to Teams in flight", []string{"HERALD_CONCURRENCY"}, "64", &raw.concurrency},
		{"tenant-rps", "calls per second per tenant (negative: no limit)", []string{"HERALD_TENANT_RPS"}, "50", &raw.tenantRPS},
		{"pacing", "apply Teams' rate limits before calls: on or off", []string{"HERALD_PACING"}, "on", &raw.pacing},
		{"internal-api", "serve /internal/notifications for tests: on or off", []string{"HERALD_INTERNAL_API"}, "off", &raw.internalAPI},
		{"log-level", "debug, info, warn or error", []string{"HERALD_LOG_LEVEL"}, "info", &raw.logLevel},
		{"stop-timeout", "how long a graceful stop may take", []string{"HERALD_STOP_TIMEOUT"}, "30s", &raw.stopTimeout},
	}
	fs := flag.NewFlagSet("herald serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, o := range opts {
		help := o.help
		if len(o.env) > 0 {
			help += " (env " + strings.Join(o.env, ", ") + ")"
		}
		fs.StringVar(o.dest, o.flag, o.def, help)
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: herald serve [flags]\n\nRuns the delivery engine and the HTTP server.\nSettings: flag, else environment, else default.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return serveConfig{}, err
	}
	if fs.NArg() > 0 {
		return serveConfig{}, usageError{fmt.Sprintf("serve: unexpected argument %q", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, o := range opts {
		if set[o.flag] {
			continue
		}
		for _, k := range o.env {
			if v := getenv(k); v != "" {
				*o.dest = v
				break
			}
		}
	}
	return raw.config()
}

// serveRaw holds the settings as text, before validation.
type serveRaw struct {
	addr, store, appID, appSecret, appSecretFile, tenantID, appType, authority string
	serviceURL, trusted, emulator, node, concurrency, tenantRPS, pacing        string
	internalAPI, logLevel, stopTimeout                                         string
}

// config validates the settings.
func (r serveRaw) config() (serveConfig, error) {
	c := serveConfig{Addr: r.addr, Store: r.store, AppID: r.appID, AppSecret: r.appSecret, TenantID: r.tenantID,
		AppType: r.appType, Authority: r.authority, ServiceURL: r.serviceURL, Emulator: strings.TrimRight(r.emulator, "/"),
		Node: r.node, LogLevel: r.logLevel}
	secretFile, trusted, concurrency, tenantRPS := r.appSecretFile, r.trusted, r.concurrency, r.tenantRPS
	pacing, internalAPI, stopTimeout := r.pacing, r.internalAPI, r.stopTimeout
	var errs []error
	if secretFile != "" {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			errs = append(errs, configError{"app-secret-file", secretFile, err.Error()})
		} else {
			c.AppSecret = strings.TrimSpace(string(b))
		}
	}
	for _, h := range strings.Split(trusted, ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.Trusted = append(c.Trusted, h)
		}
	}
	var err error
	if c.Concurrency, err = strconv.Atoi(concurrency); err != nil || c.Concurrency <= 0 {
		errs = append(errs, configError{"concurrency", concurrency, "want a positive integer"})
	}
	if c.TenantRPS, err = strconv.Atoi(tenantRPS); err != nil || c.TenantRPS == 0 {
		errs = append(errs, configError{"tenant-rps", tenantRPS, "want a non-zero integer (negative: no limit)"})
	}
	switch pacing {
	case "on":
		c.Pacing = true
	case "off":
	default:
		errs = append(errs, configError{"pacing", pacing, "want on or off"})
	}
	switch internalAPI {
	case "on":
		c.InternalAPI = true
	case "off":
	default:
		errs = append(errs, configError{"internal-api", internalAPI, "want on or off"})
	}
	switch c.AppType {
	case appMultiTenant:
	case appSingleTenant:
		if c.TenantID == "" {
			errs = append(errs, configError{"app-type", c.AppType, "a single-tenant bot needs --tenant-id"})
		}
	default:
		errs = append(errs, configError{"app-type", c.AppType, "want MultiTenant or SingleTenant"})
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, configError{"log-level", c.LogLevel, "want debug, info, warn or error"})
	}
	if c.StopTimeout, err = time.ParseDuration(stopTimeout); err != nil || c.StopTimeout <= 0 {
		errs = append(errs, configError{"stop-timeout", stopTimeout, "want a positive duration such as 30s"})
	}
	if c.Store == "" {
		errs = append(errs, configError{"store", "", "required"})
	}
	if c.AppID == "" {
		errs = append(errs, configError{"app-id", "", "required (or MicrosoftAppId)"})
	}
	if c.AppSecret == "" {
		errs = append(errs, configError{"app-secret", "", "required (or HERALD_APP_SECRET_FILE, MicrosoftAppPassword)"})
	}
	if c.Emulator != "" {
		if c.Authority == "" {
			c.Authority = c.Emulator
		}
		if c.ServiceURL == "" {
			c.ServiceURL = c.Emulator + "/teams/"
		}
		c.Trusted = append(c.Trusted, c.Emulator)
	}
	return c, errors.Join(errs...)
}
