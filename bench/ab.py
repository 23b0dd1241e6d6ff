#!/usr/bin/env python3
"""Several permatrix binaries and oha on one nginx workload, interleaved round by round.

The A/B of a change: build the binary before it (a `git worktree` at the older
commit, `cargo build --release --locked`), then

    python3 bench/ab.py --binary before=/tmp/before/target/release/permatrix \\
                        --binary after=target/release/permatrix --rounds 11

Each round runs every binary (Bearer and Connect JWT) and oha once, in a rotating
order, against the same nginx (bench/nginx.conf.in); the figures are medians of
per-round ratios to oha, so a slow minute of the machine falls on both sides of each
ratio. Needs nginx and oha (bench/compare.sh installs them); Hurl is not needed.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import (  # noqa: E402  (the bench's own helpers)
    ROOT,
    Workload,
    free_port,
    measure,
    median,
    paired,
    run_oha,
    wait_for_port,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--binary", action="append", required=True, help="NAME=PATH of a permatrix binary"
    )
    parser.add_argument("--workload", default="2000x10", help="NxK")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rotating-cookies",
        action="store_true",
        help="nginx sets a fresh cookie on every response (a load balancer's stickiness, CSRF)",
    )
    args = parser.parse_args()
    binaries = dict(b.split("=", 1) for b in args.binary)
    oha = shutil.which("oha")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not oha or not os.path.exists(nginx):
        sys.exit("oha and nginx are needed: bench/compare.sh installs them")

    work = Path(tempfile.mkdtemp(prefix="permatrix-ab-"))
    port = free_port()
    conf = (ROOT / "bench" / "nginx.conf.in").read_text()
    if args.rotating_cookies:
        conf = conf.replace(
            "    server {",
            '    add_header Set-Cookie "lb=$request_id; Path=/; HttpOnly" always;\n    server {',
            1,
        )
    (work / "nginx.conf").write_text(conf.replace("@DIR@", str(work)).replace("@PORT@", str(port)))
    server = subprocess.Popen(
        [nginx, "-p", str(work), "-c", str(work / "nginx.conf")], stderr=subprocess.DEVNULL
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS")}
    try:
        wait_for_port(port, "nginx")
        n, k = (int(x) for x in args.workload.split("x"))
        w = Workload(n, k, port, args.concurrency, work / args.workload)

        def argv(binary, mode):
            return [binary, "run", str(w.suites[mode]), "--quiet", "--no-snapshot"]

        runs = [(name, mode) for name in binaries for mode in ("bearer", "connect-jwt")]
        runs.append(("oha", None))
        for name, mode in runs[:-1]:
            measure(argv(binaries[name], mode), w.cells, env)  # warm-up, statuses asserted
        samples = {run: [] for run in runs}
        url = f"http://127.0.0.1:{port}/user/1"
        for r in range(args.rounds):
            order = runs[r % len(runs):] + runs[: r % len(runs)]
            for name, mode in order:
                if name == "oha":
                    sample = run_oha(
                        oha, url, w.cells, args.concurrency, ["Authorization: Bearer tok-1-user"]
                    )
                else:
                    sample = measure(argv(binaries[name], mode), w.cells, env)
                samples[(name, mode)].append(sample)
            print(f"round {r + 1}/{args.rounds} done", flush=True)

        oha_runs = samples[("oha", None)]
        cookies = ", a fresh cookie on every response" if args.rotating_cookies else ""
        print(
            f"\n{args.workload}, concurrency {args.concurrency}{cookies}, medians of {args.rounds} per-round ratios"
        )
        print(f"oha: {median([s.rate for s in oha_runs]):.0f} req/s, "
              f"{median([s.cpu_per_1000 for s in oha_runs]):.1f} CPU ms/1000")
        for name in binaries:
            bearer, jwt = samples[(name, "bearer")], samples[(name, "connect-jwt")]
            rate = paired(bearer, oha_runs, lambda a, b: a.rate / b.rate)
            cpu = paired(bearer, oha_runs, lambda a, b: a.cpu_per_1000 / b.cpu_per_1000)
            signing = paired(jwt, bearer, lambda a, b: a.cpu / b.cpu - 1)
            print(
                f"{name:>10}: rate {rate:.2f}x oha's, CPU {cpu:.2f}x oha's per cell "
                f"({median([s.cpu_per_1000 for s in bearer]):.1f} ms/1000 cells); "
                f"Connect JWT over Bearer {signing * 100:+.1f} % CPU"
            )
    finally:
        server.send_signal(signal.SIGQUIT)
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
