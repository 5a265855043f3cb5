package embedcmd

import "testing"

// TestAllowed: only an exact origin of the list commands the page; a
// look-alike (another port, scheme, host name or a suffix) does not.
func TestAllowed(t *testing.T) {
	allowed := []string{"https://docs.example.com", "http://docs.example.com", "http://127.0.0.1:8123"}
	for _, tt := range []struct {
		origin string
		want   bool
	}{
		{"https://docs.example.com", true},
		{"http://127.0.0.1:8123", true},
		{"http://127.0.0.1:8124", false},
		{"http://localhost:8123", false},
		{"https://docs.example.com.evil.test", false},
		{"https://evil.docs.example.com", false},
		{"https://docs.example.com:443", false},
		{"HTTPS://DOCS.EXAMPLE.COM", false},
		{"null", false},
		{"", false},
	} {
		if got := Allowed(tt.origin, allowed); got != tt.want {
			t.Errorf("Allowed(%q) = %v, want %v", tt.origin, got, tt.want)
		}
	}
	if Allowed("null", []string{"null"}) {
		t.Error(`"null" allowed because the list holds it`)
	}
}

// TestCheck: the four commands pass with what they need; anything else
// is answered with an error that names the commands.
func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		c  Command
		ok bool
	}{
		{Command{Command: Start}, true},
		{Command{Command: Reset, ID: "7"}, true},
		{Command{Command: Play, Step: "ehlo"}, true},
		{Command{Command: Play}, false},
		{Command{Command: Profile, Profile: "cloud-vm"}, true},
		{Command{Command: Profile}, false},
		{Command{Command: "Start"}, false},
		{Command{Command: "eval"}, false},
		{Command{}, false},
	} {
		err := Check(tt.c)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%+v) = %v, want ok=%v", tt.c, err, tt.ok)
		}
	}
	if err := Check(Command{Command: "stop"}); err == nil || err.Error() != `unknown command "stop": the commands are start, reset, play, profile` {
		t.Errorf("unknown command answered %v", err)
	}
}
