package herald

// DirectoryStore persists tenants, users, teams, channels, memberships,
// conversation references and preferences.
type DirectoryStore interface {
}
