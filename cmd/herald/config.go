package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"herald"
	"herald/emulator"
)

// serveConfig is the configuration of `herald serve` (and of the Herald
// that `herald demo` runs). Each value comes from its flag, else its
// environment variable (HERALD_*, or for the bot's identity the Bot
// Framework SDKs' MicrosoftAppId, MicrosoftAppPassword,
// MicrosoftAppTenantId and MicrosoftAppType), else the config file (the
// same names as KEY=VALUE lines), else its default.
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
	Channels    []string
	Emulator    string
	MetadataURL string
	APIKeys     []string
	Node        string
	NodeID      string
	Concurrency int
	TenantRPS   int
	Pacing      bool
	LogLevel    string
	StopTimeout time.Duration
	// AcceptWait is server.Config.AcceptWait (negative: answer at once).
	AcceptWait time.Duration

	BotName          string
	WelcomeTemplates string
	GuideURL         string
	Topics           []herald.Topic
	RosterRefresh    time.Duration
}

// App types, as MicrosoftAppType spells them.
const (
	appMultiTenant  = "MultiTenant"
	appSingleTenant = "SingleTenant"
)

// option is one setting: its flag, environment variables in order of
// precedence (also its names in a config file), default and help.
type option struct {
	flag, help string
	env        []string
	def        string
	dest       *string
	// list options take the flag more than once; their values (and the
	// environment's) are comma-separated.
	list bool
}

// configError names the setting and the bad value.
type configError struct {
	setting, value, why string
}

func (e configError) Error() string {
	return fmt.Sprintf("serve: %s %q: %s", e.setting, e.value, e.why)
}

// errNoIdentity is the one line `herald serve` answers when it has no bot
// identity to run with.
var errNoIdentity = errors.New("serve: no bot identity: set --app-id and --app-secret (or MicrosoftAppId and MicrosoftAppPassword), or --emulator URL to run against a local emulator")

// serveRaw holds the settings as text, before validation.
type serveRaw struct {
	config, addr, store, apiKeys                                         string
	appID, appSecret, appSecretFile, tenantID, appType, authority        string
	serviceURL, trusted, emulator, node, concurrency, tenantRPS, pacing  string
	logLevel, stopTimeout, botName, templates, guideURL, topics, rosters string
	channels, acceptWait, nodeID                                         string
}

