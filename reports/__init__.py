"""Reports: one definition each over `Store.count_dialogs`, whichever database is behind.

periods   natural period arguments ("week", "вчера", "2026-11-01..2026-11-15") → local days, UTC [start, end)
counts    summary, ranking (channels, pages, drill-down), dynamics, compare — the counting reports
card      the dialog card (every field, the contact's history) and finding dialogs by code / phone / id
render    Telegram HTML in Russian and English; `split_message` for Telegram's length limit
charts    PNG charts (matplotlib Agg, DejaVu Sans for Cyrillic)
export    paging through a period's dialogs; CSV for Excel
daily     the daily summary (text, caption, chart); schedule: its once-only job with catch-up
commands  each bot report command as one call: arguments text → Answer (messages, photo, document)
"""
