package scenarios

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/scenarios/session"
)

// outcome is what an action did, judged afterwards by the expectations.
type outcome struct {
	err      error // the action could not be performed (I/O, TLS, not connected)
	dialErr  error // refused, timed out, unknown host
	reply    *session.Reply
	silent   bool   // no byte arrived in the silent window
	heard    string // what broke the silence
	banner   string
	closed   bool
	tls      *tls.ConnectionState
	messages []Message // new messages, for a mailbox step
	note     string    // result of actions without a reply
	// tlsRefused is why the client refused a TLS handshake, at a step
	// that expects it to (tls refused "TEXT").
	tlsRefused string
}

func (o *outcome) describe(c *i18n.Catalog) string {
	switch {
	case o.err != nil:
		return "error: " + o.err.Error()
	case o.dialErr != nil:
		return o.dialErr.Error()
	case o.tlsRefused != "":
		return "TLS refused: " + o.tlsRefused
	case o.silent:
		return "silence"
	case o.banner != "":
		return o.banner
	case o.reply != nil:
		s := o.reply.Lines[0]
		if o.closed {
			s += " (connection closed)"
		}
		return s
	case o.messages != nil:
		return newMessages(c, len(o.messages))
	}
	return o.note
}

func hasExpect(st *lesson.Step, k lesson.ExpectKind) (lesson.Expect, bool) {
	for _, e := range st.Expect {
		if e.Kind == k {
			return e, true
		}
	}
	return lesson.Expect{}, false
}

// do performs an action: the step's own, or the one a student typed.
func (r *run) do(ctx context.Context, st *lesson.Step, a lesson.Action) *outcome {
	out := &outcome{}
	if a.Kind != lesson.Connect && a.Kind != lesson.Profile && a.Kind != lesson.Wait &&
		a.Kind != lesson.Mailbox && a.Kind != lesson.Close && a.Kind != lesson.Policy && r.sess == nil {
		out.err = errors.New("not connected")
		return out
	}
	switch a.Kind {
	case lesson.Connect:
		r.connect(ctx, st, a, out)
	case lesson.Send:
		out.reply, out.err = r.sess.Exec(ctx, a.Command)
		if out.err == nil && out.reply == nil {
			out.note = "sent"
		}
	case lesson.StartTLS:
		out.reply, out.err = r.sess.StartTLS(ctx)
	case lesson.Auth:
		if a.Mechanism == "LOGIN" {
			out.reply, out.err = r.sess.AuthLogin(ctx, a.User, a.Password)
		} else {
			out.reply, out.err = r.sess.AuthPlain(ctx, a.User, a.Password)
		}
	case lesson.Message:
		out.reply, out.err = r.sess.Mail(ctx, a.From, a.To, r.compose(st, a))
	case lesson.Profile:
		r.hangup(false)
		r.profile = a.ProfileName
		r.note("engine.profile", a.ProfileName)
		out.note = "profile " + a.ProfileName
	case lesson.Wait:
		out.err = r.e.Sleep(ctx, a.Duration)
		out.note = "waited " + a.Duration.String()
	case lesson.Mailbox:
		r.mailbox(ctx, st, out)
	case lesson.Policy:
		r.setPolicy(ctx, a, out)
	case lesson.Close:
		if r.sess == nil {
			r.note("engine.no-connection")
		}
		r.hangup(true)
		out.note = "closed"
	}
	if herr := (*session.HandshakeError)(nil); errors.As(out.err, &herr) {
		// A careful client hangs up rather than talk to a server it could
		// not verify (RFC 3207 §4.1); at a step that expects the refusal,
		// the refusal is the outcome.
		r.hangup(false)
		if _, want := hasExpect(st, lesson.TLSRefused); want {
			out.tlsRefused, out.err = herr.Words(), nil
		}
	}
	if r.sess != nil {
		if stt, ok := r.sess.TLS(); ok {
			out.tls = &stt
			if !r.secure {
				r.secure = true
				r.state(StateChange{State: StateSecure, Target: r.target}, false)
			}
		}
	}
	quit := a.Kind == lesson.Send && a.Verb() == "QUIT"
	if _, ok := hasExpect(st, lesson.Closed); (ok || quit) && r.sess != nil && out.err == nil {
		cctx, cancel := context.WithTimeout(ctx, r.e.ClosedWait)
		out.closed = r.sess.WaitClosed(cctx) == nil
		cancel()
	}
	if out.closed || quit || errors.Is(out.err, session.ErrClosed) {
		r.hangup(false) // the session said "Connection closed by foreign host."
	}
	return out
}

