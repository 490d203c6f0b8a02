"""Command-line training of the paper's experiments (see `apps.py`)."""
