import secrets
import time

# Letters and digits that cannot be mistaken for each other when read aloud or typed.
READABLE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


MINUTE_LETTERS = 5  # 31^5 minutes ≈ 54 years from CLOCK_EPOCH
CLOCK_EPOCH = 1_704_067_200  # 2024-01-01 00:00 UTC


def readable_code(length: int, choice=None) -> str:
    """A short unguessable code people type: guide, referral and coupon codes.

    `choice` is a seeded random's choice for the demo data, which must be repeatable.
    """
    if choice is not None:
        return "".join(choice(READABLE_ALPHABET) for _ in range(length))
    # One draw from the system's randomness for the whole code, not one per letter.
    number = secrets.randbelow(len(READABLE_ALPHABET) ** length)
    letters = []
    for _ in range(length):
        number, index = divmod(number, len(READABLE_ALPHABET))
        letters.append(READABLE_ALPHABET[index])
    return "".join(letters)


def minute_prefixed_code(length: int, now: float | None = None) -> str:
    """A readable code whose first letters spell the minute it was made, the rest random.

    The codes of one minute sort together, so an index on them takes new codes at one place
    instead of at random pages all over it: a flash drop or a campaign over millions of
    members keeps the pages it writes in memory, and each write is not a page written to
    the WAL again after every checkpoint. A 16-letter code keeps 31^11 ≈ 2.5·10^16 (54 bits)
    of chance a minute, which no guesser gets through a throttled API.
    """
    return minute_letters(now) + readable_code(length - MINUTE_LETTERS)


def minute_letters(now: float | None = None) -> str:
    """The minute of `now` (by default, this one) in MINUTE_LETTERS readable letters, the
    first the most significant, so that later minutes sort later."""
    minute = int(((time.time() if now is None else now) - CLOCK_EPOCH) // 60)
    letters = []
    for _ in range(MINUTE_LETTERS):
        minute, index = divmod(minute, len(READABLE_ALPHABET))
        letters.append(READABLE_ALPHABET[index])
    return "".join(reversed(letters))
