"""What every release probe shares: the installed flytekit's version, a scratch
working directory, and a check that fails loudly.

A probe is run with the python of one release's virtualenv, e.g.
  .flytekit-venvs/1.8.3/bin/python conformance/probes/releases/conditional_local_modes.py
It asserts, for that release, the behaviour the README says it has, and exits
non-zero (with what it saw) when that does not hold. run-all.sh runs every
probe on every cached virtualenv.
"""

import os
import re
import sys
import tempfile

# Execution states create directories on disk: keep them in a scratch directory.
os.chdir(tempfile.mkdtemp(prefix="flytekit-release-probe-"))

import flytekit  # noqa: E402
from flytekit.core import context_manager as cm  # noqa: E402

VERSION = str(flytekit.__version__)
RELEASE = tuple(int(x) for x in re.findall(r"\d+", VERSION)[:3])
FCM = cm.FlyteContextManager


def since(*first):
    """True when the installed release is `first` or later."""
    return RELEASE >= first


def check(name, observed, expected):
    """Fail the probe unless what was observed is what this release should do."""
    if observed != expected:
        sys.exit("FAIL %s on flytekit %s: observed %r, expected %r" % (name, VERSION, observed, expected))
    print("ok   %s on flytekit %s: %r" % (name, VERSION, observed))


def stack_size():
    return FCM.size()
