"""What the lints cost a run: the same 20,000 cells (2000 endpoints x 10
principals, Bearer) against the neutral nginx of compare.py, once with every
lint (the default) and once with `--lints none`, run back to back in rounds,
with snapshots written (the snapshot computes the lints a second time, over the
recorded matrix) and without.

Reported: the median over rounds of the with/without ratio of wall time and of
CPU (user + system), and each run's medians. Ratios carry over from one machine
to another; rates do not (see bench/README.md).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import (  # noqa: E402
    PERMATRIX,
    ROOT,
    Workload,
    free_port,
    measure,
    median,
    paired,
    wait_for_port,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="2000x10", help="NxK")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    nginx = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "nginx"
    if not PERMATRIX.exists():
        sys.exit("target/release/permatrix is missing: run `cargo build --release --locked`")
    work = Path(tempfile.mkdtemp(prefix="permatrix-lints-"))
    port = free_port()
    conf = (ROOT / "bench" / "nginx.conf.in").read_text()
    (work / "nginx.conf").write_text(conf.replace("@DIR@", str(work)).replace("@PORT@", str(port)))
    server = subprocess.Popen(
        [nginx, "-p", str(work), "-c", str(work / "nginx.conf")], stderr=subprocess.DEVNULL
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS")}
    try:
        wait_for_port(port, "nginx")
        n, k = (int(x) for x in args.workload.split("x"))
        w = Workload(n, k, port, args.concurrency, work / args.workload)
        suite = w.suites["bearer"] / "bench.yaml"
        snaps = work / "snaps"

        def argv(lints, snapshot):
            command = [str(PERMATRIX), "run", str(suite), "--quiet"]
            if lints:
                command += ["--lints", lints]
            if snapshot:
                # A fresh folder each time: the snapshot is written, never compared.
                shutil.rmtree(snaps, ignore_errors=True)
                command += ["--snapshots", str(snaps)]
            else:
                command += ["--no-snapshot"]
            return command

        for snapshot in (False, True):
            for lints in (None, "none"):
                measure(argv(lints, snapshot), w.cells, env)  # untimed: caches warm
            without, withs = [], []
            for _ in range(args.rounds):
                without.append(measure(argv("none", snapshot), w.cells, env))
                withs.append(measure(argv(None, snapshot), w.cells, env))
            wall = paired(withs, without, lambda a, b: a.wall / b.wall)
            cpu = paired(withs, without, lambda a, b: a.cpu / b.cpu)
            what = "snapshot written" if snapshot else "--no-snapshot"
            print(f"{w.cells} cells, {args.rounds} rounds, concurrency {args.concurrency}, {what}:")
            for name, samples in (("--lints none", without), ("every lint", withs)):
                print(
                    f"  {name:14} {median([s.rate for s in samples]):>9.0f} cells/s"
                    f"  {median([s.cpu_per_1000 for s in samples]):6.1f} ms CPU per 1000 cells"
                )
            print(f"  lints/none (median of paired rounds): wall {wall:.3f}x, CPU {cpu:.3f}x")
        print("  budget (issue 26): within 1.10x")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
