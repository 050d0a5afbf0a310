package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
)

func TestHasTeamsLicense(t *testing.T) {
	t.Parallel()
	plan := func(status, service, id string) AssignedPlan {
		return AssignedPlan{CapabilityStatus: status, Service: service, ServicePlanID: id}
	}
	exchange := plan("Enabled", "exchange", "efb87545-963c-4e0d-99df-69c6916d9eb0")
	tests := []struct {
		name  string
		plans []AssignedPlan
		want  bool
	}{
		{"none", nil, false},
		{"empty", []AssignedPlan{}, false},
		{"commercial enabled", []AssignedPlan{exchange, plan("Enabled", "TeamspaceAPI", TeamsPlanCommercial)}, true},
		{"commercial suspended", []AssignedPlan{plan("Suspended", "TeamspaceAPI", TeamsPlanCommercial)}, false},
		{"commercial deleted", []AssignedPlan{plan("Deleted", "TeamspaceAPI", TeamsPlanCommercial)}, false},
		{"warning is not enabled", []AssignedPlan{plan("Warning", "TeamspaceAPI", TeamsPlanCommercial)}, false},
		{"gcc high id in upper case", []AssignedPlan{plan("Enabled", "", "9953B155-8AEF-4C56-92F3-72B0487FCE41")}, true},
		{"dod", []AssignedPlan{plan("Enabled", "", TeamsPlanDoD)}, true},
		{"gcc", []AssignedPlan{plan("Enabled", "", TeamsPlanGCC)}, true},
		{"other sku by service", []AssignedPlan{plan("Enabled", "TeamspaceAPI", "00000000-0000-0000-0000-000000000001")}, true},
		{"only other services", []AssignedPlan{exchange}, false},
		{"one disabled one enabled", []AssignedPlan{plan("LockedOut", "TeamspaceAPI", TeamsPlanCommercial), plan("Enabled", "TeamspaceAPI", TeamsPlanCommercial)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := HasTeamsLicense(tt.plans); got != tt.want {
				t.Errorf("HasTeamsLicense = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUserFacts(t *testing.T) {
	t.Parallel()
	decode := func(s string) User {
		var u User
		if err := json.Unmarshal([]byte(s), &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	licensed := `"assignedPlans":[{"capabilityStatus":"Enabled","service":"TeamspaceAPI","servicePlanId":"57ff2da0-773e-42df-b2af-ffb7a2317929"}]`
	tests := []struct {
		name    string
		json    string
		guest   bool
		known   bool
		blocker Kind
	}{
		{"licensed member", `{"id":"1","accountEnabled":true,"userType":"Member",` + licensed + `}`, false, true, ""},
		{"disabled", `{"id":"1","accountEnabled":false,"userType":"Member",` + licensed + `}`, false, true, KindDisabled},
		{"guest", `{"id":"1","accountEnabled":true,"userType":"Guest",` + licensed + `}`, true, true, KindGuestNotAllowed},
		{"null type, external upn", `{"id":"1","userType":null,"userPrincipalName":"ann_fabrikam.com#EXT#@contoso.onmicrosoft.com"}`, true, false, KindGuestNotAllowed},
		{"no license", `{"id":"1","accountEnabled":true,"userType":"Member","assignedPlans":[]}`, false, true, KindLicenseMissing},
		{"plans not selected", `{"id":"1"}`, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := decode(tt.json)
			if u.IsGuest() != tt.guest || u.LicenseKnown() != tt.known || u.InstallBlocker() != tt.blocker {
				t.Errorf("guest %v, known %v, blocker %q; want %v, %v, %q", u.IsGuest(), u.LicenseKnown(), u.InstallBlocker(), tt.guest, tt.known, tt.blocker)
			}
		})
	}
}

func TestUserByUPN(t *testing.T) {
	t.Parallel()
	c, f := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1.0/users/gone@contoso.com" {
			writeRaw(w, 404, `{"error":{"code":"Request_ResourceNotFound","message":"Resource 'gone@contoso.com' does not exist."}}`)
			return
		}
		writeRaw(w, 200, `{"id":"u1","userPrincipalName":"ann_fabrikam.com#EXT#@contoso.onmicrosoft.com","preferredLanguage":"fr-FR"}`)
	})
	ctx := context.Background()
	u, err := c.User(ctx, "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com", "id", "userPrincipalName", "preferredLanguage")
	if err != nil || u.ID != "u1" || u.PreferredLanguage != "fr-FR" {
		t.Fatalf("User = %+v, %v", u, err)
	}
	got := f.requests()[0]
	if got.Path != "/v1.0/users/ann_fabrikam.com#EXT#@contoso.onmicrosoft.com" || got.Query != "$select=id,userPrincipalName,preferredLanguage" {
		t.Errorf("request %s ? %s", got.Path, got.Query)
	}
	if _, err := c.User(ctx, "gone@contoso.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: err = %v, want ErrNotFound", err)
	}
}
