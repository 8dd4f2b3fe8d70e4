"""Parse + one edit + write of a 10 000-endpoint pjsip.conf, against stdlib configparser.

configparser reads an equivalent file (same lines, distinct section names, since it cannot
hold repeated ones) in the same run. Goal: trunkctl.conf at most 0.5x configparser's read.
Prints a table and writes bench/results/conf_bench.json.

    .venv/bin/python bench/conf_bench.py [--endpoints N] [--repeat R]
"""

from __future__ import annotations

import argparse
import configparser
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trunkctl.conf import ConfigDir, parse

GOAL = 0.5


def make_pjsip(n: int, *, distinct: bool) -> str:
    """auth + aor + endpoint per user, with comments; ``distinct`` suffixes section names."""
    out = ["; pjsip.conf generated for the trunkctl benchmark\n", "\n"]
    for i in range(n):
        u = f"user{i:05d}"
        a, r, e = (f"{u}-auth", f"{u}-aor", u) if distinct else (u, u, u)
        out.append(
            f"; --- {u} ---\n"
            f"[{a}]\ntype = auth\nauth_type = userpass\nusername = {u}\n"
            f"password = pw{i:05d}x ; change me\n\n"
            f"[{r}]\ntype = aor\nmax_contacts = 1\nremove_existing = yes\n"
            f"qualify_frequency = 60\n\n"
            f"[{e}]\ntype = endpoint\ncontext = from-internal\ndisallow = all\n"
            f"allow = ulaw\nallow = alaw\nauth = {u}\naors = {u}\n"
            f"direct_media = no ; behind NAT\n\n"
        )
    return "".join(out)


def best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoints", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    text = make_pjsip(args.endpoints, distinct=False)
    text_cp = make_pjsip(args.endpoints, distinct=True)
    lines = text.count("\n")
    work = Path(tempfile.mkdtemp(prefix="conf-bench-"))
    (work / "pjsip.conf").write_text(text)
    (work / "pjsip-cp.conf").write_text(text_cp)
    cfg = ConfigDir(work, keep=2)
    target = f"user{args.endpoints // 2:05d}"

    def configparser_read() -> None:
        cp = configparser.ConfigParser(
            strict=False,
            interpolation=None,
            inline_comment_prefixes=(";",),
            comment_prefixes=(";",),
        )
        cp.read(work / "pjsip-cp.conf")

    def parse_only() -> None:
        parse((work / "pjsip.conf").read_bytes())

    def parse_edit_write() -> None:
        doc = cfg.read("pjsip.conf")
        sec = doc.find(target, "endpoint")
        assert sec is not None
        sec.set("direct_media", "yes" if sec.get("direct_media") == "no" else "no")
        cfg.write("pjsip.conf", doc)

    def splitlines_strip() -> None:
        for ln in (work / "pjsip.conf").read_text().splitlines():
            ln.strip()

    rows = [
        ("configparser read (baseline)", *best(configparser_read, args.repeat)),
        ("trunkctl parse", *best(parse_only, args.repeat)),
        ("trunkctl parse + edit + safe write", *best(parse_edit_write, args.repeat)),
        ("bare splitlines + strip", *best(splitlines_strip, args.repeat)),
    ]
    base = rows[0][1]
    print(
        f"{args.endpoints} endpoints, {lines} lines, {len(text) / 1e6:.1f} MB; "
        f"best of {args.repeat}"
    )
    print(f"{'case':38} {'best ms':>9} {'median ms':>10} {'x configparser':>15}")
    for name, b, m in rows:
        print(f"{name:38} {b * 1e3:9.1f} {m * 1e3:10.1f} {b / base:15.2f}")
    ratio = rows[2][1] / base
    verdict = "OK" if ratio <= GOAL else "MISSED"
    print(f"goal: parse+edit+write <= {GOAL}x configparser read -> {ratio:.2f}x {verdict}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "conf_bench.json").write_text(
        json.dumps(
            {
                "endpoints": args.endpoints,
                "lines": lines,
                "python": platform.python_version(),
                "goal_ratio": GOAL,
                "ratio": ratio,
                "rows": [{"case": n, "best_s": b, "median_s": m} for n, b, m in rows],
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
