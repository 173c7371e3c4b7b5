"""What judges a run, with no pytest: the one home of judging (issue 21).

- :mod:`.metrics`: the one ``METRICS`` table a threshold or a comparison rule reads;
- :mod:`.grammar`: the scope / metric / unit / duration grammar both share;
- :mod:`.thresholds`: thresholds (``p95 < 300 over 10s for 5s``) and their verdicts;
- :mod:`.rules`: the comparison rules of ``--load-compare-fail`` (``p95:+10%``) and their outcomes;
- :mod:`.status`: a run's status (``run_status``), the one place it is decided;
- :mod:`.live`: thresholds judged each second while the run goes, and the abort they may call.

The pytest layer (``plugin/``), the web UI, the reports and the baselines all read these.
"""
