"""The embedded DynamoDB's process keeps garbage-collector pauses short (kassa_dev.heap)."""

from __future__ import annotations

import gc

from kassa_dev.embedded_dynamodb import EmbeddedDynamoDB
from kassa_dev.heap import PauseWatch, settle


def test_settling_exempts_the_surviving_objects_from_later_collections() -> None:
    kept = [[i] for i in range(1_000)]  # lists: objects the collector tracks
    assert _collectable(kept) == len(kept)
    settle()
    # No collection walks them any more (they are frozen), yet they are alive.
    assert _collectable(kept) == 0
    assert kept[-1] == [999]


def _collectable(objects: list[list[int]]) -> int:
    walked = {id(each) for each in gc.get_objects()}
    return sum(id(each) in walked for each in objects)


def test_the_embedded_dynamodb_settles_its_heap_while_it_runs() -> None:
    with EmbeddedDynamoDB() as ddb:
        settler = ddb._settler
        assert settler is not None and settler.running
    assert not settler.running


def test_the_pause_watch_sees_a_collection() -> None:
    watch = PauseWatch().attach()
    try:
        gc.collect()
    finally:
        watch.detach()
    assert watch.collections >= 1 and watch.longest > 0
