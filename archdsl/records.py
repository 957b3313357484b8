"""Immutable value classes declared by their annotations, as `@dataclass(frozen=True)` declares
them (positional and keyword construction with defaults, comparison and hashing by fields, a
repr naming them, `replace`, `fields`), but made at almost no cost.

Why: a frozen dataclass writes and compiles five methods per class, about 0.5 ms each class;
the syntax tree's 40 classes cost a tenth of the whole `archdsl summary` process
(bench/bench_startup.py). These share one set of methods, driven by the class's `_fields`;
only `__init__` is compiled per class, on its first construction.
Instances keep their fields in `__dict__`, so pickling (the parse cache) and copying work as
for any plain object.
"""
from __future__ import annotations

from operator import attrgetter


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a record."""


class Record:
    """Base of the record classes: a subclass's annotations name its fields, in order, after
    those of the record classes it derives from; a class attribute is a field's default."""

    __slots__ = ()
    _fields: tuple = ()
    _defaults: dict = {}
    _key = staticmethod(lambda self: ())

    def __init_subclass__(cls, eq: bool = None, **kwargs):
        """`class V(Record, eq=False)`: compared and hashed by identity (as a dataclass with
        eq=False), for values that stand for one definition, not for what they hold."""
        super().__init_subclass__(**kwargs)
        if eq is False:
            cls.__eq__, cls.__hash__ = object.__eq__, object.__hash__
        own = tuple(n for n in cls.__dict__.get("__annotations__", {}) if n not in cls._fields)
        names = cls._fields + own
        defaults = dict(cls._defaults)
        defaults.update((n, cls.__dict__[n]) for n in own if n in cls.__dict__)
        after_default = [n for i, n in enumerate(names)
                         if n not in defaults and any(m in defaults for m in names[:i])]
        if after_default:  # as for a dataclass, so positional construction stays unambiguous
            raise TypeError(f"{cls.__name__}: field {after_default[0]!r} without a default "
                            f"follows one with a default")
        cls._fields, cls._defaults = names, defaults
        if "__init__" in cls.__dict__:  # the first construction replaces it (below)
            raise TypeError(f"{cls.__name__}: a record class takes its __init__ from its "
                            f"fields; compute in a function or a property instead")
        cls.__init__ = Record.__init__  # its own, even when a record class is its base
        # attrgetter of one name gives the value, of several a tuple: both compare and hash.
        cls._key = staticmethod(attrgetter(*names)) if names else Record._key

    def __init__(self, *args, **kwargs):
        # A class's first construction compiles its own __init__ (one small function, as a
        # dataclass's), so the classes a process never constructs (all of them, when every
        # file it reads comes from the parse cache) cost nothing.
        cls = type(self)
        cls.__init__ = _compiled_init(cls)
        cls.__init__(self, *args, **kwargs)

    def __setattr__(self, name, value):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._key(self) == self._key(other)
        return NotImplemented

    def __hash__(self):
        return hash(self._key(self))

    def __repr__(self):
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({inner})"


def _compiled_init(cls) -> object:
    params = [name if name not in cls._defaults else f"{name}=_defaults[{name!r}]"
              for name in cls._fields]
    body = "".join(f"    __dict__[{name!r}] = {name}\n" for name in cls._fields) or "    pass\n"
    source = f"def __init__(self, {', '.join(params)}):\n    __dict__ = self.__dict__\n{body}"
    namespace = {"_defaults": cls._defaults}
    exec(source, namespace)  # noqa: S102 the source is made of the class's field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def fields(obj) -> tuple:
    """The field names of a record (class or instance), in order."""
    return obj._fields


def is_record(obj) -> bool:
    """Whether `obj` is a record instance (not a record class)."""
    return isinstance(obj, Record)


def replace(obj: Record, **changes) -> Record:
    """A copy of `obj` with some fields changed."""
    unknown = set(changes) - set(obj._fields)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r}")
    return type(obj)(**{name: changes.get(name, getattr(obj, name)) for name in obj._fields})
