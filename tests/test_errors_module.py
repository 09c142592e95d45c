"""twin.errors: one base class, and every error is also the matching builtin."""

from __future__ import annotations

import pytest

from twin import errors

BUILTIN = {
    "InputFileNotFoundError": FileNotFoundError,
    "NotOSMError": ValueError,
    "EmptyNetworkError": ValueError,
    "DisconnectedNetworkError": ValueError,
    "OverpassError": ConnectionError,
    "DEMError": ValueError,
    "OutsideNetworkError": ValueError,
    "UnknownNodeError": KeyError,
    "UnknownEdgeError": KeyError,
    "NoRouteError": ValueError,
    "LayerError": ValueError,
    "ScenarioError": ValueError,
    "ArgumentError": ValueError,
    "OutputError": OSError,
}


def subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | subclasses(sub)
    return out


def test_all_lists_every_error() -> None:
    defined = {c.__name__ for c in subclasses(errors.TwinError) if c.__module__ == "twin.errors"}
    assert defined | {"TwinError"} == set(errors.__all__)
    assert set(BUILTIN) == defined


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_error_is_twin_error_and_builtin(name: str) -> None:
    cls = getattr(errors, name)
    exc = cls("what was wrong. What to do.")
    assert isinstance(exc, errors.TwinError)
    assert isinstance(exc, BUILTIN[name])
    assert str(exc) == "what was wrong. What to do."  # KeyError's quoting is undone
    with pytest.raises(BUILTIN[name]):
        raise exc
    with pytest.raises(errors.TwinError):
        raise cls("again")


def test_twin_error_is_not_a_bare_exception_alias() -> None:
    assert errors.TwinError is not Exception
    assert not issubclass(errors.TwinError, (ValueError, KeyError, OSError))
