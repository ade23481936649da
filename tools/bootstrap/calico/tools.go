//go:build tools

// Package tools pins Calico's felix command so `go build` can find it.
package tools

import _ "github.com/projectcalico/calico/felix/cmd/calico-felix"
