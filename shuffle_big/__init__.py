"""shuffle-big: a uniform shuffle of the lines of files far larger than RAM."""

from .errors import ShuffleError
from .engine import ShuffleResult, shuffle

__version__ = "0.1.0"
__all__ = ["shuffle", "ShuffleResult", "ShuffleError", "__version__"]
