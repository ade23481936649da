"""What the chart's policies let through, and what the page says they should, layer by layer:

intervals   IPv4 address intervals; the outside world split into named blocks (IpAtom)
cluster     the fixture cluster: its pods, namespaces and IP blocks, placed as the values say
layout      where the values put each group, and what their sources and egress rules name
engine      network-config-analyzer, run by path in its own venv (tools/libexec/nca-driver.py)
flows       flows, their diffs and tables
documented  the documented rows, from the facts file
model       both sides of every connection, from the facts and the values; `compare`
matrix      every switch combination (`python -m tools.connectivity.matrix`)
verify      `make verify` (`python -m tools.connectivity.verify`)
picture     the connectivity picture: flows by workload group, as Graphviz DOT (the README's, make verify's)
"""
