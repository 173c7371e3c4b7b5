"""The response-time histogram: exact counts at three significant digits, in flat memory.

A response time (ms) is counted in its bucket: rounded to the microsecond below 1 ms, to three
significant digits above (so any percentile is within 0.5 % of the exact value). Buckets have
integer *indexes* that follow the values in order, with no gaps::

    index 0 .. 999      0.000 .. 0.999 ms   (steps of 0.001)
    index 1000 .. 1899  1.00 .. 9.99 ms     (steps of 0.01)
    index 1900 .. 2799  10.0 .. 99.9 ms     (steps of 0.1)
    index 2800 .. 3699  100 .. 999 ms       (steps of 1)
    then 900 an order of magnitude          (three significant digits)

Why not a ``{bucket: count}`` dict: a busy endpoint keeps meeting response times it has not
seen before for many minutes (its tails fill in), and each new dict bucket costs about 64 bytes
(float key, entry, count), so a 10-minute run over 200 names grew by 6.8 MB of buckets after its
first minute (bench/README.md). Here a busy endpoint's counts live in one ``array('Q')`` indexed
by bucket, 8 bytes a slot, grown to cover the buckets it has seen: the memory is reached in the
first seconds and then stays. A quiet endpoint (a few requests, or thousands of names each hit
a few times) would waste most of such an array, so buckets start in a small dict of *outliers*
and move into the array only once the array would be the smaller of the two. Outliers are
keyed by index too (a negative time, from a clock that went backwards in user code, has a
negative index: its value to the microsecond).

The class is a read-only ``Mapping`` of bucket value (ms, float) to count, as the dict it
replaces was (and as Locust's ``StatsEntry.response_times`` is): reports, the wire and user
code read it with ``items()``, ``values()``, ``dict(...)`` and ``==``.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable, Iterator, Mapping
from itertools import compress
from typing import Any

DECADE = 900
"""Buckets in an order of magnitude at three significant digits (100 .. 999)."""
INDEX_OF_1_MS = 1000
"""The first index of 1 ms; the 1,000 below it are the 0-1 ms buckets, one a microsecond."""
INDEX_OF_10_MS = 1900
INDEX_OF_100_MS = 2800
INDEX_OF_1_S = 3700
DENSE_LIMIT = INDEX_OF_1_S + 4 * DECADE
"""The array covers response times up to 10,000 s at most (58 KB): beyond, they stay outliers."""
OUTLIER_TO_SLOT_COST = 8
"""A dict bucket costs about 64 bytes, an array slot 8: the array takes over the outliers once
there is one outlier for every 8 slots it would have to add to hold them."""
GROWTH_STEP = 64
"""Slots the array grows by at least, so a slowly widening tail does not copy it every time."""
SLOT_BYTES = 8
_NO_SLOTS = array("Q")
"""The array of every histogram without one (most of 10,000 quiet endpoints): shared, so never changed
in place; an array that grows is a new one (:meth:`ResponseTimeHistogram._grow_to`)."""


def _packed(counts: array) -> int:
    """The array as one integer, slot ``i`` in bits ``64i`` to ``64i+63``.

    Integers add and subtract slot by slot when no slot carries (a count stays far below 2**63,
    and a later copy of a histogram is at least the earlier one in every slot), so summing the
    total from 200 endpoints' arrays, or taking the live window, is big-integer arithmetic in C.
    Measured: a history sample over 200 busy endpoints (500 buckets each) 5.7 ms, against 16.8 ms
    with dict buckets and 19 ms with a ``map(add, ...)`` over the slots.
    """
    if sys.byteorder == "big":
        counts = array("Q", counts)
        counts.byteswap()
    return int.from_bytes(counts, "little")


NUMPY_SUM_FROM = 32
"""Arrays summed with numpy from this many on (a run's total over many busy endpoints, sampled every
second): 200 arrays of ~2,900 slots took 13.4 ms as packed integers and 1.0 ms with numpy (issue
24); fewer are summed as packed integers, so that a small run does not pay numpy's import."""


