"""The results harness of docs/results.md: its runs, the command that trains
them and the reports read from finished runs.

`sweeps` (the runs, defined in `configs/sweeps/`), `reproduce` (the
`infodropout-reproduce` command), `reports` and the modules behind it.
Kept apart from the library: nothing in `infodropout_tf` outside this
subpackage imports it, and importing the subpackage loads none of its
modules (a report needs TensorFlow and matplotlib; the command that only
trains does not).
"""
