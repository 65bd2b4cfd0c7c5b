"""Key names of the hot progress state in Redis (see store's module doc for the hash tag)."""

from __future__ import annotations

from wxapp.infra import limits
from wxapp.infra.redis_keys import trainee_tag

DIRTY = "progress:dirty"
# Hot state of an idle trainee goes away after a week; the database has it by then.
STATE_TTL_S = 7 * 24 * 3600
# Cached entitlements are re-read from the database at least this often (a cached "no" is
# always re-checked at once); a refund calls orders.refunds.forget_entitlements.
ENTITLEMENT_TTL_S = 3600
# Each drop of the cache (a refund, a course learned) counts up the trainee's entitlement
# generation; a reader caches what it read only if the generation is still the one it saw
# before reading (store.drop_entitlements). Kept far longer than any request.
ENTITLEMENT_GENERATION_TTL_S = 24 * 3600


def tag(trainee_id: int) -> str:
    return trainee_tag(trainee_id)


def play_key(trainee_id: int) -> str:
    return f"{tag(trainee_id)}:play"


def chapter_key(trainee_id: int, chapter_id: int) -> str:
    return f"{tag(trainee_id)}:ch:{chapter_id}"


def entitlement_key(trainee_id: int) -> str:
    return f"{tag(trainee_id)}:ent"


def entitlement_generation_key(trainee_id: int) -> str:
    return f"{tag(trainee_id)}:ent:gen"


def superseded_key(trainee_id: int) -> str:
    return f"{tag(trainee_id)}:old"


def record_key(trainee_id: int) -> str:
    """The learning record of the trainee's plays not yet written (or still going)."""
    return f"{tag(trainee_id)}:rec"


def rate_key(trainee_id: int, now_s: float) -> str:
    """The beacon counter of the current window, by the app clock (tests move it)."""
    return f"{tag(trainee_id)}:rl:beacon:{int(now_s // limits.BEACON.window_s)}"


def dirty_member(trainee_id: int, chapter_id: int) -> str:
    return f"{trainee_id}:{chapter_id}"


def parse_member(member: str) -> tuple[int, int]:
    tid, cid = member.split(":", 1)
    return int(tid), int(cid)


STATE_FIELDS = ("iv", "w", "pos", "dur", "course", "done", "v")
# The learning record's fields of one play in one chapter, "<field>:<chapter>:<play id>".
RECORD_FIELDS = ("s", "e", "c", "qp", "qm", "d", "a")
