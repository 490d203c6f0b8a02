"""The numbers and figures of docs/results.md, read from finished runs.

One function per row of the results page, in a module per family of rows
(`reports_vae`, `reports_vae_ablation`, `reports_classifiers`,
`reports_planes`, `reports_vib`). Each takes the
row's finished runs, as `(sweeps.Run, workdir)` pairs, and the output
folder, and writes `<row>.json` (the numbers quoted on the page) and
`<row>.png` there; the runs are told apart by their overrides, so a row
reports whichever of its runs have finished. `infodropout-reproduce report
ROW` calls them through `REPORTS`. The rows of `SHOW_UNFINISHED_RUNS` also
take the runs that have not finished yet, as the keyword `unfinished`.

What a report reads from a run's folder is read by `run_folder`, and its
figure is written by `plots.write`.
"""

from infodropout_tf.results import reports_classifiers
from infodropout_tf.results import reports_planes
from infodropout_tf.results import reports_vae
from infodropout_tf.results import reports_vae_ablation
from infodropout_tf.results import reports_vib

REPORTS = {"vae": reports_vae.vae, "beta_vae": reports_vae.beta_vae,
           "vae_ablation": reports_vae_ablation.vae_ablation,
           "mlp_width": reports_classifiers.mlp_width,
           "cluttered": reports_classifiers.cluttered,
           "occlusion": reports_classifiers.occlusion,
           "disentangle": reports_classifiers.disentangle,
           "plane": reports_planes.plane, "flow": reports_classifiers.flow,
           "surrogate": reports_planes.surrogate, "vib": reports_vib.vib}
# The reports that also take the runs still training or interrupted.
SHOW_UNFINISHED_RUNS = {"vae"}
