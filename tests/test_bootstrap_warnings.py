"""Warnings and errors of the bootstrap: classes a user can filter, each shown once per call."""

import warnings

import numpy as np
import pandas as pd
import pytest

from multiberts_stats.bootstrap import BootstrapInputError, BootstrapTypeError, MatrixRuns, multiboot
from multiberts_stats.errors import (FewSeedsWarning, InputError, InputTypeError,
                                     MultibertsStatsWarning)


def _side(n_seeds, n_runs=2, n_ex=40, p=0.8, seed=0):
    labels = np.random.default_rng(99).integers(0, 2, n_ex)
    rng = np.random.default_rng(seed)
    preds = np.where(rng.random((n_seeds * n_runs, n_ex)) < p, labels, 1 - labels)
    info = pd.DataFrame({"pretrain_seed": np.repeat(np.arange(n_seeds), n_runs)})
    return MatrixRuns(info, preds, labels)


def test_error_classes_share_the_package_base():
    assert issubclass(BootstrapInputError, InputError) and issubclass(BootstrapInputError, ValueError)
    assert issubclass(BootstrapTypeError, InputTypeError) and issubclass(BootstrapTypeError, TypeError)


def test_few_seeds_warning_is_a_class_shown_once():
    base, expt = _side(5), _side(5, p=0.82, seed=1)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = multiboot(base, expt, design="unpaired", nboot=50, rng=0)
    few = [w for w in rec if issubclass(w.category, FewSeedsWarning)]
    assert len(few) == 1 and issubclass(few[0].category, MultibertsStatsWarning)
    assert few[0].filename == __file__  # points at the caller
    assert len(res.warnings) == len(set(res.warnings))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", FewSeedsWarning)
        multiboot(base, nboot=20, rng=0)  # filtered by class: no error
    with pytest.warns(FewSeedsWarning):
        multiboot(base, nboot=20, rng=0)
