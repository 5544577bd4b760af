"""The planner in the browser: ``terraplan ui`` serves a map of a workflow's territories,
with live balance, editing, locks, re-optimisation, scenarios, history and rollback."""