def _summed_with_numpy(arrays: list[array], length: int) -> array:
    """The slot-by-slot sum of ``array('Q')`` arrays, ``length`` slots, added in numpy views of them."""
    numpy = _numpy()
    total = numpy["module"].zeros(length, dtype=numpy["slots"])
    for counts in arrays:
        total[: len(counts)] += numpy["module"].frombuffer(counts, dtype=numpy["slots"])
    summed = array("Q")
    summed.frombytes(total.tobytes())
    return summed


def _unpacked(value: int, length: int) -> array:
    """The array of ``length`` slots :func:`_packed` made ``value`` from."""
    counts = array("Q")
    counts.frombytes(value.to_bytes(length * SLOT_BYTES, "little"))
    if sys.byteorder == "big":
        counts.byteswap()
    return counts


_NUMPY: dict[Any, Any] = {}
"""numpy (``"module"``), its little-endian unsigned dtypes by item width and the array slots' own
(``"slots"``): made on first use, by a master only (a dtype from a string is parsed each time)."""


def numpy_dtypes() -> dict[Any, Any]:
    """numpy (``"module"``) and the dtypes the packed forms use: little-endian unsigned by item width
    (1, 2, 4, 8) and ``"slots"`` (an ``array('Q')``'s own). Imports numpy: a master's only."""
    return _numpy()


def _numpy() -> dict[Any, Any]:
    if not _NUMPY:
        import numpy

        _NUMPY.update({width: numpy.dtype(f"<u{width}") for width in (1, 2, 4, 8)})
        _NUMPY["slots"] = numpy.dtype(numpy.uint64)  # native order, as array('Q')
        _NUMPY["module"] = numpy
        _NUMPY["add"] = numpy.add
    return _NUMPY


