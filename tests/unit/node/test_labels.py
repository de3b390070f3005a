"""Node labels from VMAFX_NODE_LABELS."""

from __future__ import annotations

import pytest

from vmafx.errors import ConfigError
from vmafx.node.labels import format_labels, parse_labels


def test_pairs_become_a_mapping():
    assert parse_labels("tier=heavy,site=zampp2") == {"tier": "heavy", "site": "zampp2"}


def test_spaces_and_empty_items_are_tolerated():
    assert parse_labels(" tier = heavy , ,gpu=l4, ") == {"tier": "heavy", "gpu": "l4"}


@pytest.mark.parametrize("text", [None, "", " , "])
def test_unset_or_empty_means_no_labels(text):
    assert parse_labels(text) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tier", "label 'tier' has no '=' value"),
        ("tier=", "label value '' in 'tier=' is not valid"),
        ("=heavy", "label key '' in '=heavy' is not valid"),
        ("tier=heavy gpu", "label value 'heavy gpu'"),
        ("tier=a=b", "label value 'a=b'"),
        ("-x=1", "label key '-x'"),
        ("tier=heavy,tier=light", "label 'tier' is given twice ('heavy' and 'light')"),
    ],
)
def test_malformed_labels_are_config_errors_that_name_the_problem(text, message):
    with pytest.raises(ConfigError) as info:
        parse_labels(text)
    assert message in str(info.value)
    assert "VMAFX_NODE_LABELS" in str(info.value)


def test_formatting_is_the_inverse_of_parsing():
    labels = {"site": "zampp2", "tier": "heavy"}
    assert parse_labels(format_labels(labels)) == labels
    assert format_labels(labels) == "site=zampp2,tier=heavy"
