"""Critical sections (a signal during ``critical_section()`` is raised at its end), and the handlers a library caller installs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import numbered_lines

from shuffle_big.signals import critical_section


class Raised(Exception):
    pass


def _raise(signum, frame):
    raise Raised(signum)


@pytest.fixture
def raising_handlers():
    saved = {s: signal.signal(s, _raise) for s in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def test_a_signal_in_a_critical_section_is_raised_after_it(raising_handlers):
    steps = []
    with pytest.raises(Raised):
        with critical_section():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("made")  # the handler must not have cut in before this
            steps.append("recorded")
    assert steps == ["made", "recorded"]
    assert signal.getsignal(signal.SIGTERM) is _raise  # the handler is back


def test_an_ignored_signal_stays_ignored_through_a_critical_section(raising_handlers):
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with critical_section():
        os.kill(os.getpid(), signal.SIGHUP)
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # and nothing was raised


def test_a_library_caller_gets_the_clean_up_by_installing_the_handlers(tmp_path):
    """``signals.install()`` in a script that calls ``shuffle()``: SIGTERM mid-run removes the temp directory."""
    src, temp = tmp_path / "in.txt", tmp_path / "tmp"
    src.write_bytes(numbered_lines(2_000_000))
    temp.mkdir()
    script = (
        "import shuffle_big, shuffle_big.signals\n"
        "shuffle_big.signals.install()\n"
        f"shuffle_big.shuffle([{str(src)!r}], {str(tmp_path / 'out.txt')!r}, memory=4 << 20, temp_dir={str(temp)!r})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)

    def spilled() -> bool:
        return any(p.name != "owner" for d in temp.iterdir() for p in d.iterdir())

    deadline = time.time() + 30
    while time.time() < deadline and not spilled():
        time.sleep(0.01)
    assert spilled() and proc.poll() is None, "the run never wrote a bucket"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 1 and b"Terminated" in proc.stderr.read()  # raised to the caller
    assert list(temp.iterdir()) == []
    assert not (tmp_path / "out.txt").exists()


def test_a_signal_during_clean_up_waits_until_it_is_done(raising_handlers, tmp_path, monkeypatch):
    """A signal cutting the temp space's removal, or an output's abort, short would leave files behind."""
    from shuffle_big.outputs.sinks import Output
    from shuffle_big.storage import tempspace

    temp = tempspace.TempSpace(str(tmp_path))
    directory = temp.local_dir()
    for i in range(100):
        with open(os.path.join(directory, f"b{i}"), "wb") as f:
            f.write(b"x")
    removing = tempspace.remove_tree

    def interrupted(path: str, attempts: int = 20) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives as the removal starts
        removing(path, attempts)

    monkeypatch.setattr(tempspace, "remove_tree", interrupted)
    with pytest.raises(Raised):
        temp.cleanup()
    assert not os.path.exists(directory)

    out = tmp_path / "out.txt"
    out.write_bytes(b"previous\n")
    with pytest.raises(Raised):
        with Output(str(out)) as sink:
            sink.write(b"a\n")
            discard = sink.target.discard

            def signalled() -> None:
                os.kill(os.getpid(), signal.SIGTERM)
                discard()

            monkeypatch.setattr(sink.target, "discard", signalled)
            raise RuntimeError("the run failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"] and out.read_bytes() == b"previous\n"
