"""Command-line training of the paper's experiments (see `apps.py`).

One module per idea: `config` (defaults and ranges), `experiment` (what a
config builds), `workdir` and `backup` (what a run may write and how it
resumes), `callbacks`, `distributed_fit`, `evaluate`, and `trainer.train_and_evaluate`, which puts them together.
"""
