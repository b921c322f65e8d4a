"""The PR report: sections that plug in (metrics, params, plots, drift, contracts, gate, cost, run)
assembled into one Markdown body that fits GitHub's limits."""

from mlops_ci.report.model import COMMENT_LIMIT, Report, Section, marker

__all__ = ["COMMENT_LIMIT", "Report", "Section", "marker"]