// serveOptions lists every setting of `herald serve`, in the order its
// help shows them.
func serveOptions(r *serveRaw) []option {
	return []option{
		{flag: "config", help: "a config file of KEY=VALUE lines (the environment variables' names)", env: []string{"HERALD_CONFIG"}, dest: &r.config},
		{flag: "addr", help: "address of the HTTP server: bot endpoint /api/messages, API /v1, /healthz, /readyz, /metrics", env: []string{"HERALD_ADDR"}, def: "127.0.0.1:3978", dest: &r.addr},
		{flag: "store", help: "the store: sqlite:<path> or postgres://…", env: []string{"HERALD_STORE"}, def: "sqlite:herald.db", dest: &r.store},
		{flag: "api-key", help: "an API key the /v1 API accepts, at least 16 characters (repeatable; none: one is generated and kept next to the SQLite file)", env: []string{"HERALD_API_KEYS"}, dest: &r.apiKeys, list: true},
		{flag: "app-id", help: "the bot's Microsoft app id", env: []string{"HERALD_APP_ID", "MicrosoftAppId"}, dest: &r.appID},
		{flag: "app-secret", help: "the bot's app secret (prefer HERALD_APP_SECRET_FILE or the environment)", env: []string{"HERALD_APP_SECRET", "MicrosoftAppPassword"}, dest: &r.appSecret},
		{flag: "app-secret-file", help: "a file holding the app secret", env: []string{"HERALD_APP_SECRET_FILE"}, dest: &r.appSecretFile},
		{flag: "tenant-id", help: "the bot's tenant (single-tenant bots)", env: []string{"HERALD_TENANT_ID", "MicrosoftAppTenantId"}, dest: &r.tenantID},
		{flag: "app-type", help: "SingleTenant or MultiTenant (default SingleTenant when a tenant id is set)", env: []string{"HERALD_APP_TYPE", "MicrosoftAppType"}, dest: &r.appType},
		{flag: "authority", help: "token authority (login URL); default Microsoft's", env: []string{"HERALD_AUTHORITY"}, dest: &r.authority},
		{flag: "service-url", help: "serviceUrl for recipients whose tenant has none yet", env: []string{"HERALD_SERVICE_URL"}, dest: &r.serviceURL},
		{flag: "trust-hosts", help: "extra hosts (comma-separated host or host:port) Herald may send its token to", env: []string{"HERALD_TRUST_HOSTS"}, dest: &r.trusted},
		{flag: "channels", help: "Bot Framework channels (channelId, comma-separated) whose activities the bot accepts; others get 403", env: []string{"HERALD_CHANNELS"}, def: "msteams", dest: &r.channels},
		{flag: "emulator", help: "base URL of a herald emulator: sets the token authority, the signing keys' metadata, the service URL, trust, and the emulator's app id and secret", env: []string{"HERALD_EMULATOR"}, dest: &r.emulator},
		{flag: "bot-name", help: "the bot's name in welcome cards (default: the name Teams gives it)", env: []string{"HERALD_BOT_NAME"}, dest: &r.botName},
		{flag: "welcome-templates", help: "a directory of welcome templates (personal.json, team.json, member-channel.json, member-personal.json, group-chat.json, group-chat-member.json) replacing the built-in ones", env: []string{"HERALD_WELCOME_TEMPLATES"}, dest: &r.templates},
		{flag: "guide-url", help: "a guide (http or https) new team members are offered in their welcome", env: []string{"HERALD_GUIDE_URL"}, dest: &r.guideURL},
		{flag: "topics", help: "notification topics people can stop and start: comma-separated name[:description[:critical|on|off]] (on: everyone gets it until they stop it, the default; off: only those who start it; join flags with +)", env: []string{"HERALD_TOPICS"}, dest: &r.topics},
		{flag: "roster-refresh", help: "how often each team's roster is fetched again (off: never)", env: []string{"HERALD_ROSTER_REFRESH"}, def: "24h", dest: &r.rosters},
		{flag: "node", help: "this process's name among those sharing the store; its identity is the name and a random suffix, new at each start (default: host name)", env: []string{"HERALD_NODE"}, dest: &r.node},
		{flag: "node-id", help: "this process's whole identity, used as is instead (a second live process with it is refused)", env: []string{"HERALD_NODE_ID"}, dest: &r.nodeID},
		{flag: "concurrency", help: "calls to Teams in flight", env: []string{"HERALD_CONCURRENCY"}, def: "64", dest: &r.concurrency},
		{flag: "tenant-rps", help: "calls per second per tenant (negative: no limit)", env: []string{"HERALD_TENANT_RPS"}, def: "50", dest: &r.tenantRPS},
		{flag: "pacing", help: "apply Teams' rate limits before calls: on or off", env: []string{"HERALD_PACING"}, def: "on", dest: &r.pacing},
		{flag: "log-level", help: "debug, info, warn or error", env: []string{"HERALD_LOG_LEVEL"}, def: "info", dest: &r.logLevel},
		{flag: "stop-timeout", help: "how long a graceful stop may take", env: []string{"HERALD_STOP_TIMEOUT"}, def: "30s", dest: &r.stopTimeout},
		{flag: "accept-wait", help: "how long the answer to a new notification waits for its audience to be expanded, to say whom it reaches and whom not (0: answer at once)", env: []string{"HERALD_ACCEPT_WAIT"}, def: "2s", dest: &r.acceptWait},
	}
}

const serveUsage = `Usage: herald serve [flags]

Runs Herald on one address: the bot's messaging endpoint (/api/messages),
the HTTP API (/v1), /healthz, /readyz and /metrics, with the delivery
engine behind them.

Each setting comes from its flag, else its environment variable, else the
config file (--config: KEY=VALUE lines using the environment variables'
names; # starts a comment), else its default. Without an app id Herald
refuses to start, unless --emulator points it at a local emulator.

Flags:`

// listValue is a flag that may be repeated; it keeps the values
// comma-separated in one string.
type listValue struct{ dest *string }

func (l listValue) String() string {
	if l.dest == nil {
		return ""
	}
	return *l.dest
}

func (l listValue) Set(v string) error {
	if *l.dest != "" {
		v = *l.dest + "," + v
	}
	*l.dest = v
	return nil
}

// parseServeConfig reads flags, then the environment, then the config
// file, then defaults, and validates the result.
func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	var raw serveRaw
	opts := serveOptions(&raw)
	fs := flag.NewFlagSet("herald serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, o := range opts {
		help := o.help
		if len(o.env) > 0 {
			help += " (env " + strings.Join(o.env, ", ") + ")"
		}
		if o.list {
			fs.Var(listValue{o.dest}, o.flag, help)
			continue
		}
		fs.StringVar(o.dest, o.flag, o.def, help)
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, serveUsage)
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
				set[o.flag] = true
				break
			}
		}
	}
	if raw.config != "" {
		if err := applyConfigFile(raw.config, opts, set); err != nil {
			return serveConfig{}, err
		}
	}
	return raw.resolve()
}

