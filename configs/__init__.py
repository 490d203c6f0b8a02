"""The experiment configs, one `get_config()` per file.

setup.cfg installs this folder as `infodropout_tf.configs`, so that
`infodropout-train --config=mnist_mlp` finds `mnist_mlp.py` wherever the
package is installed; the files are loaded by path
(`infodropout_tf.training.config.from_file`), never imported.
"""
