// Package lab keeps the students' labs: one isolated sandbox each, with an
// id, a secret key, its own credentials, mailbox and event stream, and the
// network profile the student is on. Idle labs expire.
//
// A lab's id is not a secret: it is the lab's SMTP user name, so it crosses
// SMTP sessions and may be seen by anyone watching a shared screen or the
// relay. Reading or changing a lab needs its key, which only the creator
// gets (in the answer to [Manager.Create]) and which never appears in
// events, pages or logs.
package lab

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portlab/portlab/server/internal/secret"
	"github.com/portlab/portlab/server/policy"
)

// Classroom is the shared lab for mail from real TCP clients; it never
// expires.
const Classroom = "classroom"

// Lab is one student's sandbox.
type Lab struct {
	ID       string    `json:"id"`
	User     string    `json:"user"`
	Password string    `json:"password"`
	Profile  string    `json:"profile"`
	Created  time.Time `json:"created_at"`
	LastSeen time.Time `json:"last_seen"`
	Expires  time.Time `json:"expires_at"`
	// Key is the lab's secret, distinct from its id and from its SMTP
	// password; only Create returns it.
	Key string `json:"key,omitempty"`
	// OwnPolicy: the lab's relay follows its own policy (SetPolicy), not
	// the server's.
	OwnPolicy bool `json:"own_policy"`
	client    netip.Addr
	policy    *policy.Policy // nil: the server's
	text      string         // the policy's text, as the student wrote it
	saved     time.Time      // the expiry Shared holds
	keyHash   string         // hex SHA-256 of Key, which Open compares
}

var (
	// ErrNotFound: no such lab, or it expired.
	ErrNotFound = errors.New("no such lab")
	// ErrTooMany: the client address holds the maximum number of labs.
	ErrTooMany = errors.New("too many labs for this address")
	// ErrFull: the sandbox holds the maximum number of labs overall.
	ErrFull = errors.New("the sandbox holds its maximum number of labs")
	// ErrProfile: the profile is not known.
	ErrProfile = errors.New("unknown network profile")
	// ErrNoKey: the request names a lab but brings no key.
	ErrNoKey = errors.New("this lab needs its key")
	// ErrBadKey: the key is not the lab's.
	ErrBadKey = errors.New("wrong key for this lab")
	// ErrPolicyTooLarge: a lab's policy text is over MaxPolicy bytes.
	ErrPolicyTooLarge = fmt.Errorf("a lab's policy is at most %d bytes", MaxPolicy)
	// ErrPoliciesFull: the labs' policies hold MaxPolicyBytes together.
	ErrPoliciesFull = errors.New("the sandbox holds its maximum of lab policies")
	// ErrShared: the shared classroom lab cannot be changed or deleted.
	ErrShared = errors.New("the shared classroom lab cannot be changed")
)

// Config bounds the labs.
type Config struct {
	TTL          time.Duration // idle time after which a lab expires
	MaxPerClient int           // labs one client address may hold
	MaxLabs      int           // labs overall
	Profiles     func(string) bool
	Default      string           // profile of a new lab
	Now          func() time.Time // nil: time.Now
	// OnExpire is told of every lab deleted or expired, so its mailbox
	// and subscriptions can go too.
	OnExpire func(id string)
	// Policy and PolicyText are the server's relay policy: what a lab
	// follows until it sets its own, and what its own is checked against
	// (policy.ParseLab). Nil: the built-in one.
	Policy     *policy.Policy
	PolicyText string
	// MaxPolicyBytes bounds the labs' policy texts together (0:
	// the package's MaxPolicyBytes; tests set less).
	MaxPolicyBytes int
	// Shared keeps the labs where every replica finds them (nil: this
	// process alone). The manager then holds the labs it has seen, and
	// looks up in Shared any lab it does not hold or holds as expired.
	Shared Shared
}