// applyConfigFile sets, from the file, the options not set already.
func applyConfigFile(path string, opts []option, set map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("serve: config file: %w", err)
	}
	values, err := parseConfigFile(data)
	if err != nil {
		return fmt.Errorf("serve: config file %s: %w", path, err)
	}
	byName := map[string]*option{}
	for i := range opts {
		for _, k := range opts[i].env {
			byName[k] = &opts[i]
		}
	}
	for _, kv := range values {
		o := byName[kv.key]
		switch {
		case o == nil:
			return fmt.Errorf("serve: config file %s:%d: unknown setting %s", path, kv.line, kv.key)
		case o.flag == "config":
			return fmt.Errorf("serve: config file %s:%d: a config file cannot name another", path, kv.line)
		case set[o.flag]:
			continue
		}
		*o.dest = kv.value
		set[o.flag] = true
	}
	return nil
}

// configValue is one KEY=VALUE line of a config file.
type configValue struct {
	key, value string
	line       int
}

// maxConfigBytes bounds a config file.
const maxConfigBytes = 1 << 20

// parseConfigFile reads KEY=VALUE lines: blank lines and lines starting
// with # are skipped, space around the key and the value is trimmed, and a
// value may be quoted with " or ' (the quotes are removed; nothing is
// escaped). A key given twice keeps its first value, as an option set by
// a flag keeps the flag's.
func parseConfigFile(data []byte) ([]configValue, error) {
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxConfigBytes)
	}
	var out []configValue
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxConfigBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || !validConfigKey(key) {
			return nil, fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') {
			if value[len(value)-1] != value[0] {
				return nil, fmt.Errorf("line %d: %s: unterminated quote", n, key)
			}
			value = value[1 : len(value)-1]
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, configValue{key: key, value: value, line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// validConfigKey reports whether k looks like an environment variable's
// name.
func validConfigKey(k string) bool {
	if k == "" || k[0] >= '0' && k[0] <= '9' {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// resolve validates the settings and applies what --emulator implies.
func (r serveRaw) resolve() (serveConfig, error) {
	c := serveConfig{Addr: r.addr, Store: r.store, AppID: strings.TrimSpace(r.appID), AppSecret: r.appSecret,
		TenantID: strings.TrimSpace(r.tenantID), AppType: r.appType, Authority: r.authority, ServiceURL: r.serviceURL,
		Emulator: strings.TrimRight(strings.TrimSpace(r.emulator), "/"), Node: r.node, NodeID: strings.TrimSpace(r.nodeID), LogLevel: r.logLevel,
		BotName: r.botName, WelcomeTemplates: r.templates, GuideURL: r.guideURL}
	var errs []error
	if c.Emulator != "" {
		if u, err := url.Parse(c.Emulator); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return serveConfig{}, configError{"emulator", c.Emulator, "want the emulator's base URL, such as http://127.0.0.1:3979"}
		}
		if c.AppID == "" {
			c.AppID = emulator.DefaultAppID
			if c.AppSecret == "" && r.appSecretFile == "" {
				c.AppSecret = emulator.DefaultAppSecret
			}
		}
		if c.Authority == "" {
			c.Authority = c.Emulator
		}
		if c.ServiceURL == "" {
			c.ServiceURL = c.Emulator + "/teams/"
		}
		c.MetadataURL = c.Emulator + "/v1/.well-known/openidconfiguration"
		c.Trusted = append(c.Trusted, c.Emulator)
	}
	if c.AppID == "" {
		return serveConfig{}, errNoIdentity
	}
	if r.appSecretFile != "" {
		b, err := os.ReadFile(r.appSecretFile)
		if err != nil {
			errs = append(errs, configError{"app-secret-file", r.appSecretFile, err.Error()})
		} else {
			c.AppSecret = strings.TrimSpace(string(b))
		}
	}
	if c.AppSecret == "" {
		errs = append(errs, configError{"app-secret", "", "required with --app-id (or HERALD_APP_SECRET_FILE, MicrosoftAppPassword)"})
	}
	c.Trusted = append(splitComma(r.trusted), c.Trusted...)
	if c.Channels = splitComma(r.channels); len(c.Channels) == 0 {
		errs = append(errs, configError{"channels", r.channels, "name at least one channel, such as msteams"})
	}
	keys, err := parseAPIKeys(r.apiKeys)
	if err != nil {
		errs = append(errs, err)
	}
	c.APIKeys = keys
	if c.Topics, err = parseTopics(r.topics); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.numbers(r)...)
	errs = append(errs, c.checkIdentity()...)
	errs = append(errs, c.checkWelcome()...)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, configError{"log-level", c.LogLevel, "want debug, info, warn or error"})
	}
	if c.Store == "" {
		errs = append(errs, configError{"store", "", "required"})
	}
	return c, errors.Join(errs...)
}

