"""Agent sets that own their agents' state as numpy arrays (docs/extending.md, "Where state
lives").

The pattern of Mesa 4's ``NumpyAgentDataSet``, taken without its experimental import: an
:class:`ArrayAgentSet` holds one array per field, row ``i`` belonging to its agent of
``index`` i, so that behaviour that runs for every agent at once (forecasts, costs, the
first-come walk, clearing every zone) is one vectorised operation on the set; the agents keep
their per-agent behaviour, and read and write their own row through a :class:`Column`
(``region.capacity_mw`` is ``model.regions.capacity_mw[region.index]``), so reporters and
strategies see plain agent attributes.

What a set stores in a checkpoint is declared on the set (``STATE``, ``SCRATCH``, as for
agents: ``abm/market/state.py``); its fields are stored as ``"<name>.<field>"`` under the
attribute the model holds it in (``operators``, ``regions``, ``zones``).
"""

from __future__ import annotations

from collections.abc import Iterable
from random import Random
from typing import Any, ClassVar

import mesa
from mesa.agent import AgentSet


class ArrayAgentSet[A: mesa.Agent](AgentSet[A]):
    """An agent set whose agents' state is arrays of the set, row ``agent.index`` each.

    Args:
        agents: the agents, agent i with ``index`` i.
        random: the model's ``random.Random`` (for ``shuffle_do``).
    """

    #: fields (arrays, or numbers) a checkpoint stores, owned by the set
    STATE: ClassVar[tuple[str, ...]] = ()
    #: fields recomputed every hour before they are read (not stored)
    SCRATCH: ClassVar[tuple[str, ...]] = ()

    def __init__(self, agents: Iterable[A], random: Random | None = None) -> None:
        self.by_index: list[A] = list(agents)  # agent i is by_index[i]
        super().__init__(self.by_index, random=random)

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k != "_agents"}
        return {**state, "agents": self.by_index}

    def __setstate__(self, state: dict[str, Any]) -> None:
        agents = state.pop("agents")
        super().__setstate__({"agents": agents, "random": state["random"]})
        self.__dict__.update(state)


class Column:
    """An agent attribute that is the agent's row of its set's array of the same name.

    Declared on the agent class (``capacity_mw = Column("regions")``: the set is the model's
    attribute ``regions``); reading gives ``model.regions.capacity_mw[agent.index]`` (a view
    for arrays of more than one axis), writing sets that row.
    """

    def __init__(self, agent_set: str) -> None:
        self.agent_set = agent_set
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, agent: Any, owner: type | None = None) -> Any:
        if agent is None:
            return self
        return getattr(getattr(agent.model, self.agent_set), self.name)[agent.index]

    def __set__(self, agent: Any, value: Any) -> None:
        getattr(getattr(agent.model, self.agent_set), self.name)[agent.index] = value
