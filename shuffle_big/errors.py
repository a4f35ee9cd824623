"""The exceptions the library raises for problems a user can fix: ShuffleError, and ConfigError below it."""


class ShuffleError(Exception):
    """A failure worth a one-line message: ``<what>: <why>``."""


class ConfigError(ShuffleError, ValueError):
    """Options that cannot go together, or a value out of range: found before any work starts."""


def describe_os_error(what: str, err: OSError) -> ShuffleError:
    """Turn an OSError into ``what: strerror`` (no errno numbers, no traceback)."""
    why = err.strerror or str(err)
    return ShuffleError(f"{what}: {why}")
