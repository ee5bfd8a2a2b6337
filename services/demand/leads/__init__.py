"""Live-stream sign-ups (直播招聘) and the leads they leave on a station's call-back list.

The board behind a live-stream host (feed's `GET /live`) posts name, phone, home station and the job on screen
straight to demand, the one service that holds personal data; feed never sees any of it.

Decisions:

- **Who is a registered worker.** A sign-up matches a worker when the keyed phone hash matches *and* the name
  does (NFKC, spaces ignored), searched across every station, not only the one picked on the form: viewers
  often pick a station near them rather than the one that registered them, and the application belongs to the
  worker's own station anyway. The name check is there because rural families often share one phone: a
  sign-up by one of them must not apply in another's name. A phone that matches but a name that does not
  becomes a lead, and the station sorts it out on the call.
- **What happens.** A match emits `ew.demand.livesignup.matched` (ids only) and matching creates the
  application, channel `livestream`, with the stream id. Anyone else becomes a `Lead` on the chosen station's
  list (`ew.demand.livesignup.lead`). When the same phone and name later register (`POST /v1/persons` or a
  roster import, seen through demand's own `person.registered` / `person.updated` events), the lead turns
  `registered`, drops its copy of the name and phone (the worker's record is the one copy, so erasing the
  worker erases it) and the same matched event follows, so the application is created then.
- **Once per sign-up.** The matched event's id is derived from (worker, job, stream): a second sign-up, or a
  lead converting for a worker who also signed up directly, is the same event, refused by the outbox's unique
  event id here and by every consumer's inbox. A second lead sign-up for the same job by the same phone keeps
  the first lead.
- **Consent.** The form has an unticked box with the purpose (`LIVE_SIGNUP_CONSENT`, the same words the page
  shows); a sign-up without it is a 422 on `body.consent` and stores nothing. Every sign-up that is kept records
  when the box was ticked and its wording, as a registration's consent does: on the lead, and for a registered
  worker on a `registered` lead that points at the worker (no copy of the name or phone), so the station sees
  the sign-up on its list as well.
- **One answer for everyone.** The route is public: telling a caller whether a name and phone belong to a
  registered worker would let anyone test it. Both cases answer 202 `{"status": "received"}` with the same
  message; what happened is on the station's list (`GET /v1/leads`) and in the application that follows.
- **Abuse.** The route is rate-limited per client address with an in-memory token bucket (`TokenBucket`: a
  burst of 20, then one every 2 s; per process, so N replicas allow N times as much; the bucket table is
  bounded). The client address is `libs.proxies.request_client`: `X-Forwarded-For` read from the right, believed
  only as far as it was written by `EW_TRUSTED_PROXIES` (the gateway), so a caller cannot pick a fresh bucket
  per request by sending the header itself. Bad input is a 422 naming the field, in Chinese, and stores nothing.
- **Who reads leads.** `GET /v1/leads` follows the worker scope (admin all, partner its provinces, station its
  own): full name, masked phone. The station that calls back reads the number itself through
  `GET /v1/leads/{id}/phone` (its own station only, logged without the number, `Cache-Control: no-store`).

Layout: `api.py` (the routes and the rate limit), `schemas.py`, `service.py` (sign-up, the call-back list,
conversion), `consumers.py` (started with demand's other consumers).
"""
