#!/usr/bin/env bash
# Installs the pinned tools the harness runs, into $CACHE (outside the clone) so
# a second run is a no-op. Everything comes from the Go module proxy, PyPI or
# Debian; nothing from release pages. Each step says what it builds and how long
# it took. Versions are passed in by the Makefile, the single place they are pinned.
# Arguments name the only steps to run (e.g. `tools.sh helm` for `make render`).
set -euo pipefail

: "${CACHE:?}" "${KUBE_ROUTER_VERSION:?}" "${CALICO_VERSION:?}" "${HELM_VERSION:?}" "${HELM3_VERSION:?}" "${KUBECONFORM_VERSION:?}" "${HELM_UNITTEST_VERSION:?}"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin="$CACHE/bin"
mkdir -p "$bin" "$CACHE/stamps"

only=" $* "
step() { # step NAME STAMP-CONTENT COMMAND...: runs COMMAND unless NAME's stamp says it is current
  local name=$1 want=$2; shift 2
  if [[ $only != "  " && $only != *" $name "* ]]; then return 0; fi
  local stamp="$CACHE/stamps/$name"
  if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  echo "tools: building $name ($want)..." >&2
  local t0=$SECONDS
  "$@"
  echo "$want" >"$stamp"
  echo "tools: $name ready in $((SECONDS - t0))s" >&2
}

go_install() { # go_install DEST-NAME PKG@VERSION [LDFLAGS]: go install into a private GOBIN, then link into bin/
  local dest=$1 pkg=$2 ldflags=${3:-}
  local gobin="$CACHE/gobin/$dest"
  GOBIN="$gobin" GOFLAGS=-trimpath go install -ldflags "$ldflags" "$pkg"
  ln -sf "$gobin/$(basename "${pkg%@*}")" "$bin/$dest"
}

# Helm v3 reports Kubernetes 1.20 to charts unless told, at link time, the minor of
# the client-go it was built with (as helm's own Makefile does); v4 reads it itself.
helm3_kube_ldflags() { # helm3_kube_ldflags CLIENT-GO-VERSION
  local minor; minor=$(cut -d. -f2 <<<"$1")
  local x
  for x in pkg/chartutil pkg/lint/rules; do
    printf -- '-X helm.sh/helm/v3/%s.k8sVersionMajor=1 -X helm.sh/helm/v3/%s.k8sVersionMinor=%s ' "$x" "$x" "$minor"
  done
}

client_go_of() { # client_go_of MODULE@VERSION: the k8s.io/client-go version that module requires
  local gomod; gomod=$(GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  awk '$1 == "k8s.io/client-go" {print $2}' "$gomod"
}

helm_unittest() {
  (cd "$here/helm-unittest" &&
    go build -trimpath -ldflags "$(helm3_kube_ldflags "$(go list -m -f '{{.Version}}' k8s.io/client-go)")" \
      -o "$bin/helm-unittest" github.com/helm-unittest/helm-unittest/cmd/helm-unittest)
}

python_venv() { # python_venv DIR REQUIREMENTS
  rm -rf "$1"
  python3.11 -m venv "$1"
  "$1/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-virtualenv -r "$2"
}

# Debian packages, by the command each provides: Graphviz draws the connectivity
# pictures; iptables, ipset and conntrack are kube-router's dataplane; shellcheck
# lints the shell scripts; gpg signs and verifies chart packages.
DEBS="dot:graphviz iptables:iptables ipset:ipset conntrack:conntrack shellcheck:shellcheck gpg:gnupg"
debs() {
  local missing=() pair
  for pair in $DEBS; do command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) || {
    echo "tools: could not install ${missing[*]} (apt-get)" >&2; return 1; }
}

wrapped_build() { # wrapped_build DIR PKG OUT [LDFLAGS]: go build PKG from a wrapper module (its go.mod pins it)
  (cd "$here/$1" && go build -trimpath -buildvcs=false -ldflags "${4:-}" -o "$3.tmp" "$2") && mv -f "$3.tmp" "$3"
}

modver() { (cd "$here/$1" && go list -m -f '{{.Version}}' "$2"); }

