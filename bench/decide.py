"""What `decide:` rules cost a run: the same 20,000 cells (2000 endpoints x 10
principals, Bearer) against the neutral nginx of compare.py, once without rules
and once with two JSON-pointer rules on the target, run back to back in rounds.

Every answer of that nginx is a small JSON body, so both rules read (parse) the
body of every cell; their decisions equal the statuses, so both runs judge the
same matrix. Reported: the median over rounds of the with/without ratio of wall
time and of CPU (user + system), and each run's medians. Ratios carry over from
one machine to another; rates do not (see bench/README.md).
"""

import argparse
import os
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

RULES = """  decide:
    - when: { json: /error, equals: unauthenticated }
      then: 401
      reason: /error
    - when: { json: /ok, equals: false }
      then: 403
"""


def with_rules(suite_text):
    """The suite with the two rules added to its target (a flow map on one line)."""
    lines = suite_text.splitlines()
    out = []
    for line in lines:
        if line.startswith("target: {"):
            # `target: { base_url: …, timeout: …, concurrency: … }` as a block map.
            inner = line[len("target: {") : -1].strip()
            out.append("target:")
            for part in inner.split(", "):
                out.append(f"  {part.strip()}")
            out.extend(RULES.rstrip("\n").splitlines())
        else:
            out.append(line.replace("suite: bench-", "suite: bench-decide-"))
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="2000x10", help="NxK")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    nginx = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "nginx"
    if not PERMATRIX.exists():
        sys.exit("target/release/permatrix is missing: run `cargo build --release --locked`")
    work = Path(tempfile.mkdtemp(prefix="permatrix-decide-"))
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
        plain = w.suites["bearer"] / "bench.yaml"
        ruled_dir = work / "decide"
        ruled_dir.mkdir()
        ruled = ruled_dir / "bench.yaml"
        ruled.write_text(with_rules(plain.read_text()))

        def argv(suite, snaps):
            return [str(PERMATRIX), "run", str(suite), "--quiet", "--no-snapshot"]

        # Untimed: both pass (the rules change no decision), caches warm.
        for suite in (plain, ruled):
            measure(argv(suite, None), w.cells, env)
        without, withs = [], []
        for _ in range(args.rounds):
            without.append(measure(argv(plain, None), w.cells, env))
            withs.append(measure(argv(ruled, None), w.cells, env))
        wall = paired(withs, without, lambda a, b: a.wall / b.wall)
        cpu = paired(withs, without, lambda a, b: a.cpu / b.cpu)
        print(f"{w.cells} cells, {args.rounds} rounds, concurrency {args.concurrency}:")
        for name, samples in (("without rules", without), ("two JSON-pointer rules", withs)):
            print(
                f"  {name:24} {median([s.rate for s in samples]):>9.0f} cells/s"
                f"  {median([s.cpu_per_1000 for s in samples]):6.1f} ms CPU per 1000 cells"
            )
        print(f"  with/without (median of paired rounds): wall {wall:.3f}x, CPU {cpu:.3f}x")
        print("  budget (issue 24): within 1.15x")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
