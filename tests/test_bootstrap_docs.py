"""The runnable Examples of the public docstrings of the bootstrap, the table and the metrics."""

import doctest
import warnings

import pytest

from multiberts_stats import metrics, table
from multiberts_stats.metrics import point
from multiberts_stats.table import codes, convert, matrix, schema, validate
from multiberts_stats.bootstrap import modern, reference, results


@pytest.mark.parametrize("module", [reference, modern, results, table, metrics, point, codes, convert,
                                    matrix, schema, validate])
def test_docstring_examples(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert r.failed == 0