chart_testing() { # ct, plus the yamllint/yamale configs it reads from its etc/ (copied from the module cache)
  local v; v=$(modver ct github.com/helm/chart-testing/v3)
  wrapped_build ct github.com/helm/chart-testing/v3/ct "$bin/ct" "-X github.com/helm/chart-testing/v3/ct/cmd.Version=$v"
  local src; src=$(cd "$here/ct" && go list -m -f '{{.Dir}}' github.com/helm/chart-testing/v3)
  mkdir -p "$CACHE/ct-etc"
  install -m 0644 "$src/etc/chart_schema.yaml" "$src/etc/lintconf.yaml" "$CACHE/ct-etc/"
}

calico_felix() {
  local mod=github.com/projectcalico/calico pseudo
  pseudo=$(awk -v m="$mod" '$1 == m || ($1 == "require" && $2 == m)' "$here/calico/go.mod")
  if [[ $pseudo != *"// $CALICO_VERSION" ]]; then
    echo "tools: tools/bootstrap/calico/go.mod does not pin $mod as $CALICO_VERSION (CALICO_VERSION): $pseudo" >&2
    return 1
  fi
  local v commit date out="$bin/calico-felix"
  v=$(modver calico "$mod"); commit=${v##*-}
  date=$(cd "$here/calico" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$mod")
  local x=github.com/projectcalico/calico/pkg/buildinfo
  (cd "$here/calico" && CGO_ENABLED=0 go build -p 2 -trimpath -buildvcs=false \
    -ldflags "-s -w -X $x.Version=$CALICO_VERSION -X $x.GitRevision=$commit -X $x.BuildDate=$date" \
    -o "$out.tmp" "$mod/felix/cmd/calico-felix") && mv -f "$out.tmp" "$out"
  # Its CRDs, all of them (with one missing felix polls for it), from the same module source.
  local src; src=$(cd "$here/calico" && go list -m -f '{{.Dir}}' "$mod")
  rm -rf "$CACHE/calico-crds" && mkdir -p "$CACHE/calico-crds"
  install -m 0644 "$src"/libcalico-go/config/crd/*.yaml "$CACHE/calico-crds/"
}

req_hash() { sha256sum "$1" | cut -c1-16; }

step helm "$HELM_VERSION" go_install helm "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" \
  "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
step helm3 "$HELM3_VERSION-kube" go_install helm3 "helm.sh/helm/v3/cmd/helm@$HELM3_VERSION" \
  "-X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION $(helm3_kube_ldflags "$(client_go_of "helm.sh/helm/v3@$HELM3_VERSION")")"
step kubeconform "$KUBECONFORM_VERSION" go_install kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
step helm-unittest "$HELM_UNITTEST_VERSION-kube-$(req_hash "$here/helm-unittest/go.sum")" helm_unittest
step venv "$(req_hash "$repo/tools/requirements.txt")" python_venv "$CACHE/venv" "$repo/tools/requirements.txt"
step venv-nca "$(req_hash "$repo/tools/requirements-nca.txt")" python_venv "$CACHE/venv-nca" "$repo/tools/requirements-nca.txt"
step debs "$DEBS" debs
step ct "$(req_hash "$here/ct/go.sum")" chart_testing
# A loopback-only OCI registry for the distribution tests (helm push / install oci://).
step registry "$(req_hash "$here/registry/go.sum")-$(req_hash "$here/registry/main.go")" \
  wrapped_build registry . "$bin/registry"
# kube-router's NetworkPolicy controller: the dataplane the enforcement tests probe.
# Test-only: it runs for seconds inside throwaway network namespaces (see README).
step kube-router "$KUBE_ROUTER_VERSION" go_install kube-router \
  "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
# Calico's felix, the second NetworkPolicy dataplane (same test-only terms), and its CRDs. Static
# (CGO-free) like Calico's release builds; -p 2 keeps the ~4 GB cold build to the
# machine's two cores. The wrapper's go.mod pins the commit and names its release.
step calico-felix "$CALICO_VERSION-$(req_hash "$here/calico/go.sum")" calico_felix
# Standalone Kubernetes JSON schemas for kubeconform, built from the pinned
# kubernetes-validate package so validation never touches the network.
step schemas "$(req_hash "$repo/tools/requirements.txt")-$(req_hash "$repo/tools/schemas.py")" \
  env --chdir="$repo" "$CACHE/venv/bin/python" -m tools.schemas --out "$CACHE/schemas"
