#!/usr/bin/env python3
"""Turns bench/curve.sh's raw readings (one JSON line per server and size) into the curve's
figures: a table per figure with Parley's ratio to the best peer measured in the same run, the
issue's two aims, and, as the very last line, one JSON object with everything."""

import argparse
import json
import statistics
import sys

# (key, label, unit, better): better is "low", "high" or None (shown, no ratio).
FIGURES = [
    ("user_kib_per_conn", "server user-space memory (VmRSS) per connection", "KiB", "low"),
    ("user_kib_per_conn_marginal", "server user-space memory per added connection (from the previous size)", "KiB", "low"),
    ("server_skmem_kib_per_conn", "kernel buffer memory of the server's sockets per connection (ss -tm)", "KiB", "low"),
    ("kernel_buffer_kib_per_conn", "kernel TCP memory (sockstat) per connection, host, both ends", "KiB", "low"),
    ("socket_objects_kib_per_conn", "kernel socket objects (slab) per connection, both ends", "KiB", "low"),
    ("connect_rate", "connections subscribed per second", "/s", "high"),
    ("handshake_p99_ms", "connect→subscribed p99", "ms", "low"),
    ("fanout_p50_ms", "fan-out p50", "ms", "low"),
    ("fanout_p99_ms", "fan-out p99", "ms", "low"),
    ("fanout_server_cpu_pct", "server CPU during fan-out (of one core)", "%", "low"),
    ("fanout_other_cpu_pct", "other processes' CPU during fan-out (max of runs used)", "%", None),
]

# The aims for Parley.
AIM_P99_FLATNESS = 1.2
AIM_USER_BYTES = 2500


def per_conn(before, after, conns, scale):
    if before is None or after is None or not conns:
        return None
    return (after - before) * scale / conns


def figures(point, other_cpu_limit):
    ok = point["connections_ok"]
    runs = point["fanout_runs"]
    quiet = [r for r in runs if (r.get("other_cpu_pct") or 0) <= other_cpu_limit]
    used = quiet or runs
    med = lambda key: statistics.median(r[key] for r in used) if used else None
    out = {
        "server": point["server"],
        "connections": point["connections"],
        "connections_ok": ok,
        "connections_failed": point["connections_failed"],
        "server_survived": point["server_survived"],
        "dropped_while_idle": point["dropped_while_idle"],
        "listen_overflows": point["listen_overflows"],
        "user_kib_per_conn": per_conn(point["rss_before_kb"], point["rss_after_kb"], ok, 1.0),
        "kernel_buffer_kib_per_conn": per_conn(
            point["tcp_mem_pages_before"], point["tcp_mem_pages_after"], ok, point["page_bytes"] / 1024
        ),
        "server_skmem_kib_per_conn": per_conn(0, point.get("server_skmem_bytes"), ok, 1 / 1024),
        "socket_objects_kib_per_conn": per_conn(
            point["socket_slab_bytes_before"], point["socket_slab_bytes_after"], ok, 1 / 1024
        ),
        "connect_rate": ok / point["setup_secs"] if point["setup_secs"] else None,
        "handshake_p99_ms": point["handshake_p99_ms"],
        "fanout_p50_ms": med("latency_p50_ms"),
        "fanout_p99_ms": med("latency_p99_ms"),
        "fanout_server_cpu_pct": med("server_cpu_pct"),
        "fanout_other_cpu_pct": max((r.get("other_cpu_pct") or 0) for r in used) if used else None,
        "fanout_runs": len(runs),
        "fanout_runs_used": len(used),
        "fanout_disturbed": bool(runs) and not quiet,
        "fanout_lost": sum(r.get("lost", 0) for r in runs),
        "rss_before_kb": point["rss_before_kb"],
        "rss_after_kb": point["rss_after_kb"],
        "tcp_mem_pages_before": point["tcp_mem_pages_before"],
        "tcp_mem_pages_after": point["tcp_mem_pages_after"],
        "conntrack_before": point["conntrack_before"],
        "conntrack_after": point["conntrack_after"],
        "runs": [
            {k: r.get(k) for k in ("latency_p50_ms", "latency_p99_ms", "latency_max_ms", "lost",
                                   "server_cpu_pct", "loadgen_cpu_pct", "other_cpu_pct")}
            for r in runs
        ],
        "idle_on": point.get("idle_on", "server"),
    }
    if out["idle_on"] == "neighbour":
        # The idle connections were on another server: the measured one's memory is not theirs.
        for key in ("user_kib_per_conn", "server_skmem_kib_per_conn"):
            out[key] = None
    return out


# Per-round figures whose median stands for the size when it was measured in several rounds.
ROUND_MEDIANS = ["user_kib_per_conn", "kernel_buffer_kib_per_conn", "server_skmem_kib_per_conn",
                 "socket_objects_kib_per_conn", "connect_rate", "handshake_p99_ms", "rss_before_kb",
                 "rss_after_kb", "tcp_mem_pages_before", "tcp_mem_pages_after"]


def pooled(rounds, other_cpu_limit):
    """One point for a server and size measured in several rounds (ROUNDS > 1): the fan-out
    figures over every round's runs together, memory and connect figures the rounds' median,
    failures and losses summed."""
    each = [figures(r, other_cpu_limit) for r in rounds]
    out = figures({**rounds[0], "fanout_runs": [run for r in rounds for run in r["fanout_runs"]]},
                  other_cpu_limit)
    for key in ROUND_MEDIANS:
        values = [p[key] for p in each if p[key] is not None]
        out[key] = statistics.median(values) if values else None
    out["connections_ok"] = min(p["connections_ok"] for p in each)
    for key in ("connections_failed", "dropped_while_idle"):
        out[key] = sum(p[key] for p in each)
    out["listen_overflows"] = max(p["listen_overflows"] for p in each)
    out["server_survived"] = all(p["server_survived"] for p in each)
    out["rounds"] = len(rounds)
    return out


