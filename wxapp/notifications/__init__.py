"""Push notifications: the outbox sent as WeChat template messages (and a few as SMS).

- `templates`: what each pushed event looks like (pure: typed event + settings -> message).
- `sms_notices`: the events told by SMS instead (the old phone of a replaced phone).
- `rules`: which WeChat and SMS answers are retried, which are final, and the backoff (pure).
- `claims`: claiming due outbox rows and recording each outcome (the database half).
- `signal`: the Redis wake-up that tells idle workers a row was committed.
- `delivery`: WeChat's later report on a message it accepted, which may send a row back.
- `worker`: the loop the `flask --app wsgi notify worker` command runs.
"""
