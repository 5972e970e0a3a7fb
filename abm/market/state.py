"""The market's state as data: what a checkpoint stores, and how each part contributes its own.

A checkpoint is **arrays plus JSON**, never code: ``MarketModel.state()`` returns
``(arrays, meta)``, a ``dict[str, numpy.ndarray]`` (numeric arrays only, saved as ``.npz``
and loaded with ``allow_pickle=False``) and a JSON-able ``dict``; ``MarketModel.restore`` puts
them back into a model freshly built from the same scenario and seed. Nothing is unpickled,
so a run folder someone hands you cannot run code on your machine.

The protocol, for whoever adds state:

- **State follows behaviour**: an attribute lives on the object whose behaviour reads and
  writes it. The model holds the clock, the instance, the grid, the agent sets and the
  collector; each **agent set** (``MarketModel.AGENT_SETS``: ``Zones``, ``Regions``,
  ``Operators``, ``abm/market/agentset.py``) owns its agents' arrays, row i belonging to its
  agent i, and the agents read their row through a ``Column``; an agent keeps on itself only
  what is its own and ragged (a region's pending expansions).
- **Every attribute that changes during a run and is read in a later hour is declared** in the
  ``STATE`` tuple of the class that owns it: ``MarketModel.STATE`` for model-level fields,
  each agent set's ``STATE`` for the arrays it owns (stored whole under ``"<set>.<field>"``,
  e.g. ``"operators.x_mw"``), and each agent class's own ``STATE`` (``ComputeRegion``, and any
  agent type added later) for its per-agent fields. Declaring the name is all it takes; the
  values are gathered and restored by :func:`gather_owned` / :func:`scatter_owned` (a set's)
  and :func:`gather` / :func:`scatter` (per agent). Objects the model holds
  (``MarketModel.COMPONENTS``, e.g. ``grid``, the grid response) declare ``STATE`` and
  ``SCRATCH`` the same way on their class; their fields are stored as ``"grid.<field>"``. The
  placement engine stores what it carries (HiGHS's bases) through its own ``state`` /
  ``restore`` (``abm/market/engines.py``), under ``"engine.<field>"``.
- What a field may hold: a number or bool (per agent: stacked into one ``(N,)`` array under
  ``"<Class>.<field>"``; owned by a set: a 0-d array), a numpy array (per agent: stacked
  ``(N, ...)``; owned by a set: as it is), a list of numbers (per agent: ragged, stored flat
  with ``"<Class>.<field>#len"``), or, at model level, a string/number/list stored in the
  JSON. Anything else (an object, a dict) needs its own encoding in the owner's
  ``state``/``restore`` (see the HiGHS engine's bases).
- The layout has a version (:data:`VERSION`, in the JSON as ``version``): a checkpoint of
  another layout is refused with a message saying so (:func:`check_version`); change the
  number when fields move between owners.
- Attributes recomputed within every hour before they are read are declared in ``SCRATCH``
  (not stored). Everything else must be fixed for the run (built from the scenario and
  seed at construction); ``tests/test_checkpoint.py`` steps a model and fails, naming the
  attribute, if an undeclared attribute changed, so forgetting a field is a loud test error.
- Operators' strategies that learn (``Strategy.learns``) are state too: each such class
  declares its own ``STATE`` (a learning strategy without one is an error at the first
  checkpoint); their fields are stored as ``"strategy.<Class>.<field>"``.
- Restoring is strict: a checkpoint that lacks a declared field, or holds one this version
  does not know, is refused with an error naming both (:class:`StateError`), never half
  restored.
- Random state is data too: the model's numpy ``Generator`` as its ``bit_generator.state``
  (JSON) and Mesa's ``random.Random`` as ``getstate()`` (JSON); scheduled events are
  re-scheduled from the fields that describe them (a region's ``pending_mw``/``pending_at``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

Arrays = dict[str, np.ndarray]
LENGTHS = "#len"
#: the layout of the state: 1 had the market's arrays on the model, 2 on their agent sets
VERSION = 2


class StateError(ValueError):
    """A checkpoint's fields do not match what this version of the model stores."""


