"""Issue #21's targets on simulated traffic (bench/fallback_sim.py, fixed seed): the matcher Tracker.ingest runs
never gives more than 2% of code-less first messages to the wrong visit, and where pages carry their own
prefilled text it recovers at least 70% of the clickers' code-less messages at low and medium traffic.

Short runs (~600 clicks each) of a few scenarios of the bench's grid; the bench itself runs them all, longer.
"""

from __future__ import annotations

import pytest

from bench.fallback_sim import Corpus, Result, Scenario, by_name, run

SEED = 7
CLICKS = 600  # per scenario, over 3 sites: 100+ code-less first messages, so 2% is two or three of them


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.load()


async def simulate(scenario: Scenario, corpus: Corpus) -> Result:
    result = await run(scenario, seed=SEED, hours=1, min_clicks=CLICKS, sites=3, corpus=corpus)
    # the harness itself: codes kept are attributed exactly, and the sample is big enough to judge 2% by
    assert result.lost_exact == 0
    assert result.new.codeless >= 100
    assert (result.new.clickers, result.new.never_clicked) == (result.old.clickers, result.old.never_clicked)
    return result


def wrong(result: Result) -> str:
    new = result.new
    return (
        f"{result.scenario.name}: {new.wrong} of {new.codeless} code-less first messages ({new.wrong_share:.1%}) "
        f"given to another visit ({new.wrong_never} never clicked); old rule: {result.old.wrong_share:.1%}"
    )


@pytest.mark.parametrize("name", ["advised, 6 clicks/h", "product cards"])
async def test_pages_with_their_own_text_recover_most_with_almost_none_wrong(name: str, corpus: Corpus) -> None:
    """Pages whose phrase names their service (as start-up advises) or product: real sites' phrases as found
    (a quarter of them greetings and «хочу записаться», which point nowhere) recover less: the bench says how much."""
    (scenario,) = by_name([name])
    result = await simulate(scenario, corpus)
    wrong_share, recovered_share = result.new.wrong_share, result.new.recovered_share
    assert wrong_share <= 0.02, wrong(result)
    assert recovered_share >= 0.7, (
        f"{name}: {result.new.recovered} of {result.new.clickers} clickers' code-less messages recovered "
        f"({recovered_share:.0%}); old rule: {result.old.recovered_share:.0%}"
    )


@pytest.mark.parametrize("name", ["hard: 120/h site-wide", "code only", "30% on topic", "one template"])
async def test_no_scenario_gives_more_than_2_percent_to_the_wrong_visit(name: str, corpus: Corpus) -> None:
    (scenario,) = by_name([name])
    result = await simulate(scenario, corpus)
    wrong_share = result.new.wrong_share
    assert wrong_share <= 0.02, wrong(result)


async def test_the_old_rule_is_the_baseline_the_issue_reports(corpus: Corpus) -> None:
    """The copy of the old rule still shows the issue's figures (wrong in 5–17% at 20 clicks/h, little recovered
    at 60): a baseline that drifted would make the new matcher look better than it is."""
    (scenario,) = by_name(["base"])
    result = await simulate(scenario, corpus)
    assert 0.05 <= result.old.wrong_share <= 0.2
    (busy,) = by_name(["60 clicks/h"])
    assert (await simulate(busy, corpus)).old.recovered_share <= 0.1
    # real sites' phrases as found: the new matcher recovers twice what the old rule did or more, and is right
    assert result.new.recovered_share >= 2 * result.old.recovered_share
    assert result.new.wrong_share < result.old.wrong_share / 5
