"""scikit-learn's multinomial logistic regression (lbfgs), its matrix products on several threads.

The classifier's fits are Rasa's default solver, lbfgs, so multinomial: one coupled problem, not
per-class binary problems that could be fitted apart. Almost all of a fit is two sparse products
per iteration, ``X @ W.T`` and ``G.T @ X``. Here scikit-learn's own lbfgs path runs unchanged on
an ``X`` that computes them in blocks on threads (scipy's sparse kernels release the GIL): rows of
``X`` for the first, rows of ``X.T`` (features) for the second. Every output element is summed
by the same kernel over the same nonzeros in the same order as for the whole matrix, and the
per-sample loss has no cross-sample sum, so the fit is bit for bit the sequential one
(tests/rasa/test_parallel_fit.py compares with ``LogisticRegression.fit``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any, List, Sequence

import numpy as np
from scipy.sparse import csr_matrix, issparse
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model._logistic import _check_multi_class, _logistic_regression_path


def _row_blocks(matrix: csr_matrix, n_blocks: int) -> List[csr_matrix]:
    """``matrix`` cut into row blocks of about equal nonzeros, sharing its arrays (no copy)."""
    cuts = np.searchsorted(matrix.indptr, np.linspace(0, matrix.nnz, n_blocks + 1)[1:-1])
    bounds = [0, *sorted({int(c) for c in cuts if 0 < c < matrix.shape[0]}), matrix.shape[0]]
    blocks = []
    for start, end in pairwise(bounds):
        first, last = matrix.indptr[start], matrix.indptr[end]
        blocks.append(
            csr_matrix(
                (matrix.data[first:last], matrix.indices[first:last], matrix.indptr[start : end + 1] - first),
                shape=(end - start, matrix.shape[1]),
                copy=False,
            )
        )
    return blocks


class ThreadedProducts:
    """The ``X`` scikit-learn's ``LinearModelLoss`` needs: ``shape``, ``dtype``, ``X @ W``, ``G @ X``."""

    __array_ufunc__ = None  # numpy hands ``ndarray @ self`` to ``__rmatmul__``

    def __init__(self, matrix: csr_matrix, pool: ThreadPoolExecutor, n_blocks: int) -> None:
        self.shape = matrix.shape
        self.dtype = matrix.dtype
        self._pool = pool
        self._rows = _row_blocks(matrix, n_blocks)
        # X.T's rows in sample order: the same sums scipy makes for ``G @ X`` (csc of X.T)
        self._features = _row_blocks(matrix.T.tocsr(), n_blocks)

    @staticmethod
    def _stack(blocks: Sequence[csr_matrix], pool: ThreadPoolExecutor, other: np.ndarray) -> np.ndarray:
        other = np.ascontiguousarray(other)  # one copy for all blocks (scipy would copy per block)
        return np.vstack(list(pool.map(lambda block: block @ other, blocks)))

    def __matmul__(self, other: np.ndarray) -> np.ndarray:
        return self._stack(self._rows, self._pool, other)

    def __rmatmul__(self, other: np.ndarray) -> np.ndarray:
        return self._stack(self._features, self._pool, other.T).T


def fit(
    estimator: LogisticRegression,
    X: Any,  # noqa: N803 - scikit-learn's name
    y: Any,
    sample_weight: Any = None,
    n_jobs: int = 2,
) -> LogisticRegression:
    """``estimator.fit(X, y, sample_weight)``, on ``n_jobs`` threads where that is exact.

    Only sparse multinomial lbfgs fits run threaded; anything else is scikit-learn's own fit.
    """
    if not _threadable(estimator, X, y, n_jobs):
        return estimator.fit(X, y, sample_weight=sample_weight)
    X, y = estimator._validate_data(  # noqa: N806 - scikit-learn's own checks and n_features_in_
        X, y, accept_sparse="csr", dtype=np.float64, order="C", accept_large_sparse=True
    )
    estimator.classes_ = np.unique(y)
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        coefs, _, n_iter = _logistic_regression_path(
            ThreadedProducts(X, pool, n_jobs),
            y,
            Cs=[estimator.C],
            fit_intercept=estimator.fit_intercept,
            tol=estimator.tol,
            verbose=estimator.verbose,
            solver="lbfgs",
            multi_class="multinomial",
            max_iter=estimator.max_iter,
            class_weight=estimator.class_weight,
            check_input=False,
            random_state=estimator.random_state,
            penalty="l2",
            sample_weight=sample_weight,
            n_threads=1,  # the per-sample loss is ~1 % of a fit: no OpenMP threads to spin
        )
    coef = coefs[0]
    estimator.n_iter_ = np.asarray([n_iter[0]], dtype=np.int32)
    if estimator.fit_intercept:
        estimator.coef_, estimator.intercept_ = coef[:, :-1], coef[:, -1]
    else:
        estimator.coef_, estimator.intercept_ = coef, np.zeros(coef.shape[0])
    return estimator


def _threadable(estimator: LogisticRegression, X: Any, y: Any, n_jobs: int) -> bool:  # noqa: N803
    classes = np.unique(np.asarray(y))
    return (
        n_jobs > 1
        and issparse(X)
        and estimator.solver == "lbfgs"
        and estimator.penalty == "l2"
        and not estimator.warm_start
        and classes.size > 2
        and _check_multi_class(estimator.multi_class, "lbfgs", classes.size) == "multinomial"
    )
