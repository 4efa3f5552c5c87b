"""What goes out to other systems and comes in from them on our initiative: conversions to Yandex Metrica and
GA4, signed events to a CRM, ad spend from Yandex Direct or files. Each is a small adapter; every delivery
goes through the persisted outbox (integrations/outbox.py)."""
