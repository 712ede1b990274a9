from django import template

register = template.Library()


@register.filter
def share_class(pct: float | None) -> str:
    """A colour band for a share of teachers, the same thresholds everywhere."""
    if pct is None:
        return "share-none"
    if pct >= 50:
        return "share-high"
    if pct >= 20:
        return "share-mid"
    return "share-low"


@register.filter
def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %".replace(".", ",")


@register.filter
def get(mapping: dict, key: str) -> object:
    return mapping.get(key)