// Shared is where several replicas keep their labs (a database).
type Shared interface {
	// SaveLab writes a lab, new or changed.
	SaveLab(Record) error
	// LoadLab reads a lab; false: no such lab.
	LoadLab(id string) (Record, bool)
	// DeleteLab removes a lab.
	DeleteLab(id string)
	// ExpireLabs removes the labs expired at now, whichever replica made
	// them (it may be gone), and names them.
	ExpireLabs(now time.Time) []string
	// ExtendLab moves a lab's expiry to expires, if that is later.
	ExtendLab(id string, expires time.Time)
	// CountLabs counts the labs not expired at now: those of client,
	// and all, so the bounds hold over every replica.
	CountLabs(client string, now time.Time) (ofClient, all int, err error)
}

// Record is a lab as [Shared] keeps it: with its client address, its own
// policy's text, and its key's SHA-256, not the key: the database does
// not hold what opens the lab's mailbox.
type Record struct {
	Lab
	KeyHash    string `json:"key_sha256"`
	Client     string `json:"client"`
	PolicyText string `json:"policy_text,omitempty"`
}

func (c Config) maxPolicyBytes() int {
	if c.MaxPolicyBytes > 0 {
		return c.MaxPolicyBytes
	}
	return MaxPolicyBytes
}

// Manager holds the labs.
type Manager struct {
	cfg  Config
	mu   sync.Mutex
	labs map[string]*Lab
	// policyBytes counts the labs' policy texts (MaxPolicyBytes).
	policyBytes int
}

// NewManager returns a manager holding only the classroom lab.
func NewManager(cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Policy == nil {
		cfg.Policy, cfg.PolicyText = policy.Default(), policy.DefaultText()
	}
	if cfg.Profiles == nil {
		cfg.Profiles = func(string) bool { return true }
	}
	m := &Manager{cfg: cfg, labs: map[string]*Lab{}}
	now := cfg.Now()
	m.labs[Classroom] = &Lab{ID: Classroom, Profile: cfg.Default, Created: now, LastSeen: now}
	return m
}

// Create opens a lab for a client.
func (m *Manager) Create(client netip.Addr, profile string) (Lab, error) {
	if profile == "" {
		profile = m.cfg.Default
	}
	if !m.cfg.Profiles(profile) {
		return Lab{}, ErrProfile
	}
	return m.create(client, profile, true)
}

// CreateInClass opens a lab for a student who joined a class: it does not
// count against any client address, since a whole class may sit behind
// one school address; the class bounds its own students.
func (m *Manager) CreateInClass(profile string) (Lab, error) {
	if profile == "" {
		profile = m.cfg.Default
	}
	if !m.cfg.Profiles(profile) {
		return Lab{}, ErrProfile
	}
	return m.create(netip.Addr{}, profile, false)
}

func (m *Manager) create(client netip.Addr, profile string, perClient bool) (Lab, error) {
	m.mu.Lock()
	gone := m.sweepLocked()
	l, err := m.createLocked(client, profile, perClient)
	m.mu.Unlock()
	m.expire(gone) // their mailboxes go too, as after Sweep
	return l, err
}

func (m *Manager) createLocked(client netip.Addr, profile string, perClient bool) (Lab, error) {
	now := m.cfg.Now()
	held, all := 0, len(m.labs)-1 // the classroom does not count
	for _, l := range m.labs {
		if perClient && l.client == client && l.ID != Classroom {
			held++
		}
	}
	if m.cfg.Shared != nil {
		// Two replicas creating at once may each pass the bound by one.
		var err error
		if held, all, err = m.cfg.Shared.CountLabs(clientText(client), now); err != nil {
			return Lab{}, err
		}
	}
	if perClient && held >= m.cfg.MaxPerClient {
		return Lab{}, ErrTooMany
	}
	if all >= m.cfg.MaxLabs {
		return Lab{}, ErrFull
	}
	id := secret.New(16)
	l := &Lab{ID: id, User: id, Password: secret.New(10), Key: secret.New(16), Profile: profile, Created: now, LastSeen: now, client: client}
	l.keyHash = secret.Hash(l.Key)
	l.Expires = now.Add(m.cfg.TTL)
	if err := m.save(l); err != nil {
		return Lab{}, err
	}
	m.labs[id] = l
	return *l, nil
}

