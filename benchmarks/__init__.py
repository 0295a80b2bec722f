"""The benchmark harness of the checkout (`make bench`): not part of the installed ``ga4lake`` package.

``benchmarks/harness.py`` measures the stack and the pipeline on the real services and rewrites
BENCHMARKS.md; ``bench_sample.py`` measures the sample generator alone. Run from the repository root:
``python -m benchmarks.harness --only …`` (``make bench`` does).
"""
