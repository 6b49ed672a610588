"""The order confirmation e-mail: what it says (built from OrderCompleted data only)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


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
