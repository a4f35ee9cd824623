"""shuffle-big: a uniform shuffle of the lines of files far larger than RAM."""

from .errors import ShuffleError

__version__ = "0.1.0"
__all__ = ["shuffle", "ShuffleResult", "ShuffleError", "__version__"]


def __getattr__(name: str):
    # The engine (numpy and all) loads on first use, so the command can set up
    # its signal handling before the slow imports.
    if name in ("shuffle", "ShuffleResult"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'shuffle_big' has no attribute {name!r}")
