package teamsapp

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Manifest schema this package writes.
const (
	ManifestVersion = "1.17"
	SchemaURL       = "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
)

// Bot scopes: where the bot can be installed.
const (
	ScopePersonal  = "personal"
	ScopeTeam      = "team"
	ScopeGroupChat = "groupChat"
)

// Placeholder developer URLs used when ManifestConfig leaves them empty.
// They satisfy the schema, so the package sideloads, but an app published
// to an organisation's catalog should point at real pages.
const (
	PlaceholderWebsiteURL = "https://www.example.com/"
	PlaceholderPrivacyURL = "https://www.example.com/privacy"
	PlaceholderTermsURL   = "https://www.example.com/terms"
)

// File names inside the package.
const (
	ManifestFile = "manifest.json"
	ColorIcon    = "color.png"
	OutlineIcon  = "outline.png"
)

// ManifestConfig describes the Teams app. Only BotID is required; every
// other field documents its default.
type ManifestConfig struct {
	// AppID is the Teams app id, a GUID. Empty means one derived from
	// BotID (see [DeriveAppID]), stable across runs, so rebuilding the
	// package updates the same app.
	AppID string
	// BotID is the bot's Microsoft App ID (its Entra app registration), a
	// GUID. Required.
	BotID string
	// Name is the app's short name, at most 30 characters. Empty means
	// "Herald". Its first letter or digit is drawn on the icons.
	Name string
	// FullName, at most 100 characters. Empty means Name.
	FullName string
	// ShortDescription, at most 80 characters. Empty means a sentence
	// about notifications.
	ShortDescription string
	// FullDescription, at most 4000 characters. Empty means a paragraph
	// about notifications and the bot's commands.
	FullDescription string
	// Developer is who publishes the app.
	Developer Developer
	// AccentColor is "#rrggbb", the icon background. Empty means "#4F52B2".
	AccentColor string
	// Version is the app version, major.minor.patch. Empty means "1.0.0".
	// Raise it each time an uploaded package changes.
	Version string
	// Scopes are where the bot can be installed: ScopePersonal, ScopeTeam,
	// ScopeGroupChat (case-insensitive). Empty means all three.
	Scopes []string
	// Commands are offered in the compose box of the bot's personal chat
	// (Herald answers commands only there). nil means [DefaultCommands];
	// an empty non-nil slice means none. At most 10.
	Commands []Command
	// ValidDomains are domains (no scheme; wildcards like *.example.com
	// allowed) the app may open inside Teams. At most 16. Empty means none.
	ValidDomains []string
	// Resource is webApplicationInfo.resource. Teams requires a value but
	// does not use it for the Graph installation permissions. Empty means
	// "api://botid-<BotID>".
	Resource string
}

// Developer is the publisher of the app.
type Developer struct {
	// Name, at most 32 characters. Empty means the app's Name.
	Name string
	// WebsiteURL, PrivacyURL and TermsURL are https URLs. Empty means the
	// Placeholder… constants.
	WebsiteURL, PrivacyURL, TermsURL string
}

// Command is one entry of the bot's command menu.
type Command struct {
	// Title is what the user types, at most 32 characters.
	Title string
	// Description, at most 128 characters.
	Description string
}

// DefaultCommands are the commands Herald's bot answers in personal chat.
func DefaultCommands() []Command {
	return []Command{
		{"help", "Show what I can do"},
		{"topics", "List your notification topics and turn some off"},
		{"stop", "Stop notifications (stop <topic> stops one topic)"},
		{"start", "Get notifications again (start <topic> for one topic)"},
	}
}

// FieldError says which ManifestConfig field is wrong.
type FieldError struct {
	// Field is the Go path of the field, such as "BotID" or
	// "Developer.PrivacyURL".
	Field string
	// Message says what is wrong with it.
	Message string
}

// Error is "Field: Message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// appIDNamespace is the name-based UUID namespace of derived app ids.
const appIDNamespace = "0a2dd685-d53b-471d-b21f-64c859e0f82b"

