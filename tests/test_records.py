"""records.Record behaves as the frozen dataclass it replaces (the standard library's
`dataclasses` is the reference): construction, defaults, errors, comparison, hashing, repr,
immutability, replace, pickling; and the syntax tree is made of records."""
from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from archdsl import records, syntax_tree
from archdsl.errors import Span


class Conv(records.Record):
    c: int
    k: int
    s: int = 1
    name: object = None


@dataclasses.dataclass(frozen=True)
class ConvDC:
    c: int
    k: int
    s: int = 1
    name: object = None


CALLS = [((64, 3), {}), ((64, 3, 2), {}), ((64,), {"k": 1}), ((), {"c": 8, "k": 1, "name": "x"}),
         ((64, 3, 2, "a"), {})]


@pytest.mark.parametrize("args,kwargs", CALLS)
def test_construction_matches_dataclass(args, kwargs):
    got, want = Conv(*args, **kwargs), ConvDC(*args, **kwargs)
    assert [getattr(got, f) for f in records.fields(got)] == \
        [getattr(want, f.name) for f in dataclasses.fields(want)]
    assert repr(got) == repr(want).replace("ConvDC", "Conv")


@pytest.mark.parametrize("args,kwargs", [((), {}), ((64,), {}), ((1, 2, 3, 4, 5), {}),
                                         ((1, 2), {"c": 3}), ((1, 2), {"bogus": 1})])
def test_bad_construction_is_a_type_error_as_for_a_dataclass(args, kwargs):
    with pytest.raises(TypeError):
        ConvDC(*args, **kwargs)
    with pytest.raises(TypeError):
        Conv(*args, **kwargs)


def test_equality_and_hashing_match_dataclass():
    pairs = [((64, 3), (64, 3)), ((64, 3), (64, 3, 1)), ((64, 3), (64, 1)), ((64, 3), (32, 3))]
    for a, b in pairs:
        assert (Conv(*a) == Conv(*b)) == (ConvDC(*a) == ConvDC(*b))
        assert (Conv(*a) != Conv(*b)) == (ConvDC(*a) != ConvDC(*b))
        if Conv(*a) == Conv(*b):
            assert hash(Conv(*a)) == hash(Conv(*b))
    assert len({Conv(64, 3), Conv(64, 3), Conv(64, 1)}) == len({ConvDC(64, 3), ConvDC(64, 3),
                                                                 ConvDC(64, 1)}) == 2
    # Another class with the same fields is not equal (a dataclass compares classes too).
    assert (Conv(64, 3) == ConvDC(64, 3)) is False


def test_frozen_as_a_dataclass():
    for obj in (Conv(64, 3), ConvDC(64, 3)):
        with pytest.raises(AttributeError):
            obj.c = 1
        with pytest.raises(AttributeError):
            del obj.k
        with pytest.raises(AttributeError):
            obj.other = 1
    assert Conv(64, 3).c == 64


def test_replace_matches_dataclasses_replace():
    got = records.replace(Conv(64, 3, 2, "a"), k=1, name=None)
    want = dataclasses.replace(ConvDC(64, 3, 2, "a"), k=1, name=None)
    assert repr(got) == repr(want).replace("ConvDC", "Conv")
    with pytest.raises(TypeError):
        dataclasses.replace(ConvDC(64, 3), bogus=1)
    with pytest.raises(TypeError):
        records.replace(Conv(64, 3), bogus=1)


def test_pickle_and_copy_round_trip():
    obj = Conv(64, 3, 2, (Conv(1, 1),))
    for back in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj), copy.copy(obj)):
        assert back == obj and back is not obj and type(back) is Conv


def test_field_order_rule_as_for_a_dataclass():
    with pytest.raises(TypeError):
        @dataclasses.dataclass(frozen=True)
        class BadDC:
            a: int = 1
            b: int
    with pytest.raises(TypeError):
        class Bad(records.Record):
            a: int = 1
            b: int


def test_a_record_class_may_not_write_its_own_init():
    with pytest.raises(TypeError):
        class Odd(records.Record):
            a: int

            def __init__(self, a):
                object.__setattr__(self, "a", a)


def test_a_derived_record_adds_its_fields_after_its_bases():
    class Base(records.Record):
        a: int

    class Derived(Base):
        b: int = 2

    Base(1)  # the base's compiled __init__ must not become the derived class's
    assert records.fields(Derived) == ("a", "b")
    assert Derived(1).b == 2 and Derived(1, 3) == Derived(a=1, b=3)
    with pytest.raises(TypeError):
        Derived()


def test_the_syntax_tree_is_records_with_spans():
    span = Span("f.arch", 1, 1, 1, 2)
    nodes = [getattr(syntax_tree, name) for name in dir(syntax_tree)
             if isinstance(getattr(syntax_tree, name), type)
             and issubclass(getattr(syntax_tree, name), records.Record)]
    assert len(nodes) >= 40
    assert syntax_tree.Name("x", span) == syntax_tree.Name("x", span)
    assert syntax_tree.Name("x", span) != syntax_tree.Name("y", span)
    assert syntax_tree.SpaceDef("s", (), (), span).kind == "space"
