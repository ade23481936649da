#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd from the pinned wrapper modules next
# to this script into $CACHE/bin. Idempotent: a binary that already reports the
# pinned version is left alone, so reruns cost a couple of `--version` calls.
#
#   usage: tools/bootstrap/kube/build.sh [--force]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${EPNP_CACHE:-$HOME/.cache/ep-netpol}
BIN=$CACHE/bin
force=${1:-}

# The wrapper go.mod files say `go 1.26.0`, which the machine's Go satisfies;
# `local` makes a missing toolchain an error instead of a silent download.
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
# Static binaries, as upstream's release builds of both are.
export CGO_ENABLED=0

mkdir -p "$BIN"

now() { date +%s; }

# modver DIR MODULE -> the version DIR's go.mod pins for MODULE (single source of truth).
modver() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }
# modtime DIR MODULE -> the tag's commit time, used as a reproducible build date.
modtime() { (cd "$1" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$2"); }

# build NAME DIR WANT VERSION_ARGS LDFLAGS: builds unless $BIN/NAME reports WANT.
build() {
	local name=$1 dir=$2 want=$3 verargs=$4 ldflags=$5
	local out=$BIN/$name have=""
	if [[ -x $out ]]; then
		# shellcheck disable=SC2086 # verargs is a word list on purpose
		have=$("$out" $verargs 2>/dev/null | head -n1 || true)
	fi
	if [[ $force != --force && $have == *"$want"* ]]; then
		echo "kube-bootstrap: $name up to date ($have)"
		return
	fi
	echo "kube-bootstrap: building $name $want from $dir (go $(go env GOVERSION), GOCACHE=$(go env GOCACHE))"
	local t0 t1 t2
	t0=$(now)
	# Resolve and fetch only the modules the build needs (go.sum is committed;
	# the default -mod=readonly refuses to change it).
	(cd "$dir" && go list -deps . >/dev/null)
	t1=$(now)
	echo "kube-bootstrap:   fetched $name modules in $((t1 - t0))s"
	# Build to a temp name and rename, so an interrupted build leaves no binary
	# that the version check could mistake for a good one.
	(cd "$dir" && go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out.tmp" .)
	mv -f "$out.tmp" "$out"
	t2=$(now)
	# shellcheck disable=SC2086 # verargs is a word list on purpose
	echo "kube-bootstrap:   compiled $name in $((t2 - t1))s -> $out ($("$out" $verargs 2>/dev/null | head -n1))"
}

total0=$(now)

# kube-apiserver: the same -X flags hack/lib/version.sh sets, so /version and
# --version report the real release. The commit hash isn't known from the
# module proxy, so it is left empty rather than faked.
kdir=$here/apiserver
kver=$(modver "$kdir" k8s.io/kubernetes)
kdate=$(modtime "$kdir" k8s.io/kubernetes)
kmajor=${kver#v}; kmajor=${kmajor%%.*}
kminor=${kver#v*.}; kminor=${kminor%%.*}
kflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
	kflags+=" -X $pkg.gitVersion=$kver -X $pkg.gitMajor=$kmajor -X $pkg.gitMinor=$kminor"
	kflags+=" -X $pkg.gitCommit= -X $pkg.gitTreeState=archive -X $pkg.buildDate=$kdate"
done
build kube-apiserver "$kdir" "Kubernetes $kver" --version "$kflags"

# etcd: its version is a constant in go.etcd.io/etcd/api/v3/version; only the
# git SHA is a variable, set to say where the binary came from.
edir=$here/etcd
ever=$(modver "$edir" go.etcd.io/etcd/server/v3)
build etcd "$edir" "etcd Version: ${ever#v}" --version \
	"-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$ever"

echo "kube-bootstrap: done in $(($(now) - total0))s"
