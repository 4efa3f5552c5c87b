"""The next steps an owner has not taken yet, said by /start and by an empty /recent.

The demo page while it is on (a trial lead before anything is connected), then three steps, each shown only
while the store says it is not done: the snippet on the site (no visit
stored yet: here is the tag), a provider posting messages (no dialog yet: here is each configured
provider's webhook URL, or, with none configured, which setting turns each on), the daily summary (the
owner has none: /summary). Each check is one indexed read. Demo leads are no dialog here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import Role
from bot.commands import summary_time_of
from bot.texts import text
from tracking.demo import MAX_STORED, DemoSwitch, demo_url, is_demo
from tracking.settings import Settings
from tracking.store.base import Store
from webhooks.cli import GENERIC, WEBHOOKS, Webhook, configured_webhooks, snippet_tag


@dataclass(frozen=True)
class Onboarding:
    store: Store
    public_url: str | None
    webhooks: tuple[Webhook, ...]  # the providers in use (their secret is set)
    summary_default: str | None
    demo: DemoSwitch | None = None  # the demo page (GET /demo), pointed to while it is on
    demo_url: str = ""

    @classmethod
    def of(cls, store: Store, settings: Settings) -> Onboarding:
        return cls(
            store,
            settings.public_url,
            tuple(configured_webhooks(settings)),
            settings.summary_time,
            DemoSwitch(store, settings.demo),
            demo_url(settings),
        )

    def _provider(self, lang: str, hook: Webhook) -> str:
        return text(lang, "webhook_generic") if hook.provider == GENERIC else hook.provider

    async def steps(self, user_id: int, lang: str) -> str:
        """The steps not done yet, numbered, under a title; "" when every one is done."""
        base = self.public_url or ""
        steps = []
        demo = self.demo is not None and await self.demo.on()
        if demo:
            steps.append(text(lang, "step_demo", url=self.demo_url))
        if not await self._site_seen(demo):
            if self.public_url is None:
                steps.append(text(lang, "step_snippet_no_url"))
            else:
                steps.append(text(lang, "step_snippet", tag=snippet_tag(base)))
        if not await self._real_dialog():
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

    async def _site_seen(self, demo: bool) -> bool:
        """Whether the snippet was seen on the owner's site: a site's sign (tracking/install.py, never the
        demo page's); while the demo is on a stored visit may be the demo page's own, so it alone says not."""
        if await self.store.marks("site:"):
            return True
        return not demo and await self.store.any_visit()

    async def _real_dialog(self) -> bool:
        """Whether a customer's dialog is stored, demo leads aside: at most MAX_STORED of them are kept, so one
        more of the newest is a real one when there is any."""
        return any(not is_demo(dialog) for dialog in await self.store.find_dialogs(limit=MAX_STORED + 5))


__all__ = ["Onboarding"]