// get finds a lab, in Shared where this replica does not hold it or
// holds it as expired (another replica may have seen it since). m.mu is
// held, and released while Shared is asked: a slow database must not
// stall the labs this replica holds. nil: no such lab, or it expired.
func (m *Manager) get(id string) *Lab {
	l := m.labs[id]
	if (l == nil || m.expired(l)) && m.cfg.Shared != nil && id != Classroom {
		m.mu.Unlock()
		r, ok := m.cfg.Shared.LoadLab(id)
		m.mu.Lock()
		switch l = m.labs[id]; {
		case l != nil && !m.expired(l): // loaded meanwhile
		case ok:
			l = m.fromRecord(r)
			m.labs[id] = l
		}
	}
	if l == nil || m.expired(l) {
		return nil
	}
	return l
}

// fromRecord is a lab read from Shared; a policy text that no longer
// parses (the server's policy changed) puts it on the server's.
func (m *Manager) fromRecord(r Record) *Lab {
	l := r.Lab
	l.Key, l.keyHash = "", r.KeyHash
	l.client, _ = netip.ParseAddr(r.Client)
	l.policy, l.text, l.OwnPolicy = nil, "", false
	if r.PolicyText != "" {
		if p, errs := policy.ParseLab(PolicyFile, strings.NewReader(r.PolicyText), m.cfg.Policy); len(errs) == 0 {
			l.policy, l.text, l.OwnPolicy = p, r.PolicyText, true
		}
	}
	if old := m.labs[l.ID]; old != nil {
		m.policyBytes -= len(old.text)
	}
	m.policyBytes += len(l.text)
	l.saved = l.Expires
	return &l
}

// clientText is a client address as Shared keeps it ("" for a class
// lab, which counts against no address).
func clientText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// save writes a lab to Shared, if any; m.mu is held.
func (m *Manager) save(l *Lab) error {
	if m.cfg.Shared == nil || l.ID == Classroom {
		return nil
	}
	r := Record{Lab: *l, KeyHash: l.keyHash, PolicyText: l.text, Client: clientText(l.client)}
	r.Lab.Key = ""
	if err := m.cfg.Shared.SaveLab(r); err != nil {
		return err
	}
	l.saved = l.Expires
	return nil
}

// view is a lab as anyone but its creator's first answer sees it: without
// its key.
func view(l *Lab) Lab {
	v := *l
	v.Key = ""
	return v
}

// Open returns a lab for a request that brings key, and counts the access
// as activity. The classroom has no key: anyone may read it (its mail is
// the class's shared mailbox), nobody may change it.
func (m *Manager) Open(id, key string) (Lab, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.fresh(id)
	if l == nil {
		return Lab{}, ErrNotFound
	}
	if l.ID != Classroom {
		if key == "" {
			return Lab{}, ErrNoKey
		}
		// Constant time: the answer must not tell how much of a guess
		// was right.
		if subtle.ConstantTimeCompare([]byte(secret.Hash(key)), []byte(l.keyHash)) != 1 {
			return Lab{}, ErrBadKey
		}
	}
	m.touch(l)
	return view(l), nil
}

// Touch records activity in a lab (a connection, a mailbox read).
func (m *Manager) Touch(id string) {
	m.mu.Lock()
	var extend func()
	if l := m.get(id); l != nil {
		extend = m.touchLocal(l)
	}
	m.mu.Unlock()
	if extend != nil {
		extend()
	}
}

// touch records activity under the lock; the other replicas hear of it
// after, from a goroutine of its own.
func (m *Manager) touch(l *Lab) {
	if extend := m.touchLocal(l); extend != nil {
		go extend()
	}
}

// touchLocal records activity here, and returns what tells the other
// replicas (nil: nothing yet), to run without the lock. They learn of it
// when the expiry Shared holds is a sixteenth of the TTL behind: not on
// every touch.
func (m *Manager) touchLocal(l *Lab) (extend func()) {
	l.LastSeen = m.cfg.Now()
	if l.ID == Classroom {
		return nil
	}
	l.Expires = l.LastSeen.Add(m.cfg.TTL)
	if m.cfg.Shared == nil || l.Expires.Sub(l.saved) <= m.cfg.TTL/16 {
		return nil
	}
	l.saved = l.Expires
	id, expires := l.ID, l.Expires
	return func() { m.cfg.Shared.ExtendLab(id, expires) }
}

