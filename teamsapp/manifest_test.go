package teamsapp_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"herald/teamsapp"
)

const botID = "11111111-2222-3333-4444-555555555555"

// unpack returns the files of a package by name.
func unpack(t *testing.T, pkg []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatalf("open zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s: %v", f.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		files[f.Name] = data
	}
	return files
}

// manifestJSON mirrors the manifest members the tests check, by their
// schema names (independent of the package's own types).
type manifestJSON struct {
	Schema          string `json:"$schema"`
	ManifestVersion string `json:"manifestVersion"`
	Version         string `json:"version"`
	ID              string `json:"id"`
	Developer       struct {
		Name          string `json:"name"`
		WebsiteURL    string `json:"websiteUrl"`
		PrivacyURL    string `json:"privacyUrl"`
		TermsOfUseURL string `json:"termsOfUseUrl"`
	} `json:"developer"`
	Name        struct{ Short, Full string }    `json:"name"`
	Description struct{ Short, Full string }    `json:"description"`
	Icons       struct{ Color, Outline string } `json:"icons"`
	AccentColor string                          `json:"accentColor"`
	Bots        []struct {
		BotID              string   `json:"botId"`
		Scopes             []string `json:"scopes"`
		SupportsFiles      *bool    `json:"supportsFiles"`
		IsNotificationOnly *bool    `json:"isNotificationOnly"`
		CommandLists       []struct {
			Scopes   []string `json:"scopes"`
			Commands []struct {
				Title       string `json:"title"`
				Description string `json:"description"`
			} `json:"commands"`
		} `json:"commandLists"`
	} `json:"bots"`
	ValidDomains       []string `json:"validDomains"`
	WebApplicationInfo struct {
		ID       string `json:"id"`
		Resource string `json:"resource"`
	} `json:"webApplicationInfo"`
}

func readManifest(t *testing.T, files map[string][]byte) manifestJSON {
	t.Helper()
	raw, ok := files["manifest.json"]
	if !ok {
		t.Fatal("package has no manifest.json")
	}
	// Every member the v1.17 schema requires, at the top level.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("decode manifest: %v", err)
	}
	for _, k := range []string{"manifestVersion", "version", "id", "developer", "name", "description", "icons", "accentColor"} {
		if _, ok := top[k]; !ok {
			t.Errorf("manifest lacks required member %q", k)
		}
	}
	var m manifestJSON
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decode manifest: %v", err)
	}
	return m
}