// DeriveAppID returns the Teams app id Package uses when AppID is empty: a
// name-based (version 5) UUID of the bot id, lowercased, so the same bot
// always gets the same app id.
func DeriveAppID(botID string) string {
	ns, _ := hex.DecodeString(strings.ReplaceAll(appIDNamespace, "-", ""))
	h := sha1.New()
	h.Write(ns)
	h.Write([]byte(strings.ToLower(strings.TrimSpace(botID))))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	s := hex.EncodeToString(u)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// withDefaults fills the empty fields of c.
func (c ManifestConfig) withDefaults() ManifestConfig {
	c.BotID = strings.TrimSpace(c.BotID)
	c.AppID = strings.TrimSpace(c.AppID)
	if c.AppID == "" && isGUID(c.BotID) {
		c.AppID = DeriveAppID(c.BotID)
	}
	def := func(s *string, v string) {
		if strings.TrimSpace(*s) == "" {
			*s = v
		}
	}
	def(&c.Name, "Herald")
	def(&c.FullName, c.Name)
	def(&c.ShortDescription, "Notifications and welcome messages from your organisation.")
	def(&c.FullDescription, c.Name+" sends you notifications that concern you, in a chat with the bot or in "+
		"your teams: what happened, to what, who did it and what you can do about it. You choose what you get: "+
		"type topics to see the notification topics and turn some off, stop to stop them, start to get them again, "+
		"and help for the rest.")
	def(&c.Developer.Name, c.Name)
	def(&c.Developer.WebsiteURL, PlaceholderWebsiteURL)
	def(&c.Developer.PrivacyURL, PlaceholderPrivacyURL)
	def(&c.Developer.TermsURL, PlaceholderTermsURL)
	def(&c.AccentColor, "#4F52B2")
	def(&c.Version, "1.0.0")
	def(&c.Resource, "api://botid-"+c.BotID)
	if len(c.Scopes) == 0 {
		c.Scopes = []string{ScopePersonal, ScopeTeam, ScopeGroupChat}
	}
	if c.Commands == nil {
		c.Commands = DefaultCommands()
	}
	return c
}

// The manifest members Package writes, in order.
type (
	manifest struct {
		Schema             string         `json:"$schema"`
		ManifestVersion    string         `json:"manifestVersion"`
		Version            string         `json:"version"`
		ID                 string         `json:"id"`
		Developer          manifestDev    `json:"developer"`
		Name               shortFull      `json:"name"`
		Description        shortFull      `json:"description"`
		Icons              manifestIcons  `json:"icons"`
		AccentColor        string         `json:"accentColor"`
		Bots               []manifestBot  `json:"bots"`
		ValidDomains       []string       `json:"validDomains"`
		WebApplicationInfo webApplication `json:"webApplicationInfo"`
	}
	manifestDev struct {
		Name          string `json:"name"`
		WebsiteURL    string `json:"websiteUrl"`
		PrivacyURL    string `json:"privacyUrl"`
		TermsOfUseURL string `json:"termsOfUseUrl"`
	}
	shortFull struct {
		Short string `json:"short"`
		Full  string `json:"full"`
	}
	manifestIcons struct {
		Color   string `json:"color"`
		Outline string `json:"outline"`
	}
	manifestBot struct {
		BotID              string        `json:"botId"`
		Scopes             []string      `json:"scopes"`
		SupportsFiles      bool          `json:"supportsFiles"`
		IsNotificationOnly bool          `json:"isNotificationOnly"`
		CommandLists       []commandList `json:"commandLists,omitempty"`
	}
	commandList struct {
		Scopes   []string          `json:"scopes"`
		Commands []manifestCommand `json:"commands"`
	}
	manifestCommand struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	webApplication struct {
		ID       string `json:"id"`
		Resource string `json:"resource"`
	}
)

func buildManifest(c ManifestConfig) manifest {
	bot := manifestBot{BotID: c.BotID, Scopes: c.Scopes}
	if len(c.Commands) > 0 && slices.Contains(c.Scopes, ScopePersonal) {
		cl := commandList{Scopes: []string{ScopePersonal}}
		for _, cmd := range c.Commands {
			cl.Commands = append(cl.Commands, manifestCommand{strings.TrimSpace(cmd.Title), strings.TrimSpace(cmd.Description)})
		}
		bot.CommandLists = []commandList{cl}
	}
	domains := c.ValidDomains
	if domains == nil {
		domains = []string{}
	}
	return manifest{
		Schema:          SchemaURL,
		ManifestVersion: ManifestVersion,
		Version:         c.Version,
		ID:              c.AppID,
		Developer: manifestDev{Name: c.Developer.Name, WebsiteURL: c.Developer.WebsiteURL,
			PrivacyURL: c.Developer.PrivacyURL, TermsOfUseURL: c.Developer.TermsURL},
		Name:               shortFull{c.Name, c.FullName},
		Description:        shortFull{c.ShortDescription, c.FullDescription},
		Icons:              manifestIcons{ColorIcon, OutlineIcon},
		AccentColor:        c.AccentColor,
		Bots:               []manifestBot{bot},
		ValidDomains:       domains,
		WebApplicationInfo: webApplication{ID: c.BotID, Resource: c.Resource},
	}
}

// Package validates cfg, fills in its defaults and returns the Teams app
// package: a zip holding manifest.json, color.png (192×192, the first
// letter of the name in white on the accent colour) and outline.png
// (32×32, the same letter in white on transparent). The output is
// deterministic. Configuration errors are [*FieldError].
func Package(cfg ManifestConfig) ([]byte, error) {
	c := cfg.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	var mf bytes.Buffer
	enc := json.NewEncoder(&mf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(buildManifest(c)); err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	accent, _ := parseHexColor(c.AccentColor)
	mark := iconMark(c.Name)
	color, err := colorIcon(mark, accent)
	if err != nil {
		return nil, err
	}
	outline, err := outlineIcon(mark)
	if err != nil {
		return nil, err
	}
	// Every file gets the same modification time, so the same config
	// always gives the same bytes.
	modified := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range []struct {
		name string
		data []byte
	}{{ManifestFile, mf.Bytes()}, {ColorIcon, color}, {OutlineIcon, outline}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", f.name, err)
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, fmt.Errorf("zip %s: %w", f.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	return out.Bytes(), nil
}
