package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"herald"
	"herald/api"
	"herald/sqlstore"
)

// runKeys is `herald keys`: API keys, managed in the store directly (like
// migrate), so the first keys can be made before any key exists; a
// running Herald sees a change at its next request.
func runKeys(ctx context.Context, args []string, e *env) error {
	return runGroup(ctx, "keys", map[string]subcommand{
		"create": {"make an API key with scopes and limits; prints the key once", keysCreate},
		"ls":     {"list the API keys (never the keys themselves)", keysLs},
		"revoke": {"revoke an API key: it is refused from then on", keysRevoke},
	}, args, e)
}

// storeFlags are the flags that reach the store.
type storeFlags struct {
	dsn, schema *string
}

// addStoreFlags adds --store (default HERALD_STORE, else sqlite:herald.db)
// and --schema.
func addStoreFlags(fs *flag.FlagSet, e *env) *storeFlags {
	def := e.getenv("HERALD_STORE")
	sf := &storeFlags{}
	if def == "" {
		def = "sqlite:herald.db"
	}
	sf.dsn = fs.String("store", def, "the store: sqlite:<path> or postgres://… (env HERALD_STORE; a password only there, never in this flag)")
	sf.schema = fs.String("schema", "", "PostgreSQL schema of the tables (default: the search_path)")
	return sf
}

// open opens (and migrates) the store. A password in --store is refused:
// a command line is visible to every user of the machine.
func (sf *storeFlags) open(ctx context.Context, fs *flag.FlagSet) (*sqlstore.Store, error) {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "store" })
	if u, err := url.Parse(*sf.dsn); set && err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return nil, usageError{fmt.Sprintf("%s: --store holds a password; put the store's URL in HERALD_STORE instead", fs.Name())}
		}
	}
	opts := sqlstore.Options{Schema: *sf.schema}
	st, err := sqlstore.Open(ctx, *sf.dsn, opts)
	var inUse *herald.NodeInUseError
	if errors.As(err, &inUse) {
		// A running Herald holds the SQLite store (one process runs the
		// engine on it) and has migrated it; managing keys needs neither
		// the migration nor the engine, and SQLite serialises the writes.
		opts.SkipMigrate = true
		st, err = sqlstore.Open(ctx, *sf.dsn, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fs.Name(), err)
	}
	return st, nil
}

func keysCreate(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("keys create", "keys create --name NAME --scope send[,read,admin] [--topics T,…] [--audience ENTRY]… [--critical] [--json]", e)
	sf := addStoreFlags(fs, e)
	name := fs.String("name", "", "whose or what the key is (required)")
	var scopeList, topics, audiences multiFlag
	fs.Var(&scopeList, "scope", "send, read or admin (repeatable or comma-separated; required)")
	fs.Var(&topics, "topics", "send only notifications on these topics (repeatable or comma-separated)")
	fs.Var(&audiences, "audience", "send only to this audience entry: team:Ops, channel:Ops/Alerts, channel:Ops/*, user:* (repeatable)")
	critical := fs.Bool("critical", false, "may send critical notifications, which ignore opt-outs")
	asJSON := fs.Bool("json", false, "print the key and its record as JSON")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	k := herald.APIKey{Name: *name, Topics: splitList(topics), Audiences: audiences, Critical: *critical}
	for _, s := range splitList(scopeList) {
		k.Scopes = append(k.Scopes, herald.Scope(s))
	}
	if err := k.Validate(); err != nil {
		return usageError{"keys create: " + flagProblem(err)}
	}
	st, err := sf.open(ctx, fs)
	if err != nil {
		return err
	}
	defer st.Close()
	k, secret, err := herald.NewAPIKey(k, time.Now())
	if err != nil {
		return err
	}
	if err := st.APIKeyCreate(ctx, k); err != nil {
		return fmt.Errorf("keys create: %w", err)
	}
	if *asJSON {
		return printJSON(e.stdout, api.NewKey{Key: api.Key{APIKey: k}, Secret: secret})
	}
	fmt.Fprintln(e.stdout, secret)
	fmt.Fprintf(e.stderr, "made key %s (%s: %s); the key above is shown only now, keep it\n", k.ID, k.Name, grants(k))
	return nil
}

// flagProblem words a validation error with the flags' names.
func flagProblem(err error) string {
	msg := strings.TrimPrefix(err.Error(), herald.ErrInvalid.Error()+": ")
	msg = strings.NewReplacer("scopes", "--scope", "topics", "--topics", "audiences", "--audience", "name:", "--name:").Replace(msg)
	return strings.ReplaceAll(msg, "\n", "; ")
}

// grants describes what a key may do: its scopes and limits.
func grants(k herald.APIKey) string {
	parts := make([]string, len(k.Scopes))
	for i, s := range k.Scopes {
		parts[i] = string(s)
	}
	out := strings.Join(parts, ",")
	if len(k.Topics) > 0 {
		out += "; topics " + strings.Join(k.Topics, ",")
	}
	if len(k.Audiences) > 0 {
		out += "; audiences " + strings.Join(k.Audiences, ",")
	}
	if k.Critical {
		out += "; critical"
	}
	return out
}

func keysLs(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("keys ls", "keys ls [--json]", e)
	sf := addStoreFlags(fs, e)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	st, err := sf.open(ctx, fs)
	if err != nil {
		return err
	}
	defer st.Close()
	ks, err := st.APIKeyList(ctx)
	if err != nil {
		return fmt.Errorf("keys ls: %w", err)
	}
	if *asJSON {
		l := api.KeyList{Keys: make([]api.Key, len(ks))}
		for i, k := range ks {
			l.Keys[i] = api.Key{APIKey: k, Revoked: k.Revoked()}
		}
		return printJSON(e.stdout, l)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tGRANTS\tCREATED\tLAST USED\tREVOKED")
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Local().Format("2006-01-02 15:04")
	}
	for _, k := range ks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, grants(k), when(k.CreatedAt), when(k.LastUsedAt), when(k.RevokedAt))
	}
	return tw.Flush()
}

func keysRevoke(ctx context.Context, args []string, e *env) error {
	fs := newSubFlags("keys revoke", "keys revoke ID", e)
	sf := addStoreFlags(fs, e)
	id, err := oneID(fs, args, "key id (k_…)")
	if err != nil {
		return err
	}
	st, err := sf.open(ctx, fs)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := st.APIKeyRevoke(ctx, id, time.Now())
	if errors.Is(err, herald.ErrNotFound) {
		return fmt.Errorf("keys revoke: no key %q (herald keys ls lists them)", id)
	}
	if err != nil {
		return fmt.Errorf("keys revoke: %w", err)
	}
	fmt.Fprintf(e.stdout, "revoked %s (%s) at %s\n", k.ID, k.Name, k.RevokedAt.Local().Format(time.RFC3339))
	return nil
}

// storeHasKeys reports whether the store holds a key that is not revoked,
// so that `herald serve` may run with the store's keys alone.
func storeHasKeys(ctx context.Context, st herald.KeyStore) bool {
	ks, err := st.APIKeyList(ctx)
	if err != nil {
		return false
	}
	for _, k := range ks {
		if !k.Revoked() {
			return true
		}
	}
	return false
}
