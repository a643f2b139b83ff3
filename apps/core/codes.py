import secrets

# Letters and digits that cannot be mistaken for each other when read aloud or typed.
READABLE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


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