func (m *Manager) expired(l *Lab) bool {
	return l.ID != Classroom && !m.cfg.Now().Before(l.Expires)
}

// SetProfile moves a lab to another network; the caller has checked the
// key with Open. The classroom's profile is the server's setting.
func (m *Manager) SetProfile(id, profile string) (Lab, error) {
	if id == Classroom {
		return Lab{}, ErrShared
	}
	if !m.cfg.Profiles(profile) {
		return Lab{}, ErrProfile
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.fresh(id) // change the record as it is now, not as this replica last read it
	if l == nil {
		return Lab{}, ErrNotFound
	}
	l.Profile = profile
	m.touch(l)
	if err := m.save(l); err != nil {
		return Lab{}, err
	}
	return view(l), nil
}

// Delete ends a lab; the classroom stays.
func (m *Manager) Delete(id string) error {
	if id == Classroom {
		return ErrShared
	}
	m.mu.Lock()
	l, ok := m.labs[id]
	if !ok {
		if l = m.get(id); l == nil {
			m.mu.Unlock()
			return ErrNotFound
		}
	}
	m.dropPolicy(l)
	delete(m.labs, l.ID)
	if m.cfg.Shared != nil {
		m.cfg.Shared.DeleteLab(id)
	}
	m.mu.Unlock()
	if m.cfg.OnExpire != nil {
		m.cfg.OnExpire(id)
	}
	return nil
}

// Sweep deletes expired labs; the server calls it periodically. With
// Shared, the labs this replica holds expired are forgotten here, and
// gone for every replica once no replica has seen them in use for the
// TTL (ExpireLabs), which also ends the labs of replicas that are gone.
func (m *Manager) Sweep() {
	m.mu.Lock()
	gone := m.sweepLocked()
	m.mu.Unlock()
	if m.cfg.Shared != nil {
		gone = append(gone, m.cfg.Shared.ExpireLabs(m.cfg.Now())...)
		slices.Sort(gone)
		gone = slices.Compact(gone)
	}
	m.expire(gone)
}

// expire tells OnExpire of labs deleted, outside the lock.
func (m *Manager) expire(gone []string) {
	if m.cfg.OnExpire != nil {
		for _, id := range gone {
			m.cfg.OnExpire(id)
		}
	}
}

func (m *Manager) sweepLocked() []string {
	var gone []string
	for id, l := range m.labs {
		if m.expired(l) {
			m.dropPolicy(l)
			delete(m.labs, id)
			gone = append(gone, id)
		}
	}
	return gone
}

// Lookup is the relay's view of the labs' accounts: a lab's user name is
// its id, so a real client that authenticates as the lab sends into it.
func (m *Manager) Lookup(user string) (password, lab string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.fresh(user)
	if l == nil || l.ID == Classroom {
		return "", "", false
	}
	return l.Password, l.ID, true
}

// LabOf names the lab whose SMTP user is user, if there is one: the
// event bus uses it to send a lab's AUTH events to that lab alone.
func (m *Manager) LabOf(user string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.labs[user]
	if l == nil && m.cfg.Shared != nil {
		l = m.get(user)
	}
	if l == nil || l.ID == Classroom {
		return "", false
	}
	return l.ID, true
}

// Len counts the labs, the classroom included.
func (m *Manager) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.labs)
}

// MaxPolicy bounds a lab's policy text: the built-in file is about 4 KiB,
// so 16 KiB leaves room for a student's rules.
const MaxPolicy = 16 << 10

// MaxPolicyBytes bounds the labs' policy texts together (invariant 2):
// 4,096 labs at the largest, or 16,384 at the built-in file's size; the
// parsed rules take about as much again.
const MaxPolicyBytes = 64 << 20

// PolicyFile is the name a lab's policy errors give its file.
const PolicyFile = "lab.policy"

// Policy returns the text of the policy a lab's relay follows, and
// whether it is the lab's own; the caller has checked the key with Open.
func (m *Manager) Policy(id string) (text string, own bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.fresh(id)
	if l == nil {
		return "", false, ErrNotFound
	}
	if l.policy == nil {
		return m.cfg.PolicyText, false, nil
	}
	return l.text, true, nil
}

