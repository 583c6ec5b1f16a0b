// tests/egress-go: a native function written in Go, built static
// (CGO_ENABLED=0: Go's own resolver and TLS, no libc), as a Go program
// would be deployed. Its request body says what to fetch, the ordinary
// way: no proxy settings, the resolver from /etc/resolv.conf, the trust
// store from the system's default path. It prints what happened as JSON.
//
//	{"url": U}              net/http GET U: status, protocol, the TLS
//	                        version and ALPN, the leaf's issuer, the body
//	{"url": U, "n": N}      N GETs on one client (keep-alive): each status
//	{"resolve": NAME}       net.LookupHost(NAME): the addresses, or the error
package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

type request struct {
	URL     string `json:"url"`
	N       int    `json:"n"`
	Resolve string `json:"resolve"`
}

type answer struct {
	Status  []int    `json:"status,omitempty"`
	Proto   string   `json:"proto,omitempty"`
	TLS     string   `json:"tls,omitempty"`
	ALPN    string   `json:"alpn,omitempty"`
	Issuer  string   `json:"issuer,omitempty"`
	Body    string   `json:"body,omitempty"`
	Addrs   []string `json:"addrs,omitempty"`
	Error   string   `json:"error,omitempty"`
	ErrorAt int      `json:"error_at,omitempty"`
}

func tlsName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS13:
		return "TLS 1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

func fetch(r request) answer {
	var a answer
	client := &http.Client{Timeout: 20 * time.Second}
	n := r.N
	if n < 1 {
		n = 1
	}
	for i := 0; i < n; i++ {
		resp, err := client.Get(r.URL)
		if err != nil {
			a.Error, a.ErrorAt = err.Error(), i+1
			return a
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			a.Error, a.ErrorAt = err.Error(), i+1
			return a
		}
		a.Status = append(a.Status, resp.StatusCode)
		if i == 0 {
			a.Proto, a.Body = resp.Proto, string(body)
			if resp.TLS != nil {
				a.TLS = tlsName(resp.TLS.Version)
				a.ALPN = resp.TLS.NegotiatedProtocol
				if len(resp.TLS.PeerCertificates) > 0 {
					a.Issuer = resp.TLS.PeerCertificates[0].Issuer.CommonName
				}
			}
		}
	}
	return a
}

func main() {
	var r request
	var a answer
	if err := json.NewDecoder(os.Stdin).Decode(&r); err != nil {
		a.Error = "bad request body: " + err.Error()
	} else if r.Resolve != "" {
		addrs, err := net.LookupHost(r.Resolve)
		a.Addrs = addrs
		if err != nil {
			a.Error = err.Error()
		}
	} else {
		a = fetch(r)
	}
	out, _ := json.Marshal(a)
	os.Stdout.Write(append(out, '\n'))
}
