package emulator

import "net/http"

func (e *Emulator) hGraphSettings(r *http.Request) (int, any, error) {
	s, err := e.GraphSettingsOf(r.PathValue("tenantId"))
	return http.StatusOK, s, err
}

// hPutGraphSettings replaces a tenant's Graph settings; what the body
// leaves out gets its default.
func (e *Emulator) hPutGraphSettings(r *http.Request) (int, any, error) {
	var s GraphSettings
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	if err := e.SetGraphSettings(r.PathValue("tenantId"), s); err != nil {
		return 0, nil, err
	}
	return e.hGraphSettings(r)
}

func (e *Emulator) hResetDelta(r *http.Request) (int, any, error) {
	err := e.ResetDelta(r.PathValue("tenantId"))
	return http.StatusOK, map[string]any{"tenantId": r.PathValue("tenantId"), "deltaReset": true}, err
}

// hPutGraphFaults replaces the Graph faults; what the body leaves out is off.
func (e *Emulator) hPutGraphFaults(r *http.Request) (int, any, error) {
	var f GraphFaults
	if err := decodeBody(r, &f); err != nil {
		return 0, nil, err
	}
	if err := e.SetGraphFaults(f); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, e.GraphFaults(), nil
}

// hPutGraphLimits replaces the Graph limits; what the body leaves out gets
// its default.
func (e *Emulator) hPutGraphLimits(r *http.Request) (int, any, error) {
	var l GraphLimits
	if err := decodeBody(r, &l); err != nil {
		return 0, nil, err
	}
	e.SetGraphLimits(l)
	return http.StatusOK, e.GraphLimits(), nil
}

func (e *Emulator) hUpdateUser(r *http.Request) (int, any, error) {
	var up UserUpdate
	if err := decodeBody(r, &up); err != nil {
		return 0, nil, err
	}
	u, err := e.UpdateUser(r.PathValue("userId"), up)
	return http.StatusOK, u, err
}

// hDeleteUser deletes a user from the directory (?permanent=true: for
// good).
func (e *Emulator) hDeleteUser(r *http.Request) (int, any, error) {
	permanent := r.URL.Query().Get("permanent") == "true"
	err := e.DeleteUser(r.PathValue("userId"), permanent)
	return http.StatusOK, map[string]any{"userId": r.PathValue("userId"), "deleted": true, "permanent": permanent}, err
}

func (e *Emulator) hRestoreUser(r *http.Request) (int, any, error) {
	if err := e.RestoreUser(r.PathValue("userId")); err != nil {
		return 0, nil, err
	}
	u, err := e.User(r.PathValue("userId"))
	return http.StatusOK, u, err
}

func (e *Emulator) hAddGroup(r *http.Request) (int, any, error) {
	var s GroupSpec
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	g, err := e.AddGroup(s)
	return http.StatusCreated, g, err
}

func (e *Emulator) hAddGroupMember(r *http.Request) (int, any, error) {
	var s struct {
		MemberID string `json:"memberId"`
	}
	if err := decodeBody(r, &s); err != nil {
		return 0, nil, err
	}
	g, err := e.AddGroupMember(r.PathValue("groupId"), s.MemberID)
	return http.StatusOK, g, err
}
