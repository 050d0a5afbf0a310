package emulator

import (
	"strings"
	"time"

	"herald/botframework"
)

// Conversation kinds, as in conversation.conversationType.
const (
	kindPersonal  = "personal"
	kindChannel   = "channel"
	kindGroupChat = "groupChat"
)

// world is the emulated state of Teams. Every method expects e.mu held.
type world struct {
	ids         idgen
	clock       activityClock
	tenants     map[string]*tenant
	tenantOrder []string
	users       map[string]*user  // by 29: id: explicit and touched synthetic users
	userKeys    map[string]string // lower-cased Entra id, UPN and email → 29: id
	teams       map[string]*team
	teamOrder   []string
	channels    map[string]*team // channel id (General = team id) → team
	convs       map[string]*conversation
	convOrder   []string
	batches     map[string]*batchOp
	batchQueue  []*batchOp // operations in submission order; the worker's cursor is batchNext
	batchNext   int
	directory   graphWorld // the directory as Microsoft Graph shows it
}

func newWorld() world {
	return world{
		ids:       randomIDs(),
		tenants:   map[string]*tenant{},
		users:     map[string]*user{},
		userKeys:  map[string]string{},
		teams:     map[string]*team{},
		channels:  map[string]*team{},
		convs:     map[string]*conversation{},
		batches:   map[string]*batchOp{},
		directory: newGraphWorld(),
	}
}

// tenant is an organisation (an Entra tenant).
type tenant struct {
	id, name, domain string
	users            []string    // explicit users, in creation order
	synth            *synthUsers // generated users, or nil
	disabled         bool        // the admin disabled the bot
}

func (t *tenant) userCount() int {
	n := len(t.users)
	if t.synth != nil {
		n += t.synth.n
	}
	return n
}

// user is a person in a tenant.
type user struct {
	id, aadObjectID, tenantID    string
	name, givenName, surname     string
	email, upn, locale, timezone string
	installed                    bool // the bot is installed in the user's personal scope
	removed                      bool // the user uninstalled the bot from personal scope
	blocked                      bool // the user blocked the bot
	synth                        int  // index among generated users, or -1
	dir                          directoryState
}

// team is a team; its id is also the id of its General channel.
type team struct {
	id, name, aadGroupID, tenantID string
	channels                       []*channel // channels[0] is General
	members                        []string
	memberSet                      map[string]bool
	allSynth                       bool         // every generated user of the tenant is a member
	synthOut                       map[int]bool // generated users removed from the team
	installed                      bool         // the bot is installed in the team
}

// channel is a channel of a team.
type channel struct {
	id, name string
}

func (t *team) channel(id string) *channel {
	for _, c := range t.channels {
		if c.id == id {
			return c
		}
	}
	return nil
}

func (t *team) memberCount(w *world) int {
	n := len(t.members)
	if t.allSynth {
		if tn := w.tenants[t.tenantID]; tn != nil && tn.synth != nil {
			n += tn.synth.n - len(t.synthOut)
		}
	}
	return n
}

// conversation is a personal chat, a channel (or a thread in one) or a group
// chat, with every activity in it.
type conversation struct {
	id, kind, tenantID string
	userID             string   // personal: the user
	teamID, channelID  string   // channel and thread conversations
	rootID             string   // thread: the root message id
	members            []string // group chat members
	topic              string
	botInstalled       bool // group chat: the bot is a member
	created            time.Time
	records            []*record
	byID               map[string]*record // index of records, built once there are many
}

// indexAt is the number of records from which a conversation indexes them
// by id; smaller ones (most: a million personal chats with one message
// each) are searched.
const indexAt = 16

// record returns the activity with the given id, or nil.
func (c *conversation) record(id string) *record {
	if c.byID != nil {
		return c.byID[id]
	}
	for i := len(c.records) - 1; i >= 0; i-- {
		if c.records[i].id == id {
			return c.records[i]
		}
	}
	return nil
}

// addConversation stores c.
func (w *world) addConversation(c *conversation) *conversation {
	w.convs[c.id] = c
	w.convOrder = append(w.convOrder, c.id)
	return c
}

// findUser resolves a 29: id, an Entra object id, a UPN or an email address
// to a user of any tenant. A generated user that was never touched is
// returned as a fresh value that is not stored: call keep to store it.
func (w *world) findUser(key string) *user {
	if key == "" {
		return nil
	}
	if u := w.users[key]; u != nil {
		return u
	}
	if id, ok := w.userKeys[strings.ToLower(key)]; ok {
		return w.users[id]
	}
	for _, tid := range w.tenantOrder {
		if s := w.tenants[tid].synth; s != nil {
			if i, ok := s.index(key); ok {
				if u := w.users[s.userID(i)]; u != nil {
					return u
				}
				return s.user(i)
			}
		}
	}
	return nil
}

// keep stores a generated user so changes to it last, and returns the
// stored value.
func (w *world) keep(u *user) *user {
	if cur := w.users[u.id]; cur != nil {
		return cur
	}
	w.users[u.id] = u
	if u.synth < 0 {
		w.indexUser(u)
	}
	return u
}

func (w *world) indexUser(u *user) {
	for _, k := range []string{u.aadObjectID, u.upn, u.email} {
		if k != "" {
			w.userKeys[strings.ToLower(k)] = u.id
		}
	}
}

// teamOf returns the team whose id or channel id is id.
func (w *world) teamOf(id string) *team { return w.channels[id] }

// inTeam reports whether u is a member of t.
func (w *world) inTeam(t *team, u *user) bool {
	if t.memberSet[u.id] {
		return true
	}
	return t.allSynth && u.synth >= 0 && u.tenantID == t.tenantID && !t.synthOut[u.synth]
}

// reachable reports whether the bot may message u in a personal chat: the
// user did not uninstall the bot, and either installed it or shares a team
// the bot is installed in.
func (w *world) reachable(u *user) bool {
	if u.removed {
		return false
	}
	if u.installed {
		return true
	}
	return w.sharesTeam(u)
}

func (w *world) sharesTeam(u *user) bool {
	for _, id := range w.teamOrder {
		if t := w.teams[id]; t.installed && t.tenantID == u.tenantID && w.inTeam(t, u) {
			return true
		}
	}
	return false
}

// account returns u as the bot sees it in activities.
func (u *user) account() botframework.ChannelAccount {
	return botframework.ChannelAccount{ID: u.id, Name: u.name, AADObjectID: u.aadObjectID}
}
