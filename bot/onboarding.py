"""The next steps an owner has not taken yet, said by /start and by an empty /recent.

Three steps, each shown only while the store says it is not done: the snippet on the site (no visit
stored yet: here is the tag), a provider posting messages (no dialog yet: here is each configured
provider's webhook URL, or, with none configured, which setting turns each on), the daily summary (the
owner has none: /summary). Each check is one indexed read.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import Role
from bot.commands import summary_time_of
from bot.texts import text
from tracking.settings import Settings
from tracking.store.base import Store
from webhooks.cli import GENERIC, WEBHOOKS, Webhook, configured_webhooks, snippet_tag


@dataclass(frozen=True)
class Onboarding:
    store: Store
    public_url: str | None
    webhooks: tuple[Webhook, ...]  # the providers in use (their secret is set)
    summary_default: str | None

    @classmethod
    def of(cls, store: Store, settings: Settings) -> Onboarding:
        return cls(store, settings.public_url, tuple(configured_webhooks(settings)), settings.summary_time)

    def _provider(self, lang: str, hook: Webhook) -> str:
        return text(lang, "webhook_generic") if hook.provider == GENERIC else hook.provider

    async def steps(self, user_id: int, lang: str) -> str:
        """The steps not done yet, numbered, under a title; "" when every one is done."""
        base = self.public_url or ""
        steps = []
        if not await self.store.any_visit():
            if self.public_url is None:
                steps.append(text(lang, "step_snippet_no_url"))
            else:
                steps.append(text(lang, "step_snippet", tag=snippet_tag(base)))
        if not await self.store.find_dialogs(limit=1):
            if self.webhooks:
                urls = "\n".join(f"{self._provider(lang, h)}: {base}{h.path}" for h in self.webhooks)
                steps.append(text(lang, "step_provider", urls=urls))
            else:
                settings = "\n".join(f"{self._provider(lang, h)}: {h.setting}, {base}{h.path}" for h in WEBHOOKS)
                steps.append(text(lang, "step_provider_none", settings=settings))
        current, _ = summary_time_of(user_id, Role.OWNER, await self.store.summary_choices(), self.summary_default)
        if current is None:
            steps.append(text(lang, "step_summary"))
        if not steps:
            return ""
        numbered = [f"{index}. {step}" for index, step in enumerate(steps, 1)]
        return "\n\n".join([text(lang, "steps_title"), *numbered])


__all__ = ["Onboarding"]
