// Command assets builds the browser client into web/static/wasm/, where
// package web embeds it: portlab.wasm.br and portlab.wasm.gz (the wasm is
// served only precompressed; identity requests are decompressed on the
// fly) and wasm_exec.js copied from the Go toolchain that built the wasm,
// so the two always match.
//
// Run it from anywhere in the module, before go build:
//
//	go run ./web/internal/assets
//
// Flags: -pkg (default ./wasm), -out (default web/static/wasm),
// -brotli quality (default 11).
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/andybalholm/brotli"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "assets:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("assets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pkg := fs.String("pkg", "./wasm", "the package to build for js/wasm")
	out := fs.String("out", "web/static/wasm", "output directory, relative to the module root")
	quality := fs.Int("brotli", brotli.BestCompression, "brotli quality, 0 to 11")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := goEnv("GOMOD")
	if err != nil {
		return err
	}
	if root == "" || root == os.DevNull {
		return fmt.Errorf("run inside the portlab module")
	}
	root = filepath.Dir(root)
	goroot, err := goEnv("GOROOT")
	if err != nil {
		return err
	}
	dir := filepath.Join(root, *out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	start := time.Now()
	tmp, err := os.MkdirTemp("", "portlab-wasm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	wasmPath := filepath.Join(tmp, "portlab.wasm")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", wasmPath, *pkg)
	build.Dir = root
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	build.Stdout, build.Stderr = stdout, stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build %s for js/wasm: %w", *pkg, err)
	}
	raw, err := os.ReadFile(wasmPath)
	if err != nil {
		return err
	}

	var br, gz bytes.Buffer
	bw := brotli.NewWriterLevel(&br, *quality)
	if _, err := bw.Write(raw); err != nil {
		return err
	}
	if err := bw.Close(); err != nil {
		return err
	}
	gw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := gw.Write(raw); err != nil {
		return err
	}
	if err := gw.Close(); err != nil {
		return err
	}
	execJS, err := os.ReadFile(filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return fmt.Errorf("wasm_exec.js of the toolchain: %w", err)
	}
	// An uncompressed portlab.wasm would be embedded too: keep it out.
	_ = os.Remove(filepath.Join(dir, "portlab.wasm"))
	for name, b := range map[string][]byte{
		"portlab.wasm.br": br.Bytes(),
		"portlab.wasm.gz": gz.Bytes(),
		"wasm_exec.js":    execJS,
	} {
		if err := writeAtomic(filepath.Join(dir, name), b); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "assets: %s: wasm %.2f MiB, gzip %.2f MiB, brotli %.2f MiB (%s)\n",
		*out, mib(len(raw)), mib(gz.Len()), mib(br.Len()), time.Since(start).Round(100*time.Millisecond))
	return nil
}

func mib(n int) float64 { return float64(n) / (1 << 20) }

func goEnv(name string) (string, error) {
	b, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
