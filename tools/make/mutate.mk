# Mutation testing of the chart. Included from the top-level Makefile
# (CACHE, PYTHON, `tools-harness`). Slow (see the README), so not part of `make test` or
# `make bench`; tests/mutate/ keeps the tester itself working in `make test`.
#
#   make mutate                      every mutant against the fast tests; score and survivors
#   make mutate MUTATE_ARGS=--thorough   also the e2e tests and the connectivity matrix
#   make mutate MUTATE_ARGS='--only flink-egress'   a subset (regex on the mutant's key)

MUTATE_ARGS ?=

.PHONY: mutate mutate-list

mutate: tools-harness ## Mutation score of the chart's tests: mutants of templates, schema, values; lists survivors
	$(PYTHON) -m tools.mutate $(MUTATE_ARGS)

mutate-list: ## List the chart's mutants (nothing runs)
	$(PYTHON) -m tools.mutate --list $(MUTATE_ARGS)

