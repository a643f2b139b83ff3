def comma_separated(text: str) -> frozenset[str]:
    """'SKU1, SKU2,,' → {'SKU1', 'SKU2'}: the lists HQ types into one admin field."""
    return frozenset(part.strip() for part in text.split(",") if part.strip())
