"""Benchmarks: each prints its measured ratio against a baseline measured in the same run."""