// numbers parses the numeric and on/off settings.
func (c *serveConfig) numbers(r serveRaw) []error {
	var errs []error
	var err error
	if c.Concurrency, err = strconv.Atoi(r.concurrency); err != nil || c.Concurrency <= 0 {
		errs = append(errs, configError{"concurrency", r.concurrency, "want a positive integer"})
	}
	if c.TenantRPS, err = strconv.Atoi(r.tenantRPS); err != nil || c.TenantRPS == 0 {
		errs = append(errs, configError{"tenant-rps", r.tenantRPS, "want a non-zero integer (negative: no limit)"})
	}
	switch r.pacing {
	case "on":
		c.Pacing = true
	case "off":
	default:
		errs = append(errs, configError{"pacing", r.pacing, "want on or off"})
	}
	if c.StopTimeout, err = time.ParseDuration(r.stopTimeout); err != nil || c.StopTimeout <= 0 {
		errs = append(errs, configError{"stop-timeout", r.stopTimeout, "want a positive duration such as 30s"})
	}
	if c.AcceptWait, err = time.ParseDuration(r.acceptWait); err != nil || c.AcceptWait < 0 || c.AcceptWait > time.Minute {
		errs = append(errs, configError{"accept-wait", r.acceptWait, "want a duration from 0 to 1m (such as 2s)"})
	} else if c.AcceptWait == 0 {
		c.AcceptWait = -1
	}
	switch r.rosters {
	case "off":
		c.RosterRefresh = -1
	default:
		if c.RosterRefresh, err = time.ParseDuration(r.rosters); err != nil || c.RosterRefresh < time.Minute {
			errs = append(errs, configError{"roster-refresh", r.rosters, "want a duration of at least 1m (such as 24h), or off"})
		}
	}
	return errs
}

// checkIdentity checks the app type against the tenant: a tenant id makes
// the default SingleTenant (new multi-tenant registrations are
// deprecated), and a single-tenant bot needs its tenant.
func (c *serveConfig) checkIdentity() []error {
	if c.AppType == "" {
		c.AppType = appMultiTenant
		if c.TenantID != "" {
			c.AppType = appSingleTenant
		}
	}
	switch {
	case strings.EqualFold(c.AppType, appMultiTenant):
		c.AppType = appMultiTenant
	case strings.EqualFold(c.AppType, appSingleTenant):
		c.AppType = appSingleTenant
		if c.TenantID == "" {
			return []error{configError{"app-type", c.AppType, "a single-tenant bot needs --tenant-id (MicrosoftAppTenantId)"}}
		}
	default:
		return []error{configError{"app-type", c.AppType, "want SingleTenant or MultiTenant"}}
	}
	return nil
}

// checkWelcome checks the welcome settings.
func (c *serveConfig) checkWelcome() []error {
	var errs []error
	if c.WelcomeTemplates != "" {
		if fi, err := os.Stat(c.WelcomeTemplates); err != nil || !fi.IsDir() {
			errs = append(errs, configError{"welcome-templates", c.WelcomeTemplates, "not a directory"})
		}
	}
	if c.GuideURL != "" {
		if u, err := url.Parse(c.GuideURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, configError{"guide-url", c.GuideURL, "want an http or https URL"})
		}
	}
	return errs
}

// minAPIKeyBytes is the shortest API key accepted (server.New's rule).
const minAPIKeyBytes = 16

// parseAPIKeys splits comma-separated API keys and checks their length.
func parseAPIKeys(s string) ([]string, error) {
	keys := splitComma(s)
	for _, k := range keys {
		if len(k) < minAPIKeyBytes {
			// The key itself is a secret: name only its length.
			return nil, fmt.Errorf("serve: api-key: a key of %d characters is too short (at least %d)", len(k), minAPIKeyBytes)
		}
	}
	return keys, nil
}

// splitComma splits a comma-separated list, trimming and dropping empty
// entries.
func splitComma(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
