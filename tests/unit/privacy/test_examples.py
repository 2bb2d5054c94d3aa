"""tf.Example <-> row conversion keeps types and missing values."""

from components.privacy.examples import example_to_row, feature_names, row_to_example


def test_round_trip_keeps_types_unicode_and_missing_values():
    row = {"name": "Jürgen Müller-Lüdenscheidt", "age": 67, "amount": 12.5, "notes": None, "tags": ["a", "b"]}
    back = example_to_row(row_to_example(row))
    assert back == row
    assert isinstance(back["age"], int) and isinstance(back["amount"], float)


def test_feature_names_are_sorted():
    assert feature_names(row_to_example({"b": 1, "a": "x"})) == ["a", "b"]