func TestPackageDefaults(t *testing.T) {
	t.Parallel()
	pkg, err := teamsapp.Package(teamsapp.ManifestConfig{BotID: botID})
	if err != nil {
		t.Fatal(err)
	}
	files := unpack(t, pkg)
	if diff := cmp.Diff([]string{"color.png", "manifest.json", "outline.png"}, slices.Sorted(maps.Keys(files))); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	m := readManifest(t, files)
	checks := []struct{ name, got, want string }{
		{"$schema", m.Schema, "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"},
		{"manifestVersion", m.ManifestVersion, "1.17"},
		{"version", m.Version, "1.0.0"},
		{"id", m.ID, "9b9aa6c7-7d8d-5129-abc9-2e657a192fad"},
		{"name.short", m.Name.Short, "Herald"},
		{"name.full", m.Name.Full, "Herald"},
		{"developer.name", m.Developer.Name, "Herald"},
		{"developer.websiteUrl", m.Developer.WebsiteURL, teamsapp.PlaceholderWebsiteURL},
		{"developer.privacyUrl", m.Developer.PrivacyURL, teamsapp.PlaceholderPrivacyURL},
		{"developer.termsOfUseUrl", m.Developer.TermsOfUseURL, teamsapp.PlaceholderTermsURL},
		{"icons.color", m.Icons.Color, "color.png"},
		{"icons.outline", m.Icons.Outline, "outline.png"},
		{"accentColor", m.AccentColor, "#4F52B2"},
		{"webApplicationInfo.id", m.WebApplicationInfo.ID, botID},
		{"webApplicationInfo.resource", m.WebApplicationInfo.Resource, "api://botid-" + botID},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if m.Description.Short == "" || len(m.Description.Short) > 80 || m.Description.Full == "" {
		t.Errorf("description = %+v", m.Description)
	}
	if len(m.Bots) != 1 {
		t.Fatalf("got %d bots", len(m.Bots))
	}
	bot := m.Bots[0]
	if bot.BotID != botID || !cmp.Equal(bot.Scopes, []string{"personal", "team", "groupChat"}) {
		t.Errorf("bot = %+v", bot)
	}
	if bot.SupportsFiles == nil || *bot.SupportsFiles || bot.IsNotificationOnly == nil || *bot.IsNotificationOnly {
		t.Errorf("supportsFiles and isNotificationOnly must be written as false: %+v", bot)
	}
	if len(bot.CommandLists) != 1 || !cmp.Equal(bot.CommandLists[0].Scopes, []string{"personal"}) {
		t.Fatalf("commandLists = %+v", bot.CommandLists)
	}
	var titles []string
	for _, c := range bot.CommandLists[0].Commands {
		if c.Description == "" {
			t.Errorf("command %q has no description", c.Title)
		}
		titles = append(titles, c.Title)
	}
	if diff := cmp.Diff([]string{"help", "topics", "stop", "start"}, titles); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if m.ValidDomains == nil || len(m.ValidDomains) != 0 {
		t.Errorf("validDomains = %#v, want []", m.ValidDomains)
	}
}

func TestPackageCustom(t *testing.T) {
	t.Parallel()
	cfg := teamsapp.ManifestConfig{
		AppID:            "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE",
		BotID:            " " + botID + " ",
		Name:             "Contoso Alerts",
		FullName:         "Contoso Alerts & Announcements",
		ShortDescription: "Alerts <and> announcements",
		FullDescription:  "Everything Contoso wants you to know.",
		Developer: teamsapp.Developer{Name: "Contoso IT", WebsiteURL: "https://contoso.example/",
			PrivacyURL: "https://contoso.example/privacy", TermsURL: "https://contoso.example/terms"},
		AccentColor:  "#00aa11",
		Version:      "2.10.0",
		Scopes:       []string{"Team", "groupchat"},
		Commands:     []teamsapp.Command{{"help", "Help"}},
		ValidDomains: []string{"contoso.example", "*.contoso.example"},
		Resource:     "api://contoso.example/alerts",
	}
	pkg, err := teamsapp.Package(cfg)
	if err != nil {
		t.Fatal(err)
	}
	files := unpack(t, pkg)
	m := readManifest(t, files)
	if m.ID != cfg.AppID || m.Name.Short != cfg.Name || m.Name.Full != cfg.FullName || m.Version != "2.10.0" ||
		m.Description.Short != cfg.ShortDescription || m.Description.Full != cfg.FullDescription ||
		m.Developer.Name != "Contoso IT" || m.Developer.TermsOfUseURL != "https://contoso.example/terms" ||
		m.AccentColor != "#00aa11" || m.WebApplicationInfo.Resource != cfg.Resource || m.WebApplicationInfo.ID != botID {
		t.Errorf("manifest does not carry the config: %+v", m)
	}
	if !bytes.Contains(files["manifest.json"], []byte("Contoso Alerts & Announcements")) ||
		!bytes.Contains(files["manifest.json"], []byte("<and>")) {
		t.Error("manifest escapes HTML characters; Teams shows the JSON text as is only when unescaped")
	}
	bot := m.Bots[0]
	if bot.BotID != botID || !cmp.Equal(bot.Scopes, []string{"team", "groupChat"}) {
		t.Errorf("bot = %+v", bot)
	}
	if len(bot.CommandLists) != 0 {
		t.Errorf("commands are answered in personal chat only; without that scope there must be no command list: %+v", bot.CommandLists)
	}
	if !cmp.Equal(m.ValidDomains, cfg.ValidDomains) {
		t.Errorf("validDomains = %v", m.ValidDomains)
	}
	// The icons use the accent colour.
	img := decodePNG(t, files["color.png"])
	if got := color.NRGBAModel.Convert(img.At(0, 0)).(color.NRGBA); got != (color.NRGBA{0x00, 0xaa, 0x11, 0xff}) {
		t.Errorf("color icon background = %v", got)
	}
}

func TestPackageNoCommands(t *testing.T) {
	t.Parallel()
	pkg, err := teamsapp.Package(teamsapp.ManifestConfig{BotID: botID, Commands: []teamsapp.Command{}})
	if err != nil {
		t.Fatal(err)
	}
	if m := readManifest(t, unpack(t, pkg)); len(m.Bots[0].CommandLists) != 0 {
		t.Errorf("commandLists = %+v, want none", m.Bots[0].CommandLists)
	}
}

func TestPackageDeterministic(t *testing.T) {
	t.Parallel()
	a, err := teamsapp.Package(teamsapp.ManifestConfig{BotID: botID})
	if err != nil {
		t.Fatal(err)
	}
	b, err := teamsapp.Package(teamsapp.ManifestConfig{BotID: botID})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the same config gave different packages")
	}
	c, err := teamsapp.Package(teamsapp.ManifestConfig{BotID: botID, Version: "1.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Error("a different version gave the same package")
	}
}

func TestDeriveAppID(t *testing.T) {
	t.Parallel()
	// Expected values computed independently with Python's
	// uuid.uuid5(UUID("0a2dd685-d53b-471d-b21f-64c859e0f82b"), botID.lower()).
	tests := []struct{ bot, want string }{
		{"11111111-2222-3333-4444-555555555555", "9b9aa6c7-7d8d-5129-abc9-2e657a192fad"},
		{"AbCdEf00-1111-2222-3333-444444444444", "fef7d2c6-af95-5f93-aa29-61d733a0aefa"},
		{"abcdef00-1111-2222-3333-444444444444", "fef7d2c6-af95-5f93-aa29-61d733a0aefa"},
	}
	for _, tt := range tests {
		if got := teamsapp.DeriveAppID(tt.bot); got != tt.want {
			t.Errorf("DeriveAppID(%q) = %q, want %q", tt.bot, got, tt.want)
		}
	}
}

func decodePNG(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode png: %v", err)
	}
	return img
}

