"""The runs of docs/results.md, one `get_runs(data_dir)` per row
(`infodropout_tf.results.sweeps`); installed as `infodropout_tf.configs.sweeps`."""
