"""The results harness of docs/results.md: its reports, read from finished runs.

Kept apart from the library: nothing in `infodropout_tf` outside this
subpackage imports it, and importing the subpackage loads none of its
modules (a report needs TensorFlow and matplotlib; the command that only
trains does not).
"""
