"""A catalogue category as order lines and rules carry it: its path, "上衣/T恤" for a
subcategory, "上衣" for a top category. A rule naming a category covers its subcategories."""

SEPARATOR = "/"


def category_path(name: str, parent: str | None = None) -> str:
    return f"{parent}{SEPARATOR}{name}" if parent else name


def in_categories(path: str, names: frozenset[str]) -> bool:
    """Whether a line of category `path` is in one of the categories `names`."""
    return bool(path) and not names.isdisjoint(path.split(SEPARATOR))
