"""Optional parts at Locust's ``locust.contrib`` paths (``contrib.fasthttp``)."""
