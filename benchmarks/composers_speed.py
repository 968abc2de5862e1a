"""Time every registered composer on real LCA-format data: milliseconds per datapoint, one core.

    python benchmarks/composers_speed.py [PARQUET] [--repeat N]

Loads the datapoints once (pyarrow), then composes each datapoint ``repeat`` times per composer.
"cold" is the first compose of each datapoint (what a single pass pays), "warm" the best of the
repeats (what later epochs pay where a composer caches per file); both are medians over datapoints.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lca-sample" / "lca-sample.parquet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parquet", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import pyarrow.parquet as pq

    from lca_core.api.plugins import get_plugin_manager

    rows = pq.read_table(args.parquet).to_pylist()
    registry = get_plugin_manager().registry("composer")
    print(f"{len(rows)} datapoints from {args.parquet}")
    print(f"{'composer':<18} {'cold ms':>8} {'warm ms':>8} {'max cold ms':>12} {'context MB (mean)':>18}")
    for name in registry.names():
        composer = registry.load(name)()
        cold, warm, sizes = [], [], []
        for row in rows:
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                out = composer.compose(row)
                times.append((time.perf_counter() - start) * 1000)
            cold.append(times[0])
            warm.append(min(times[1:] or times))
            sizes.append(len(out["composed_context"]) / 1e6)
        print(f"{name:<18} {statistics.median(cold):>8.2f} {statistics.median(warm):>8.2f} {max(cold):>12.2f} "
              f"{statistics.mean(sizes):>18.2f}")


if __name__ == "__main__":
    main()
