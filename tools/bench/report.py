#!/usr/bin/env python3
"""Turns a bench run ($OUT/results.jsonl, meta.json, dnsperf.jsonl, dnssec.jsonl, signing.jsonl)
into the table of Meridian's ratios to each peer and to the reflector, and the targets of issue 6;
with a `baseline` server in the run (BENCH_BASELINE: an older meridiand), Meridian beside it
repeat by repeat; with signed workloads, the DNSSEC figures: signed against unsigned in the same
run, against Knot and PowerDNS, signing on a cold cache and the signature cache's memory.

    python3 tools/bench/report.py build/bench/<time>
"""
import json
import os
import statistics
import sys

ORDER = ["meridian", "baseline", "reflector", "gdnsd", "knot", "nsd", "pdns"]
UNSIGNED = [("static", "static A"), ("ecs", "steered A, ECS"), ("noecs", "steered A, no ECS"),
            ("nxdomain", "NXDOMAIN"), ("tcp", "TCP pipelined")]
SIGNED = [("signed-static", "signed static A"), ("signed-ecs", "signed steered, ECS"),
          ("signed-noecs", "signed steered"), ("signed-nxdomain", "signed denial")]
WORKLOADS = UNSIGNED + SIGNED


def load(out):
    runs = []
    with open(os.path.join(out, "results.jsonl")) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if "error" in r:
                continue
            r["tags"] = dict(item.split("=", 1) for item in r["label"].split())
            runs.append(r)
    meta = {}
    if os.path.exists(os.path.join(out, "meta.json")):
        with open(os.path.join(out, "meta.json")) as f:
            meta = json.load(f)
    dnsperf = read_jsonl(os.path.join(out, "dnsperf.jsonl"))
    return runs, meta, dnsperf


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs, server_cpu):
    """(server, workload) -> figures: medians of the saturation runs, the fixed-rate runs."""
    table = {}
    for r in runs:
        t = r["tags"]
        key = (t["server"], t["workload"])
        entry = table.setdefault(key, {"sat": [], "fixed": {}, "check": []})
        if t["mode"] == "sat":
            entry["sat"].append(r)
        elif t["mode"] == "fixed":
            entry["fixed"][int(t["rate"])] = r
        else:
            entry["check"].append(r)
    out = {}
    for key, e in table.items():
        sat = e["sat"]
        cpu = [r["server_cpu_us_per_answer"] for r in sat if r["server_cpu_us_per_answer"] >= 0]
        out[key] = {
            "sat": sat,
            "qps": median([r["answered_qps"] for r in sat]),
            "offered": median([r["sent_qps"] for r in sat]),
            "qps_all": [round(r["answered_qps"]) for r in sat],
            "cpu_us": median(cpu),
            "user_us": median([r["server_user_us"] / r["answered"] for r in sat
                               if r.get("server_user_us") is not None and r["answered"] > 0]),
            "util": median([r["server_cpu_util"] for r in sat if r["server_cpu_util"] >= 0]),
            "core": median([r["cpu_busy"][server_cpu] for r in sat if len(r.get("cpu_busy", [])) > server_cpu]),
            "p99_sat": median([r["latency_us"]["p99"] for r in sat]),
            "fixed": e["fixed"],
            "check": e["check"],
        }
    return out


def fmt(v, digits=0, width=9):
    if v is None:
        return "—".rjust(width)
    return f"{v:,.{digits}f}".rjust(width)


def ratio(a, b, width=6, digits=2):
    if a is None or b is None or b == 0:
        return "—".rjust(width)
    return f"{a / b:.{digits}f}×".rjust(width)


def per_repeat(sat, measure):
    """rep number -> that saturation run's figure (None where the run gave none)."""
    return {int(r["tags"]["rep"]): measure(r) for r in sat}


def spread(values):
    """Min and max of a server's own repeats, each ÷ their median."""
    values = [v for v in values if v is not None]
    mid = median(values)
    if not values or not mid:
        return "—"
    return f"{min(values) / mid:.3f}–{max(values) / mid:.3f}"


