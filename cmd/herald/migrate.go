package main

import (
	"context"
	"flag"
	"fmt"

	"herald/sqlstore"
)

// runMigrate applies Herald's and River's migrations to a store.
func runMigrate(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("herald migrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	def := e.getenv("HERALD_STORE")
	if def == "" {
		def = "sqlite:herald.db"
	}
	dsn := fs.String("store", def, "the store: sqlite:<path> or postgres://… (env HERALD_STORE)")
	schema := fs.String("schema", "", "PostgreSQL schema to migrate (default: the search_path)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: herald migrate [flags]\n\nCreates or upgrades the store's tables (Herald's and River's). `herald serve` does the same on start.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("migrate: unexpected argument %q", fs.Arg(0))}
	}
	st, err := sqlstore.Open(ctx, *dsn, sqlstore.Options{Schema: *schema, SkipMigrate: true})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(e.stdout, "migrated %s store\n", st.Dialect())
	return nil
}
