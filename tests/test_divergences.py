"""The batched kernels of axioms/divergences.py against a plain scalar reference.

The reference below is the textbook definition written as a Python loop over
``math.log``; it exists only here.  Agreement is ``1e-12`` relative to the condition
scale of each sum (``sum |term|``; for sums of nonnegative terms that is the value
itself), exact on zeros and infinities.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillproof.axioms import divergences as dv
from strategies import simplex, simplex_pair

RTOL = 1e-12


# --- reference: one pair of vectors, pure Python ---------------------------------------
def ref_kl(a, b):
    s, scale = 0.0, 0.0
    for x, y in zip(a, b):
        if x == 0:
            continue
        if y == 0:
            return math.inf, math.inf
        # what a float evaluation of this sum can lose: each term to eps relative,
        # and log a, log b each to eps * |log| (the anchored kernels use log a - log b)
        s += x * math.log(x / y)
        scale += abs(x * math.log(x / y)) + x * (abs(math.log(x)) + abs(math.log(y)))
    return s, scale


def ref_tv(a, b):
    s = 0.5 * sum(abs(x - y) for x, y in zip(a, b))
    return s, s


def ref_chi2(a, b):
    s = 0.0
    for x, y in zip(a, b):
        if y == 0:
            if x > 0:
                return math.inf, math.inf
            continue
        s += (x - y) / y * (x - y)       # (x - y)**2 underflows for differences < 1e-154
    return s, s


def ref_hellinger2(a, b):
    s = 0.5 * sum((math.sqrt(x) - math.sqrt(y)) ** 2 for x, y in zip(a, b))
    return s, s


def ref_hilbert(a, b):
    logs = []
    for x, y in zip(a, b):
        if (x == 0) != (y == 0):
            return math.inf, math.inf
        if x > 0:
            logs.append(math.log(x / y))
    if not logs:
        return math.nan, math.nan
    return max(logs) - min(logs), max(abs(v) for v in logs)


def ref_entropy(a):
    s = -sum(x * math.log(x) for x in a if x > 0)
    return s, abs(s)


def agree(got, ref):
    value, scale = ref
    got = float(got)
    if math.isinf(value) or math.isnan(value):
        return got == value or (math.isnan(value) and math.isnan(got))
    return abs(got - value) <= RTOL * max(abs(value), scale) + 1e-300


KERNELS = [(dv.kl, ref_kl), (dv.tv, ref_tv), (dv.chi2, ref_chi2),
           (dv.hellinger2, ref_hellinger2), (dv.hilbert, ref_hilbert)]


# --- properties over the simplex -------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(simplex_pair())
def test_pair_kernels_match_reference(pair):
    a, b = pair
    for kernel, ref in KERNELS:
        assert agree(kernel(a, b), ref(a, b)), (kernel.__name__, a, b)
        assert agree(kernel(b, a), ref(b, a)), (kernel.__name__, b, a)


@settings(max_examples=200, deadline=None)
@given(simplex())
def test_entropy_matches_reference(a):
    assert agree(dv.entropy(a), ref_entropy(a))


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 9).flatmap(lambda k: st.lists(simplex_pair(k), min_size=1, max_size=7)),
       st.integers(1, 4))
def test_batched_equals_rowwise_in_any_chunking(pairs, chunk):
    a = np.stack([p[0] for p in pairs])
    b = np.stack([p[1] for p in pairs])
    for kernel, _ in KERNELS:
        whole = kernel(a, b)
        chunked = kernel(a, b, chunk=chunk)
        rows = np.array([kernel(x, y) for x, y in zip(a, b)])
        np.testing.assert_array_equal(whole, chunked)
        np.testing.assert_array_equal(whole, rows)


# --- fixed cases: random, near-zero, zero and one-hot ------------------------------------
def _random_pairs(k, n=64, seed=0, conc=1.0):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(k, conc), n), rng.dirichlet(np.full(k, conc), n)


@pytest.mark.parametrize("k", [2, 3, 17, 1000])
@pytest.mark.parametrize("conc", [0.2, 1.0, 5.0])
def test_random_batches_plain_relative(k, conc):
    a, b = _random_pairs(k, conc=conc, seed=k)
    a, b = np.maximum(a, 1e-300), np.maximum(b, 1e-300)
    for kernel, ref in KERNELS:
        got = kernel(a, b)
        for g, x, y in zip(got, a, b):
            value, scale = ref(list(x), list(y))
            assert agree(g, (value, scale))
            if kernel is not dv.kl:
                assert abs(g - value) <= RTOL * abs(value)


def test_zero_and_infinity_conventions():
    e0, e1 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    u = np.full(3, 1 / 3)
    assert dv.kl(e0, u) == pytest.approx(math.log(3), rel=1e-15)
    assert dv.kl(u, e0) == math.inf
    assert dv.kl(e0, e0) == 0.0
    assert dv.chi2(e0, e0) == 0.0 and dv.chi2(u, e0) == math.inf
    assert dv.tv(e0, e1) == 1.0 and dv.hellinger2(e0, e1) == 1.0
    assert dv.hilbert(e0, e1) == math.inf and dv.hilbert(u, e0) == math.inf
    assert dv.hilbert(e0, e0) == 0.0 and dv.hilbert(u, u) == 0.0
    assert dv.hilbert(np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.75, 0.0])) == \
        pytest.approx(math.log(3), rel=1e-15)
    assert dv.entropy(e0) == 0.0 and not math.copysign(1, dv.entropy(e0)) < 0
    assert dv.entropy(u) == pytest.approx(math.log(3), rel=1e-15)


def test_shapes_and_broadcasting():
    a, b = _random_pairs(5, n=12)
    a3, b3 = a.reshape(3, 4, 5), b.reshape(3, 4, 5)
    assert dv.kl(a3, b3).shape == (3, 4)
    np.testing.assert_array_equal(dv.kl(a3, b3).ravel(), dv.kl(a, b))
    np.testing.assert_array_equal(dv.kl(a[0], b), dv.kl(np.broadcast_to(a[0], b.shape), b))
    assert np.ndim(dv.kl(a[0], b[0])) == 0
    with pytest.raises(ValueError):
        dv.kl(np.ones(3) / 3, np.ones(4) / 4)


# --- contraction ratios -------------------------------------------------------------------
def _ratio_ref(kind, p, q, mq, q2=None, mq2=None):
    if kind == "kl_forward":
        num, den = ref_kl(p, mq), ref_kl(p, q)
    elif kind == "kl_reverse":
        num, den = ref_kl(mq, p), ref_kl(q, p)
    else:
        num, den = ref_kl(mq, mq2), ref_kl(q, q2)
    return num, den


@pytest.mark.parametrize("kind", dv.RATIO_KINDS)
@pytest.mark.parametrize("k", [2, 3, 50])
def test_contraction_ratios_match_reference(kind, k):
    rng = np.random.default_rng(k)
    p = rng.dirichlet(np.ones(k))
    q, q2 = rng.dirichlet(np.ones(k), 40), rng.dirichlet(np.full(k, 0.3), 40)
    q[0] = p                                       # 0/0: undefined
    q[1, 0] = 0.0                                  # a zero component: KL(p||q) = inf
    q[1] /= q[1].sum()
    alpha = 0.3
    mq, mq2 = alpha * p + (1 - alpha) * q, alpha * p + (1 - alpha) * q2
    for anchor in (p, np.broadcast_to(p, q.shape)):   # precomputed and batched anchors
        num, den = dv.contraction_ratios(kind, anchor, q, mq, q2, mq2, parts=True, chunk=7)
        ratio = dv.contraction_ratios(kind, anchor, q, mq, q2, mq2)
        for i in range(len(q)):
            rnum, rden = _ratio_ref(kind, p, q[i], mq[i], q2[i], mq2[i])
            assert agree(num[i], rnum) and agree(den[i], rden), (kind, i)
            if rden[0] > 0 and math.isfinite(rden[0]):
                want = rnum[0] / rden[0]
                tol = RTOL * (rnum[1] / max(rnum[0], 1e-300) + rden[1] / rden[0]) * abs(want)
                assert abs(ratio[i] - want) <= tol + 1e-300
    # arithmetic anchoring contracts by at most 1 - alpha in every direction (THEORY §5.1)
    finite = np.isfinite(ratio)
    assert np.all(ratio[finite] <= 1 - alpha + 1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 9).flatmap(lambda k: st.lists(st.tuples(simplex_pair(k), simplex_pair(k)),
                                                    min_size=1, max_size=6)),
       st.integers(1, 4), st.sampled_from(dv.RATIO_KINDS))
def test_contraction_parts_match_reference_in_any_chunking(quads, chunk, kind):
    """Numerator and denominator of every kind on simplex rows (zeros, near-zeros,
    vertices, equal rows): the scalar reference, and bit for bit the same whatever the
    blocking (batched, chunked, row by row)."""
    q, q2 = np.stack([x[0][0] for x in quads]), np.stack([x[1][0] for x in quads])
    mq, mq2 = np.stack([x[0][1] for x in quads]), np.stack([x[1][1] for x in quads])
    p = q2[0]
    num, den = dv.contraction_ratios(kind, p, q, mq, q2, mq2, parts=True)
    chunked = dv.contraction_ratios(kind, p, q, mq, q2, mq2, parts=True, chunk=chunk)
    np.testing.assert_array_equal(chunked[0], num)
    np.testing.assert_array_equal(chunked[1], den)
    for i in range(len(q)):
        # + 1 in the scale: sum_i a_i * eps, the rounding of the quotients a_i / b_i (in
        # the reference as in the kernels); it shows near vertices, where the logs vanish
        rnum, rden = [(v, s + 1.0) for v, s in _ratio_ref(kind, p, q[i], mq[i], q2[i], mq2[i])]
        assert agree(num[i], rnum) and agree(den[i], rden), (kind, i, num[i], rnum, den[i], rden)
        one = dv.contraction_ratios(kind, p, q[i], mq[i], q2[i], mq2[i], parts=True)
        assert (one[0], one[1]) == (num[i], den[i])


def test_contraction_ratio_conventions():
    p = np.array([0.5, 0.5, 0.0])                 # an anchor on a face
    q = np.array([[0.25, 0.75, 0.0], [0.5, 0.5, 0.0], [0.2, 0.2, 0.6]])
    mq = 0.5 * p + 0.5 * q
    fwd = dv.contraction_ratios("kl_forward", p, q, mq)
    assert math.isfinite(fwd[0]) and math.isnan(fwd[1])
    assert fwd[2] == pytest.approx(dv.kl(p, mq[2]) / dv.kl(p, q[2]), rel=1e-12)
    rev_num, rev_den = dv.contraction_ratios("kl_reverse", p, q, mq, parts=True)
    assert rev_den[2] == math.inf and rev_num[2] == math.inf and rev_den[1] == 0.0
    with pytest.raises(ValueError):
        dv.contraction_ratios("kl_pairwise", p, q, mq)
    with pytest.raises(ValueError):
        dv.contraction_ratios("kl_sideways", p, q, mq)


def test_streaming_matches_single_pass_on_a_larger_batch():
    rng = np.random.default_rng(7)
    k = 4096
    p = rng.dirichlet(np.ones(k))
    q = rng.dirichlet(np.ones(k), 64)
    mq = 0.4 * p + 0.6 * q
    whole = dv.contraction_ratios("kl_forward", p, q, mq, chunk=64)
    streamed = dv.contraction_ratios("kl_forward", p, q, mq, chunk=5)
    np.testing.assert_allclose(streamed, whole, rtol=1e-13)
    assert dv.default_chunk(k) * k * 8 <= dv.CHUNK_BYTES
