// Pricewatch is an example bot built on Herald's library: people ask it in
// their personal chat to watch a product's price ("watch widget",
// "unwatch widget"), a price feed (POST /prices) changes prices, and each
// watcher gets a notification card, sent through Herald's delivery engine
// with the key "price:<product>" so later changes update the same message
// in place. Readers opt out with the card's button or "stop price-alerts".
//
// It runs against the Herald emulator (a local Teams):
//
//	go run ./cmd/herald emulator --seed demo --bot http://127.0.0.1:3978/api/messages
//	go run ./examples/pricewatch
//
// See README.md beside this file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"herald/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "pricewatch: %v\n", err)
		os.Exit(1)
	}
}

// run parses the flags, serves the bot endpoint and the price feed on one
// address until ctx ends, then stops gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config
	var addr string
	fs := flag.NewFlagSet("pricewatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&addr, "addr", "127.0.0.1:3978", "address of the bot endpoint (/api/messages) and the price feed (POST /prices)")
	fs.StringVar(&cfg.DB, "db", "pricewatch.db", "the SQLite file holding Herald's tables and the watches")
	fs.StringVar(&cfg.Emulator, "emulator", "http://127.0.0.1:3979", "base URL of the Herald emulator")
	fs.StringVar(&cfg.AppID, "app-id", emulator.DefaultAppID, "the bot's app id (the emulator's by default)")
	fs.StringVar(&cfg.AppSecret, "app-secret", emulator.DefaultAppSecret, "the bot's app secret (the emulator's by default)")
	fs.StringVar(&cfg.ShopURL, "shop-url", "https://shop.example.com/products/", "product pages: this URL followed by the product's name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	if err := a.Start(ctx); err != nil {
		ln.Close()
		return errors.Join(err, a.Close())
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "pricewatch on http://%s: bot endpoint /api/messages, price feed POST /prices\n", ln.Addr())
	fmt.Fprintf(stdout, "try: curl -d '{\"product\":\"widget\",\"price\":9.99}' http://%s/prices\n", ln.Addr())

	select {
	case <-ctx.Done():
		err = nil
	case err = <-served:
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if shutErr := srv.Shutdown(stopCtx); !errors.Is(shutErr, http.ErrServerClosed) {
		err = errors.Join(err, shutErr)
	}
	return errors.Join(err, a.Stop(stopCtx))
}