def baseline_section(s, p, repeats):
    """Meridian against an older meridiand (BENCH_BASELINE) measured in the same run."""
    measures = [
        ("q/s", 0, lambda r: r["answered_qps"]),
        ("µs/q", 3, lambda r: r["server_cpu_us_per_answer"] if r["server_cpu_us_per_answer"] >= 0 else None),
        ("p99 µs", 0, lambda r: r["latency_us"]["p99"]),
    ]
    reps = list(range(1, repeats + 1))
    p("Meridian vs baseline (same run), saturation runs: ratio = Meridian ÷ baseline, of the medians and")
    p("of each repeat (repeats are interleaved, so rep n of both ran close together and shared that time's")
    p("drift); spread = a server's own repeats, min and max ÷ its median: its run-to-run noise.")
    head = (f"{'workload':<18} {'measure':<7} {'meridian':>10} {'baseline':>10} {'ratio':>7}"
            + "".join(f" {'rep ' + str(n):>7}" for n in reps)
            + f" {'M spread':>13} {'B spread':>13}")
    p(head)
    p("-" * len(head))
    for w, title in WORKLOADS:
        mer, base = s.get(("meridian", w)), s.get(("baseline", w))
        if mer is None or base is None:
            continue
        for i, (name, digits, measure) in enumerate(measures):
            mv, bv = per_repeat(mer["sat"], measure), per_repeat(base["sat"], measure)
            mm, bm = median(list(mv.values())), median(list(bv.values()))
            row = (f"{title if i == 0 else '':<18} {name:<7} {fmt(mm, digits, 10)} {fmt(bm, digits, 10)} "
                   f"{ratio(mm, bm, 7, 3)}")
            for n in reps:
                row += f" {ratio(mv.get(n), bv.get(n), 7, 3)}"
            row += f" {spread(list(mv.values())):>13} {spread(list(bv.values())):>13}"
            p(row)
    p("")


