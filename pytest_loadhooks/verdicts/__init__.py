"""What judges a run, with no pytest: the one table of metrics a threshold or a comparison rule
reads (:mod:`.metrics`), shared by the pytest layer's thresholds (``plugin/thresholds.py``) and the
comparisons of saved result documents (``pytest_loadhooks.compare``)."""
