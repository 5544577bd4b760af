"""Workflows: the spec, the runner, the `terraplan` CLI and example workflows."""