func TestIcons(t *testing.T) {
	t.Parallel()
	icons := func(name string) (colorImg, outline image.Image) {
		pkg, err := teamsapp.Package(teamsapp.ManifestConfig{BotID: botID, Name: name, AccentColor: "#102030"})
		if err != nil {
			t.Fatal(err)
		}
		files := unpack(t, pkg)
		return decodePNG(t, files["color.png"]), decodePNG(t, files["outline.png"])
	}
	colorImg, outline := icons("Herald")
	if b := colorImg.Bounds(); b.Dx() != 192 || b.Dy() != 192 {
		t.Errorf("color icon is %v, want 192×192", b)
	}
	if b := outline.Bounds(); b.Dx() != 32 || b.Dy() != 32 {
		t.Errorf("outline icon is %v, want 32×32", b)
	}
	white := color.NRGBA{255, 255, 255, 255}
	accent := color.NRGBA{0x10, 0x20, 0x30, 0xff}
	var colorWhite, colorAccent int
	b := colorImg.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			switch c := color.NRGBAModel.Convert(colorImg.At(x, y)).(color.NRGBA); c {
			case white:
				colorWhite++
				if x < 36 || x >= 156 || y < 36 || y >= 156 {
					t.Fatalf("color icon: mark outside the 120×120 centre at (%d,%d)", x, y)
				}
			case accent:
				colorAccent++
			default:
				t.Fatalf("color icon: pixel (%d,%d) is %v, want the accent or white", x, y, c)
			}
		}
	}
	if colorWhite == 0 || colorAccent == 0 {
		t.Errorf("color icon: %d white and %d accent pixels; want both", colorWhite, colorAccent)
	}
	var ink int
	b = outline.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(outline.At(x, y)).(color.NRGBA)
			switch {
			case c == white:
				ink++
			case c.A == 0:
			default:
				t.Fatalf("outline icon: pixel (%d,%d) is %v; only white and transparent are allowed", x, y, c)
			}
		}
	}
	if ink == 0 || ink == 32*32 {
		t.Errorf("outline icon has %d white pixels", ink)
	}
	if _, _, _, alpha := outline.At(0, 0).RGBA(); alpha != 0 {
		t.Error("outline icon corner is not transparent")
	}
	// The mark follows the name: a different first letter, a different icon.
	_, outlineC := icons("Contoso")
	_, outlineH := icons("hello")
	_, outlineBell := icons("¡!")
	if samePixels(outline, outlineC) || !samePixels(outline, outlineH) || samePixels(outline, outlineBell) {
		t.Error("the outline mark does not follow the name's first letter")
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
				return false
			}
		}
	}
	return true
}

