"""``@lazy_dataclass()`` behaves as ``@dataclass`` whichever method is used first."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import field

import pytest
from frontdesk import lazy_dataclasses
from frontdesk.lazy_dataclasses import lazy_dataclass


def make_classes() -> tuple[type, type, type]:
    """Fresh, unprepared classes for each test (a class is prepared once, on first use)."""

    @lazy_dataclass(frozen=True, order=True)
    class Point:
        x: int
        y: int = 0

    @lazy_dataclass()
    class Bag:
        name: str
        items: list[int] = field(default_factory=list)

    @lazy_dataclass(frozen=True)
    class Labelled(Point):
        label: str = ""

    return Point, Bag, Labelled


def test_the_first_use_is_any_method() -> None:
    Point, Bag, _ = make_classes()
    assert "__dataclass_fields__" not in Point.__dict__  # not prepared at definition
    assert Point(1, 2) == Point(1, 2)
    assert repr(Point(1)) == f"{Point.__qualname__}(x=1, y=0)"
    assert sorted([Point(2), Point(1, 5)]) == [Point(1, 5), Point(2)]
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert dataclasses.fields(Point)[1].name == "y"

    bag = Bag("a")
    bag.items.append(1)
    assert Bag("a").items == [] and bag.items == [1]  # default_factory, not shared
    with pytest.raises(TypeError, match="unhashable"):
        hash(Bag("b"))


@pytest.mark.parametrize("first", ["eq", "repr", "setattr", "hash", "replace"])
def test_an_unpickled_object_of_an_unprepared_class(first: str) -> None:
    """The model arrives unpickled, without ``__init__``: every method still works first."""
    Point, _, _ = make_classes()
    made = object.__new__(Point)
    made.__dict__.update({"x": 3, "y": 4})  # what unpickling does
    if first == "eq":
        assert made == Point(3, 4)
    elif first == "repr":
        assert repr(made).endswith("Point(x=3, y=4)")
    elif first == "setattr":
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.x = 5
    elif first == "hash":
        assert hash(made) == hash((3, 4))
    else:
        assert lazy_dataclasses.replace(made, y=9) == Point(3, 9)


def test_subclass_and_pickle_round_trip() -> None:
    _, _, Labelled = make_classes()
    thing = Labelled(1, 2, "a")
    assert copy.deepcopy(thing) == thing  # the protocol pickle uses (local classes don't pickle)
    assert [f.name for f in dataclasses.fields(thing)] == ["x", "y", "label"]
    with pytest.raises(TypeError):
        Labelled(1, 2, "a", "too many")


def test_the_model_pickles() -> None:
    from frontdesk.model import Offset

    offset = Offset("2 days", "before", "visit_on")
    assert pickle.loads(pickle.dumps(offset)) == offset


def test_a_class_with_its_own_init_is_refused() -> None:
    with pytest.raises(TypeError, match="defines __init__"):
        @lazy_dataclass()
        class Own:
            def __init__(self) -> None:
                pass
