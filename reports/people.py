"""The team by name, for the reports' «Кто взял»: a dialog's `taken_by` is a Telegram user id, which is no
owner's word. `value_label(lang, "taken_by", value, names)` reads an id as the name these give, else as
«пользователь Telegram 123», and nobody as «никто»."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reports.team import PersonRow
from tracking.store.base import Store


async def team_names(store: Store, known: Mapping[int, str] | None = None) -> dict[str, str]:
    """Names by user id as text (as taken_by values read): the staff as they joined, and `known` over them (what
    the caller knows of the owners: the viewer's own name, the claimed owner's mark). An owner named only by
    the setting or a removed staff member is in neither: `taker_names` of a team report names them too."""
    names = {str(member.user_id): member.name for member in await store.list_staff()}
    names.update({str(user_id): name for user_id, name in (known or {}).items() if name})
    return names


def taker_names(people: Iterable[PersonRow]) -> dict[str, str]:
    """The names the takers of a team report's rows had when they last took a lead (reports.team.team_report)."""
    return {str(p.user_id): p.name for p in people if p.user_id is not None and p.name}


__all__ = ["taker_names", "team_names"]
