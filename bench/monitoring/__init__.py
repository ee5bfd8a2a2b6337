"""Monitoring benchmark: the figures of services/monitoring on a synthetic history of N workers (1M by default,
about 3M facts), next to the same figures computed by plain SQL GROUP BY queries and by DuckDB, in the same run.

The history is written straight into a fresh SQLite monitoring database (schema from the service's Alembic
migration, rows with the sqlite3 module) and cached under var/bench/ keyed by size, seed, day and generator
version, so a rerun skips the build: 60 liaison stations in 10 partner provinces (real GB/T 2260 county codes),
workers with categories, key-region flags and registrations over 24 months, employment spells (in Jiangsu, near
home or elsewhere; placed, self-found ...), placements with their retention-check dates as
facts.confirm_placement computes them, follow-up visits, applications, warnings, trainings, direct-bus trips and
bookings, up to --today. One cooperation agreement is created through the service.

Each figure is asked for as an admin, a partner (one province), a station and a Jiangsu city bureau would ask, as
the routes ask by default (the twelve months to this month; the monthly report for last month,
report.monthly_report): the service-layer call (view_of and the figure in one AsyncSession transaction on
libs.db's engine, as a route runs it), and two baselines answering the same question: plain SQL (GROUP BY, joins
instead of correlated EXISTS, medians from a GROUP BY histogram) through the sqlite3 module on the same file, and
the same SQL in an in-memory DuckDB holding a copy of the tables (DuckDB's sqlite scanner is an extension
downloaded at run time, so the tables are copied through numpy arrays instead; nothing is downloaded). Before
anything is timed the three answers are compared (the service's, with small counts hidden, against the baselines'
numbers hidden the same way; the two baselines' raw numbers against each other): a difference stops the run. That
is a correctness check; no timing is asserted.

Timing: the three variants of a figure are run in turn within each round (the order rotates), every figure in
every round, until --repeats rounds or the figure's --budget seconds (at least --min-repeats rounds): wall time
and CPU seconds of this process (time.process_time: all threads, so aiosqlite's thread and DuckDB's workers
count) per call, nearest-rank p50/p99. Memory, from separate calls: the peak RSS above the RSS before the call
(/proc/self/clear_refs; catches SQLite's and DuckDB's own allocations) and the tracemalloc peak (Python objects
only). The service's statements are recorded with their time and EXPLAIN QUERY PLAN (in the JSON; the slowest
are printed). bench/README.md says more.

    .venv/bin/python -m bench.monitoring --quick                # 20,000 workers, a smoke run (under a minute)
    .venv/bin/python -m bench.monitoring                        # 1,000,000 workers (build once, then cached)
    .venv/bin/python -m bench.monitoring --workers 200000 --repeats 20 --budget 30
    .venv/bin/python -m bench.monitoring --rebuild --json /tmp/monitoring.json
"""
