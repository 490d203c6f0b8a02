"""The README's example, run verbatim on real MNIST."""

import os
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


@pytest.mark.slow
def test_readme_examples_train_on_mnist():
    data_dir = os.environ.get("TFDS_DATA_DIR")
    assert data_dir and os.path.isdir(os.path.join(data_dir, "mnist")), (
        "Set TFDS_DATA_DIR to a tensorflow-datasets directory with a prepared "
        "mnist/3.0.1 (see the README's Quick start)."
    )
    quick_start, models_example = _python_blocks()
    namespace = {}
    exec(compile(quick_start, str(README), "exec"), namespace)

    history = namespace["history"].history
    print("README example test accuracy:", history["val_accuracy"][-1])
    assert history["val_accuracy"][-1] > 0.94
    # The two information-dropout layers each add their KL term.
    assert len(namespace["model"].losses) == 2

    # The models example continues in the same namespace.
    exec(compile(models_example, str(README), "exec"), namespace)
    results = namespace["results"]
    print("README models example:", results)
    assert results["num_examples"] == 10_000
    assert results["deterministic_error"] < 0.1
    assert results["noisy_error"] < 0.1
