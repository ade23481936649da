"""A small mutation tester for the chart: does the test suite notice each guard, port,
peer and schema bound missing or changed?

    python -m tools.mutate              # every mutant, the fast tests; prints score and survivors
    python -m tools.mutate --thorough   # the slow connectivity matrix and e2e tests too

Operators (`operators.py` for templates, `structured.py` for the schema and values)
read whatever the chart holds today: nothing is keyed to a file name or line number.
The runner (`runner.py`) applies one mutant at a time to a private copy of the chart
and points the tests at it with EPNP_CHART.
"""