func TestPackageErrors(t *testing.T) {
	t.Parallel()
	cmds := func(n int) []teamsapp.Command {
		out := make([]teamsapp.Command, n)
		for i := range out {
			out[i] = teamsapp.Command{Title: strings.Repeat("c", i+1), Description: "d"}
		}
		return out
	}
	domains := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strings.Repeat("d", i+1) + ".example"
		}
		return out
	}
	tests := []struct {
		name   string
		mutate func(*teamsapp.ManifestConfig)
		field  string // "" means valid
	}{
		{"valid", func(*teamsapp.ManifestConfig) {}, ""},
		{"no bot id", func(c *teamsapp.ManifestConfig) { c.BotID = "" }, "BotID"},
		{"bot id not a GUID", func(c *teamsapp.ManifestConfig) { c.BotID = "my-bot" }, "BotID"},
		{"bot id with braces", func(c *teamsapp.ManifestConfig) { c.BotID = "{" + botID + "}" }, "BotID"},
		{"bot id not hex", func(c *teamsapp.ManifestConfig) { c.BotID = "g1111111-2222-3333-4444-555555555555" }, "BotID"},
		{"app id not a GUID", func(c *teamsapp.ManifestConfig) { c.AppID = "x" }, "AppID"},
		{"name of 30", func(c *teamsapp.ManifestConfig) { c.Name = strings.Repeat("é", 30) }, ""},
		{"name of 31", func(c *teamsapp.ManifestConfig) { c.Name = strings.Repeat("n", 31) }, "Name"},
		{"full name of 101", func(c *teamsapp.ManifestConfig) { c.FullName = strings.Repeat("n", 101) }, "FullName"},
		{"short description of 81", func(c *teamsapp.ManifestConfig) { c.ShortDescription = strings.Repeat("d", 81) }, "ShortDescription"},
		{"full description of 4000", func(c *teamsapp.ManifestConfig) { c.FullDescription = strings.Repeat("d", 4000) }, ""},
		{"full description of 4001", func(c *teamsapp.ManifestConfig) { c.FullDescription = strings.Repeat("d", 4001) }, "FullDescription"},
		{"developer name of 33", func(c *teamsapp.ManifestConfig) { c.Developer.Name = strings.Repeat("d", 33) }, "Developer.Name"},
		{"http website", func(c *teamsapp.ManifestConfig) { c.Developer.WebsiteURL = "http://contoso.example" }, "Developer.WebsiteURL"},
		{"privacy not a URL", func(c *teamsapp.ManifestConfig) { c.Developer.PrivacyURL = "privacy page" }, "Developer.PrivacyURL"},
		{"terms without host", func(c *teamsapp.ManifestConfig) { c.Developer.TermsURL = "https:///terms" }, "Developer.TermsURL"},
		{"accent without #", func(c *teamsapp.ManifestConfig) { c.AccentColor = "4F52B2" }, "AccentColor"},
		{"accent name", func(c *teamsapp.ManifestConfig) { c.AccentColor = "#purple" }, "AccentColor"},
		{"version of two parts", func(c *teamsapp.ManifestConfig) { c.Version = "1.0" }, "Version"},
		{"version with leading zero", func(c *teamsapp.ManifestConfig) { c.Version = "01.0.0" }, "Version"},
		{"version with v", func(c *teamsapp.ManifestConfig) { c.Version = "v1.0.0" }, "Version"},
		{"unknown scope", func(c *teamsapp.ManifestConfig) { c.Scopes = []string{"personal", "channel"} }, "Scopes[1]"},
		{"repeated scope", func(c *teamsapp.ManifestConfig) { c.Scopes = []string{"team", "Team"} }, "Scopes[1]"},
		{"ten commands", func(c *teamsapp.ManifestConfig) { c.Commands = cmds(10) }, ""},
		{"eleven commands", func(c *teamsapp.ManifestConfig) { c.Commands = cmds(11) }, "Commands"},
		{"command title of 33", func(c *teamsapp.ManifestConfig) { c.Commands = []teamsapp.Command{{strings.Repeat("t", 33), "d"}} }, "Commands[0].Title"},
		{"command without title", func(c *teamsapp.ManifestConfig) { c.Commands = []teamsapp.Command{{" ", "d"}} }, "Commands[0].Title"},
		{"command without description", func(c *teamsapp.ManifestConfig) { c.Commands = []teamsapp.Command{{"help", ""}} }, "Commands[0].Description"},
		{"command description of 129", func(c *teamsapp.ManifestConfig) { c.Commands = []teamsapp.Command{{"help", strings.Repeat("d", 129)}} }, "Commands[0].Description"},
		{"repeated command", func(c *teamsapp.ManifestConfig) { c.Commands = []teamsapp.Command{{"help", "a"}, {"Help", "b"}} }, "Commands[1].Title"},
		{"sixteen domains", func(c *teamsapp.ManifestConfig) { c.ValidDomains = domains(16) }, ""},
		{"seventeen domains", func(c *teamsapp.ManifestConfig) { c.ValidDomains = domains(17) }, "ValidDomains"},
		{"domain with scheme", func(c *teamsapp.ManifestConfig) { c.ValidDomains = []string{"https://contoso.example"} }, "ValidDomains[0]"},
		{"empty domain", func(c *teamsapp.ManifestConfig) { c.ValidDomains = []string{"a.example", ""} }, "ValidDomains[1]"},
		{"resource too long", func(c *teamsapp.ManifestConfig) { c.Resource = strings.Repeat("r", 2049) }, "Resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := teamsapp.ManifestConfig{BotID: botID}
			tt.mutate(&cfg)
			_, err := teamsapp.Package(cfg)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			var fe *teamsapp.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FieldError", err)
			}
			if fe.Field != tt.field || fe.Message == "" || !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("got %q (field %q), want field %q", err, fe.Field, tt.field)
			}
		})
	}
}
