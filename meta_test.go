package herald_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type listedPackage struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Deps       []string
	Standard   bool
}

// goList runs `go list -json` over the module's packages.
func goList(t *testing.T) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestPackageComments fails when a package has no package comment.
func TestPackageComments(t *testing.T) {
	t.Parallel()
	for _, p := range goList(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package comment", p.ImportPath)
		}
	}
}

// forbidden lists, for each package of the module, import paths (or
// prefixes ending in "/") that it must not depend on, directly or not.
// "module" stands for any package of this module, "nonstd" for any package
// outside the standard library.
var forbidden = map[string][]string{
	"herald/botframework": {"module", "nonstd"},
	"herald/botauth":      {"herald", "herald/engine", "herald/bot", "herald/emulator", "herald/server", "herald/sqlstore", "herald/cmd/"},
	"herald/emulator":     {"herald", "herald/engine", "herald/bot", "herald/botauth", "herald/graph", "herald/server", "herald/sqlstore", "herald/cmd/"},
	// The Graph client: a protocol leaf on the standard library.
	"herald/graph": {"herald", "herald/engine", "herald/bot", "herald/emulator", "herald/server", "herald/sqlstore", "herald/storetest", "herald/cmd/", "nonstd"},
	// The kernel: records and ports, on the standard library and the wire schema.
	"herald":          {"herald/botauth", "herald/graph", "herald/engine", "herald/bot", "herald/card", "herald/teamsapp", "herald/server", "herald/api", "herald/emulator", "herald/sqlstore", "herald/storetest", "herald/cmd/", "nonstd"},
	"herald/engine":   {"herald/bot", "herald/server", "herald/api", "herald/emulator", "herald/sqlstore", "herald/storetest", "herald/cmd/"},
	"herald/bot":      {"herald/engine", "herald/server", "herald/emulator", "herald/sqlstore", "herald/storetest", "herald/cmd/", "github.com/riverqueue/"},
	"herald/api":      {"herald/engine", "herald/bot", "herald/server", "herald/emulator", "herald/sqlstore", "herald/storetest", "herald/cmd/", "github.com/riverqueue/", "github.com/jackc/pgx/v5", "modernc.org/sqlite"},
	"herald/server":   {"herald/bot", "herald/emulator", "herald/sqlstore", "herald/storetest", "herald/cmd/", "github.com/jackc/pgx/v5", "modernc.org/sqlite"},
	"herald/card":     {"herald", "herald/engine", "herald/bot", "herald/botauth", "herald/emulator", "herald/server", "herald/api", "herald/sqlstore", "herald/storetest", "herald/cmd/", "nonstd"},
	"herald/teamsapp": {"herald", "herald/engine", "herald/bot", "herald/botauth", "herald/emulator", "herald/server", "herald/api", "herald/sqlstore", "herald/storetest", "herald/cmd/", "nonstd"},
}

// vagueNames are package names that say nothing of what a package holds.
var vagueNames = map[string]bool{"util": true, "utils": true, "common": true, "helpers": true, "helper": true, "misc": true, "shared": true}

// TestDependencyDirection fails when an import breaks the layering:
// protocol leaves import nothing of the module, the emulator stays an
// independent model of Teams, and the library never reaches the drivers.
func TestDependencyDirection(t *testing.T) {
	t.Parallel()
	pkgs := goList(t)
	for _, p := range pkgs {
		rules, ok := forbidden[p.ImportPath]
		if !ok {
			continue
		}
		for _, dep := range p.Deps {
			for _, rule := range rules {
				if violates(p.ImportPath, dep, rule) {
					t.Errorf("%s depends on %s (forbidden by %q)", p.ImportPath, dep, rule)
				}
			}
		}
	}
	for _, p := range pkgs {
		if vagueNames[p.Name] {
			t.Errorf("package %s is named %q, which says nothing of what it holds", p.ImportPath, p.Name)
		}
	}
	for _, p := range pkgs {
		if strings.HasSuffix(p.ImportPath, "test") || strings.HasPrefix(p.ImportPath, "herald/cmd/") {
			continue
		}
		for _, imp := range p.Imports {
			if imp == "testing" {
				t.Errorf("non-test package %s imports testing", p.ImportPath)
			}
		}
	}
}

func violates(self, dep, rule string) bool {
	switch {
	case rule == "module":
		return dep == "herald" || strings.HasPrefix(dep, "herald/")
	case rule == "nonstd":
		// Standard library paths have no dot in their first element.
		first, _, _ := strings.Cut(dep, "/")
		return strings.Contains(first, ".")
	case strings.HasSuffix(rule, "/"):
		return strings.HasPrefix(dep, rule)
	default:
		return dep == rule || strings.HasPrefix(dep, rule+"/") && rule != "herald"
	}
}

// TestViolates checks the rule matcher itself, so the dependency test can fail.
func TestViolates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dep, rule string
		want      bool
	}{
		{"herald", "module", true},
		{"herald/botframework", "module", true},
		{"heraldic", "module", false},
		{"github.com/x/y", "github.com/", true},
		{"net/http", "github.com/", false},
		{"herald/emulator", "herald/emulator", true},
		{"herald/botauth", "herald", false},
		{"herald", "herald", true},
		{"github.com/jackc/pgx/v5/stdlib", "github.com/jackc/pgx/v5", true},
		{"github.com/riverqueue/river", "nonstd", true},
		{"golang.org/x/oauth2", "nonstd", true},
		{"net/http", "nonstd", false},
		{"herald/botframework", "nonstd", false},
		{"herald/engine", "herald/bot", false},
		{"herald/bot", "herald/bot", true},
	}
	for _, tt := range tests {
		if got := violates("x", tt.dep, tt.rule); got != tt.want {
			t.Errorf("violates(%q, %q) = %v, want %v", tt.dep, tt.rule, got, tt.want)
		}
	}
}
