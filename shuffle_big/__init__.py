"""shuffle-big: a uniform shuffle of the lines of files far larger than RAM.

The public surface is what this module exports; everything in the
subpackages is internal and may change between releases.
"""

from .errors import ConfigError, ShuffleError

__version__ = "0.2.0.dev0"
__all__ = [
    "shuffle", "check_manifest", "ShuffleConfig", "ShuffleResult", "ShuffleError", "ConfigError", "Lines", "NumberRange", "DaskCluster",
    "__version__",
]

# Loaded on first use: the engine brings numpy, the cluster brings dask, and the
# command sets up its signal handling before either slow import.
_LAZY = {
    "shuffle": "api",
    "check_manifest": "manifest",
    "ShuffleConfig": "config",
    "ShuffleResult": "run.job",
    "Lines": "inputs.sources",
    "NumberRange": "inputs.sources",
    "DaskCluster": "run.pool_dask",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'shuffle_big' has no attribute {name!r}")
