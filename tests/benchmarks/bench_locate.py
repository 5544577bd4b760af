"""Location allocation: Kalcsics et al.'s two tables, OR-Library pmed1-40, spopt, 10k x 2k.

* Table 1 (unconstrained p-median, coordinates U[0,100]^2, sales U[4,8]): our
  heuristic alone (``exact='never'``) against the optimum certified by our exact
  pipeline (Lagrangian bound, and HiGHS when the bound leaves a gap).
* Table 2 (limits 90-110 % of total/p, closest assignment, 50 and 75 SCUs): the
  heuristic against HiGHS on the assignment model with Kalcsics' valid closest-
  assignment constraints (time-limited: instances HiGHS does not close are counted
  against its best bound and flagged).
* OR-Library pmed1-40: gap to the proven optima (../shared/data/orlib-pmed/).
* spopt's PMedian (PuLP + CBC) on the same instances when it is installed.
* 10,000 demand points x 2,000 candidates, p = 100: certified gap and seconds.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path
from scipy.spatial.distance import cdist

from components.costs import point_costs
from components.errors import InfeasibleError
from components.locate import LocationAllocator

ORLIB = Path(__file__).resolve().parents[3] / "shared" / "data" / "orlib-pmed"
THEIRS_1 = {100: "0.39 / 4.85 %, 0.32 s", 300: "0.31 / 3.06 %, 2.53 s",
            600: "0.36 / 1.92 %, 15.35 s"}
THEIRS_2 = {50: "2.46 / 12.06 %, 0.54 s", 75: "1.54 / 4.07 %, 0.76 s"}


def kalcsics_instance(n: int, seed: int):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, (n, 2))
    return pts, rng.uniform(4, 8, n), cdist(pts, pts)


def table1(quick: bool) -> list[dict]:
    rows = []
    sizes = [100, 300] if quick else [100, 300, 600]
    ps = [4, 10, 25] if quick else [4, 6, 8, 10, 12, 15, 20, 25]
    for n in sizes:
        gaps, secs, certified, heur, bound, own = [], [], 0, [], [], []
        for k, p in enumerate(ps):
            pts, w, d = kalcsics_instance(n, 1000 * n + k)
            ref = LocationAllocator("min_total_cost", p, exact="always", time_limit=300,
                                    seed=0).solve(d, w, coords=(pts, pts))
            certified += ref.status_ == "optimal"
            t0 = time.monotonic()
            h = LocationAllocator("min_total_cost", p, exact="never", time_limit=60,
                                  seed=1).solve(d, w, coords=(pts, pts))
            secs.append(time.monotonic() - t0)
            heur.append(h.stats_["heuristic_seconds"])
            bound.append(h.stats_["bound_seconds"])
            own.append(100 * h.gap_)
            gaps.append(100 * (h.objective_ - ref.objective_) / ref.objective_)
        rows.append(_row("Kalcsics table 1", f"{n} SCUs, p {ps[0]}-{ps[-1]} ({len(ps)} inst.)",
                         float(np.mean(gaps)), "% avg gap", "avg <= 0.05 %, worst <= 0.5 %",
                         f"worst {max(gaps):.3f} %, max {max(secs):.2f} s/inst (heuristic "
                         f"{np.mean(heur):.2f} s + Lagrangian bound {np.mean(bound):.2f} s on "
                         f"average); own certified gap avg {np.mean(own):.3f} % max "
                         f"{max(own):.3f} %; optimum certified on {certified}/{len(ps)}; theirs "
                         f"{THEIRS_1[n]} (time in loaded wall seconds, reported, not judged)",
                         ok=float(np.mean(gaps)) <= 0.05 and max(gaps) <= 0.5))
    return rows


def table2(quick: bool) -> list[dict]:
    rows = []
    for n in ([50] if quick else [50, 75]):
        ps = [4, 8] if quick else [4, 5, 6, 8, 10, 12]
        gaps, secs, proven, notes = [], [], 0, []
        for k, p in enumerate(ps):
            _, w, d = kalcsics_instance(n, 7000 + 100 * n + k)
            lo, hi = 0.9 * w.sum() / p, 1.1 * w.sum() / p
            t0 = time.monotonic()
            h = LocationAllocator("min_total_cost", p, min_load=lo, max_load=hi,
                                  closest_assignment=True, exact="never", time_limit=60,
                                  seed=1).solve(d, w)
            secs.append(time.monotonic() - t0)
            # one status vocabulary: a proof of infeasibility raises, the heuristic
            # without one says 'no_feasible_found'
            try:
                ref = LocationAllocator("min_total_cost", p, min_load=lo, max_load=hi,
                                        closest_assignment=True, exact="always",
                                        time_limit=60 if quick else 120).solve(d, w)
                exact_status = ref.stats_.get("exact", {}).get("status")
            except InfeasibleError:
                exact_status = "infeasible"
            if exact_status == "optimal":
                proven += 1
                if h.status_ == "no_feasible_found":  # a miss, never a (negative) gap
                    notes.append(f"p={p}: heuristic found no feasible set (HiGHS did)")
                else:
                    gaps.append(100 * (h.objective_ - ref.objective_) / ref.objective_)
            elif exact_status == "infeasible":
                notes.append(f"p={p} infeasible (HiGHS proof), heuristic says "
                             f"{h.status_}" + ("" if h.status_ == "no_feasible_found"
                                               else " (FEASIBLE?)"))
            else:
                notes.append(f"p={p}: HiGHS {exact_status}, best bound gap "
                             f"{100 * (h.objective_ - ref.lower_bound_) / h.objective_:.2f} %")
        avg = float(np.mean(gaps)) if gaps else float("nan")
        rows.append(_row("Kalcsics table 2", f"{n} SCUs, limits 90-110 %, closest assignment",
                         avg, "% avg gap", "avg <= 0.5 %, worst <= 2 %",
                         f"worst {max(gaps) if gaps else float('nan'):.3f} % on {proven} "
                         f"HiGHS-proven optima, max {max(secs):.2f} s/inst; "
                         + "; ".join(notes) + f"; theirs {THEIRS_2[n]}",
                         ok=None if not gaps else avg <= 0.5 and max(gaps) <= 2.0))
    return rows


def read_pmed(k: int) -> tuple[np.ndarray, int]:
    lines = (ORLIB / f"pmed{k}.txt").read_text().split("\n")
    n, _, p = map(int, lines[0].split())
    last: dict[tuple[int, int], float] = {}
    for line in lines[1:]:
        parts = line.split()
        if len(parts) == 3:
            i, j, c = int(parts[0]) - 1, int(parts[1]) - 1, float(parts[2])
            last[(min(i, j), max(i, j))] = c  # the LAST occurrence counts
    ij = np.array(list(last.keys()))
    g = csr_matrix((list(last.values()), (ij[:, 0], ij[:, 1])), shape=(n, n))
    return shortest_path(g, directed=False), p


def pmed_optima() -> dict[int, float]:
    out = {}
    for line in (ORLIB / "pmedopt.txt").read_text().splitlines():
        parts = line.replace("pmed", " ").replace(":", " ").split()
        nums = [float(x) for x in parts if x.replace(".", "").isdigit()]
        if len(nums) >= 2:
            out[int(nums[0])] = nums[1]
    return out


def orlib(quick: bool) -> list[dict]:
    if not ORLIB.is_dir():
        return [_row("OR-Library pmed", "pmed1-40", float("nan"), "", "", "data not found")]
    opt = pmed_optima()
    rows, gaps, secs, lines = [], [], [], []
    for k in (range(1, 6) if quick else range(1, 41)):
        d, p = read_pmed(k)
        t0 = time.monotonic()
        la = LocationAllocator("min_total_cost", p, time_limit=30, seed=0).solve(d)
        sec = time.monotonic() - t0
        gap = 100 * (la.objective_ - opt[k]) / opt[k]
        gaps.append(gap)
        secs.append(sec)
        lines.append(f"pmed{k} (n={len(d)}, p={p}): {la.objective_:.0f} vs {opt[k]:.0f}, "
                     f"{gap:.2f} %, {la.status_}, {sec:.1f} s")
    rows.append(_row("OR-Library pmed", f"pmed1-{len(gaps)}", float(np.mean(gaps)),
                     "% avg gap to optimum", "report each",
                     f"worst {max(gaps):.3f} %, {sum(g <= 1e-9 for g in gaps)}/{len(gaps)} "
                     f"optimal, max {max(secs):.1f} s, total {sum(secs):.0f} s"))
    for line, gap in zip(lines, gaps, strict=True):
        rows.append(_row("OR-Library pmed", line.split(" (")[0], gap, "% gap", "", line))
    return rows


def spopt_side_by_side(quick: bool) -> list[dict]:
    try:
        import pulp
        import spopt
        from spopt.locate import PMedian
    except ImportError as err:
        return [_row("spopt PMedian", "-", float("nan"), "", "", f"skipped: {err}")]
    rows = []
    cases = [(100, 5), (100, 10)] if quick else [(100, 5), (100, 10), (200, 10), (300, 15)]
    for k, (n, p) in enumerate(cases):
        pts, w, d = kalcsics_instance(n, 555 + k)
        t0 = time.monotonic()
        model = PMedian.from_cost_matrix(d, w, p_facilities=p)
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=600))
        t_sp = time.monotonic() - t0
        theirs = float(pulp.value(model.problem.objective))
        t0 = time.monotonic()
        ours = LocationAllocator("min_total_cost", p, seed=0).solve(d, w, coords=(pts, pts))
        t_us = time.monotonic() - t0
        rows.append(_row("spopt PMedian side by side", f"{n} points, p={p}",
                         t_sp / t_us, "x faster", "same or better objective",
                         f"ours {ours.objective_:.2f} ({ours.status_}, {t_us:.2f} s) vs spopt "
                         f"{theirs:.2f} ({t_sp:.2f} s); spopt {spopt.__version__}, PuLP "
                         f"{pulp.__version__}, CBC"))
    return rows


def large(quick: bool) -> list[dict]:
    n, m, p = (2000, 500, 40) if quick else (10_000, 2_000, 100)
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (n, 2))
    w = rng.uniform(4, 8, n)
    sites = pts[rng.choice(n, m, replace=False)]
    t0 = time.monotonic()
    d = point_costs(pts, sites)
    la = LocationAllocator("min_total_cost", p, time_limit=55, seed=0).solve(
        d, w, coords=(pts, sites))
    secs = time.monotonic() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [_row("large p-median", f"{n:,} x {m:,}, p={p}", secs, "s",
                 "certified gap <= 1 % in < 60 s",
                 f"gap {100 * la.gap_:.3f} % ({la.status_}), VNS "
                 f"{la.stats_['vns']['iterations']} it., Lagrangian "
                 f"{la.stats_['lagrangian']['iterations']} it., peak RSS {rss:,.0f} MB")]


def _row(bench: str, case: str, value: float, unit: str, target: str, note: str,
         ok: bool | None = None) -> dict:
    """A result row; ``ok`` (when judged) makes ``make bench`` exit 1 on a miss."""
    return {"benchmark": bench, "case": case, "value": value, "unit": unit, "target": target,
            "note": note, "ok": None if ok is None else bool(ok)}


def run(quick: bool = False) -> list[dict]:
    return [*table1(quick), *table2(quick), *orlib(quick), *spopt_side_by_side(quick),
            *large(quick)]
