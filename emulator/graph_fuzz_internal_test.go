package emulator

import (
	"slices"
	"strings"
	"testing"
)

func FuzzGraphBatch(f *testing.F) {
	f.Add(`{"requests":[{"id":"1","method":"GET","url":"/users"}]}`)
	f.Add(`{"requests":[{"id":"1","method":"POST","url":"/users/x/teamwork/installedApps","headers":{"Content-Type":"application/json"},"body":{"a":1}},{"id":"2","method":"GET","url":"organization","dependsOn":["1"]}]}`)
	f.Add(`{"requests":[{"id":"a","method":"GET","url":"/x","dependsOn":["b"]},{"id":"b","method":"GET","url":"/y","dependsOn":["a"]}]}`)
	f.Add(`{"requests":[{"id":"1","method":"GET","url":"/x","body":null}]}`)
	f.Add(`{"requests":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		items, err := parseBatch([]byte(body))
		if err != nil {
			if _, ok := err.(*graphError); !ok {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if len(items) == 0 || len(items) > maxBatchRequests {
			t.Fatalf("%d requests accepted", len(items))
		}
		done := map[string]bool{}
		for _, it := range items {
			if it.ID == "" || done[it.ID] {
				t.Fatalf("id %q empty or repeated", it.ID)
			}
			for _, dep := range it.DependsOn {
				if !done[dep] {
					t.Fatalf("request %q runs before its dependency %q", it.ID, dep)
				}
			}
			if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, strings.ToUpper(it.Method)) {
				t.Fatalf("method %q accepted", it.Method)
			}
			done[it.ID] = true
		}
	})
}

func FuzzGraphFilter(f *testing.F) {
	f.Add("mail eq 'bob@contoso.com'")
	f.Add("assignedPlans/any(a:a/servicePlanId eq 57ff2da0-773e-42df-b2af-ffb7a2317929 and a/capabilityStatus eq 'Enabled')")
	f.Add("not(userType eq 'Guest') or startsWith(displayName,'A''s')")
	f.Add("id in ('a', 'b') and accountEnabled eq true")
	f.Fuzz(func(t *testing.T, filter string) {
		n, err := parseFilter(filter)
		if err != nil {
			return
		}
		u := (&synthUsers{n: 1, domain: "contoso.com"}).user(0)
		_ = n.match(graphUserObject(u), nil)
		_ = n.properties()
		_ = n.advancedOnly()
	})
}
