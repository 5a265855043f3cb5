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

// An AUTH as a lab's user, made from a connection still in the shared
// classroom, reaches that lab's stream and never the classroom's.
func TestAuthRoutedToItsLab(t *testing.T) {
	b := NewBus()
	b.RouteAuth(func(user string) (string, bool) { return user, user == "lab1" })
	classroom := b.Subscribe(10, func(e Event) bool { return e.Lab == "classroom" })
	lab1 := b.Subscribe(10, func(e Event) bool { return e.Lab == "lab1" })
	for _, ok := range []bool{false, true} {
		b.Publish(Event{Kind: Auth, Lab: "classroom", User: "lab1", OK: ok, Text: "AUTH for lab1"})
	}
	b.Publish(Event{Kind: Auth, Lab: "classroom", User: "foo", Text: "AUTH for foo"})
	if got := len(lab1.C); got != 2 {
		t.Errorf("lab1 got %d AUTH events, want 2", got)
	}
	if got := len(classroom.C); got != 1 {
		t.Fatalf("classroom got %d events, want only foo's", got)
	}
	if e := <-classroom.C; e.User != "foo" {
		t.Errorf("classroom saw %+v", e)
	}
}
