#!/usr/bin/env python3
"""permatrix side by side with Hurl and oha against one neutral loopback target (nginx).

Generates workloads of N endpoints x K principals, times each tool on each, interleaved
round by round, and reports medians of cells (requests) per second, CPU ms per 1000
cells and peak RSS. Every figure of one report comes from one run of this script: on a
machine where the tools and nginx share the CPU, compare ratios, not absolute rates.

See bench/README.md for what is measured and how to read it.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PERMATRIX = ROOT / "target" / "release" / "permatrix"
ROLES = ["admin", "user", "bad"]  # principal k has role ROLES[k % 3]
CLASSES = ["pub", "user", "admin", "gone"]  # endpoint i is in class CLASSES[i % 4]


def status(endpoint_class, role):
    """What the nginx target answers (bench/nginx.conf.in)."""
    if endpoint_class == "pub":
        return 200
    if endpoint_class == "gone":
        return 404
    if role == "bad":
        return 401
    if endpoint_class == "admin" and role == "user":
        return 403
    return 200


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    sys.exit(f"{what} did not start listening on 127.0.0.1:{port}")


class Workload:
    """N endpoints x K principals, written for each tool."""

    def __init__(self, n, k, port, concurrency, folder):
        self.n, self.k, self.port, self.folder = n, k, port, folder
        self.cells = n * k
        self.name = f"{n}x{k}"
        self.base = f"http://127.0.0.1:{port}"
        self.suites = {}
        for mode in ("bearer", "connect-jwt"):
            suite_dir = folder / mode
            suite_dir.mkdir(parents=True)
            (suite_dir / "bench.yaml").write_text(self.suite(mode, concurrency))
            self.suites[mode] = suite_dir
        self.hurl_layouts = {}

    def path(self, i):
        return f"/{CLASSES[i % 4]}/{i}"

    def suite(self, mode, concurrency):
        lines = [
            f"suite: bench-{mode}-{self.name}",
            f'target: {{ base_url: "{self.base}", timeout: 30s, concurrency: {concurrency} }}',
            "principals:",
        ]
        for p in range(self.k):
            if mode == "bearer":
                auth = f'{{ bearer: {{ token: "tok-{p}-{ROLES[p % 3]}" }} }}'
            else:
                auth = f'{{ connect_jwt: {{ issuer: "bench-app-{p}", secret: "bench-shared-secret-{p}" }} }}'
            lines.append(f"  p{p}: {{ auth: {auth} }}")
        lines.append("endpoints:")
        for i in range(self.n):
            if mode == "bearer":
                expect = ", ".join(
                    f"p{p}: {status(CLASSES[i % 4], ROLES[p % 3])}" for p in range(self.k)
                )
            else:
                expect = f'"*": {status(CLASSES[i % 4], "admin")}'
            lines.append(f"  - {{ request: GET {self.path(i)}, expect: {{ {expect} }} }}")
        return "\n".join(lines) + "\n"

    def hurl_entry(self, i, p):
        role = ROLES[p % 3]
        return (
            f"GET {self.base}{self.path(i)}\n"
            f"Authorization: Bearer tok-{p}-{role}\n"
            f"HTTP {status(CLASSES[i % 4], role)}\n"
        )

    def write_hurl(self, layout):
        """The same requests and assertions as .hurl files, grouped by `layout`."""
        folder = self.folder / f"hurl-{layout}"
        folder.mkdir()
        groups = {}
        for i in range(self.n):
            for p in range(self.k):
                key = {
                    "cell": (i, p),
                    "endpoint": i,
                    "principal": p,
                    "chunks": (i * self.k + p) % 64,
                }[layout]
                groups.setdefault(key, []).append(self.hurl_entry(i, p))
        files = []
        for number, entries in enumerate(groups.values()):
            file = folder / f"{number:05}.hurl"
            file.write_text("\n".join(entries))
            files.append(str(file))
        self.hurl_layouts[layout] = files


class Sample:
    def __init__(self, cells, wall, usage, rss_kb):
        self.cells, self.wall = cells, wall
        self.user, self.sys = usage.ru_utime, usage.ru_stime
        self.cpu = self.user + self.sys
        self.rss_kb = rss_kb

    @property
    def rate(self):
        return self.cells / self.wall

    @property
    def cpu_per_1000(self):
        return self.cpu * 1000 / self.cells * 1000

    @property
    def user_per_1000(self):
        return self.user * 1000 / self.cells * 1000


def spawn(argv, stdout, stderr, env=None):
    """Starts `argv` under GNU time, whose report gives the tool's own peak RSS:
    `wait4`'s would include the memory this Python process had when it forked."""
    report = tempfile.NamedTemporaryFile(prefix="rss-", delete=False)
    report.close()
    wrapped = ["/usr/bin/time", "-f", "%M", "-o", report.name, *argv]
    start = time.perf_counter()
    process = subprocess.Popen(wrapped, stdout=stdout, stderr=stderr, env=env)
    _, code, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    with open(report.name) as f:
        lines = [line for line in f.read().split() if line.isdigit()]
    os.unlink(report.name)
    return os.waitstatus_to_exitcode(code), wall, usage, int(lines[-1]) if lines else 0


