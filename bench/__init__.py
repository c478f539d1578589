"""Performance benchmarks (quality.md §2), run by `make bench` or `python -m bench [p1 p2 …]`.

Each prints one line per figure, starting with its id, beside the raw asyncpg INSERT rate
measured in the same run, so that runs compare by ratio on shared, noisy machines.
"""
