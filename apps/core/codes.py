import secrets

# Letters and digits that cannot be mistaken for each other when read aloud or typed.
READABLE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def readable_code(length: int, choice=secrets.choice) -> str:
    """A short unguessable code people type: guide codes, referral codes.

    `choice` is a seeded random's choice for the demo data, which must be repeatable.
    """
    return "".join(choice(READABLE_ALPHABET) for _ in range(length))
