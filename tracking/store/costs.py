"""What both adapters share about ad spend: the key a re-import replaces by, and how rows are written."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from tracking.models import Cost

CostKey = tuple[str, str, str, str, str]  # origin, day (ISO), source, campaign id or name, ad id ("" for none)


def cost_key(cost: Cost) -> CostKey:
    """A campaign is known by its id when the platform gives one (its name may change), else by its name."""
    return (cost.origin, cost.day.isoformat(), cost.source, cost.campaign_id or cost.campaign, cost.ad_id or "")


def latest_by_key(costs: Iterable[Cost]) -> dict[CostKey, Cost]:
    """One cost per key, the last given winning (as writing them one after another would)."""
    return {cost_key(cost): cost for cost in costs}


def amount_text(amount: Decimal) -> str:
    """Decimal as stored: exact text, never a float ("1234.50" stays 1234.50)."""
    return format(amount, "f")