// SetPolicy gives a lab its own relay policy (docs/teaching-map.md L27)
// from text. A text with errors changes nothing: the errors name their
// lines, and the lab keeps the policy it had. New connections of the lab
// follow the new policy; open ones keep theirs, as a Postfix smtpd process
// keeps its settings until it exits after "postfix reload".
func (m *Manager) SetPolicy(id, text string) ([]*policy.ParseError, error) {
	if id == Classroom {
		return nil, ErrShared
	}
	if len(text) > MaxPolicy {
		return nil, ErrPolicyTooLarge
	}
	p, errs := policy.ParseLab(PolicyFile, strings.NewReader(text), m.cfg.Policy)
	if len(errs) > 0 {
		return errs, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.fresh(id) // change the record as it is now, not as this replica last read it
	if l == nil {
		return nil, ErrNotFound
	}
	if m.policyBytes-len(l.text)+len(text) > m.cfg.maxPolicyBytes() {
		return nil, ErrPoliciesFull
	}
	m.policyBytes += len(text) - len(l.text)
	l.policy, l.text, l.OwnPolicy = p, text, true
	m.touch(l)
	return nil, m.save(l)
}

// ResetPolicy puts a lab back on the server's policy.
func (m *Manager) ResetPolicy(id string) error {
	if id == Classroom {
		return ErrShared
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.fresh(id) // change the record as it is now, not as this replica last read it
	if l == nil {
		return ErrNotFound
	}
	m.dropPolicy(l)
	m.touch(l)
	return m.save(l)
}

// fresh is the lab as it is now: one this replica holds is read again
// from Shared, which another replica may have changed (profile, policy)
// or deleted since this one loaded it; one it does not hold is loaded
// (get). It is asked where a request or a connection begins, and before
// a change, so what another replica did holds from the next request on,
// one database read each. m.mu is held, and released while Shared is
// asked, as in get. nil: no such lab, or it expired.
func (m *Manager) fresh(id string) *Lab {
	if m.cfg.Shared == nil || id == Classroom || m.labs[id] == nil {
		return m.get(id)
	}
	m.mu.Unlock()
	r, ok := m.cfg.Shared.LoadLab(id)
	m.mu.Lock()
	l := m.labs[id]
	if l == nil {
		return m.get(id) // forgotten meanwhile (expired, deleted here)
	}
	if !ok { // deleted, or expired, on another replica
		m.dropPolicy(l)
		delete(m.labs, id)
		return nil
	}
	next := *l
	next.Profile, next.Created = r.Profile, r.Created
	next.Expires, next.LastSeen = maxTime(l.Expires, r.Expires), maxTime(l.LastSeen, r.LastSeen)
	next.saved = r.Expires
	// This replica's own activity may be ahead of what it saved
	// (touchLocal saves only when the saved expiry falls a sixteenth
	// behind), hence the later of the two times. The policy is parsed
	// again only when its text changed: this runs at every connection.
	if r.PolicyText != l.text {
		m.dropPolicy(&next)
		if r.PolicyText != "" {
			// A text that no longer parses (the server's policy
			// changed) leaves the lab on the server's, as in fromRecord.
			if p, errs := policy.ParseLab(PolicyFile, strings.NewReader(r.PolicyText), m.cfg.Policy); len(errs) == 0 {
				next.policy, next.text, next.OwnPolicy = p, r.PolicyText, true
				m.policyBytes += len(r.PolicyText)
			}
		}
	}
	m.labs[id] = &next
	if m.expired(&next) {
		return nil
	}
	return &next
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// dropPolicy puts a lab back on the server's policy; m.mu is held.
func (m *Manager) dropPolicy(l *Lab) {
	m.policyBytes -= len(l.text)
	l.policy, l.text, l.OwnPolicy = nil, "", false
}

// PolicyFor is the relay's view of the labs' policies: the policy a new
// connection of the lab follows, nil for the server's (an unknown,
// expired or classroom lab, or one without its own).
func (m *Manager) PolicyFor(id string) *policy.Policy {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.fresh(id)
	if l == nil {
		return nil
	}
	return l.policy
}