def dnssec_section(out, s, settings, p):
    """Signed against unsigned (same run), against Knot and PowerDNS; signing on a cold cache; the
    signature cache's memory per 100,000 RRset variants."""
    cache_runs = read_jsonl(os.path.join(out, "dnssec.jsonl"))
    signing = read_jsonl(os.path.join(out, "signing.jsonl"))
    if not any(w.startswith("signed-") for _, w in s) and not signing:
        return
    p("")
    p("DNSSEC (this run): signed = DO=1, the same zone signed with one ECDSA P-256 CSK; Meridian's signature")
    p("cache warmed before timing; ratios of the saturation medians, and of each repeat's pair of runs;")
    p("by CPU = the other's server CPU µs per answer ÷ Meridian's (signed's), which other load on the machine moves less.")
    shared = sorted({f"{r['tags']['server']}/{r['tags']['workload']} rep {r['tags']['rep']} ({100 * r['server_cpu_util']:.0f} %)"
                     for (sv, w), f in s.items() if sv in ("meridian", "knot", "pdns") for r in f["sat"]
                     if 0 <= r["server_cpu_util"] < 0.85 and len(r.get("cpu_busy", [])) > int(settings.get("server_cpu", 1))
                     and r["cpu_busy"][int(settings.get("server_cpu", 1))] > 0.9})
    if shared:
        p("  WARNING: the server core was busy with other work in these saturation runs (the server's own share of it")
        p("  in brackets), so their q/s understate it; CPU µs per answer is the fairer figure there:")
        p("    " + "; ".join(shared))

    def qps_by_rep(server, w):
        return per_repeat(s.get((server, w), {}).get("sat", []), lambda r: r["answered_qps"])

    for signed_w, plain_w in (("signed-ecs", "ecs"), ("signed-static", "static"), ("signed-noecs", "noecs")):
        a, b = s.get(("meridian", signed_w)), s.get(("meridian", plain_w))
        if a is None:
            continue
        if b is None:
            p(f"  {signed_w}: Meridian {fmt(a['qps'], 0, 0)} q/s signed; unsigned ({plain_w}) not in this run")
            continue
        ra, rb = qps_by_rep("meridian", signed_w), qps_by_rep("meridian", plain_w)
        reps = " ".join(ratio(ra.get(n), rb.get(n), 0, 3) for n in sorted(set(ra) & set(rb)))
        p(f"  {signed_w}: Meridian signed {fmt(a['qps'], 0, 0)} q/s ÷ unsigned ({plain_w}) {fmt(b['qps'], 0, 0)} q/s "
          f"= {ratio(a['qps'], b['qps'], 0, 3)} (per repeat {reps}); CPU µs/q {fmt(a['cpu_us'], 2, 0)} vs "
          f"{fmt(b['cpu_us'], 2, 0)}: by CPU {ratio(b['cpu_us'], a['cpu_us'], 0, 3)}")
    for w, title in SIGNED:
        mer = s.get(("meridian", w))
        if mer is None:
            continue
        for peer in ("knot", "pdns", "baseline"):
            f = s.get((peer, w))
            if f is None:
                continue
            ra, rb = qps_by_rep("meridian", w), qps_by_rep(peer, w)
            reps = " ".join(ratio(ra.get(n), rb.get(n), 0, 2) for n in sorted(set(ra) & set(rb)))
            p(f"  {w}: Meridian {fmt(mer['qps'], 0, 0)} q/s ÷ {peer} {fmt(f['qps'], 0, 0)} q/s = "
              f"{ratio(mer['qps'], f['qps'], 0, 2)} (per repeat {reps}); CPU µs/q {fmt(mer['cpu_us'], 2, 0)} vs "
              f"{fmt(f['cpu_us'], 2, 0)}: by CPU {ratio(f['cpu_us'], mer['cpu_us'], 0, 2)}")
    # How warm Meridian's cache was over its signed runs.
    by_w = {}
    for c in cache_runs:
        tags = dict(item.split("=", 1) for item in c["label"].split())
        b, a = c["before"], c["after"]
        if "error" in b or "error" in a:
            continue
        e = by_w.setdefault(tags["workload"], [0, 0, 0])
        e[0] += (a["cached"] or 0) - (b["cached"] or 0)
        e[1] += (a["signed"] or 0) - (b["signed"] or 0)
        e[2] += (a["over_budget"] or 0) - (b["over_budget"] or 0)
    for w, (cached, signed, over) in sorted(by_w.items()):
        total = cached + signed + over
        if total == 0:
            p(f"  Meridian over its {w} runs: no signature looked up or made while answering (static RRsets are "
              f"signed when the zone is loaded)")
            continue
        p(f"  Meridian's signature cache over its {w} runs: {cached:,.0f} hits, {signed:,.0f} signed, {over:,.0f} over "
          f"budget: {100 * cached / total:.3f} % hits")

    fills = [r for r in signing if r["mode"] == "fill"]
    colds = [r for r in signing if r["mode"] == "cold"]
    if colds:
        p("")
        p(f"Meridian signing on a cold cache (names never asked before, each answer one new NSEC signature; "
          f"signatures_per_second 10,000,000, {settings.get('signing_rate', '?'):,} q/s offered, one worker on one core):")
        rates = []
        for r in colds:
            l, b, a = r["load"], r["before"], r["after"]
            signed = (a.get("signed") or 0) - (b.get("signed") or 0)
            cached = (a.get("cached") or 0) - (b.get("cached") or 0)
            per_s = signed / l["duration_s"] if l["duration_s"] else None
            rates.append(per_s)
            cpu = l["server_cpu_us"] / signed if signed else None
            p(f"  rep {r['rep']}: {fmt(per_s, 0, 0)} signatures/s ({signed:,.0f} in {l['duration_s']:.2f} s; "
              f"{cached:,.0f} cache hits), {fmt(l['answered_qps'], 0, 0)} answers/s, {l['lost']:,} of {l['sent']:,} "
              f"offered unanswered{' (the signer was saturated)' if l['lost'] > 0 else ' (NOT saturated: raise BENCH_SIGNING_RATE)'}, "
              f"server CPU {fmt(cpu, 1, 0)} µs per signature, p99 {fmt(l['latency_us']['p99'], 0, 0)} µs")
        p(f"  median: {fmt(median(rates), 0, 0)} signatures/s")
    for r in fills:
        l, b, a = r["load"], r["before"], r["after"]
        entries = (a.get("entries") or 0) - (b.get("entries") or 0)
        cache_bytes = (a.get("bytes") or 0) - (b.get("bytes") or 0)
        rss = ((a.get("rss_kb") or 0) - (b.get("rss_kb") or 0)) * 1024
        if not entries:
            p("  signature cache memory: the fill added no entries")
            continue
        capacity = settings.get("signing_fill")
        p("")
        p(f"Meridian's signature cache (cache_entries = {capacity:,}), filled with {l['sent']:,} distinct denials at "
          f"{l['rate']:,.0f} q/s ({l['answered']:,} answered, {(a.get('evictions') or 0) - (b.get('evictions') or 0):,.0f} "
          f"evicted: the cache is 4-way set-associative): {entries:,.0f} entries held")
        p(f"  /metrics meridian_dnssec_cache_bytes: +{cache_bytes:,.0f} bytes = {cache_bytes / entries:,.1f} bytes per entry "
          f"= {cache_bytes / entries * 100000 / 1048576:,.2f} MiB per 100,000 RRset variants")
        p(f"  process RSS (/proc VmRSS), from before the first signature made while answering to the filled cache: "
          f"+{rss / 1048576:,.2f} MiB (RSS {b.get('rss_kb', 0) / 1024:,.1f} → {a.get('rss_kb', 0) / 1024:,.1f} MiB); "
          f"the cache takes its {capacity:,} entries at once, so per 100,000 RRset variants of capacity: "
          f"{rss * 100000 / capacity / 1048576:,.2f} MiB ({rss / capacity:,.1f} bytes per entry)")

    p("")
    p("Targets of the DNSSEC issue (this run's own ratios):")
    results = []

    def check(text, ok, detail):
        results.append(ok)
        mark = "met   " if ok else ("MISSED" if ok is not None else "n/a   ")
        p(f"  [{mark}] {text}: {detail}")

    def by_cpu(mine, other):
        return (f"; by CPU per answer {other / mine:.3f}× ({mine:.2f} vs {other:.2f} µs)"
                if mine and other else "")

    mer_s, mer_u = s.get(("meridian", "signed-ecs"), {}), s.get(("meridian", "ecs"), {})
    a, b = mer_s.get("qps"), mer_u.get("qps")
    if a is None or b is None:
        check("signed-ecs: Meridian signed (warm) ≥ 0.9× Meridian unsigned (ecs)", None,
              "not measured (needs both ecs and signed-ecs in BENCH_WORKLOADS)")
    else:
        check("signed-ecs: Meridian signed (warm) ≥ 0.9× Meridian unsigned (ecs)", a >= 0.9 * b,
              f"{a / b:.3f}× ({a:,.0f} vs {b:,.0f} q/s){by_cpu(mer_s.get('cpu_us'), mer_u.get('cpu_us'))}")
    for peer, name in (("knot", "Knot (geoip + onlinesign)"), ("pdns", "PowerDNS (geoip backend, DNSSEC)")):
        f = s.get((peer, "signed-ecs"), {})
        b = f.get("qps")
        if a is None or b is None:
            check(f"signed-ecs: Meridian ahead of {name}", None, "not measured")
        else:
            check(f"signed-ecs: Meridian ahead of {name}", a > b,
                  f"{a / b:.2f}× ({a:,.0f} vs {b:,.0f} q/s){by_cpu(mer_s.get('cpu_us'), f.get('cpu_us'))}")
    p(f"  {sum(1 for r in results if r)} met, {sum(1 for r in results if r is False)} missed")


