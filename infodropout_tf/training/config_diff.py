"""Configs as flat fields, and the fields in which two configs differ.

A workdir's `config.json` is compared with the config of a rerun field by
field (`training/workdir.py`), and the commands and sweeps name a field by
its dotted path (`optimizer.learning_rate`); both read configs through
`flatten`, so a ConfigDict and its JSON compare alike.
"""

import json


def flatten(config):
    """{"a.b": value} for a ConfigDict or dict, tuples as lists (as in JSON)."""
    values = json.loads(config.to_json()) if hasattr(config, "to_json") else config
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update({f"{key}.{k}": v for k, v in flatten(value).items()})
        else:
            flat[key] = value
    return flat


def differences(stored, config, ignore=()):
    """Sorted fields whose values differ between two configs.

    A field held by only one of them differs: every config a run writes
    holds every field of `base_config()`.

    Args:
        stored: A config, or its JSON as a dict (a workdir's config.json).
        config: A config, or a dict.
        ignore: Fields that may differ (settings of evaluation, say).
    """
    a, b = flatten(stored), flatten(config)
    return sorted(field for field in set(a) | set(b)
                  if field not in ignore and a.get(field, "<absent>") != b.get(field, "<absent>"))