func (r *run) connect(ctx context.Context, st *lesson.Step, a lesson.Action, out *outcome) {
	r.hangup(false)
	t := Target{Server: r.e.Server, Lab: r.e.Lab, Key: r.e.Key, Profile: r.profile, Host: a.Host, Port: a.Port}
	if a.Under != "" {
		t.Profile = a.Under
	}
	r.state(StateChange{State: StateConnecting, Target: t}, true)
	dctx, cancel := context.WithTimeout(ctx, r.e.DialTimeout)
	conn, err := r.e.Dialer.Dial(dctx, t)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			out.err = ctx.Err()
			return
		}
		state := DialState(err)
		r.state(StateChange{State: state, Target: t, Err: err}, true)
		if state == StateClosed {
			out.err = err
		} else {
			out.dialErr = err
		}
		return
	}
	r.target = t
	r.state(StateChange{State: StateConnected, Target: t}, true)
	r.sess = session.New(conn, session.Config{
		Host: a.Host, RootCAs: r.e.RootCAs, Now: r.e.Now, OnLine: r.e.OnLine, Timeout: r.e.ReplyTimeout,
	})
	if a.TLS {
		if out.err = r.sess.Handshake(ctx); out.err != nil {
			r.hangup(false)
			return
		}
		r.secure = true
		r.state(StateChange{State: StateSecure, Target: t}, false)
	}
	if e, ok := hasExpect(st, lesson.Silent); ok {
		sctx, cancel := context.WithTimeout(ctx, e.Duration)
		line, err := r.sess.ReadLine(sctx)
		cancel()
		switch {
		case err == nil:
			out.heard = line
		case errors.Is(err, session.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
			out.silent = ctx.Err() == nil
			r.state(StateChange{State: StateSilent, Target: t, Wait: e.Duration}, true)
		default:
			out.heard = err.Error()
		}
		// A timed-out read leaves a tunnel closed: this connection is done.
		r.hangup(false)
		return
	}
	if _, ok := hasExpect(st, lesson.Banner); ok {
		out.banner, out.err = r.sess.ReadLine(ctx)
		return
	}
	out.reply, out.err = r.sess.ReadReply(ctx)
}

// compose writes the message a message action sends. It depends only on
// the lesson, the step and the injected clock, so a lesson sends the same
// bytes every time.
func (r *run) compose(st *lesson.Step, a lesson.Action) []byte {
	d := Draft{
		From: a.From, HeaderFrom: a.HeaderFrom, To: a.To, Subject: a.Subject, Date: r.e.Now(),
		MessageID: st.ID + "." + r.l.Name + "@portlab.test",
		Body:      fmt.Sprintf("Sent by the portlab lesson %q, step %q.\n", r.l.Name, st.ID),
	}
	if d.Subject == "" {
		d.Subject = fmt.Sprintf("portlab lesson %s, step %s", r.l.Name, st.ID)
	}
	if len(st.Body) > 0 {
		d.Body = strings.Join(st.Body, "\n") + "\n"
	}
	return d.Bytes()
}

// mailbox polls until every "message" expectation is met or MailboxWait
// has been spent; "no message" expectations are judged on the last read.
// A quiet run (a task judged after a reply) reads once and says nothing.
func (r *run) mailbox(ctx context.Context, st *lesson.Step, out *outcome) {
	var waited time.Duration
	for {
		msgs, err := r.e.Mailbox.Messages(ctx)
		if err != nil {
			out.err = fmt.Errorf("reading the mailbox: %w", err)
			return
		}
		out.messages = out.messages[:0:0]
		for _, m := range msgs {
			if !r.seen[m.ID] {
				out.messages = append(out.messages, m)
			}
		}
		done := true
		for _, e := range st.Expect {
			if e.Kind == lesson.HasMessage && findMessage(out.messages, e.Match) < 0 {
				done = false
			}
		}
		if done || r.quiet || waited >= r.e.MailboxWait {
			if !r.quiet {
				r.note("engine.mailbox", newMessages(r.e.Catalog, len(out.messages)))
			}
			return
		}
		if err := r.e.Sleep(ctx, r.e.MailboxPoll); err != nil {
			out.err = err
			return
		}
		waited += r.e.MailboxPoll
	}
}

// setPolicy adds a policy action's lines to the lab's policy (what it
// follows now: its own, or the server's), or resets it. The relay reads a
// connection's rules when it opens, so the note says to reconnect.
func (r *run) setPolicy(ctx context.Context, a lesson.Action, out *outcome) {
	if r.e.Policy == nil {
		out.err = errors.New("this lesson changes the lab's policy, and the player cannot")
		return
	}
	if len(a.PolicyLines) == 0 {
		if out.err = r.e.Policy.ResetPolicy(ctx); out.err == nil {
			r.note("engine.policy-reset")
			out.note = "policy reset"
		}
		return
	}
	text, err := r.e.Policy.Policy(ctx)
	if err != nil {
		out.err = err
		return
	}
	if text, err = insertLines(text, a.PolicyLines, a.PolicyAfter); err != nil {
		out.err = err
		return
	}
	if out.err = r.e.Policy.SetPolicy(ctx, text); out.err != nil {
		r.note("engine.policy-refused", out.err.Error())
		return
	}
	if a.PolicyAfter != "" {
		r.note("engine.policy-applied-after", strings.Join(a.PolicyLines, " / "), strings.TrimSpace(a.PolicyAfter))
	} else {
		r.note("engine.policy-applied", strings.Join(a.PolicyLines, " / "))
	}
	out.note = "policy applied"
}

// insertLines adds lines to a policy text: at the end, or after the first
// line that reads after.
func insertLines(text string, lines []string, after string) (string, error) {
	all := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	at := len(all)
	if after != "" {
		at = slices.IndexFunc(all, func(l string) bool { return strings.TrimSpace(l) == strings.TrimSpace(after) })
		if at < 0 {
			return "", fmt.Errorf("the policy has no line %q to add after", strings.TrimSpace(after))
		}
		at++
	}
	return strings.Join(slices.Insert(all, at, lines...), "\n") + "\n", nil
}

// newMessages counts a mailbox step's messages in words ("1 new message"),
// with the plural rules of the catalog's language.
func newMessages(c *i18n.Catalog, n int) string { return c.T("engine.new-messages", n) }
