"""Which indexes a MongoDB query uses, from `explain()`: for the plan tests and bench/bench_store.py.

MongoDB answers with a tree of stages (`IXSCAN` with its `indexName`, `COLLSCAN`, `FETCH`, `OR`…; since
7.0 possibly under `queryPlan`). nx-27017 answers `find` explains with SQLite's query plan, one line per
step ("SEARCH dialogs USING INDEX idx_dialogs_started_at (…)", "SCAN dialogs"), and `aggregate` explains
with a stub. Both are read here as (stage, index keys) pairs, the index named by its fields (nx-27017
names indexes its own way).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

IndexKeys = tuple[str, ...]
Step = tuple[str, IndexKeys | None]  # ("IXSCAN", ("started_at",)) or ("COLLSCAN", None)
SQLITE_INDEX = re.compile(r"^SEARCH (\S+) USING (?:COVERING )?INDEX (\S+)")
SQLITE_SCAN = re.compile(r"^SCAN (\S+)$")


def _stages(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        if "stage" in node:
            yield node
        for value in node.values():
            yield from _stages(value)
    elif isinstance(node, list):
        for item in node:
            yield from _stages(item)


def plan_steps(explained: Mapping[str, Any], collection: str, indexes: Mapping[str, IndexKeys]) -> list[Step]:
    """The scans of the winning plan: index scans with the index's fields, and collection scans."""
    winning = explained.get("queryPlanner", {}).get("winningPlan")
    steps: list[Step] = []
    if isinstance(winning, list):  # nx-27017: SQLite's plan
        for line in (step.get("detail", "") for step in winning):
            if (found := SQLITE_INDEX.match(line)) and found[1] == collection:
                steps.append(("IXSCAN", indexes.get(found[2])))
            elif (found := SQLITE_SCAN.match(line)) and found[1] == collection:
                steps.append(("COLLSCAN", None))
        return steps
    for stage in _stages(winning):
        if stage["stage"] == "IXSCAN":
            steps.append(("IXSCAN", indexes.get(stage.get("indexName", ""))))
        elif stage["stage"] == "COLLSCAN":
            steps.append(("COLLSCAN", None))
    return steps


async def find_plan(collection: AsyncCollection[Any], where: Mapping[str, Any]) -> list[Step]:
    """The winning plan of `find(where)` — for a pipeline, of its leading $match, which MongoDB runs as
    the pipeline's query (nx-27017 cannot explain an aggregation)."""
    info = await collection.index_information()
    indexes = {name: tuple(field for field, _ in spec["key"]) for name, spec in info.items()}
    return plan_steps(await collection.find(where).explain(), collection.name, indexes)


def describe(steps: list[Step]) -> str:
    """'IXSCAN (started_at)', 'IXSCAN (dialog_id) + IXSCAN (contact_id)', 'COLLSCAN'."""
    return " + ".join(stage + (f" ({', '.join(keys)})" if keys else "") for stage, keys in steps) or "?"
