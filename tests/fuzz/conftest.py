"""Hypothesis profiles: a bounded run for CI, a deeper one on request.

PASLA_FUZZ_EXAMPLES=N runs N examples per property (e.g. 5000 for a long
session); unset, each property runs the CI profile's few dozen to hundreds.
"""

import os

from hypothesis import HealthCheck, settings

_examples = os.environ.get("PASLA_FUZZ_EXAMPLES", "").strip()

settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,  # two shared cores: timing-based flakiness is not a finding
    derandomize=True,  # CI is repeatable; the deep profile explores
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=int(_examples) if _examples.isdigit() and int(_examples) > 0 else 150,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("deep" if _examples else "ci")
