package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"herald/bot"

	"herald/botframework"
)

// primesFollowUp names the follow-up that computes an answer.
const primesFollowUp = "primes"

// maxBelow bounds a question: counting the primes below a billion takes a
// few seconds.
const maxBelow = 1_000_000_000

const usage = "Ask me how many primes there are below a number, for example: **how many primes below 1,000,000?**"

// question is the follow-up's arguments, kept in the store until the
// answer is sent.
type question struct {
	Below int `json:"below"`
}

// answerer is the bot's own behaviour.
type answerer struct {
	// work is the least time an answer takes.
	work time.Duration
}

// ask handles a message: a question is recorded as a follow-up and
// acknowledged at once; anything else gets the usage line.
func (a answerer) ask(ctx context.Context, turn *bot.Turn) error {
	n, ok := parseQuestion(turn.Activity.Text)
	switch {
	case !ok:
		_, err := turn.Send(ctx, &botframework.Activity{Text: usage})
		return err
	case n > maxBelow:
		_, err := turn.Send(ctx, &botframework.Activity{Text: "That would take me too long: ask about numbers up to " + group(maxBelow) + "."})
		return err
	}
	// Record the follow-up before acknowledging: once the person sees
	// "Working on it…", the answer is sure to come.
	if err := turn.Later(ctx, primesFollowUp, question{Below: n}); err != nil {
		return err
	}
	_, err := turn.Send(ctx, &botframework.Activity{Text: "Working on it… counting the primes below " + group(n) + "."})
	return err
}

// answer is the follow-up: it counts the primes, waits out the rest of
// the work time, and returns the answer for Herald to post.
func (a answerer) answer(ctx context.Context, f *bot.FollowUp) (*botframework.Activity, error) {
	var q question
	if err := f.Decode(&q); err != nil {
		return nil, err
	}
	start := time.Now()
	count, err := countPrimes(ctx, q.Below)
	if err != nil {
		return nil, err
	}
	// The rest of the work time stands for a slow backend (a report, a
	// model) the answer would wait for.
	if rest := a.work - time.Since(start); rest > 0 {
		t := time.NewTimer(rest)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return &botframework.Activity{Text: answerText(count, q.Below)}, nil
}

func answerText(count, below int) string {
	if count == 1 {
		return "There is 1 prime below " + group(below) + "."
	}
	return "There are " + group(count) + " primes below " + group(below) + "."
}

var (
	mentionTag = regexp.MustCompile(`(?is)<at[^>]*>.*?</at>`)
	number     = regexp.MustCompile(`\d{1,3}(?:,\d{3})+|\d+`)
)

// parseQuestion reads the number a message asks about: "how many primes
// below 1,000,000?", "primes under 5000", "primes 100" or just "100". It
// ignores @mentions and reports false for anything else.
func parseQuestion(text string) (int, bool) {
	text = strings.ToLower(mentionTag.ReplaceAllString(text, " "))
	nums := number.FindAllString(text, -1)
	if len(nums) != 1 {
		return 0, false
	}
	if rest := strings.TrimSpace(strings.Replace(text, nums[0], "", 1)); rest != "" && !strings.Contains(rest, "prime") {
		return 0, false
	}
	digits := strings.ReplaceAll(nums[0], ",", "")
	if len(digits) > 12 {
		return maxBelow + 1, true // too large, whatever it is
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return 0, false
	}
	return min(n, maxBelow+1), true
}

// group writes n with thousands separators: 1000000 → "1,000,000".
func group(n int) string {
	if n < 0 {
		return "-" + group(-n)
	}
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// countPrimes counts the primes below n with a segmented sieve of
// Eratosthenes, stopping when ctx ends.
func countPrimes(ctx context.Context, n int) (int, error) {
	if n <= 2 {
		return 0, nil
	}
	// Base primes up to √(n-1) sieve every segment.
	root := 1
	for (root+1)*(root+1) <= n-1 {
		root++
	}
	composite := make([]bool, root+1)
	var base []int
	for i := 2; i <= root; i++ {
		if composite[i] {
			continue
		}
		base = append(base, i)
		for m := i * i; m <= root; m += i {
			composite[m] = true
		}
	}
	const segment = 1 << 16
	seg := make([]bool, segment)
	count := 0
	for lo := 2; lo < n; lo += segment {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("count primes: %w", err)
		}
		hi := min(lo+segment, n)
		clear(seg)
		for _, p := range base {
			if p*p >= hi {
				break
			}
			for m := max(p*p, (lo+p-1)/p*p); m < hi; m += p {
				seg[m-lo] = true
			}
		}
		for _, c := range seg[:hi-lo] {
			if !c {
				count++
			}
		}
	}
	return count, nil
}
