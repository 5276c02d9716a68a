"""Benchmarks: each module exposes `figures(quick: bool) -> list[dict]`; scripts/bench runs them."""
