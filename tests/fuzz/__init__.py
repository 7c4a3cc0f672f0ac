"""Coverage-guided fuzzing of every layer that reads untrusted bytes.

* :mod:`.targets` -- what each fuzz target runs on one input, and its seeds;
* :mod:`.worker` -- one target in one process (atheris/libFuzzer when installed, else a
  plain mutation loop), with the per-input time budget and the memory bound;
* :mod:`.run` -- the runner CI calls: ``python -m tests.fuzz.run --seconds N``;
* ``regressions/<target>/`` -- every input that ever failed, replayed by
  ``test_regressions.py`` in the normal suite.

See docs/security.md ("Fuzzing").
"""
