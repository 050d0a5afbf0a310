package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"time"

	"herald/emulator"
)

// emulatorFlags are the flags of `herald emulator`.
type emulatorFlags struct {
	addr, bot, appID, appSecret string
	seed                        string
	seedUsers                   int
	maxMessageBytes             int
	limits                      string
	tenantRPS                   int
	tlsCertOut                  string
	tlsCert, tlsKey             string
}

func parseEmulatorFlags(args []string, stderr io.Writer) (emulatorFlags, error) {
	var f emulatorFlags
	fs := flag.NewFlagSet("herald emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:3979", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&f.bot, "bot", "", "the bot's messaging endpoint activities are POSTed to, e.g. http://127.0.0.1:3978/api/messages (empty: record only)")
	fs.StringVar(&f.appID, "app-id", emulator.DefaultAppID, "the bot's Microsoft app id")
	fs.StringVar(&f.appSecret, "app-secret", emulator.DefaultAppSecret, "the bot's app secret (client secret)")
	fs.StringVar(&f.seed, "seed", "none", "seed data: demo (Contoso: 50 users, 3 teams) or none")
	fs.IntVar(&f.seedUsers, "seed-users", 0, "generate N users in the Fabrikam tenant, with an Everyone team (for load tests)")
	fs.IntVar(&f.maxMessageBytes, "max-message-bytes", emulator.DefaultMaxMessageBytes, "largest activity accepted; larger gets 413 MessageSizeTooBig (negative: no limit)")
	fs.StringVar(&f.limits, "limits", "on", "Teams' rate limits: on or off")
	fs.IntVar(&f.tenantRPS, "tenant-rps", 50, "requests per second per app per tenant (negative: no tenant limit)")
	fs.StringVar(&f.tlsCertOut, "tls-cert-out", "", "serve HTTPS with a fresh self-signed certificate for 127.0.0.1 and localhost, written (PEM) to this file for clients to trust (MSAL needs https)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this certificate file (PEM); needs --tls-key")
	fs.StringVar(&f.tlsKey, "tls-key", "", "the private key (PEM) of --tls-cert")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: herald emulator [flags]\n\nRuns a local Microsoft Teams, Bot Framework channel and token endpoint on one address.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch {
	case fs.NArg() > 0:
		return f, usageError{fmt.Sprintf("emulator: unexpected argument %q", fs.Arg(0))}
	case f.seed != "demo" && f.seed != "none":
		return f, usageError{"emulator: --seed is demo or none"}
	case f.limits != "on" && f.limits != "off":
		return f, usageError{"emulator: --limits is on or off"}
	case f.seedUsers < 0:
		return f, usageError{"emulator: --seed-users must be >= 0"}
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return f, usageError{"emulator: --tls-cert and --tls-key go together"}
	case f.tlsCert != "" && f.tlsCertOut != "":
		return f, usageError{"emulator: use --tls-cert or --tls-cert-out, not both"}
	case f.tenantRPS == 0:
		return f, usageError{"emulator: --tenant-rps must not be 0 (negative turns the limit off)"}
	}
	return f, nil
}

func runEmulator(ctx context.Context, args []string, e *env) error {
	f, err := parseEmulatorFlags(args, e.stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	em := emulator.New(emulator.Config{
		AppID: f.appID, AppSecret: f.appSecret, BotURL: f.bot, MaxMessageBytes: f.maxMessageBytes,
		Limits: emulator.Limits{Disabled: f.limits == "off", TenantRPS: f.tenantRPS},
		Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	defer em.Close()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("emulator: listen: %w", err)
	}
	tlsConf, err := emulatorTLS(f)
	if err != nil {
		ln.Close()
		return err
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsConf)
	}
	base := scheme + "://" + ln.Addr().String()
	em.SetBaseURL(base)
	seeded, err := seedEmulator(em, f)
	if err != nil {
		ln.Close()
		return err
	}
	srv := newHTTPServer(em, defaultTimeouts())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	printEndpoints(e.stdout, em, f, seeded, time.Since(start))
	select {
	case err := <-served:
		return fmt.Errorf("emulator: serve: %w", err)
	case <-ctx.Done():
	}
	em.Close() // releases requests held by a timeout fault
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("emulator: shut down: %w", err)
	}
	return nil
}

func seedEmulator(em *emulator.Emulator, f emulatorFlags) ([]string, error) {
	var lines []string
	if f.seed == "demo" {
		d := em.SeedDemo()
		lines = append(lines, fmt.Sprintf("demo tenant %s (Contoso): %d users, %d teams", d.TenantID, len(d.Users), len(d.Teams)))
	}
	if f.seedUsers > 0 {
		s, err := em.SeedUsers(f.seedUsers)
		if err != nil {
			return nil, fmt.Errorf("emulator: seed users: %w", err)
		}
		lines = append(lines, fmt.Sprintf("load tenant %s (Fabrikam): %d users, team Everyone %s", s.TenantID, s.Users, s.TeamID))
	}
	return lines, nil
}

func printEndpoints(w io.Writer, em *emulator.Emulator, f emulatorFlags, seeded []string, took time.Duration) {
	bot := f.bot
	if bot == "" {
		bot = "(none: activities are recorded only; set --bot)"
	}
	fmt.Fprintf(w, "herald emulator listening on %s\n", em.BaseURL())
	fmt.Fprintf(w, "  serviceUrl:       %s\n", em.ServiceURL())
	fmt.Fprintf(w, "  token URL:        %s\n", em.TokenURL("botframework.com"))
	fmt.Fprintf(w, "  login URL:        %s\n", em.LoginURL("botframework.com"))
	fmt.Fprintf(w, "  OpenID metadata:  %s\n", em.MetadataURL())
	fmt.Fprintf(w, "  signing keys:     %s\n", em.KeysURL())
	fmt.Fprintf(w, "  Microsoft Graph:  %s (token scope https://graph.microsoft.com/.default, from the tenant's token URL)\n", em.GraphURL())
	fmt.Fprintf(w, "  web page:         %s/\n", em.BaseURL())
	fmt.Fprintf(w, "  scenario API:     %s/scenario/\n", em.BaseURL())
	fmt.Fprintf(w, "  app id:           %s\n", em.AppID())
	fmt.Fprintf(w, "  app secret:       %s\n", em.AppSecret())
	fmt.Fprintf(w, "  bot endpoint:     %s\n", bot)
	if f.tlsCertOut != "" {
		fmt.Fprintf(w, "  TLS certificate:  %s\n", f.tlsCertOut)
	}
	for _, s := range seeded {
		fmt.Fprintf(w, "  seeded:           %s\n", s)
	}
	fmt.Fprintf(w, "  started in:       %s\n", took.Round(time.Millisecond))
	fmt.Fprintln(w, "ready")
}

// emulatorTLS returns the TLS configuration the flags ask for, or nil.
func emulatorTLS(f emulatorFlags) (*tls.Config, error) {
	switch {
	case f.tlsCert != "":
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("emulator: load TLS certificate: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
	case f.tlsCertOut != "":
		cert, certPEM, err := selfSignedCert()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(f.tlsCertOut, certPEM, 0o644); err != nil {
			return nil, fmt.Errorf("emulator: write TLS certificate: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
	}
	return nil, nil
}

// selfSignedCert makes a certificate for 127.0.0.1, ::1 and localhost.
func selfSignedCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("emulator: generate TLS key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "herald emulator"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("emulator: create TLS certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}