def main():
    out = sys.argv[1]
    runs, meta, dnsperf = load(out)
    settings = meta.get("settings", {})
    s = summarise(runs, int(settings.get("server_cpu", 1)))
    rates = sorted({rate for v in s.values() for rate in v["fixed"]})
    lines = []
    p = lines.append
    m = meta.get("machine", {})
    p(f"Meridian bench — {m.get('cpu', '?')}, {m.get('cpus', '?')} CPUs, {m.get('os', '?')}, kernel {m.get('kernel', '?')}")
    p(f"server pinned to CPU {settings.get('server_cpu', '?')} (one worker), load generator on CPU {settings.get('load_cpu', '?')}; "
      f"IPv4 UDP on loopback unless TCP")
    p(f"saturation: {settings.get('sat_rate', '?')} q/s offered, median of {settings.get('repeats', '?')} × "
      f"{settings.get('seconds', '?')} s; fixed rates {', '.join(str(r) for r in rates)} q/s for "
      f"{settings.get('moderate_seconds', '?')} s; TCP: {settings.get('tcp_connections', '?')} connections × "
      f"{settings.get('tcp_inflight', '?')} in flight")
    versions = meta.get("versions", {})
    p("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if k != "-"))
    for skipped in meta.get("skipped", []):
        p("not reported: " + skipped.replace("\t", ": "))
    p("")
    p("q/s = answered queries/s at saturation (median); M÷x = Meridian's figure divided by that server's;")
    p("µs/q = server CPU (utime+stime) per answered query, usr = its utime part; cpu = the server's CPU time ÷ run time; core = how busy")
    p("the server's core was (anyone's work, softirqs included); lost counts every unanswered")
    p("query (drops = of those, counted by the server socket's own /proc/net/udp drops).")
    if any(sv == "baseline" for sv, _ in s):
        p(f"baseline = another meridiand: {versions.get('baseline', '?')}; same zone and configuration, "
          f"measured in the same interleaved runs.")
    p("")
    head = (f"{'workload':<18} {'server':<10} {'q/s':>9} {'M÷x':>6} {'cpu':>5} {'core':>5} {'µs/q':>6} {'usr':>5} {'M÷x':>6} {'p99@sat':>9}")
    for rate in rates:
        k = f"{rate // 1000}k"
        head += f" {'avg@' + k:>8} {'p99@' + k:>8} {'lost@' + k + ' (drops)':>18}"
    p(head)
    p("-" * len(head))
    for w, title in WORKLOADS:
        servers = [sv for sv in ORDER if (sv, w) in s]
        if not servers:
            continue
        mer = s.get(("meridian", w), {})
        for i, sv in enumerate(servers):
            f = s[(sv, w)]
            util = f"{100 * f['util']:.0f}%" if f["util"] is not None else "—"
            core = f"{100 * f['core']:.0f}%" if f["core"] is not None else "—"
            row = (f"{title if i == 0 else '':<18} {sv:<10} {fmt(f['qps'])} "
                   f"{(ratio(mer.get('qps'), f['qps']) if sv != 'meridian' else ''):>6} "
                   f"{util:>5} {core:>5} "
                   f"{fmt(f['cpu_us'], 2, 6)} {fmt(f['user_us'], 2, 5)} {(ratio(mer.get('cpu_us'), f['cpu_us']) if sv != 'meridian' else ''):>6} "
                   f"{fmt(f['p99_sat'], 0, 9)}")
            for rate in rates:
                r = f["fixed"].get(rate)
                if r is None:
                    row += f" {'—':>8} {'—':>8} {'—':>18}"
                else:
                    lost = f"{r['lost']:,} ({r['server_drops']:,})"
                    row += f" {fmt(r['latency_us']['avg'], 0, 8)} {fmt(r['latency_us']['p99'], 0, 8)} {lost:>18}"
            p(row)
        p("")
    tc = sorted({r["tags"]["server"] for r in runs if r.get("truncated", 0) > 0})
    if tc:
        p("note: answers with TC=1 (counted as answered) came from: " + ", ".join(tc))
    bare = sorted({f"{r['tags']['server']}/{r['tags']['workload']}" for r in runs if r.get("unsigned_answers", 0) > 0})
    if bare:
        p("note: answers to DO queries without an RRSIG (counted as answered) came from: " + ", ".join(bare))
    p("latencies in µs. Saturation runs, answered q/s each: " + "; ".join(
        f"{sv}/{w} {v['qps_all']}" for (sv, w), v in sorted(s.items()) if v["qps_all"]))
    p("")

    if any(sv == "baseline" for sv, _ in s):
        reps = max((int(r["tags"]["rep"]) for r in runs if r["tags"]["mode"] == "sat"), default=0)
        baseline_section(s, p, max(reps, int(settings.get("repeats", 0) or 0)))

    # ---- targets of issue 6 ----
    p("Targets of issue 6 (this run's own ratios):")
    results = []

    def check(text, ok, detail):
        results.append(ok)
        mark = "met   " if ok else ("MISSED" if ok is not None else "n/a   ")
        p(f"  [{mark}] {text}: {detail}")

    def qps_target(w, peer, factor):
        a, b = s.get(("meridian", w), {}).get("qps"), s.get((peer, w), {}).get("qps")
        if a is None or b is None:
            check(f"{w}: ≥ {factor}× {peer}'s q/s", None, "not measured")
            return
        check(f"{w}: ≥ {factor}× {peer}'s q/s", a >= factor * b, f"{a / b:.3f}× ({a:,.0f} vs {b:,.0f})")

    for peer, factor in (("reflector", 0.95), ("gdnsd", 0.95), ("knot", 1.5)):
        qps_target("ecs", peer, factor)
    for w in ("static", "nxdomain"):
        for peer, factor in (("reflector", 0.95), ("gdnsd", 0.95), ("nsd", 1.2)):
            qps_target(w, peer, factor)
    for w, _ in UNSIGNED:
        a, b = s.get(("meridian", w), {}).get("p99_sat"), s.get(("gdnsd", w), {}).get("p99_sat")
        if a is not None and b is not None:
            check(f"{w}: p99 at saturation ≤ gdnsd's", a <= b, f"{a:,.0f} µs vs {b:,.0f} µs")
    low = rates[0] if rates else None
    high = rates[-1] if rates else None
    for w, _ in UNSIGNED:
        f = s.get(("meridian", w))
        if f is None:
            continue
        if low is not None and low in f["fixed"]:
            p99 = f["fixed"][low]["latency_us"]["p99"]
            check(f"{w}: p99 < 1 ms at {low:,} q/s", p99 < 1000, f"{p99:,.0f} µs")
        if high is not None and high in f["fixed"]:
            r = f["fixed"][high]
            check(f"{w}: no lost queries at {high:,} q/s", r["lost"] == 0 and r["server_drops"] == 0,
                  f"{r['lost']:,} lost of {r['sent']:,}, {r['server_drops']:,} server socket drops")
    p(f"  {sum(1 for r in results if r)} met, {sum(1 for r in results if r is False)} missed")

    dnssec_section(out, s, settings, p)

    # ---- the load generator against dnsperf ----
    if dnsperf:
        p("")
        p("loadgen against dnsperf (static A, same server, one after the other):")
        for d in dnsperf:
            p(f"  dnsperf {d['label']:<16} {d['server']:<10} {fmt(d['qps'], 0)} q/s answered, "
              f"{fmt(d['lost'], 0, 7)} lost of {fmt(d['sent'], 0, 9)}, avg latency {fmt(d['avg_latency_us'], 0, 6)} µs")
        for (sv, w), f in sorted(s.items()):
            for r in f["check"]:
                p(f"  loadgen {'fixed-' + r['tags']['rate']:<16} {sv:<10} {fmt(r['answered_qps'], 0)} q/s answered, "
                  f"{fmt(r['lost'], 0, 7)} lost of {fmt(r['sent'], 0, 9)}, avg latency {fmt(r['latency_us']['avg'], 0, 6)} µs")
        for sv in ("reflector", "meridian"):
            if (sv, "static") in s and s[(sv, "static")]["qps"]:
                p(f"  loadgen saturation      {sv:<10} {fmt(s[(sv, 'static')]['qps'], 0)} q/s answered (median, above)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
