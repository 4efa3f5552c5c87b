"""The report pipeline, checked by a second MongoDB implementation while nx-27017 cannot group by documents.

nx-27017 returns a `$group` keyed by a document as one literal group (see test_counts.py), so on the
emulator the grouped report cases are expected failures. Here the very pipeline `MongoStore` sends is run
by mongomock-ng (in-process, MongoDB's query semantics in Python) over the very documents `MongoStore`
writes, against the same hand-computed counts. A real MongoDB (CHATTRACK_TEST_MONGODB_URL) runs it all in
test_counts.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mongomock_ng
import pytest

from tests.store_contract import rows
from tests.store_contract.reports import CASES, SEEDS, Case, seed_messages
from tracking.store.mongo import count_pipeline, count_rows, dialog_document


@pytest.fixture(scope="module")
def dialogs() -> Iterator[Any]:
    client: Any = mongomock_ng.MongoClient(tz_aware=True)
    collection = client.chattrack.dialogs
    by_start = {seed.started: seed for seed in SEEDS}
    docs = []
    for new in seed_messages():
        seed = by_start.get(new.message.received_at.strftime("%Y-%m-%d %H:%M"))
        if seed is None:
            continue  # the message that joins D1 opens nothing
        docs.append(dialog_document(new.draft.model_copy(update={"is_repeat": seed.repeat}), seq=1))
    collection.insert_many(docs)
    yield collection
    client.close()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_the_pipeline_counts_like_the_hand_computed_report(dialogs: Any, case: Case) -> None:
    groups = list(dialogs.aggregate(count_pipeline(case.query)))

    assert rows(count_rows(case.query, groups)) == case.rows
