package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"herald/teamsapp"
)

const testBotID = "11111111-2222-3333-4444-555555555555"

// runManifestCmd runs `herald manifest args…` with the given environment.
func runManifestCmd(t *testing.T, environ map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return environ[k] }}
	err = run(context.Background(), append([]string{"manifest"}, args...), e)
	return out.String(), errb.String(), err
}

// readPackage opens the zip at path and decodes its manifest.
func readPackage(t *testing.T, path string) (files []string, m map[string]any) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("open package: %v", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		files = append(files, f.Name)
		if f.Name != teamsapp.ManifestFile {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("decode manifest: %v", err)
		}
	}
	return files, m
}

func TestManifestCommand(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "app.zip")
	stdout, stderr, err := runManifestCmd(t, nil, "--bot-id", testBotID, "--name", "Contoso Alerts",
		"--description", "Alerts from Contoso", "--developer", "Contoso IT", "--website", "https://contoso.example/",
		"--privacy", "https://contoso.example/privacy", "--terms", "https://contoso.example/terms",
		"--version", "1.2.3", "--scopes", "personal, team", "--out", out)
	if err != nil {
		t.Fatalf("manifest: %v (stderr %q)", err, stderr)
	}
	if !strings.Contains(stdout, "wrote "+out) || !strings.Contains(stdout, teamsapp.DeriveAppID(testBotID)) || !strings.Contains(stdout, "Upload an app") {
		t.Errorf("stdout = %q", stdout)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing when every URL is given", stderr)
	}
	files, m := readPackage(t, out)
	if strings.Join(files, ",") != "manifest.json,color.png,outline.png" {
		t.Errorf("files = %v", files)
	}
	bot := m["bots"].([]any)[0].(map[string]any)
	dev := m["developer"].(map[string]any)
	name := m["name"].(map[string]any)
	if bot["botId"] != testBotID || m["version"] != "1.2.3" || name["short"] != "Contoso Alerts" ||
		dev["name"] != "Contoso IT" || dev["termsOfUseUrl"] != "https://contoso.example/terms" ||
		m["description"].(map[string]any)["short"] != "Alerts from Contoso" {
		t.Errorf("manifest does not carry the flags: %v", m)
	}
	if scopes, _ := json.Marshal(bot["scopes"]); string(scopes) != `["personal","team"]` {
		t.Errorf("scopes = %s", scopes)
	}
}

func TestManifestCommandEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name    string
		environ map[string]string
		want    string
	}{
		{"MicrosoftAppId", map[string]string{"MicrosoftAppId": testBotID}, testBotID},
		{"HERALD_APP_ID wins", map[string]string{"MicrosoftAppId": testBotID, "HERALD_APP_ID": "aaaaaaaa-2222-3333-4444-555555555555"}, "aaaaaaaa-2222-3333-4444-555555555555"},
	}
	for i, tt := range tests {
		out := filepath.Join(dir, tt.name+".zip")
		_, stderr, err := runManifestCmd(t, tt.environ, "--out", out)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !strings.Contains(stderr, "placeholders") {
			t.Errorf("%s: no note about placeholder URLs: %q", tt.name, stderr)
		}
		_, m := readPackage(t, out)
		if got := m["bots"].([]any)[0].(map[string]any)["botId"]; got != tt.want {
			t.Errorf("%s: botId = %v, want %s", tt.name, got, tt.want)
		}
	}
	// The flag wins over the environment.
	out := filepath.Join(dir, "flag.zip")
	if _, _, err := runManifestCmd(t, map[string]string{"HERALD_APP_ID": "aaaaaaaa-2222-3333-4444-555555555555"}, "--bot-id", testBotID, "--out", out); err != nil {
		t.Fatal(err)
	}
	if _, m := readPackage(t, out); m["webApplicationInfo"].(map[string]any)["id"] != testBotID {
		t.Errorf("--bot-id did not win over HERALD_APP_ID: %v", m["webApplicationInfo"])
	}
}

func TestManifestCommandErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no bot id", nil, "--bot-id is required"},
		{"bad bot id", []string{"--bot-id", "bot"}, `manifest: --bot-id: "bot" is not a GUID`},
		{"long name", []string{"--bot-id", testBotID, "--name", strings.Repeat("n", 31)}, "manifest: --name: is 31 characters; at most 30"},
		{"http privacy", []string{"--bot-id", testBotID, "--privacy", "http://x.example"}, "manifest: --privacy: "},
		{"bad version", []string{"--bot-id", testBotID, "--version", "1"}, "manifest: --version: "},
		{"bad scope", []string{"--bot-id", testBotID, "--scopes", "personal,channel"}, "manifest: --scopes: "},
		{"stray argument", []string{"--bot-id", testBotID, "extra"}, `unexpected argument "extra"`},
		{"unwritable output", []string{"--bot-id", testBotID, "--out", filepath.Join(dir, "missing", "app.zip")}, "manifest: open "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := tt.args
			if !strings.Contains(strings.Join(args, " "), "--out") {
				args = append(args, "--out", filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".zip"))
			}
			_, _, err := runManifestCmd(t, nil, args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line containing %q", err, tt.want)
			}
		})
	}
	if _, _, err := runManifestCmd(t, nil, "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: got %v, want flag.ErrHelp", err)
	}
}
