"""Follow-up visits (回访) of every placement, owned by demand because they touch a person.

A placement (`placement.confirmed`) schedules a visit at each of `EW_FOLLOW_UP_MONTHS` (1, 3, 6 and 12 months) after
its start; its end cancels those still due. The station lists what is due and overdue (`GET /v1/follow-ups`) and
records each visit (`POST /v1/follow-ups/{id}`): still in the job, labour contract signed, social insurance paid,
wages paid in full and on time, a problem in words (encrypted like every note). A worker who has left goes back to
seeking (matching ranks them again at once) with a `left_job` warning; no contract or wage arrears raise a warning
too, and `follow_up.recorded` carries the flags (never the words) with the employer's id, for the employer-risk
signal and the figures.

Layout: `api.py`, `schemas.py`, `service.py`; the table is `FollowUp` in services/demand/models.py.
"""
