"""Finds the scenarios: every ``Scenario`` subclass defined in a module of ``scenarios/``.

Adding a scenario is adding one file (and its journey in ``monitoring/journeys.py``). Private
modules (``_name``) and packages (the ``kit`` toolkit) hold no scenarios and are not read.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

import scenarios as scenarios_package
from config.loader import validation_lines
from config.settings import Settings
from harness.scenario import Scenario
from harness.shards import WHOLE, Shard

__all__ = ["discover", "ScenarioPlan", "plan", "SelectionError"]


class SelectionError(ValueError):
    """A selection (``--scenario``, ``--tag``, ``--target``) naming something that does not exist."""


def discover() -> dict[str, type[Scenario]]:
    found: dict[str, type[Scenario]] = {}
    for module_info in sorted(pkgutil.iter_modules(scenarios_package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or module_info.ispkg:
            continue
        module = importlib.import_module(f"scenarios.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Scenario)
                and value is not Scenario
                and value.__module__ == module.__name__
            ):
                if value.name in found:
                    raise RuntimeError(f"scenario name {value.name!r} defined twice")
                found[value.name] = value
    return found


@dataclass(frozen=True)
class ScenarioPlan:
    """One scenario against one target, with its effective interval, timeout and options."""

    scenario: type[Scenario]
    target: str
    interval_seconds: float
    timeout_seconds: float
    options: BaseModel

    @property
    def name(self) -> str:
        return self.scenario.name


def options_for(settings: Settings, scenario: type[Scenario]) -> BaseModel:
    override = settings.scenarios.overrides.get(scenario.name)
    # Options may check themselves against the run's timeout (uptime's reads must fit in it).
    timeout = (override.timeout_seconds if override else None) or scenario.timeout_seconds
    try:
        return scenario.Options.model_validate(
            override.options if override else {}, context={"timeout_seconds": timeout}
        )
    except ValidationError as exc:
        place = ("scenarios", "overrides", scenario.name, "options")
        raise SelectionError(validation_lines(exc, place)[0]) from None


def plan(
    settings: Settings,
    found: dict[str, type[Scenario]],
    *,
    names: list[str] | None = None,
    tags: list[str] | None = None,
    targets: list[str] | None = None,
    shard: Shard = WHOLE,
) -> list[ScenarioPlan]:
    """The runs to do: config selection narrowed by command-line names, tags and targets,
    then by ``shard`` to this replica's share of the scenario x target schedules."""
    selection = settings.scenarios
    for name in names or []:
        if name not in found:
            raise SelectionError(f"--scenario {name}: unknown scenario; known: {', '.join(sorted(found))}")
    for target in targets or []:
        if target not in settings.targets:
            raise SelectionError(f"--target {target}: unknown target; known: {', '.join(sorted(settings.targets))}")
    plans = []
    for name, scenario in sorted(found.items()):
        override = selection.overrides.get(name)
        if names:
            if name not in names:
                continue
        else:
            if selection.only and name not in selection.only:
                continue
            if selection.include_tags and not set(scenario.tags) & set(selection.include_tags):
                continue
            if override is not None and not override.enabled:
                continue
        if set(scenario.tags) & set(selection.exclude_tags) and not names:
            continue
        if tags and not set(scenario.tags) & set(tags):
            continue
        options = options_for(settings, scenario)
        interval = (override.interval_seconds if override else None) or scenario.interval_seconds
        timeout = (override.timeout_seconds if override else None) or scenario.timeout_seconds
        for target in targets or list(settings.targets):
            if not shard.owns(name, target):
                continue
            plans.append(ScenarioPlan(scenario, target, interval, timeout, options))
    return plans