def fmt(v):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.2f}"
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--other-cpu-limit", type=float, default=25)
    ap.add_argument("--fd-limit", type=int)
    ap.add_argument("--port-range")
    ap.add_argument("--per-loadgen", type=int)
    ap.add_argument("--idle-priority-pids", default="")
    args = ap.parse_args()

    rounds = {}
    with open(args.results) as f:
        for line in f:
            if line.strip():
                raw = json.loads(line)
                rounds.setdefault((raw["server"], raw["connections"]), []).append(raw)
    points = [pooled(r, args.other_cpu_limit) for r in rounds.values()]
    servers = list(dict.fromkeys(p["server"] for p in points))
    # The slope: memory each connection added since the previous size.
    for s in servers:
        prev = None
        for p in sorted((p for p in points if p["server"] == s), key=lambda p: p["connections"]):
            p["user_kib_per_conn_marginal"] = None
            if prev and p["idle_on"] == "server" and None not in (p["rss_after_kb"], prev["rss_after_kb"]) and \
                    p["connections_ok"] > prev["connections_ok"]:
                p["user_kib_per_conn_marginal"] = (p["rss_after_kb"] - prev["rss_after_kb"]) / (
                    p["connections_ok"] - prev["connections_ok"])
            prev = p
    sizes = sorted({p["connections"] for p in points})
    at = {(p["server"], p["connections"]): p for p in points}
    peers = [s for s in servers if s != "parley"]

    ratios = {}
    for key, label, unit, better in FIGURES:
        print(f"== {label} ({unit})")
        header = f"  {'connections':>11}" + "".join(f"{s:>12}" for s in servers)
        if better and peers and "parley" in servers:
            header += "   parley ÷ best peer"
        print(header)
        for n in sizes:
            row = f"  {n:>11}" + "".join(f"{fmt(at.get((s, n), {}).get(key)):>12}" for s in servers)
            mine = at.get(("parley", n), {}).get(key)
            values = [(at[(s, n)][key], s) for s in peers if at.get((s, n), {}).get(key) is not None]
            if better and values and mine is not None:
                best, who = (min if better == "low" else max)(values)
                # Figures at or near zero (idle sockets' buffers) have no meaningful ratio.
                if best and best > 0.05:
                    ratio = mine / best
                    ratios.setdefault(str(n), {})[key] = {"ratio": round(ratio, 3), "best_peer": who}
                    row += f"   {ratio:.2f}× ({who})"
            print(row)
        print()

    notes = []
    for p in points:
        if p["fanout_disturbed"]:
            notes.append(f"{p['server']} at {p['connections']}: every fan-out run had other processes above "
                         f"{args.other_cpu_limit:g} % of a core; its latency is not the server's own")
        if p["connections_failed"] or p["dropped_while_idle"] or p["fanout_lost"] or not p["server_survived"]:
            notes.append(f"{p['server']} at {p['connections']}: {p['connections_failed']} connections failed, "
                         f"{p['dropped_while_idle']} dropped while idle, {p['fanout_lost']} events lost, "
                         f"server {'survived' if p['server_survived'] else 'died'}")
    for note in notes:
        print(f"note: {note}")

    aims = {}
    mine = [at[("parley", n)] for n in sizes if ("parley", n) in at]
    p99s = [(p["connections"], p["fanout_p99_ms"]) for p in mine if p["fanout_p99_ms"]]
    if len(p99s) >= 2:
        flat = max(v for _, v in p99s) / p99s[0][1]
        aims["fanout_p99_max_over_smallest"] = round(flat, 3)
        aims["fanout_p99_flat"] = flat <= AIM_P99_FLATNESS
        used = ", ".join(f"{p['fanout_runs_used']} at {p['connections']}" for p in mine if p["fanout_p99_ms"])
        print(f"aim: Parley's fan-out p99, highest over {p99s[0][0]} connections' = {flat:.2f} "
              f"(aim ≤ {AIM_P99_FLATNESS}): {'met' if flat <= AIM_P99_FLATNESS else 'missed'} "
              f"(medians of the runs: {used})")
    if mine and mine[-1]["user_kib_per_conn"] is not None:
        last = mine[-1]
        bytes_per = last["user_kib_per_conn"] * 1024
        aims["user_bytes_per_conn_at_largest"] = round(bytes_per)
        aims["user_memory_within_aim"] = bytes_per <= AIM_USER_BYTES
        print(f"aim: Parley's user-space memory at {last['connections']} connections = {bytes_per:.0f} B "
              f"per connection (aim ≤ {AIM_USER_BYTES} B): {'met' if bytes_per <= AIM_USER_BYTES else 'missed'}")

    def rounded(p):
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in p.items()}

    print(json.dumps({
        "bench": "curve",
        "servers": servers,
        "fd_limit": args.fd_limit,
        "port_range": args.port_range,
        "per_loadgen": args.per_loadgen,
        "idle_priority_pids": [int(pid) for pid in args.idle_priority_pids.split()],
        "points": [rounded(p) for p in points],
        "parley_vs_best_peer": ratios,
        "aims": aims,
    }, separators=(",", ":")))


if __name__ == "__main__":
    sys.exit(main())
