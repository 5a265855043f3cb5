package netsim

import (
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

func TestDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server, c := net.Pipe()
		client := Delay(c, 40*time.Millisecond)
		defer client.Close()
		go func() {
			defer server.Close()
			io.WriteString(server, "220 mx.sandbox.test ESMTP\r\n")
		}()
		start := time.Now()
		buf := make([]byte, 64)
		n, err := client.Read(buf)
		if err != nil || string(buf[:n]) != "220 mx.sandbox.test ESMTP\r\n" {
			t.Fatalf("Read = %q, %v", buf[:n], err)
		}
		if d := time.Since(start); d != 40*time.Millisecond {
			t.Errorf("the greeting took %v, want 40ms", d)
		}
	})
}

func TestDelayClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server, c := net.Pipe()
		defer server.Close()
		client := Delay(c, 5*time.Second)
		go io.WriteString(server, "220 hi\r\n")
		done := make(chan struct{})
		start := time.Now()
		go func() {
			defer close(done)
			client.Read(make([]byte, 64))
		}()
		synctest.Wait() // the reader now waits out the delay
		client.Close()
		<-done
		if d := time.Since(start); d != 0 {
			t.Errorf("Close took %v to end the wait", d)
		}
	})
}

func TestDelayZero(t *testing.T) {
	_, c := net.Pipe()
	defer c.Close()
	if Delay(c, 0) != c {
		t.Error("Delay(c, 0) wrapped c")
	}
}
