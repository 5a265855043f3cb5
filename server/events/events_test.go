package events

import "testing"

func TestBusFilterAndDrop(t *testing.T) {
	b := NewBus()
	labA := b.Subscribe(2, func(e Event) bool { return e.Lab == "a" })
	all := b.Subscribe(10, nil)
	for i := range 4 {
		b.Publish(Event{Kind: Command, Lab: "a", Conn: uint64(i)})
	}
	b.Publish(Event{Kind: Command, Lab: "b"})
	if got := len(all.C); got != 5 {
		t.Errorf("unfiltered subscriber got %d events, want 5", got)
	}
	if got := len(labA.C); got != 2 {
		t.Errorf("lab a subscriber got %d events, want 2 (buffer size)", got)
	}
	if b.Dropped() != 2 {
		t.Errorf("dropped = %d, want 2", b.Dropped())
	}
	if e := <-labA.C; e.Conn != 0 {
		t.Errorf("first event conn = %d, want 0 (order kept)", e.Conn)
	}
	labA.Close()
	labA.Close()               // idempotent
	b.Publish(Event{Lab: "a"}) // not delivered: the subscription is closed
	// The event buffered before Close is still there, then C is closed.
	if e, ok := <-labA.C; !ok || e.Conn != 1 {
		t.Fatalf("after Close got %+v, %v; want the buffered conn 1", e, ok)
	}
	if _, ok := <-labA.C; ok {
		t.Error("closed subscription still receives")
	}
}
