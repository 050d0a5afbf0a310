package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"herald/teamsapp"
)

// manifestFlagOf maps teamsapp.ManifestConfig fields to the flags of
// `herald manifest`, so configuration errors name what the user typed.
func manifestFlagOf(field string) string {
	switch {
	case field == "BotID":
		return "--bot-id"
	case field == "AppID":
		return "--app-id"
	case field == "Name":
		return "--name"
	case field == "ShortDescription":
		return "--description"
	case field == "Developer.Name":
		return "--developer"
	case field == "Developer.WebsiteURL":
		return "--website"
	case field == "Developer.PrivacyURL":
		return "--privacy"
	case field == "Developer.TermsURL":
		return "--terms"
	case field == "Version":
		return "--version"
	case strings.HasPrefix(field, "Scopes"):
		return "--scopes"
	}
	return field
}

func runManifest(_ context.Context, args []string, e *env) error {
	var cfg teamsapp.ManifestConfig
	var out, scopes string
	fs := flag.NewFlagSet("herald manifest", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&cfg.BotID, "bot-id", "", "the bot's Microsoft App ID, a GUID (default: $HERALD_APP_ID, else $MicrosoftAppId)")
	fs.StringVar(&cfg.AppID, "app-id", "", "the Teams app id, a GUID (default: derived from the bot id, the same on every run)")
	fs.StringVar(&cfg.Name, "name", "", "the app's name, at most 30 characters (default Herald)")
	fs.StringVar(&cfg.ShortDescription, "description", "", "a one-line description, at most 80 characters")
	fs.StringVar(&cfg.Developer.Name, "developer", "", "the publisher's name, at most 32 characters (default: the app's name)")
	fs.StringVar(&cfg.Developer.WebsiteURL, "website", "", "the publisher's https website (default: a placeholder)")
	fs.StringVar(&cfg.Developer.PrivacyURL, "privacy", "", "the https privacy statement (default: a placeholder)")
	fs.StringVar(&cfg.Developer.TermsURL, "terms", "", "the https terms of use (default: a placeholder)")
	fs.StringVar(&cfg.Version, "version", "1.0.0", "the app version; raise it for every package you upload again")
	fs.StringVar(&scopes, "scopes", "personal,team,groupChat", "where the bot can be installed: a comma-separated list of personal, team, groupChat")
	fs.StringVar(&out, "out", "herald-app.zip", "the file to write")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: herald manifest [flags]\n\nWrites the Teams app package (manifest.json and icons, zipped) to upload to Teams.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("manifest: unexpected argument %q", fs.Arg(0))}
	}
	if cfg.BotID == "" {
		cfg.BotID = e.getenv("HERALD_APP_ID")
	}
	if cfg.BotID == "" {
		cfg.BotID = e.getenv("MicrosoftAppId")
	}
	if cfg.BotID == "" {
		return usageError{"manifest: --bot-id is required (the bot's Microsoft App ID; or set HERALD_APP_ID)"}
	}
	for s := range strings.SplitSeq(scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Scopes = append(cfg.Scopes, s)
		}
	}
	pkg, err := teamsapp.Package(cfg)
	var fe *teamsapp.FieldError
	switch {
	case errors.As(err, &fe):
		return fmt.Errorf("manifest: %s: %s", manifestFlagOf(fe.Field), fe.Message)
	case err != nil:
		return fmt.Errorf("manifest: %w", err)
	}
	if err := os.WriteFile(out, pkg, 0o644); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	appID := cfg.AppID
	if appID == "" {
		appID = teamsapp.DeriveAppID(cfg.BotID)
	}
	fmt.Fprintf(e.stdout, "wrote %s (Teams app id %s, bot %s)\n", out, appID, strings.TrimSpace(cfg.BotID))
	fmt.Fprintln(e.stdout, "upload it in Teams under Apps > Manage your apps > Upload an app, or to your organisation's catalog in the Teams admin center")
	if cfg.Developer.WebsiteURL == "" || cfg.Developer.PrivacyURL == "" || cfg.Developer.TermsURL == "" {
		fmt.Fprintln(e.stderr, "note: the developer website, privacy and terms URLs are placeholders on www.example.com; set --website, --privacy and --terms before publishing to your organisation")
	}
	return nil
}
