"""`python -m bench.monitoring`."""

from bench.monitoring.run import main

main()
