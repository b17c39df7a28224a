"""The runnable Examples of the bootstrap's public docstrings."""

import doctest
import warnings

import pytest

from multiberts_stats import metrics, table
from multiberts_stats.bootstrap import modern, reference, results


@pytest.mark.parametrize("module", [reference, modern, results, table, metrics])
def test_docstring_examples(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert r.failed == 0
