"""Click-to-WhatsApp ads: the ad a provider says a chat came from, as the dialog's attribution.

When a customer taps a Click-to-WhatsApp ad (or a Facebook/Instagram post with a WhatsApp button),
WhatsApp attaches the ad to their first message. Each provider spells it its own way:

- Meta Cloud API: `messages[].referral` {source_url, source_id, source_type, headline, body,
  media_type, ctwa_clid}
- Twilio: form fields `ReferralSourceUrl`, `ReferralSourceId`, `ReferralSourceType`,
  `ReferralHeadline`, `ReferralBody`, `ReferralCtwaClid`
- Green-API: `extendedTextMessageData` {sourceUrl, sourceId, sourceType, title}
- our generic webhook: `referral` with Meta's field names

All of them become one `AdReferral`, and `ad_attribution` turns that into the Attribution reports
group by: channel paid_social (organic_social for a post that is not an ad), source facebook /
instagram (from the ad's URL; "meta" when the URL says neither), medium "ctwa", campaign the ad's
headline (else its id), content the ad id, and the `ctwa_clid` click id (for Meta's Conversions API).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict

from tracking.models import Attribution, Channel

MEDIUM = "ctwa"  # Click-to-WhatsApp; reports can filter ads that never touched the site with it
_MAX_VALUE = 500  # ad headlines and ids are short; anything longer is cut, not refused
_MAX_URL = 2048

_SOURCE_OF_HOST = {
    "facebook.com": "facebook",
    "fb.me": "facebook",
    "fb.com": "facebook",
    "fb.watch": "facebook",
    "messenger.com": "facebook",
    "instagram.com": "instagram",
    "instagr.am": "instagram",
    "ig.me": "instagram",
}


def _clip(limit: int) -> BeforeValidator:
    def clip(value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # some providers send numeric ad ids
        if isinstance(value, str):
            value = value.strip()[:limit]
            return value or None
        return value

    return BeforeValidator(clip)


Value = Annotated[str | None, _clip(_MAX_VALUE)]
Url = Annotated[str | None, _clip(_MAX_URL)]


class AdReferral(BaseModel):
    """The ad a message came from, in Meta's field names (the other providers are mapped onto them)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    source_url: Url = None  # the ad or post a customer tapped: https://fb.me/…, https://www.instagram.com/p/…
    source_id: Value = None  # the ad id (or post id)
    source_type: Value = None  # "ad" or "post"
    headline: Value = None
    body: Value = None
    media_type: Value = None  # "image" / "video"
    ctwa_clid: Value = None  # Meta's click id for the Conversions API; absent for Status ads

    @property
    def is_empty(self) -> bool:
        return not (self.source_url or self.source_id or self.headline or self.ctwa_clid)


def ad_attribution(referral: AdReferral | None) -> Attribution | None:
    """The attribution of a chat opened from this ad, or None when the provider sent no ad data."""
    if referral is None or referral.is_empty:
        return None
    is_post = (referral.source_type or "").lower() == "post"
    return Attribution(
        channel=Channel.ORGANIC_SOCIAL if is_post else Channel.PAID_SOCIAL,
        source=_source(referral.source_url),
        medium=MEDIUM,
        campaign=referral.headline or referral.source_id,
        content=referral.source_id,
        ctwa_clid=referral.ctwa_clid,
        referrer=referral.source_url,
    )


def _source(url: str | None) -> str:
    """facebook or instagram when the ad's URL says so; Meta runs both, so "meta" otherwise."""
    try:
        host = (urlsplit(url).hostname or "") if url else ""
    except ValueError:
        host = ""
    for suffix, source in _SOURCE_OF_HOST.items():
        if host == suffix or host.endswith("." + suffix):
            return source
    return "meta"


_TWILIO_FIELDS = {
    "source_url": "ReferralSourceUrl",
    "source_id": "ReferralSourceId",
    "source_type": "ReferralSourceType",
    "headline": "ReferralHeadline",
    "body": "ReferralBody",
    "ctwa_clid": "ReferralCtwaClid",
}


def from_twilio(form: Mapping[str, str]) -> Attribution | None:
    """The ad of a Twilio WhatsApp message (its `Referral*` form fields), or None."""
    return ad_attribution(AdReferral(**{ours: form.get(theirs) for ours, theirs in _TWILIO_FIELDS.items()}))
