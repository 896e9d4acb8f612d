"""The blocked kernels of axioms/divergences.py at the sizes they are built for.

Against a straightforward reference (``math.fsum`` over ``a_i log(a_i/b_i)`` per row),
to ``1e-12`` relative to the condition scale of each sum, on random, near-zero, zero
and one-hot rows, for ``K`` below, at and above the block sizes (8192 columns per dot,
32768 per segment); the streaming API agrees with the batch API bit for bit, and its
working memory does not grow with the number of rows.
"""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from distillproof.axioms import divergences as dv

RTOL = 1e-12
SIZES = [2, 7, 300, 8192, 8193, 40000, 70001]


def ref_kl(a, b, *, logs=False):
    """``(value, scale)``: ``KL(a||b)`` by fsum, and what a float evaluation may lose;
    with ``logs``, each term from ``log a - log b`` (``a / b`` may overflow or
    underflow)."""
    terms, scale = [], 0.0
    for x, y in zip(a.tolist(), b.tolist()):
        if x == 0:
            continue
        if y == 0:
            return math.inf, math.inf
        t = x * (math.log(x) - math.log(y) if logs else math.log(x / y))
        terms.append(t)
        scale += abs(t) + x * (abs(math.log(x)) + abs(math.log(y)))
    return math.fsum(terms), scale


def ref_entropy(a):
    return -math.fsum(x * math.log(x) for x in a.tolist() if x > 0)


def agree(got, ref) -> bool:
    value, scale = ref
    if math.isinf(value):
        return got == value
    return abs(got - value) <= RTOL * max(abs(value), scale) + 1e-300


def rows(k, n=4, seed=0):
    """Random rows plus boundary rows: near-zero components, exact zeros, one-hot."""
    rng = np.random.default_rng(seed + k)
    x = rng.dirichlet(np.full(k, 0.5), n)
    near = rng.dirichlet(np.ones(k))
    near[rng.random(k) < 0.3] *= 1e-200
    zeros = rng.dirichlet(np.ones(k))
    zeros[rng.random(k) < 0.3] = 0.0
    zeros[0] = max(zeros[0], 0.1)
    one_hot = np.zeros(k)
    one_hot[k // 2] = 1.0
    out = np.vstack([x, near, zeros, one_hot])
    return out / out.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("k", SIZES)
def test_kl_and_entropy_match_the_reference(k):
    a, b = rows(k, seed=1), rows(k, seed=2)[::-1].copy()
    got_ab, got_ba = dv.kl(a, b), dv.kl(b, a)
    for i in range(len(a)):
        assert agree(got_ab[i], ref_kl(a[i], b[i])), (k, i)
        assert agree(got_ba[i], ref_kl(b[i], a[i])), (k, i)
        assert agree(dv.entropy(a)[i], (ref_entropy(a[i]), abs(ref_entropy(a[i])) + 1e-300))
    assert dv.kl(a[0], a[0]) == 0.0


@pytest.mark.parametrize("k", SIZES)
@pytest.mark.parametrize("kind", ["kl_forward", "kl_reverse"])
def test_anchored_ratios_match_the_reference(k, kind):
    rng = np.random.default_rng(k)
    p = rng.dirichlet(np.ones(k))
    q = rows(k, seed=3)
    q[0] = p                                          # the anchor itself: 0/0
    mq = 0.3 * p + 0.7 * q
    num, den = dv.contraction_ratios(kind, p, q, mq, parts=True)
    for i in range(len(q)):
        if kind == "kl_forward":
            rn, rd = ref_kl(p, mq[i]), ref_kl(p, q[i])
        else:
            rn, rd = ref_kl(mq[i], p), ref_kl(q[i], p)
        assert agree(num[i], rn) and agree(den[i], rd), (k, kind, i, num[i], rn, den[i], rd)
    assert den[0] == 0.0                              # exactly: log p computed once, reused
    ratio = dv.contraction_ratios(kind, p, q, mq)
    finite = np.isfinite(ratio) & (den > 1e-8)
    assert np.all(ratio[finite] <= 0.7 + 1e-9)      # arithmetic anchoring: κ = 1 - α


@pytest.mark.parametrize("k", [5, 9000, 70001])
@pytest.mark.parametrize("kind", dv.RATIO_KINDS)
def test_streaming_equals_batch_bit_for_bit(k, kind):
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(k))
    q, q2 = rows(k, n=9, seed=4), rows(k, n=9, seed=5)
    mq, mq2 = 0.4 * p + 0.6 * q, 0.4 * p + 0.6 * q2
    whole = dv.contraction_ratios(kind, p, q, mq, q2, mq2)
    parts = ((q[i:i + 5], mq[i:i + 5], q2[i:i + 5], mq2[i:i + 5]) if kind == "kl_pairwise"
             else (q[i:i + 5], mq[i:i + 5]) for i in range(0, len(q), 5))
    streamed = dv.contraction_check_stream(kind, p, parts)
    np.testing.assert_array_equal(streamed, whole)
    for chunk in (1, 3):
        np.testing.assert_array_equal(dv.contraction_ratios(kind, p, q, mq, q2, mq2, chunk=chunk),
                                      whole)


