package main

import (
	"context"
	"errors"
	"strconv"
	"testing"
)

// primesBelow counts primes below n by trial division: slow and obvious,
// the reference for the sieve.
func primesBelow(n int) int {
	count := 0
	for k := 2; k < n; k++ {
		prime := true
		for d := 2; d*d <= k; d++ {
			if k%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	return count
}

func TestCountPrimes(t *testing.T) {
	t.Parallel()
	// Around segment edges and squares of primes, and a few large ones.
	for _, n := range []int{0, 1, 2, 3, 4, 5, 10, 11, 25, 26, 49, 50, 121, 1 << 16, 1<<16 + 1, 1<<16 + 2, 3 << 16, 200_003} {
		got, err := countPrimes(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		if want := primesBelow(n); got != want {
			t.Errorf("countPrimes(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestCountPrimesStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := countPrimes(ctx, maxBelow); !errors.Is(err, context.Canceled) {
		t.Fatalf("countPrimes with an ended context: err = %v", err)
	}
}

func TestParseQuestion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		n    int
		ok   bool
	}{
		{"how many primes below 1,000,000?", 1_000_000, true},
		{"Primes under 5000", 5000, true},
		{"primes 100", 100, true},
		{"  42 ", 42, true},
		{"<at>Slow Answer</at> how many primes below 10?", 10, true},
		{"<at>Bot 2</at> primes below 30", 30, true},
		{"primes below 99999999999999999999", maxBelow + 1, true},
		{"1000000002", maxBelow + 1, true},
		{"help", 0, false},
		{"what is 2+2", 0, false},
		{"double 5", 0, false},
		{"primes below 1000,000", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		n, ok := parseQuestion(tt.text)
		if n != tt.n || ok != tt.ok {
			t.Errorf("parseQuestion(%q) = %d, %v; want %d, %v", tt.text, n, ok, tt.n, tt.ok)
		}
	}
}

func TestGroup(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 78498: "78,498", 1_000_000: "1,000,000", -12345: "-12,345"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}

// FuzzParseQuestion checks that any message parses without panicking and
// that a number it reads, asked again plainly, reads the same.
func FuzzParseQuestion(f *testing.F) {
	for _, s := range []string{"how many primes below 1,000,000?", "<at>x</at> primes 10", "1,2", "primes", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		n, ok := parseQuestion(text)
		if !ok {
			return
		}
		if n < 0 || n > maxBelow+1 {
			t.Fatalf("parseQuestion(%q) = %d", text, n)
		}
		if n <= maxBelow {
			if again, ok := parseQuestion("primes below " + group(n)); !ok || again != n {
				t.Fatalf("%q read %d, but %q reads %d, %v", text, n, "primes below "+group(n), again, ok)
			}
			if again, ok := parseQuestion(strconv.Itoa(n)); !ok || again != n {
				t.Fatalf("%d does not read back: %d, %v", n, again, ok)
			}
		}
	})
}