def measure(argv, cells, env=None, check=True):
    """Runs `argv` once; wall time, user+system CPU and peak RSS of the process."""
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as err:
        code, wall, usage, rss_kb = spawn(argv, devnull, err, env)
        if check and code != 0:
            err.seek(0)
            sys.exit(
                f"{' '.join(argv[:4])} … exited with {code}:\n"
                + err.read().decode(errors="replace")[-3000:]
            )
    return Sample(cells, wall, usage, rss_kb)


def run_oha(oha, url, requests, concurrency, headers=()):
    """oha's request rate, from its JSON summary, after checking every answer was 200."""
    argv = [oha, "-n", str(requests), "-c", str(concurrency), "--no-tui", "--output-format", "json"]
    for header in headers:
        argv += ["-H", header]
    argv.append(url)
    with tempfile.TemporaryFile() as out_file:
        code, wall, usage, rss_kb = spawn(argv, out_file, subprocess.DEVNULL)
        out_file.seek(0)
        out = out_file.read()
    if code != 0:
        sys.exit(f"oha failed on {url}")
    summary = json.loads(out)
    answered = summary.get("statusCodeDistribution", {})
    if answered != {"200": requests}:
        sys.exit(f"oha on {url}: expected {requests} answers of 200, got {answered}")
    sample = Sample(requests, wall, usage, rss_kb)
    # oha's own clock excludes its start-up; the process clock is what the others get.
    return sample


def median(values):
    return statistics.median(values)


def summarize(samples):
    return {
        "runs": len(samples),
        "cells_per_s": median([s.rate for s in samples]),
        "cpu_ms_per_1000": median([s.cpu_per_1000 for s in samples]),
        "user_cpu_ms_per_1000": median([s.user_per_1000 for s in samples]),
        "peak_rss_mb": median([s.rss_kb / 1024 for s in samples]),
        "wall_s": median([s.wall for s in samples]),
    }


