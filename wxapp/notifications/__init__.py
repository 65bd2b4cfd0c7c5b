"""Push notifications: the outbox sent as WeChat template messages.

- `templates`: what each pushed event looks like (pure: typed event + settings -> message).
- `rules`: which WeChat answers are retried, which are final, and the backoff (pure).
- `claims`: claiming due outbox rows and recording each outcome (the database half).
- `signal`: the Redis wake-up that tells idle workers a row was committed.
- `worker`: the loop the `flask --app wsgi notify worker` command runs.
"""
