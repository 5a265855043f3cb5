// Package httpguard hardens the sandbox's HTTP side, which a class and a
// public docs site reach: time-outs on every phase of a request
// ([NewServer]), connection caps per client address and overall at the
// listener ([Listen]), a check of the Host and Origin headers
// ([Handler]) against DNS rebinding and cross-site requests, and the real
// client's address behind a trusted reverse proxy ([Forwarded]).
package httpguard
