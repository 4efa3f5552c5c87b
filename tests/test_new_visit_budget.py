"""NewVisitBudget: the sliding minute of new visits, and the units MongoDB reserves and gives back."""

from __future__ import annotations

from tracking.limits import NewVisitBudget


class Clock:
    """A monotonic clock the test moves by hand (seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_take_grants_the_budget_then_refuses_and_counts_the_refusals() -> None:
    budget = NewVisitBudget(3, clock=Clock(60.0 * 1000 + 1))

    assert [budget.take() for _ in range(5)] == [True, True, True, False, False]
    assert budget.refused == 2


def test_the_last_minute_counts_by_the_share_of_it_the_window_still_covers() -> None:
    clock = Clock(60.0 * 1000)
    budget = NewVisitBudget(4, clock=clock)
    assert all(budget.take() for _ in range(4))

    clock.now += 60 + 30  # half-way through the next minute: the 4 of the last one weigh 2

    assert [budget.take() for _ in range(3)] == [True, True, False]


def test_a_reservation_takes_a_unit_and_a_refused_one_counts_nothing() -> None:
    budget = NewVisitBudget(2, clock=Clock(60.0 * 1000 + 1))

    units = [budget.reserve(), budget.reserve()]

    assert None not in units and budget.reserve() is None
    assert budget.refused == 0  # a view merged without a unit is no refusal; the store says when one is
    budget.refuse()
    assert budget.refused == 1


def test_a_unit_given_back_can_open_another_visit() -> None:
    budget = NewVisitBudget(2, clock=Clock(60.0 * 1000 + 1))
    first = budget.reserve()
    assert first is not None and budget.reserve() is not None and budget.reserve() is None

    budget.give_back(first)  # that view merged into an open visit

    assert budget.reserve() is not None and budget.reserve() is None


def test_a_unit_given_back_in_the_next_minute_leaves_the_last_minute() -> None:
    clock = Clock(60.0 * 1000 + 59)
    budget = NewVisitBudget(4, clock=clock)
    held = [budget.reserve() for _ in range(4)]
    clock.now += 1  # the upserts answer in the next minute, where the last one's 4 still weigh all of 4

    for unit in held:
        assert unit is not None
        budget.give_back(unit)

    assert all(budget.take() for _ in range(4)) and budget.take() is False
    assert (budget.current, budget.previous) == (4, 0)


def test_a_unit_older_than_the_window_given_back_changes_nothing() -> None:
    clock = Clock(60.0 * 1000 + 1)
    budget = NewVisitBudget(2, clock=clock)
    unit = budget.reserve()
    assert unit is not None
    clock.now += 120
    assert budget.take()

    budget.give_back(unit)

    assert (budget.current, budget.previous) == (1, 0)
