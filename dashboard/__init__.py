"""The web face of the reports: a dashboard served by chattrack itself, opened inside Telegram as a Mini App
(signed in from its `initData`) or in any browser (signed in with a one-time link from the bot's /web).

Pages are server-side templates (`templates/`); widgets are HTML fragments each built from one report of
`reports/`, the same code the bot and the JSON API use; `static/` holds the little script, the styles and
the chart library, served by chattrack (no CDN: self-hosted sites and strict CSP work).
"""
