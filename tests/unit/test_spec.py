"""Parameter specs: coercion from strings (warehouse/CLI), ranges, choices, unknown names."""

from __future__ import annotations

import pytest

from components.balance import SPEC
from components.errors import ParameterError
from components.spec import Param


def test_defaults_and_coercion_from_strings():
    p = SPEC.validate_params({"territories": "8", "metrics": "population,accounts",
                              "tolerance": "0.03", "link_islands": "false"})
    assert p["territories"] == 8
    assert p["metrics"] == ["population", "accounts"]
    assert p["tolerance"] == 0.03
    assert p["link_islands"] is False
    assert p["seed"] == 0 and p["time_limit"] == 60.0


def test_json_list_string():
    assert SPEC.validate_params({"territories": 2, "metrics": '["a", "b"]'})["metrics"] == ["a",
                                                                                          "b"]


def test_required_parameter_missing():
    with pytest.raises(ParameterError, match="parameter 'territories' is required"):
        SPEC.validate_params({"metrics": ["x"]})


def test_out_of_range_names_range_and_value():
    with pytest.raises(ParameterError) as err:
        SPEC.validate_params({"territories": 3, "metrics": ["x"], "tolerance": 1.5})
    assert str(err.value) == "parameter 'tolerance' must be a float in [0, 1]; got 1.5"


def test_wrong_type():
    with pytest.raises(ParameterError, match=r"parameter 'territories' must be an int in "
                                             r"\[1, inf\); got 'ten'"):
        SPEC.validate_params({"territories": "ten", "metrics": ["x"]})


def test_bad_choice_suggests():
    with pytest.raises(ParameterError, match="did you mean 'haversine'"):
        SPEC.validate_params({"territories": 3, "metrics": ["x"], "distance": "haversin"})


def test_unknown_parameter_suggests():
    with pytest.raises(ParameterError, match="no parameter 'tolerence'; did you mean 'tolerance'"):
        SPEC.validate_params({"territories": 3, "metrics": ["x"], "tolerence": 0.1})


def test_exclusive_minimum():
    p = Param("t", "float", "time", minimum=0.0, exclusive_minimum=True)
    with pytest.raises(ParameterError, match=r"\(0, inf\)"):
        p.coerce(0)
    assert p.coerce("2.5") == 2.5


def test_nan_and_bool_are_not_numbers():
    p = Param("x", "float", "x")
    with pytest.raises(ParameterError):
        p.coerce(float("nan"))
    with pytest.raises(ParameterError):
        Param("n", "int", "n").coerce(True)


def test_json_schema_mirrors_params():
    schema = SPEC.json_schema()
    assert schema["required"] == ["territories", "metrics"]
    assert schema["properties"]["tolerance"] == {
        "description": SPEC.param("tolerance").help, "type": "number", "minimum": 0.0,
        "maximum": 1.0, "default": 0.05}
    assert schema["properties"]["distance"]["enum"] == ["euclidean", "haversine", "network"]
