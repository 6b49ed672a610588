"""The order confirmation e-mail: what it says (built from OrderCompleted data only), and the checks
an OrderCompleted must pass before anything is claimed for it."""

from __future__ import annotations

import html
from typing import Any, Final, NamedTuple

from lambdas.shared import constants
from lambdas.shared.events import parse_time


class InvalidEvent(ValueError):
    """The event cannot be applied as it is (a field is missing or of the wrong type): the message names
    the field. Raised before anything is claimed, so every retry fails the same way and the event ends in
    the dead-letter queue, where it can be read, fixed and redriven."""


class ConfirmationInProgress(RuntimeError):
    """Another run holds a live claim on this order's confirmation and has not recorded a send.

    Raised (not answered with success) so that Lambda retries the event: when the holder finishes, the
    retry finds the confirmation SENT; when the holder died, the retries fail too and the event reaches
    the dead-letter queue instead of vanishing.
    """


class SentButNotRecorded(RuntimeError):
    """SES took the message but recording it failed: the claim is kept (no second e-mail); the message id
    is in this error, which Lambda's on-failure destination keeps with the event."""


class Email(NamedTuple):
    to: str
    subject: str
    text: str
    html: str


class Confirmation(NamedTuple):
    """What one event asks of this subscriber: e-mail ``email`` for ``order_id`` (``kind``: its claim, one per
    order and kind of e-mail: "" the confirmation, TRACKING the tracking e-mail)."""

    order_id: str
    email: Email
    kind: str = ""


TRACKING: Final = "TRACKING"


def money(cents: int, currency: str) -> str:
    return f"{int(cents) / 100:,.2f} {currency}"


def confirmation(data: dict[str, Any]) -> Email:
    currency = data["currency"]
    rows = [(f"{line['quantity']} x {line['sku']}", money(line["lineTotalCents"], currency)) for line in data["lines"]]
    rows += [
        ("Subtotal", money(data["subtotalCents"], currency)),
        ("Tax", money(data["taxCents"], currency)),
        ("Shipping", money(data["shippingCents"], currency)),
        ("Total charged", money(data["totalCents"], currency)),
    ]
    width = max(len(label) for label, _ in rows)
    text = "\n".join(
        [f"Thank you for your order {data['orderId']}. It is on its way.", ""]
        + [f"{label.ljust(width)}  {amount}" for label, amount in rows]
    )
    body = "".join(f"<tr><td>{html.escape(label)}</td><td>{html.escape(amount)}</td></tr>" for label, amount in rows)
    return Email(
        to=data["customer"]["email"],
        subject=f"Your order {data['orderId']} is confirmed",
        text=text,
        html=(
            f"<p>Thank you for your order <b>{html.escape(data['orderId'])}</b>. It is on its way.</p>"
            f"<table>{body}</table>"
        ),
    )


def _field(value: Any, path: str, kind: type, what: str) -> Any:
    # A bool is an int to Python, never to the event's contract.
    if not isinstance(value, kind) or isinstance(value, bool):
        shown = "missing" if value is None else f"{type(value).__name__} {value!r:.40}"
        raise InvalidEvent(f"OrderCompleted {path} must be {what}, got {shown}")
    return value


def _text(value: Any, path: str) -> str:
    text = _field(value, path, str, "a non-empty string")
    if not text.strip():
        raise InvalidEvent(f"OrderCompleted {path} must be a non-empty string, got ''")
    return text


def _cents(value: Any, path: str) -> int:
    return int(_field(value, path, int, "an integer (cents)"))


def parse_order_completed(detail: Any) -> Confirmation:
    """Check everything the confirmation needs and build it; ``InvalidEvent`` names the first bad field.

    Tolerant of fields it does not read (the contract lets producers add optional ones).
    """
    detail = _field(detail, "detail", dict, "an object")
    metadata = _field(detail.get("metadata"), "detail.metadata", dict, "an object")
    occurred_at = _text(metadata.get("occurredAt"), "detail.metadata.occurredAt")
    try:
        parse_time(occurred_at)
    except ValueError:
        raise InvalidEvent(
            f"OrderCompleted detail.metadata.occurredAt is not an ISO 8601 time: {occurred_at!r:.40}"
        ) from None
    data = _field(detail.get("data"), "detail.data", dict, "an object")
    order_id = _text(data.get("orderId"), "detail.data.orderId")
    customer = _field(data.get("customer"), "detail.data.customer", dict, "an object")
    address = _text(customer.get("email"), "detail.data.customer.email")
    if "@" not in address:
        raise InvalidEvent("OrderCompleted detail.data.customer.email has no @ (not shown: personal data)")
    _text(data.get("currency"), "detail.data.currency")
    lines = _field(data.get("lines"), "detail.data.lines", list, "a list")
    if not lines:
        raise InvalidEvent("OrderCompleted detail.data.lines must hold at least one line, got []")
    for index, line in enumerate(lines):
        path = f"detail.data.lines[{index}]"
        _field(line, path, dict, "an object")
        _text(line.get("sku"), f"{path}.sku")
        if _field(line.get("quantity"), f"{path}.quantity", int, "an integer") < 1:
            raise InvalidEvent(f"OrderCompleted {path}.quantity must be at least 1, got {line['quantity']}")
        _cents(line.get("lineTotalCents"), f"{path}.lineTotalCents")
    for name in ("subtotalCents", "taxCents", "shippingCents", "totalCents"):
        _cents(data.get(name), f"detail.data.{name}")
    return Confirmation(order_id=order_id, email=confirmation(data))


def tracking(data: dict[str, Any]) -> Email:
    order_id, carrier, number = data["orderId"], data["carrier"], data["trackingNumber"]
    text = (
        f"Your order {order_id} ships with {carrier}: tracking number {number}. It arrives by {data['promisedDate']}."
    )
    return Email(
        to=data["customer"]["email"],
        subject=f"Your order {order_id} ships with {carrier}: {number}",
        text=text,
        html=f"<p>{html.escape(text)}</p>",
    )


def parse_shipment_assigned(detail: Any) -> Confirmation:
    """Check what the tracking e-mail needs and build it; ``InvalidEvent`` names the first bad field."""
    detail = _field(detail, "detail", dict, "an object")
    data = _field(detail.get("data"), "detail.data", dict, "an object")
    customer = _field(data.get("customer"), "detail.data.customer", dict, "an object")
    address = _text(customer.get("email"), "detail.data.customer.email")
    if "@" not in address:
        raise InvalidEvent("ShipmentAssigned detail.data.customer.email has no @ (not shown: personal data)")
    for name in ("orderId", "carrier", "trackingNumber", "promisedDate"):
        _text(data.get(name), f"detail.data.{name}")
    return Confirmation(order_id=data["orderId"], email=tracking(data), kind=TRACKING)


def parse(detail_type: Any, detail: Any) -> Confirmation:
    """The e-mail an event asks for: the confirmation (OrderCompleted) or the tracking e-mail (ShipmentAssigned)."""
    if detail_type == constants.EVENT_SHIPMENT_ASSIGNED:
        return parse_shipment_assigned(detail)
    return parse_order_completed(detail)