def gather(agents: Sequence[Any], fields: Iterable[str], prefix: str) -> Arrays:
    """Arrays ``"<prefix>.<field>"`` of ``fields`` over ``agents`` (in their order).

    Scalars and arrays are stacked along a first axis of ``len(agents)``; lists of numbers
    are stored flat with their lengths under ``"<prefix>.<field>#len"``.
    """
    out: Arrays = {}
    for name in fields:
        values = [getattr(a, name) for a in agents]
        key = f"{prefix}.{name}"
        if values and isinstance(values[0], list):
            out[key + LENGTHS] = np.array([len(v) for v in values], dtype=np.int64)
            out[key] = np.array([x for v in values for x in v], dtype=np.float64)
        else:
            try:
                out[key] = np.asarray(values)
            except ValueError:  # arrays of different shapes
                out[key] = np.empty(0, dtype=object)
            if out[key].dtype == object:
                raise StateError(f"{key}: values of type {type(values[0]).__name__} cannot be "
                                 "stored as an array; give the field its own encoding")
    return out


def scatter(agents: Sequence[Any], fields: Iterable[str], prefix: str, arrays: Arrays) -> None:
    """Set ``fields`` of ``agents`` from arrays written by :func:`gather`."""
    for name in fields:
        key = f"{prefix}.{name}"
        values = arrays[key]
        if key + LENGTHS in arrays:
            lengths = arrays[key + LENGTHS]
            if len(lengths) != len(agents) or int(lengths.sum()) != len(values):
                raise StateError(f"{key}: lengths do not match the {len(agents)} agents")
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            for a, lo, hi in zip(agents, bounds[:-1], bounds[1:], strict=True):
                setattr(a, name, [float(v) for v in values[lo:hi]])
            continue
        if len(values) != len(agents):
            raise StateError(f"{key}: {len(values)} values for {len(agents)} agents")
        for a, v in zip(agents, values, strict=True):
            setattr(a, name, v.copy() if isinstance(v, np.ndarray) else v.item())


def gather_owned(owner: Any, fields: Iterable[str], prefix: str) -> Arrays:
    """Arrays ``"<prefix>.<field>"`` of the fields ``owner`` (an agent set) owns whole: its
    arrays as they are, numbers as 0-d arrays."""
    out: Arrays = {}
    for name in fields:
        own = getattr(owner, name)
        value = np.asarray(own)
        if value.dtype == object:
            raise StateError(f"{prefix}.{name}: values of type {type(own).__name__} cannot be "
                             "stored as an array; give the field its own encoding")
        out[f"{prefix}.{name}"] = value
    return out


def scatter_owned(owner: Any, fields: Iterable[str], prefix: str, arrays: Arrays) -> None:
    """Set the fields of ``owner`` from arrays written by :func:`gather_owned` (a number stays
    a number of its type, an array is copied)."""
    for name in fields:
        value = arrays[f"{prefix}.{name}"]
        own = getattr(owner, name)
        setattr(owner, name, value.copy() if isinstance(own, np.ndarray) else type(own)(value))


def check_version(meta: dict) -> None:
    """Raise :class:`StateError` unless the state's JSON is of this layout (:data:`VERSION`)."""
    found = meta.get("version", 1) if isinstance(meta, dict) else "?"
    if found != VERSION:
        raise StateError(f"it holds the model's state in layout {found}, and this version of "
                         f"abm reads layout {VERSION}: the market's state has moved since it "
                         "was written")


def check_fields(found: Iterable[str], expected: Iterable[str], where: str) -> None:
    """Raise :class:`StateError` unless ``found`` and ``expected`` name the same fields."""
    found, expected = set(found), set(expected)
    missing, unknown = sorted(expected - found), sorted(found - expected)
    if missing or unknown:
        parts = ([f"lacks {', '.join(missing)}"] if missing else []) + (
            [f"holds fields this version does not know: {', '.join(unknown)}"] if unknown
            else [])
        raise StateError(f"{where} {'; '.join(parts)} (written by another version of the "
                         "model, or tampered with)")


def check_like(found: Arrays, expected: Arrays, where: str,
               exact: tuple[str, ...] = ("model.",)) -> None:
    """Raise :class:`StateError` unless ``found`` has ``expected``'s keys and dtypes, the
    arrays of owners stored whole (keys starting with one of ``exact``: the model's, the
    agent sets') its shapes, and per-agent fields as many rows (a field an agent fills in
    during the run may change its shape)."""
    check_fields(found, expected, where)
    for key, want in expected.items():
        got = found[key]
        if key.endswith(LENGTHS) or key + LENGTHS in expected:
            same = True  # ragged: scatter checks the lengths
        elif key.startswith(exact):
            same = got.shape == want.shape
        else:
            same = got.shape[:1] == want.shape[:1]
        if got.dtype != want.dtype or not same:
            raise StateError(f"{where} field {key} is {got.dtype}{list(got.shape)}, expected "
                             f"{want.dtype}{list(want.shape)}")
