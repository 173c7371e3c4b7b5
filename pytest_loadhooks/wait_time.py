"""Re-export shim: wait times live in :mod:`pytest_loadhooks.user.wait_time` (Locust 2.x's path).

Kept for imports written against Locust 1.x (``locust.wait_time``) and against this
package before the move.
"""

from .user.wait_time import between, constant, constant_pacing, constant_throughput

__all__ = ["between", "constant", "constant_pacing", "constant_throughput"]
