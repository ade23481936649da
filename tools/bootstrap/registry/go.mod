// Wrapper module: a loopback-only OCI registry built from go-containerregistry.
module github.com/ep-netpol/tools/registry

go 1.26.0

require github.com/google/go-containerregistry v0.22.1
