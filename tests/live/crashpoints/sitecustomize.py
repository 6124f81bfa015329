"""Fault injection for tests/live/test_crash.py, loaded by a test's subprocess.

Python imports ``sitecustomize`` at start when it is on the path; the crash
test puts this folder on PYTHONPATH of the ``python -m radicale`` it starts.
With RADICALE_TEST_CRASH_ROOT set, every call that changes a file or folder
below that root (os.replace, os.rename, os.remove, os.unlink, os.rmdir) is
counted and logged to RADICALE_TEST_CRASH_LOG once the file
RADICALE_TEST_CRASH_ARM exists (the test creates it when the server is up);
the call numbered RADICALE_TEST_CRASH_AT kills the process with SIGKILL
before it happens, exactly as the OOM killer or a power cut would stop it
there.
"""

import os
import signal

_ROOT = os.environ.get("RADICALE_TEST_CRASH_ROOT")

if _ROOT:
    _ROOT = os.path.realpath(_ROOT) + os.sep
    _AT = int(os.environ.get("RADICALE_TEST_CRASH_AT", "0") or 0)
    _LOG = os.environ.get("RADICALE_TEST_CRASH_LOG")
    _ARM = os.environ.get("RADICALE_TEST_CRASH_ARM", "")
    _count = [0]

    def _counted(name):
        original = getattr(os, name)

        def call(*args, **kwargs):
            target = args[-1] if name in ("replace", "rename") else args[0]
            if isinstance(target, (str, bytes, os.PathLike)) and \
                    os.path.realpath(os.fsdecode(target)).startswith(
                        _ROOT) and os.path.exists(_ARM):
                _count[0] += 1
                if _LOG:
                    with open(_LOG, "a") as log:
                        log.write("%d %s %s\n" % (_count[0], name,
                                                  os.fsdecode(target)))
                if _count[0] == _AT:
                    os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)

        setattr(os, name, call)

    for _name in ("replace", "rename", "remove", "unlink", "rmdir"):
        _counted(_name)

    if os.environ.get("RADICALE_TEST_NO_MAIL_SENDER"):
        # Queued mail stays queued, so that the test sees the queue as the
        # crash left it.
        from radicale_scheduling.delivery import outbound
        outbound.run_by_hand(os.path.join(_ROOT, "queue"))