def paired(a_samples, b_samples, ratio):
    """The median over rounds of `ratio(a, b)`, a and b from the same round.

    Each round runs every tool once, back to back, so a slow spell of the machine
    falls on both runs of a pair: the median of per-round ratios moves less than
    the ratio of the two medians does."""
    return median([ratio(a, b) for a, b in zip(a_samples, b_samples)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="500x3,2000x3,2000x10", help="NxK,…")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each tool (median)")
    parser.add_argument(
        "--concurrency",
        type=int,
        help="permatrix's and oha's (default: the largest --hurl-jobs, Hurl's own parallelism)",
    )
    parser.add_argument("--hurl-jobs", default="2,4,8,16", help="Hurl --jobs values to try")
    parser.add_argument(
        "--hurl-layouts", default="cell,endpoint,principal,chunks", help="Hurl file layouts to try"
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=11,
        help="Bearer/Connect JWT runs back to back on the largest workload, for the cost of signing",
    )
    parser.add_argument("--mock-requests", type=int, default=50000)
    parser.add_argument("--out", default=str(ROOT / "target" / "bench" / "compare.json"))
    args = parser.parse_args()
    if args.concurrency is None:
        args.concurrency = max(int(j) for j in args.hurl_jobs.split(","))

    hurl = shutil.which("hurl")
    oha = shutil.which("oha")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    for tool, path in (("hurl", hurl), ("oha", oha), ("nginx", nginx)):
        if not path or not os.path.exists(path):
            sys.exit(f"{tool} is missing: bench/compare.sh installs it")
    if not PERMATRIX.exists():
        sys.exit("target/release/permatrix is missing: run `cargo build --release --locked`")

    work = Path(tempfile.mkdtemp(prefix="permatrix-bench-"))
    port = free_port()
    conf = (ROOT / "bench" / "nginx.conf.in").read_text()
    conf = conf.replace("@DIR@", str(work)).replace("@PORT@", str(port))
    (work / "nginx.conf").write_text(conf)
    server = subprocess.Popen(
        [nginx, "-p", str(work), "-c", str(work / "nginx.conf")], stderr=subprocess.DEVNULL
    )
    mock = None
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS")}
    try:
        wait_for_port(port, "nginx")
        jobs = [int(j) for j in args.hurl_jobs.split(",")]
        layouts = args.hurl_layouts.split(",")
        workloads = []
        for spec in args.workloads.split(","):
            n, k = (int(x) for x in spec.split("x"))
            w = Workload(n, k, port, args.concurrency, work / spec)
            for layout in layouts:
                w.write_hurl(layout)
            workloads.append(w)

        def permatrix(w, mode):
            snaps = w.folder / f"snapshots-{mode}"
            return [str(PERMATRIX), "run", str(w.suites[mode]), "--quiet", "--snapshots", str(snaps)]

        def hurl_argv(w, layout, j):
            return [hurl, "--test", "--jobs", str(j), *w.hurl_layouts[layout]]

        # Every tool once, untimed: statuses asserted, snapshots recorded, caches warm.
        for w in workloads:
            for mode in ("bearer", "connect-jwt"):
                measure(permatrix(w, mode) + ["--accept"], w.cells, env)
                measure(permatrix(w, mode), w.cells, env)

        # Hurl's best layout and --jobs for each workload, one run of each pair.
        print("Hurl layouts (one run each, cells/s):", flush=True)
        best_hurl = {}
        calibration = {}
        for w in workloads:
            for layout in layouts:
                for j in jobs:
                    rate = measure(hurl_argv(w, layout, j), w.cells, env).rate
                    calibration[f"{w.name} {layout} --jobs {j}"] = rate
                    print(f"  {w.name:>8} {layout:>9} --jobs {j:<3} {rate:9.0f}", flush=True)
                    if w.name not in best_hurl or rate > best_hurl[w.name][2]:
                        best_hurl[w.name] = (layout, j, rate)

        # load + validate (the `check` command) of each workload.
        tools = ["permatrix bearer", "permatrix connect-jwt", "hurl (best)", "oha (raw)"]
        samples = {(w.name, t): [] for w in workloads for t in tools + ["permatrix check"]}
        url = f"http://127.0.0.1:{port}/user/1"
        for r in range(args.rounds):
            for w in workloads:
                order = tools[r % len(tools):] + tools[: r % len(tools)]
                for tool in order:
                    if tool == "permatrix bearer":
                        sample = measure(permatrix(w, "bearer"), w.cells, env)
                    elif tool == "permatrix connect-jwt":
                        sample = measure(permatrix(w, "connect-jwt"), w.cells, env)
                    elif tool == "hurl (best)":
                        layout, j, _ = best_hurl[w.name]
                        sample = measure(hurl_argv(w, layout, j), w.cells, env)
                    else:
                        sample = run_oha(
                            oha, url, w.cells, args.concurrency, ["Authorization: Bearer tok-1-user"]
                        )
                    samples[(w.name, tool)].append(sample)
                check = measure([str(PERMATRIX), "check", str(w.suites["bearer"])], w.cells, env)
                samples[(w.name, "permatrix check")].append(check)
            print(f"round {r + 1}/{args.rounds} done", flush=True)

        # Signing's cost, from pairs of runs back to back on the largest workload:
        # a difference of a few per cent needs more than the rounds' five samples.
        largest = max(workloads, key=lambda w: w.cells)
        signing = []
        for p in range(args.pairs):
            modes = ("bearer", "connect-jwt") if p % 2 == 0 else ("connect-jwt", "bearer")
            pair = {mode: measure(permatrix(largest, mode), largest.cells, env) for mode in modes}
            signing.append((pair["bearer"], pair["connect-jwt"]))
        print(f"{args.pairs} Bearer/Connect JWT pairs on {largest.name} done", flush=True)

        # The embedded mock under oha: Basic-authenticated reads of the Jira mock.
        mock_port = free_port()
        mock = subprocess.Popen(
            [str(PERMATRIX), "mock", str(ROOT / "suites/mocks/jira-cloud.yaml"), "--port", str(mock_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(mock_port, "permatrix mock")
        mock_samples = []
        mock_url = f"http://127.0.0.1:{mock_port}/rest/api/2/myself"
        basic = "Authorization: Basic " + mock_basic_credentials()
        run_oha(oha, mock_url, 2000, args.concurrency, [basic])  # warm-up
        for _ in range(args.rounds):
            mock_samples.append(run_oha(oha, mock_url, args.mock_requests, args.concurrency, [basic]))

        results = report(workloads, tools, samples, best_hurl, mock_samples, args)
        results["signing"] = report_signing(largest, signing)
        results["targets"] = targets(workloads, results)
        results["hurl_calibration"] = calibration
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
        print(f"\nraw figures: {out}")
    finally:
        server.send_signal(signal.SIGQUIT)
        server.wait()
        if mock:
            mock.send_signal(signal.SIGINT)
            mock.wait()
        shutil.rmtree(work, ignore_errors=True)


def mock_basic_credentials():
    """The Jira mock's admin, from its own definition (its `vars`)."""
    import base64

    text = (ROOT / "suites/mocks/jira-cloud.yaml").read_text()
    values = {}
    for line in text.splitlines():
        stripped = line.strip()
        for name in ("JIRA_ADMIN_EMAIL", "JIRA_ADMIN_API_TOKEN"):
            if stripped.startswith(name + ":"):
                values[name] = stripped.split(":", 1)[1].strip().strip('"')
    pair = f"{values['JIRA_ADMIN_EMAIL']}:{values['JIRA_ADMIN_API_TOKEN']}"
    return base64.b64encode(pair.encode()).decode()


def report(workloads, tools, samples, best_hurl, mock_samples, args):
    results = {"concurrency": args.concurrency, "rounds": args.rounds, "workloads": {}}
    print(f"\nMedians of {args.rounds} interleaved runs; permatrix and oha at concurrency {args.concurrency}.")
    header = f"{'workload':>9} {'tool':<26} {'cells/s':>9} {'CPU ms/1000':>12} {'(user)':>7} {'peak RSS MB':>12}"
    print(header)
    print("-" * len(header))
    for w in workloads:
        figures = {}
        for tool in tools:
            s = summarize(samples[(w.name, tool)])
            figures[tool] = s
            label = tool
            if tool == "hurl (best)":
                layout, j, _ = best_hurl[w.name]
                label = f"hurl ({layout}, --jobs {j})"
            print(
                f"{w.name:>9} {label:<26} {s['cells_per_s']:9.0f} {s['cpu_ms_per_1000']:12.1f} "
                f"{s['user_cpu_ms_per_1000']:7.1f} {s['peak_rss_mb']:12.1f}"
            )
        check = summarize(samples[(w.name, "permatrix check")])
        figures["permatrix check"] = check
        runs = {tool: samples[(w.name, tool)] for tool in tools}
        bearer, jwt = runs["permatrix bearer"], runs["permatrix connect-jwt"]
        ratios = {
            "permatrix / hurl": paired(bearer, runs["hurl (best)"], lambda a, b: a.rate / b.rate),
            "permatrix / oha": paired(bearer, runs["oha (raw)"], lambda a, b: a.rate / b.rate),
            "permatrix CPU / oha CPU": paired(
                bearer, runs["oha (raw)"], lambda a, b: a.cpu_per_1000 / b.cpu_per_1000
            ),
            "connect-jwt cost over bearer (time)": paired(jwt, bearer, lambda a, b: a.wall / b.wall - 1),
            "connect-jwt cost over bearer (CPU)": paired(jwt, bearer, lambda a, b: a.cpu / b.cpu - 1),
            # The signing itself is user CPU; the kernel's share grows with the
            # larger requests and nginx's slower answers, not with signing.
            "connect-jwt cost over bearer (user CPU)": paired(
                jwt, bearer, lambda a, b: (a.user - b.user) / b.cpu
            ),
        }
        print(
            f"{'':>9} permatrix/hurl {ratios['permatrix / hurl']:.2f}x, permatrix/oha {ratios['permatrix / oha']:.2f}x "
            f"(CPU {ratios['permatrix CPU / oha CPU']:.2f}x oha's); "
            f"Connect JWT over Bearer: {ratios['connect-jwt cost over bearer (time)'] * 100:+.1f} % time, "
            f"{ratios['connect-jwt cost over bearer (CPU)'] * 100:+.1f} % CPU "
            f"(signing, user CPU: {ratios['connect-jwt cost over bearer (user CPU)'] * 100:+.1f} %); "
            f"check (load + validate) {check['wall_s'] * 1000:.0f} ms"
        )
        results["workloads"][w.name] = {
            "cells": w.cells,
            "hurl_best": {"layout": best_hurl[w.name][0], "jobs": best_hurl[w.name][1]},
            "figures": figures,
            "ratios": ratios,
        }
    mock = summarize(mock_samples)
    print(
        f"\nembedded mock (permatrix mock, Jira definition, Basic, oha -c {args.concurrency}): "
        f"{mock['cells_per_s']:.0f} requests/s"
    )
    results["mock"] = mock
    return results


def report_signing(workload, pairs):
    """Connect JWT over Bearer from back-to-back pairs: the user CPU signing adds
    (the signing is user-space work), total CPU and wall time, each as a share
    of Bearer's, medians over the pairs."""
    bearer = [b for b, _ in pairs]
    jwt = [j for _, j in pairs]
    figures = {
        "pairs": len(pairs),
        "user CPU added": paired(jwt, bearer, lambda a, b: (a.user - b.user) / b.cpu),
        "total CPU": paired(jwt, bearer, lambda a, b: a.cpu / b.cpu - 1),
        "time": paired(jwt, bearer, lambda a, b: a.wall / b.wall - 1),
        "added user CPU per cell (us)": paired(
            jwt, bearer, lambda a, b: (a.user - b.user) / workload.cells * 1e6
        ),
    }
    print(
        f"\nConnect JWT over Bearer on {workload.name}, medians of {len(pairs)} back-to-back pairs: "
        f"signing adds {figures['user CPU added'] * 100:+.1f} % of Bearer's CPU in user time "
        f"({figures['added user CPU per cell (us)']:.2f} us a cell); total CPU "
        f"{figures['total CPU'] * 100:+.1f} %, time {figures['time'] * 100:+.1f} %"
    )
    return figures


def targets(workloads, results):
    """The issue's targets, each against what this run measured (ratios: medians of
    per-round ratios; the rest: medians), printed as a table and returned."""
    by_name = results["workloads"]
    largest = max(workloads, key=lambda w: w.cells).name
    ratio = lambda name: [by_name[w.name]["ratios"][name] for w in workloads]
    big = by_name[largest]["figures"]
    rows = [
        ("permatrix >= 3x Hurl's cells/s (Hurl's best layout)", min(ratio("permatrix / hurl")), ">=", 3.0, "x"),
        ("permatrix >= 0.6x oha's request rate", min(ratio("permatrix / oha")), ">=", 0.6, "x"),
        (
            f"Connect JWT signing <= 15 % over Bearer ({largest}, user CPU)",
            results["signing"]["user CPU added"] * 100,
            "<=",
            15.0,
            " %",
        ),
        (
            f"CPU <= 25 ms per 1000 cells ({by_name[largest]['cells']} cells)",
            big["permatrix bearer"]["cpu_ms_per_1000"],
            "<=",
            25.0,
            " ms",
        ),
        (
            f"peak RSS <= 50 MB ({by_name[largest]['cells']} cells)",
            max(big["permatrix bearer"]["peak_rss_mb"], big["permatrix connect-jwt"]["peak_rss_mb"]),
            "<=",
            50.0,
            " MB",
        ),
        (
            f"load + validate < 200 ms ({by_name[largest]['cells']} cells)",
            big["permatrix check"]["wall_s"] * 1000,
            "<",
            200.0,
            " ms",
        ),
        ("embedded mock >= 20,000 requests/s", results["mock"]["cells_per_s"], ">=", 20000.0, "/s"),
    ]
    print("\nTargets (ratios: the worst workload of this run; the rest: the largest workload):")
    table = []
    for name, value, op, bound, unit in rows:
        met = {">=": value >= bound, "<=": value <= bound, "<": value < bound}[op]
        print(f"  {'met    ' if met else 'NOT MET'}  {name:<58} {value:10.2f}{unit}")
        table.append({"target": name, "measured": value, "met": met})
    print(
        f"  (CPU per 1000 cells by workload, permatrix / oha, the raw limit: "
        + ", ".join(
            f"{w.name} {by_name[w.name]['figures']['permatrix bearer']['cpu_ms_per_1000']:.1f}"
            f" / {by_name[w.name]['figures']['oha (raw)']['cpu_ms_per_1000']:.1f}"
            for w in workloads
        )
        + f"; Connect JWT's total CPU over Bearer's: {results['signing']['total CPU'] * 100:+.1f} %)"
    )
    return table


if __name__ == "__main__":
    main()
