# Distribution: the chart archive, reproducible and optionally signed; pushing it to an
# OCI registry; chart-testing. Included from the top-level Makefile (CHART, PYTHON, BIN).
#
#   make package [SIGN_KEY=name [KEYRING=secring.gpg] [PASSPHRASE_FILE=f]]   dist/<chart>-<version>.tgz (+ .prov)
#   make publish REGISTRY=oci://host/path [SIGN_KEY=...] [PLAIN_HTTP=1]       package, then helm push
#   make ct                                                                  ct lint (ct.yaml), helm v4 and v3
#   make ci-values                                                           link new examples into ci/
#
# The archive is reproducible: helm v4 stamps every file with the commit's time (SOURCE_DATE_EPOCH),
# so two clones of one commit package byte-identical archives. Sign with a key from the legacy
# secret keyring helm reads: `gpg --export-secret-keys > secring.gpg` (docs/releasing.md).

DIST ?= dist
SIGN_KEY ?=
KEYRING ?= $(HOME)/.gnupg/secring.gpg
PASSPHRASE_FILE ?=
REGISTRY ?=
PLAIN_HTTP ?=

dist_flags = --destination $(DIST) $(if $(SIGN_KEY),--sign-key '$(SIGN_KEY)' --keyring $(KEYRING)) \
	$(if $(PASSPHRASE_FILE),--passphrase-file $(PASSPHRASE_FILE))

.PHONY: package publish ct

package: ## Build the chart archive into dist/, reproducibly (SIGN_KEY=name [KEYRING=secring.gpg] adds the .prov)
	@bash tools/bootstrap/tools.sh helm venv
	$(PYTHON) -m tools.dist package $(dist_flags)

publish: ## package, then helm push to REGISTRY=oci://host/path (refuses a version already there)
	@test -n "$(REGISTRY)" || { echo "usage: make publish REGISTRY=oci://host/path [SIGN_KEY=name]" >&2; exit 2; }
	@bash tools/bootstrap/tools.sh helm venv
	$(PYTHON) -m tools.dist publish $(dist_flags) $(if $(PLAIN_HTTP),--plain-http) '$(REGISTRY)'

ct: ## chart-testing: ct lint (ct.yaml) over the chart's ci/*-values.yaml, on helm v4 and v3
	@bash tools/bootstrap/tools.sh helm helm3 venv ct
	$(PYTHON) -m tools.ct

.PHONY: ci-values
ci-values: ## Link every worked example into ci/ for chart-testing (ci/<name>-values.yaml -> ../examples/<name>.yaml)
	@for f in $(CHART)/examples/*.yaml; do n=$${f##*/}; ln -sfn "../examples/$$n" "$(CHART)/ci/$${n%.yaml}-values.yaml"; done
