// Command echo is a tiny HTTP server for the containers package's tests: it answers /ready, echoes an
// env var, resolves a host name on the stack's network, and exits at start when EXIT_CODE is set.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
)

func main() {
	if c := os.Getenv("EXIT_CODE"); c != "" {
		fmt.Println("echo: exiting at start as asked: EXIT_CODE=" + c)
		n, _ := strconv.Atoi(c)
		os.Exit(n)
	}
	http.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getenv(r.URL.Query().Get("k"))) })
	http.HandleFunc("/resolve", func(w http.ResponseWriter, r *http.Request) {
		addrs, err := net.LookupHost(r.URL.Query().Get("h"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, addrs[0])
	})
	fmt.Println("echo: listening")
	addr := ":8080"
	if p := os.Getenv("PORT"); p != "" { // as a host process: loopback only, on the port it is given
		addr = "127.0.0.1:" + p
	}
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
