"""Template helpers of the alliance's pages: money in fen shown as yuan."""

from django import template

register = template.Library()


@register.filter
def yuan(fen) -> str:
    """12345678 → '¥123,456.78'; whole yuan without the cents ('¥8,000')."""
    try:
        fen = int(fen)
    except (TypeError, ValueError):
        return ""
    whole, cents = divmod(abs(fen), 100)
    sign = "-" if fen < 0 else ""
    text = f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"
    return f"{sign}¥{text}"


@register.filter
def fen_to_yuan_input(fen) -> str:
    """For a form's initial value: 123456 → '1234.56'."""
    try:
        fen = int(fen)
    except (TypeError, ValueError):
        return "0"
    return f"{fen // 100}.{fen % 100:02d}"
