"""The live-stream job board (直播招聘): the page behind a live-stream host, its public stream, the pinned job,
and attribution per stream.

Public, no token (the page is shown to anyone watching): `GET /live` (the page, one view counted per load when
it names a `stream_id`), `GET /live/assets/{name}`, `GET /live/jobs` (the cards to start with),
`GET /live/stream` (Server-Sent Events: `job.published` / `job.updated` with a card, `job.closed` with a
tombstone, `featured` when the host pins or unpins a job) and `GET /live/stations` (the form's station list).
For hosts and their stations: `PUT` / `DELETE /v1/streams/{id}/featured` and `GET /v1/streams/{id}/stats`
(admin, partner, station; streams belong to nobody, so any of them may pin on or read any stream).

What the board shows is a *card*: title, employer, city, pay, dormitory and meals, headcount left. Jobs carry
no personal data, and none passes through here: the sign-up form posts straight to demand
(`POST /v1/live-signups`, routed to demand by path on the same host). Feed learns only ids and counts:
sign-ups and leads from demand's `ew.demand.livesignup.*`, applications and placements with a `stream_id`
from matching's events. `province_code` on the page picks the stations the form offers (the audience's home
province); every open job is on the board, `city_code` narrows it to one Jiangsu city.

Layout: `api.py` (routes), `schemas.py`, `models.py` (its tables, in the feed's database), `service.py` (cards,
pins, counters), `consumers.py` (started with the feed's other consumers).
"""
