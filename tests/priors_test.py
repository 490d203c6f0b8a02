"""The priors' registry: `priors.get` from a name, an activation, a
serialised config or an instance."""

import keras
import pytest

from infodropout_tf import priors


@pytest.mark.parametrize(
    "name,cls",
    [
        ("log_uniform", priors.LogUniformPrior),
        ("relu", priors.LogUniformPrior),
        ("log_normal", priors.LogNormalPrior),
        ("Softplus", priors.LogNormalPrior),
    ],
)
def test_get_resolves_names_to_new_instances(name, cls):
    first, second = priors.get(name), priors.get(name)
    assert isinstance(first, cls)
    assert first is not second


def test_get_round_trips_serialised_priors():
    prior = priors.LogNormalPrior(mu_initial_value=0.5, sigma_initial_value=2.0)
    restored = priors.get(keras.saving.serialize_keras_object(prior))
    assert isinstance(restored, priors.LogNormalPrior)
    assert restored.get_config() == prior.get_config()
    instance = priors.LogUniformPrior()
    assert priors.get(instance) is instance


@pytest.mark.parametrize("bad", ["laplace", 3, None])
def test_get_rejects_unknown_priors(bad):
    with pytest.raises(ValueError, match=r"`prior`.*Received: prior="):
        priors.get(bad)
