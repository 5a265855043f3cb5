package e2e_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portlab/portlab/server/api"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/world"
	"github.com/portlab/portlab/web"
)

// An open mailbox tab after a restart of the server (labs live in memory)
// says the lab has expired and offers a new one, instead of
// "reconnecting" forever.
func TestMailboxLabExpired(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	newAPI := func() http.Handler {
		profiles := netsim.Default()
		store := mailbox.New(10, 1<<20, nil)
		labs := lab.NewManager(lab.Config{TTL: time.Hour, MaxPerClient: 10, MaxLabs: 100, Default: "home-isp"})
		return api.New(api.Config{Labs: labs, Store: store, Bus: events.NewBus(), Profiles: profiles, World: world.Default()})
	}
	var current atomic.Value
	current.Store(newAPI())
	mux := http.NewServeMux()
	mux.Handle("/", web.New(web.Config{Version: "e2e"}))
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { current.Load().(http.Handler).ServeHTTP(w, r) }))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	ctx := newBrowser(t)
	navigate(t, ctx, srv.URL+"/mailbox")
	waitFor(t, ctx, "live mailbox", `document.getElementById('mailbox-live').dataset.state === 'on'`, 20*time.Second)
	// The restart: a new API with no labs, and the stream's connection cut.
	current.Store(newAPI())
	srv.CloseClientConnections()
	waitFor(t, ctx, "expired notice", `!!document.querySelector('[data-testid=lab-expired]')`, 20*time.Second)
	screenshot(t, ctx, "mailbox-expired")
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=lab-new]`)))
	waitFor(t, ctx, "a new lab, live", `document.getElementById('mailbox-live').dataset.state === 'on'`, 20*time.Second)
}