def narrowest(values: array) -> tuple[int, bytes]:
    """``(item width, little-endian bytes)`` of counts in the narrowest unsigned type that holds them."""
    top = max(values, default=0)
    code = "B" if top < 1 << 8 else "H" if top < 1 << 16 else "I" if top < 1 << 32 else "Q"
    packed = array(code, values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.itemsize, packed.tobytes()


DENSE_SLOTS_PER_BUCKET = 5
"""A dense run costs a byte or two a slot on the wire, a msgpack ``{index: count}`` pair about four
or five: a run is sent dense while it spans at most this many slots per bucket it holds."""


def _dense_run(indexes: list[int]) -> tuple[int, int]:
    """``(low, high)``: the positions in ascending ``indexes`` of the run worth sending dense,
    trimmed at whichever end lies further from its neighbour until it is dense enough."""
    low, high = 0, len(indexes)
    while high - low > 1 and indexes[high - 1] - indexes[low] + 1 > DENSE_SLOTS_PER_BUCKET * (high - low):
        if indexes[low + 1] - indexes[low] > indexes[high - 1] - indexes[high - 2]:
            low += 1
        else:
            high -= 1
    if high - low == 1:  # one bucket alone is cheaper as a pair
        return 0, 0
    return low, high


_PACKED_TYPES = {1: "B", 2: "H", 4: "I", 8: "Q"}
"""The unsigned array types of the packed form's dense counts, by item width."""


def _packed_fields(packed: Any) -> tuple[int, int, bytes, dict[int, int]]:
    """``(first, width, dense bytes, outliers)`` of :meth:`ResponseTimeHistogram.to_packed`'s form,
    checked (a ValueError otherwise) without reading the counts."""
    try:
        first, width, dense, outliers = packed
        if width not in _PACKED_TYPES or len(dense) % width:
            raise ValueError(f"{len(dense)} bytes of {width!r}-byte counts")
        if type(first) is not int or not 0 <= first <= DENSE_LIMIT - len(dense) // width:
            raise ValueError(f"dense counts from index {first!r} are not within 0..{DENSE_LIMIT}")
        if outliers:
            array("q", outliers.keys())
            array("Q", outliers.values())
    except (TypeError, ValueError, OverflowError, AttributeError) as error:
        raise ValueError(f"a packed histogram must be [first index, 1|2|4|8, counts, {{index: count}}] ({error})") from None
    return first, width, dense, outliers


def packed_parts(packed: Any) -> tuple[int, Any, dict[int, int]]:
    """A reported histogram (:meth:`ResponseTimeHistogram.to_packed`) as ``(first index, dense counts
    as a numpy array read in place, {outlier index: count})``, for :meth:`~ResponseTimeHistogram.add_packed`
    (the master); a malformed one is refused with a ValueError, nothing added yet."""
    first, width, dense, outliers = _packed_fields(packed)
    numpy = _numpy()
    return first, numpy["module"].frombuffer(dense, dtype=numpy[width]), outliers


def bucket_index(response_time: float) -> int:
    """The index of a response time's bucket (see the module's table); negative below 0 ms."""
    if response_time < 1:
        if response_time < 0:
            return math.floor(response_time * 1000 + 0.5)
        return int(response_time * 1000 + 0.5)
    if response_time < 10:
        return int(response_time * 100 + 0.5) + (INDEX_OF_1_MS - 100)
    if response_time < 100:
        return int(response_time * 10 + 0.5) + (INDEX_OF_10_MS - 100)
    if response_time < 1000:
        return int(response_time + 0.5) + (INDEX_OF_100_MS - 100)
    if not response_time < math.inf:  # inf and nan: no bucket holds them
        raise ValueError(f"a response time must be a finite number of milliseconds, got {response_time!r}")
    exponent = int(math.log10(response_time)) - 2
    mantissa = round(response_time / 10**exponent)
    return INDEX_OF_1_S + (exponent - 1) * DECADE + (mantissa - 100)


def bucket_value(index: int) -> float:
    """The response time (ms) a bucket index stands for: :func:`bucket` of any time in the bucket."""
    if index < INDEX_OF_1_MS:
        return index / 1000
    if index < INDEX_OF_10_MS:
        return (index - (INDEX_OF_1_MS - 100)) / 100
    if index < INDEX_OF_100_MS:
        return (index - (INDEX_OF_10_MS - 100)) / 10
    if index < INDEX_OF_1_S:
        return float(index - (INDEX_OF_100_MS - 100))
    exponent, step = divmod(index - INDEX_OF_1_S, DECADE)
    return float((step + 100) * 10 ** (exponent + 1))


def bucket(response_time: float) -> float:
    """Round a response time (ms) to its bucket's value: the histogram key (microseconds below
    1 ms, three significant digits above)."""
    return bucket_value(bucket_index(response_time))


def percentile_of(histogram: Mapping[float, int], count: int, q: float) -> float:
    """Nearest-rank percentile of a histogram: the smallest bucket holding the ceil(q*n)-th value.

    Any ``{bucket: count}`` mapping: a :class:`ResponseTimeHistogram`, or a saved report's read back.
    """
    if count <= 0 or not histogram:
        return 0.0
    if not 0 <= q <= 1:
        raise ValueError(f"percentile must be between 0 and 1, got {q}")
    rank = max(1, math.ceil(q * count))
    pairs = histogram.items() if isinstance(histogram, ResponseTimeHistogram) else sorted(histogram.items())
    seen = 0
    value = 0.0
    for value, bucket_count in pairs:
        seen += bucket_count
        if seen >= rank:
            return value
    return value


class ResponseTimeHistogram(Mapping):
    """Counts of response times by bucket: a dense array of busy buckets plus a dict of outliers.

    ``counts[i]`` is bucket ``i``'s count for every ``i`` below the array's length; ``outliers``
    holds ``{index: count}`` for every other bucket with a count (past the array's end, or
    negative). The request hot path (``stats.record_request``) increments ``counts[index]``, or
    a known outlier, itself, and calls :meth:`add_index` only for a bucket seen for the first time.
    """

    __slots__ = ("_view", "counts", "outliers")

    def __init__(self, items: Mapping[float, int] | Iterable[tuple[float, int]] = ()) -> None:
        self.counts: array = _NO_SLOTS
        self.outliers: dict[int, int] = {}
        # (counts, a numpy view of it): a master adds every report's runs through it, made again only when
        # ``counts`` is a new array (an array is never resized in place here: growing makes a new one).
        self._view: tuple[array, Any] | None = None
        if items:
            self._load(items.items() if isinstance(items, Mapping) else items)

    def _load(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        """Counts from ``{ms: count}`` pairs (Locust's ``serialize()`` form; keys may be strings, after
        JSON), laid out once at the end rather than weighed bucket by bucket."""
        outliers = self.outliers
        for value, count in pairs:
            index = bucket_index(float(value))
            outliers[index] = outliers.get(index, 0) + int(count)
        self._maybe_widen()

    @classmethod
    def from_packed(cls, packed: Any) -> ResponseTimeHistogram:
        """A histogram from :meth:`to_packed`'s form (a ValueError when malformed)."""
        first, width, dense, outliers = _packed_fields(packed)
        counts = array(_PACKED_TYPES[width])
        counts.frombytes(dense)
        if sys.byteorder == "big":
            counts.byteswap()
        buckets = dict(zip(compress(range(first, first + len(counts)), counts), compress(counts, counts)))
        buckets.update((index, count) for index, count in outliers.items() if count)
        # Laid out as any histogram would lay these buckets out (no numpy: a worker rebuilds what
        # it reported this way, and must not pay for importing it).
        histogram = cls()
        histogram.outliers = buckets
        histogram._maybe_widen()
        return histogram

    @classmethod
    def from_indexes(cls, buckets: Mapping[int, int]) -> ResponseTimeHistogram:
        """A histogram from :meth:`to_indexes`' ``{index: count}`` (the workers' compact report).

        Checked in C, so a malformed report is refused whole and cheaply: every index an integer
        that fits 64 bits, every count a non-negative one.
        """
        try:
            array("q", buckets.keys())
            array("Q", buckets.values())
        except (TypeError, OverflowError, AttributeError) as error:
            raise ValueError(f"a histogram's buckets must be {{index: count}} integers ({error})") from None
        histogram = cls()
        # Left as outliers: a report is added into the master's histograms and dropped (an
        # endpoint's first report, adopted as it is, lays its array out as its next buckets come).
        outliers = dict(buckets)
        if 0 in outliers.values():
            outliers = {index: count for index, count in outliers.items() if count}
        histogram.outliers = outliers
        return histogram

    # -- counting --
    def add(self, response_time: float, count: int = 1) -> None:
        """Count ``count`` response times of ``response_time`` ms."""
        self.add_index(bucket_index(response_time), count)

    def add_index(self, index: int, count: int = 1) -> None:
        """Count into bucket ``index``: the array's slot, or an outlier (until the array would hold
        the outliers in less memory than they take)."""
        counts = self.counts
        if 0 <= index < len(counts):
            counts[index] += count
            return
        outliers = self.outliers
        known = outliers.get(index)
        if known is not None:
            outliers[index] = known + count
            return
        outliers[index] = count
        # Weighed every 8th new outlier (a sort of them): the array comes at most 8 outliers late.
        if 0 <= index < DENSE_LIMIT and len(outliers) % OUTLIER_TO_SLOT_COST == 0:
            self._maybe_widen()

    def _maybe_widen(self) -> None:
        """Grow the array over the nearest outliers once it costs less than keeping them: as far as
        the furthest outlier with enough others before it."""
        start = len(self.counts)
        cover = 0
        ahead = sorted(i for i in self.outliers if start <= i < DENSE_LIMIT)
        for held, index in enumerate(ahead, 1):
            if held * OUTLIER_TO_SLOT_COST >= index + 1 - start:
                cover = index + 1
        if cover:
            self._grow_to(min(cover + GROWTH_STEP, DENSE_LIMIT))

    def _grow_to(self, length: int) -> None:
        """Widen the array to ``length`` slots and move in the outliers it now covers."""
        start = len(self.counts)
        if length <= start:
            return
        # A new array, not extended in place: an empty one is shared (_NO_SLOTS). Growing is rare.
        counts = self.counts = self.counts + array("Q", bytes((length - start) * SLOT_BYTES))
        outliers = self.outliers
        for index in [i for i in outliers if start <= i < length]:
            counts[index] = outliers.pop(index)

    def update(self, other: Mapping[float, int]) -> None:
        """Add another histogram's counts into this one, exactly (a total, a merged worker report)."""
        if not isinstance(other, ResponseTimeHistogram):
            other = ResponseTimeHistogram(other)
        theirs = other.counts
        if theirs:
            if len(theirs) > len(self.counts):
                self._grow_to(len(theirs))
            self.counts = _unpacked(_packed(self.counts) + _packed(theirs), len(self.counts))
        self._add_outliers(other.outliers)

    def _add_outliers(self, incoming: dict[int, int], widen: bool = True) -> None:
        """Add ``{index: count}`` pairs (another histogram's outliers), inline rather than through
        :meth:`add_index`: a master adds every worker report's, mostly outliers, this way."""
        counts, outliers = self.counts, self.outliers
        size = len(counts)
        get = outliers.get
        new_outliers = False
        for index, count in incoming.items():
            if 0 <= index < size:
                counts[index] += count
            else:
                known = get(index)
                if known is None:
                    new_outliers = True
                    outliers[index] = count
                else:
                    outliers[index] = known + count
        if new_outliers and widen:
            self._maybe_widen()

    @classmethod
    def sum_of(cls, histograms: Iterable[ResponseTimeHistogram]) -> ResponseTimeHistogram:
        """The histograms added together (the total of a run's endpoints), their arrays in one sum."""
        histograms = list(histograms)
        combined = cls()
        widest = max((len(h.counts) for h in histograms), default=0)
        if widest:
            arrays = [h.counts for h in histograms if h.counts]
            if len(arrays) >= NUMPY_SUM_FROM or "numpy" in sys.modules:
                combined.counts = _summed_with_numpy(arrays, widest)
            else:
                combined.counts = _unpacked(sum(_packed(counts) for counts in arrays), widest)
        for histogram in histograms:
            combined._add_outliers(histogram.outliers, widen=False)
        if combined.outliers:
            combined._maybe_widen()  # once, not once a histogram
        return combined

    def copy(self) -> ResponseTimeHistogram:
        twin = ResponseTimeHistogram()
        twin.counts = array("Q", self.counts)
        twin.outliers = dict(self.outliers)
        return twin

    def since(self, older: ResponseTimeHistogram) -> ResponseTimeHistogram:
        """What was counted after ``older``, a copy of this histogram taken earlier (the live window)."""
        window = ResponseTimeHistogram()
        mine, theirs = self.counts, older.counts
        if len(theirs) > len(mine):  # not from this histogram's own past: lay this one out as wide first
            wider = self.copy()
            wider._grow_to(len(theirs))
            return wider.since(older)
        window.counts = _unpacked(_packed(mine) - _packed(theirs), len(mine))
        for index, count in older.outliers.items():
            if 0 <= index < len(mine):  # an outlier then, in the array since
                window.counts[index] -= count
        for index, count in self.outliers.items():
            newer = count - older.outliers.get(index, 0)
            if newer > 0:
                window.outliers[index] = newer
        return window

    # -- reading --
    def items(self) -> Iterator[tuple[float, int]]:  # type: ignore[override]
        """(value, count) of every bucket with a count, in ascending order of value."""
        outliers = self.outliers
        ordered = sorted(outliers)
        for index in ordered:
            if index >= 0:
                break
            yield bucket_value(index), outliers[index]
        counts = self.counts
        for index in compress(range(len(counts)), counts):  # the non-zero slots, skipped over in C
            yield bucket_value(index), counts[index]
        for index in ordered:
            if index >= 0:
                yield bucket_value(index), outliers[index]

    def percentile(self, count: int, q: float) -> float:
        """Nearest-rank percentile over ``count`` timed requests (see :func:`percentile_of`)."""
        return percentile_of(self, count, q)

    def total(self) -> int:
        """How many response times were counted."""
        return sum(self.counts) + sum(self.outliers.values())

    def memory_bytes(self) -> int:
        """What the counts take, roughly: the array's slots and about 64 bytes an outlier."""
        return self.counts.itemsize * len(self.counts) + 64 * len(self.outliers)

    def to_dict(self) -> dict[float, int]:
        """``{bucket value: count}``: the serialized form (reports, Locust's ``serialize()``)."""
        return dict(self.items())

    def to_indexes(self) -> dict[int, int]:
        """``{bucket index: count}``: the compact form a worker reports in (about a third of the
        bytes of :meth:`to_dict` in msgpack, built and read back without a Python step a bucket)."""
        counts = self.counts
        buckets = dict(zip(compress(range(len(counts)), counts), compress(counts, counts)))
        buckets.update(self.outliers)
        return buckets

    def to_packed(self) -> list:
        """``[first index, item width, dense counts, {outlier index: count}]``: what a worker reports.

        The bulk of the buckets as one dense run of slots from ``first``, little-endian unsigned
        integers of the narrowest width that holds them (a byte each, mostly: a report covers a
        second or a few); the buckets far from the bulk as ``{index: count}``. msgpack carries the
        run as one binary string, and the master adds it with one vectorised add
        (:meth:`add_packed`), without a Python step a bucket. Built without numpy: a worker never
        needs it (once a report interval, about 20 µs for 150 buckets).
        """
        first, dense, buckets = self.dense_parts()
        if not dense:
            return [0, 1, b"", buckets]
        width, packed = narrowest(dense)
        return [first, width, packed, buckets]

    def dense_parts(self) -> tuple[int, array, dict[int, int]]:
        """``(first index, array('Q') of the dense run's counts, {outlier index: count})``: the split
        :meth:`to_packed` sends, before its counts are narrowed (a columnar report narrows all of its
        endpoints' runs at once: ``stats.columnar_report``). No numpy: workers build it."""
        buckets = self.to_indexes()
        inside = sorted(index for index in buckets if 0 <= index < DENSE_LIMIT)
        low, high = _dense_run(inside)
        if low == high:
            return 0, array("Q"), buckets
        first = inside[low]
        dense = array("Q", bytes((inside[high - 1] + 1 - first) * SLOT_BYTES))
        for index in inside[low:high]:
            dense[index - first] = buckets.pop(index)
        return first, dense, buckets

    def add_packed(self, first: int, counts: Any, outliers: dict[int, int]) -> None:
        """Add :func:`packed_parts`' dense counts from index ``first`` and outliers (a worker's
        report): the dense run in one vectorised add into the array, grown to hold it if need be."""
        end = first + len(counts)
        numpy = _numpy()
        if end > first and end > len(self.counts):
            held = int(numpy["module"].count_nonzero(counts))
            if (held + len(self.outliers)) * OUTLIER_TO_SLOT_COST < end - len(self.counts):
                # A quiet endpoint (a few buckets, or one of 10,000 names): an array out to ``end``
                # would cost more than its buckets as outliers, as for any histogram (_maybe_widen).
                nonzero = numpy["module"].flatnonzero(counts)
                self._add_outliers(dict(zip((nonzero + first).tolist(), counts[nonzero].tolist())))
                end = first  # added
            else:
                self._grow_to(min(end + GROWTH_STEP, DENSE_LIMIT))
        if end > first:
            view = self._view
            if view is None or view[0] is not self.counts:
                view = self._view = (self.counts, numpy["module"].frombuffer(self.counts, dtype=numpy["slots"]))
            slots = view[1][first:end]
            numpy["add"](slots, counts, out=slots)  # as +=, without its dispatch (counts widened already: cheaper)
        if outliers:
            self._add_outliers(outliers if 0 not in outliers.values() else {i: c for i, c in outliers.items() if c})

    def add_index_counts(self, indexes: Any, counts: Any) -> None:
        """Add counts to bucket ``indexes`` (numpy arrays, each index once: a batch of reports' outliers
        summed per bucket): those the array holds in one vectorised add, the others as outliers."""
        numpy = _numpy()
        inside = (indexes >= 0) & (indexes < len(self.counts))
        if inside.any():
            view = self._view
            if view is None or view[0] is not self.counts:
                view = self._view = (self.counts, numpy["module"].frombuffer(self.counts, dtype=numpy["slots"]))
            view[1][indexes[inside]] += counts[inside]  # indexes unique: no add.at needed
            if inside.all():
                return
            outside = ~inside
            indexes, counts = indexes[outside], counts[outside]
        self._add_outliers(dict(zip(indexes.tolist(), counts.tolist())))

    def __getitem__(self, value: float) -> int:
        try:
            index = bucket_index(value)
        except (TypeError, ValueError):
            raise KeyError(value) from None
        if bucket_value(index) != value:
            raise KeyError(value)
        if 0 <= index < len(self.counts):
            count = self.counts[index]
            if count:
                return count
            raise KeyError(value)
        return self.outliers[index]

    def __iter__(self) -> Iterator[float]:
        return (value for value, _count in self.items())

    def __len__(self) -> int:
        return len(self.counts) - self.counts.count(0) + len(self.outliers)

    def __repr__(self) -> str:
        return f"ResponseTimeHistogram({self.to_dict()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ResponseTimeHistogram, (self.to_dict(),))
