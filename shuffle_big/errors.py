"""The one exception type the library raises for problems a user can fix."""


class ShuffleError(Exception):
    """A failure worth a one-line message: ``<what>: <why>``."""


def describe_os_error(what: str, err: OSError) -> ShuffleError:
    """Turn an OSError into ``what: strerror`` (no errno numbers, no traceback)."""
    why = err.strerror or str(err)
    return ShuffleError(f"{what}: {why}")
