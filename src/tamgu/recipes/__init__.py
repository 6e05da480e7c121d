"""Recipes as data: chapter 5 (`ch5/chapter.yaml` and one config per step) and the demo (`demo.yaml`), with the
small functions that run them (`chapter5.reproduce`, `demo.demo`). They sit above the pipeline, the tricks
and the reports, and may use all three."""
