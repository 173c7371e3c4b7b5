"""How many users of each class to run: weights, fixed counts, and the order users join in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def spawn_order(user_classes: Sequence[type], user_count: int) -> list[type]:
    """The classes of the first ``user_count`` users, in the order they are started.

    Classes with ``fixed_count`` come first, each up to its count. The rest are
    interleaved by weight (smooth weighted round robin), so at every step of a ramp
    the mix is as close to the weights as whole users allow, and a longer prefix
    never takes a user away from a shorter one.
    """
    if user_count < 0:
        raise ValueError(f"user count must be >= 0, got {user_count}")
    order: list[type] = []
    for cls in user_classes:
        fixed = getattr(cls, "fixed_count", 0) or 0
        order.extend([cls] * min(fixed, user_count - len(order)))
    weighted = [cls for cls in user_classes if not getattr(cls, "fixed_count", 0)]
    weights = {cls: max(int(getattr(cls, "weight", 1)), 0) for cls in weighted}
    total_weight = sum(weights.values())
    if total_weight == 0:
        return order
    current = {cls: 0 for cls in weighted}
    while len(order) < user_count:
        for cls in weighted:
            current[cls] += weights[cls]
        chosen = max(weighted, key=lambda c: current[c])
        current[chosen] -= total_weight
        order.append(chosen)
    return order


def distribution(user_classes: Sequence[type], user_count: int) -> dict[type, int]:
    """How many users of each class make up ``user_count`` users."""
    counts = Counter(spawn_order(user_classes, user_count))
    return {cls: counts.get(cls, 0) for cls in user_classes}


def changes(user_classes: Sequence[type], current: dict[type, int], target_count: int) -> tuple[list[type], list[type]]:
    """Users to start and to stop to go from ``current`` to ``target_count`` users.

    Both lists are ordered so that running them one by one keeps the mix close to
    the weights: additions in spawn order, removals in reverse spawn order.
    """
    order = spawn_order(user_classes, max(target_count, sum(current.values())))
    target = Counter(order[:target_count])
    to_add: list[type] = []
    missing = {cls: target.get(cls, 0) - current.get(cls, 0) for cls in user_classes}
    for cls in order[:target_count]:
        if missing.get(cls, 0) > 0:
            to_add.append(cls)
            missing[cls] -= 1
    surplus = {cls: n - target.get(cls, 0) for cls, n in current.items()}
    to_remove: list[type] = []
    for cls in reversed(order):
        if surplus.get(cls, 0) > 0:
            to_remove.append(cls)
            surplus[cls] -= 1
    # Classes no longer in the run at all (a shape switched classes) go too.
    for cls, n in surplus.items():
        to_remove.extend([cls] * max(n, 0))
    return to_add, to_remove


def interleave(counts: dict[type, int]) -> list[type]:
    """Exactly ``counts[cls]`` users of each class, spread out rather than in blocks
    (smooth weighted round robin with the counts as weights)."""
    remaining = {cls: n for cls, n in counts.items() if n > 0}
    total = sum(remaining.values())
    current = dict.fromkeys(remaining, 0)
    order: list[type] = []
    for _ in range(total):
        for cls, n in remaining.items():
            current[cls] += n
        chosen = max(remaining, key=lambda c: current[c])
        current[chosen] -= total
        order.append(chosen)
    return order


def changes_to(current: dict[type, int], target: dict[type, int]) -> tuple[list[type], list[type]]:
    """Users to start and to stop to go from ``current`` to exactly ``target`` per class
    (what a worker does with the share its master assigns it)."""
    classes = list(dict.fromkeys([*target, *current]))
    to_add = interleave({cls: target.get(cls, 0) - current.get(cls, 0) for cls in classes})
    to_remove = interleave({cls: current.get(cls, 0) - target.get(cls, 0) for cls in classes})
    return to_add, to_remove


def split_across_workers(user_classes: Sequence[type], user_count: int,
                         worker_ids: Sequence[str]) -> dict[str, dict[type, int]]:
    """Each worker's share of ``user_count`` users: per worker, users per class.

    The run's users (:func:`distribution`) are dealt to the workers in turn, class by
    class, so the totals per class are exactly the run's (weights and ``fixed_count``
    hold across the workers), each class is spread evenly, and the workers' loads
    differ by at most one user.
    """
    if not worker_ids:
        raise ValueError("no workers to split users across")
    shares = {worker: dict.fromkeys(user_classes, 0) for worker in worker_ids}
    dealt = 0
    for cls, count in distribution(user_classes, user_count).items():
        for _ in range(count):
            shares[worker_ids[dealt % len(worker_ids)]][cls] += 1
            dealt += 1
    return shares
