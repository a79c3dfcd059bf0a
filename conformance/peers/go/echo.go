// Echo application on Go's net/http/fcgi: see docs/echo-contract.md.
// Build: GO111MODULE=off go build -o echo echo.go
// Usage: echo HOST:PORT | /unix/path
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"strconv"
	"strings"
)

func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	env := fcgi.ProcessEnv(r) // the params net/http did not turn into r's fields
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("X-Fcgi-Echo", "1")
	code := http.StatusOK
	if s, ok := env["ECHO_STATUS"]; ok {
		if c, err := strconv.Atoi(s); err == nil {
			code = c // net/http/fcgi writes its own reason phrase
		}
	}
	w.WriteHeader(code)
	if s, ok := env["ECHO_STDERR"]; ok {
		// net/http/fcgi exposes no FCGI_STDERR stream: process stderr instead.
		fmt.Fprint(os.Stderr, s)
	}
	var b strings.Builder
	b.WriteString("FCGI-ECHO/1\n")
	for k, v := range env {
		if strings.HasPrefix(k, "ECHO_") {
			fmt.Fprintf(&b, "param %s=%s\n", k, v)
		}
	}
	fmt.Fprintf(&b, "stdin %d\n", len(body))
	io.WriteString(w, b.String())
	w.Write(body)
	if n, err := strconv.Atoi(env["ECHO_BIG"]); err == nil && n > 0 {
		xs := []byte(strings.Repeat("x", 65536))
		for n > 0 {
			c := n
			if c > len(xs) {
				c = len(xs)
			}
			w.Write(xs[:c])
			n -= c
		}
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: echo HOST:PORT|/unix/path")
		os.Exit(2)
	}
	network := "tcp"
	if strings.HasPrefix(os.Args[1], "/") {
		network = "unix"
	}
	l, err := net.Listen(network, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := fcgi.Serve(l, http.HandlerFunc(echo)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