@pytest.mark.parametrize("k", SIZES)
def test_pairwise_ratios_match_the_reference(k):
    """MT3p ``KL(mq||mq2) / KL(q||q2)``: no anchor, so each element needs the ratio; the
    boundary rows give ``0 log 0`` terms, ``+inf`` (a zero of the second row under a
    positive first) and rows equal to themselves (``0/0``)."""
    q, q2 = rows(k, seed=10), rows(k, seed=11)[::-1].copy()
    q2[1] = q[1]                                      # KL(q||q) = 0 exactly
    p = np.random.default_rng(k).dirichlet(np.ones(k))
    mq, mq2 = 0.3 * p + 0.7 * q, 0.3 * p + 0.7 * q2
    num, den = dv.contraction_ratios("kl_pairwise", None, q, mq, q2, mq2, parts=True)
    for i in range(len(q)):
        assert agree(num[i], ref_kl(mq[i], mq2[i])), (k, i, num[i])
        assert agree(den[i], ref_kl(q[i], q2[i])), (k, i, den[i])
    assert num[1] == 0.0 and den[1] == 0.0


@pytest.mark.parametrize("k", [6, 300, 40000, 70001])
def test_kl_conventions_on_short_and_long_rows(k):
    """Zeros, ``+inf``, and ratios ``a_i / b_i`` that overflow (``b_i`` subnormal) or
    underflow (``b_i > 1``), wherever they fall in a row (first, last, inside a piece)."""
    rng = np.random.default_rng(k)
    a, b = rng.dirichlet(np.ones(k), 6), rng.dirichlet(np.ones(k), 6)
    last = k - 1
    a[0, [0, last]], b[0, [0, last]] = 0.0, 0.0          # 0 log(0/0) = 0
    a[1, 3], b[1, 3] = 0.0, 0.5                           # 0 log(0/b) = 0
    b[2, last] = 0.0                                      # b_i = 0 < a_i: +inf
    a[3, k // 2], b[3, k // 2] = 0.25, 1e-310             # a / b overflows
    a[4, 2], b[4, 2] = 5e-324, 2.5                        # a / b underflows to 0
    a[5, [1, last]], b[5, [1, last]] = 0.0, [1e-310, 0.0]
    with np.errstate(over="ignore", under="ignore"):
        assert a[3, k // 2] / b[3, k // 2] == math.inf and a[4, 2] / b[4, 2] == 0.0
    got = dv.kl(a, b)
    for i in range(len(a)):
        assert agree(got[i], ref_kl(a[i], b[i], logs=True)), (k, i, got[i])
    assert got[2] == math.inf and np.isfinite(got[[0, 1, 3, 4, 5]]).all()
    for chunk in (1, 4):
        np.testing.assert_array_equal(dv.kl(a, b, chunk=chunk), got)
    np.testing.assert_array_equal([dv.kl(x, y) for x, y in zip(a, b)], got)


@pytest.mark.parametrize("k", [3, 8192, 16385, 32768, 32769, 70001])
@pytest.mark.parametrize("kind", dv.RATIO_KINDS)
def test_results_do_not_depend_on_the_blocking(k, kind):
    """Bit for bit: any ``chunk``, row by row, and a broadcast operand, at the block
    boundaries (one piece and a 1-column rest, exactly one segment, one column more)."""
    rng = np.random.default_rng(k + 1)
    p = rng.dirichlet(np.ones(k))
    q, q2 = rows(k, n=7, seed=12), rows(k, n=7, seed=13)
    mq, mq2 = 0.4 * p + 0.6 * q, 0.4 * p + 0.6 * q2
    num, den = dv.contraction_ratios(kind, p, q, mq, q2, mq2, parts=True)
    for chunk in (1, 2, 5, 64):
        got = dv.contraction_ratios(kind, p, q, mq, q2, mq2, chunk=chunk, parts=True)
        np.testing.assert_array_equal(got[0], num)
        np.testing.assert_array_equal(got[1], den)
    for i in range(len(q)):
        one = dv.contraction_ratios(kind, p, q[i], mq[i], q2[i], mq2[i], parts=True)
        assert (one[0], one[1]) == (num[i], den[i]), (kind, k, i)
    whole = dv.kl(q, mq2)
    np.testing.assert_array_equal(dv.kl(q, mq2, chunk=3), whole)
    np.testing.assert_array_equal(dv.kl(q[2], mq2), dv.kl(np.broadcast_to(q[2], q.shape), mq2))
    np.testing.assert_array_equal(dv.kl(q, mq2[4]), [dv.kl(x, mq2[4]) for x in q])


@pytest.mark.parametrize("k", [300, 40000])
def test_results_do_not_depend_on_where_the_rows_sit(k):
    """The scratch is placed by the operands' addresses (mod 4096); the sums are not:
    the same rows copied 8..56 bytes further into a line give the same bits."""
    rng = np.random.default_rng(k)
    p, q, q2 = rng.dirichlet(np.ones(k)), rows(k, seed=14), rows(k, seed=15)
    want = {kind: dv.contraction_ratios(kind, p, q, q2, q2, q, parts=True)
            for kind in dv.RATIO_KINDS}
    for shift in (1, 3, 6):
        buf, pbuf = np.empty(q.size + 8), np.empty(k + 8)
        qs, ps = buf[shift:shift + q.size].reshape(q.shape), pbuf[shift:shift + k]
        qs[:], ps[:] = q, p
        for kind in dv.RATIO_KINDS:
            got = dv.contraction_ratios(kind, ps, qs, q2, q2, qs, parts=True)
            np.testing.assert_array_equal(got[0], want[kind][0])
            np.testing.assert_array_equal(got[1], want[kind][1])


def test_pairwise_and_metric_kernels_on_long_rows():
    k = 40000
    a, b = rows(k, seed=8), rows(k, seed=9)
    tv = dv.tv(a, b)
    hel = dv.hellinger2(a, b)
    for i in range(len(a)):
        assert tv[i] == pytest.approx(0.5 * math.fsum(np.abs(a[i] - b[i]).tolist()), rel=1e-12)
        ref = 0.5 * math.fsum(((np.sqrt(a[i]) - np.sqrt(b[i])) ** 2).tolist())
        assert hel[i] == pytest.approx(ref, rel=1e-12)
    inner = a[0] > 0
    want = np.log(a[0][inner] / b[0][inner])
    assert dv.hilbert(a[0], b[0]) == (math.inf if np.any(b[0][inner] == 0) else
                                      pytest.approx(want.max() - want.min(), rel=1e-12))


def test_streaming_memory_does_not_grow_with_rows():
    """Working memory of a streamed check is one batch plus a block, for 16 or 64 rows."""
    k, batch = 50000, 4
    p = np.random.default_rng(0).dirichlet(np.ones(k))

    def peak(n):
        def gen():
            rng = np.random.default_rng(1)
            for _ in range(n // batch):
                q = rng.dirichlet(np.ones(k), batch)
                yield q, 0.5 * p + 0.5 * q
        tracemalloc.start()
        dv.contraction_check_stream("kl_forward", p, gen())
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top
    small, large = peak(16), peak(64)
    assert large < small * 1.25 + (1 << 20)
    assert large < 16 * batch * k * 8               # far below holding all rows


def test_samplers_are_seeded_and_climb_never_passes_the_proved_constant():
    """checker/_sampling.py: ``near_point`` stays near its centre; ``climb`` (the
    adversarial sampler) raises the MT3 ratio of geometric anchoring toward its proved
    bound ``1 - alpha`` and, with the kernels, never above it."""
    from distillproof.checker._sampling import climb, dirichlet, near_point
    rng = np.random.default_rng(3)
    p = np.array([0.5, 0.3, 0.2])
    near = near_point(rng, 200, p, scales=(1e-4, 1e-3))
    assert np.all(np.abs(near - p).max(axis=1) < 1e-2) and np.allclose(near.sum(axis=1), 1)
    np.testing.assert_array_equal(dirichlet(np.random.default_rng(1), 4, 3),
                                  dirichlet(np.random.default_rng(1), 4, 3))
    alpha = 0.3

    def ratio(q):
        m = p ** alpha * q ** (1 - alpha)
        return dv.contraction_ratios("kl_forward", p, q, m / m.sum(axis=1, keepdims=True))
    start = dirichlet(np.random.default_rng(2), 8, 3)
    rows_, best = climb(ratio, start, np.random.default_rng(4), steps=30)
    assert np.all(best >= ratio(start) - 1e-15)
    assert best.max() <= 1 - alpha + 1e-9 and best.max() > 0.5
    again = climb(ratio, start, np.random.default_rng(4), steps=30)
    np.testing.assert_array_equal(again[1], best)
