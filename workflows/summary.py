"""The few lines a person reads after a solve (CLI and runner alike)."""

from __future__ import annotations

from typing import Any


def summary_text(report: dict[str, Any]) -> str:
    """A few lines a person reads: territories, balance range, contiguity, seconds."""
    lines = [f"status: {report.get('status')}"
             + (f" ({report['stopped_by']})" if report.get("stopped_by") else "")]
    if "n_territories" in report:
        lines.append(f"territories: {report['n_territories']} from {report['n_units']} units")
    for name, b in (report.get("balance") or {}).items():
        lines.append(f"balance {name}: {b['min_ratio']:.3f}-{b['max_ratio']:.3f} of target "
                     f"(s.d. {b['std']:.4f}, tolerance +-{b['tolerance']:g})")
    if "contiguous" in report:
        bad = report.get("noncontiguous_territories") or []
        lines.append("contiguous: " + ("yes" if report["contiguous"] else f"NO {bad}"))
    if report.get("lower_bound") is not None:
        gap = report.get("gap")
        cost = report.get("cost")
        with_moves = cost is not None and abs(cost - report["objective"]) > 1e-6 * max(
            1.0, abs(cost))
        lines.append(f"objective: {report['objective']:,.1f}"
                     + (f"  cost incl. disruption: {cost:,.1f}" if with_moves else "")
                     + f"  lower bound: {report['lower_bound']:,.1f}  "
                     + ("gap for these centers: " if report.get("gap_scope") == "these_centers"
                        else "gap: ")
                     + (f"{100 * gap:.2f}%" if gap is not None else "n/a (not feasible)"))
    if "moved_units" in report:
        lines.append(f"moved units: {report['moved_units']}")
    for warning in report.get("warnings") or []:
        lines.append(f"warning: {warning}")
    lines.append(f"seconds: {report.get('seconds', 0):.2f}")
    return "\n".join(lines)
