"""RecordAccounting and the double-entry rules: balanced, and booked once per order."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambdas.record_accounting import handler as accounting_handler
from lambdas.shared import constants, ledger
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.ledger import Entry, UnbalancedTransaction
from tests.unit.payment_support import ORDER_ID, PRICING, accounting_event, invoke


def ledger_items(tables: dict[str, Any]) -> list[dict[str, Any]]:
    return tables[constants.ENV_LEDGER_TABLE].scan()["Items"]


def net_by_account(entries: list[Entry]) -> Counter[str]:
    net: Counter[str] = Counter()
    for entry in entries:
        net[entry.account] += entry.debit_cents - entry.credit_cents
    return net


def test_a_sale_debits_the_total_and_credits_its_parts() -> None:
    assert ledger.sale_entries(2500, 475, 495, 3470) == [
        Entry(ledger.ACCOUNTS_RECEIVABLE, debit_cents=3470),
        Entry(ledger.SALES_REVENUE, credit_cents=2500),
        Entry(ledger.TAX_PAYABLE, credit_cents=475),
        Entry(ledger.SHIPPING_REVENUE, credit_cents=495),
    ]


def test_zero_amounts_get_no_entry() -> None:
    accounts = [e.account for e in ledger.sale_entries(6000, 0, 0, 6000)]
    assert accounts == [ledger.ACCOUNTS_RECEIVABLE, ledger.SALES_REVENUE]


def test_a_total_that_is_not_the_sum_of_its_parts_is_refused() -> None:
    with pytest.raises(UnbalancedTransaction, match="total 3471"):
        ledger.sale_entries(2500, 475, 495, 3471)


@pytest.mark.parametrize(
    "entries",
    [
        [],
        [Entry("a", debit_cents=5), Entry("b", credit_cents=4)],
        [Entry("a", debit_cents=5, credit_cents=5)],
        [Entry("a", debit_cents=-5), Entry("b", credit_cents=-5)],
        [Entry("a"), Entry("b")],
    ],
)
def test_unbalanced_or_malformed_entries_are_refused(entries: list[Entry]) -> None:
    with pytest.raises(UnbalancedTransaction):
        ledger.assert_balanced(entries)


@given(
    subtotal=st.integers(min_value=1, max_value=10**9),
    tax=st.integers(min_value=0, max_value=10**8),
    shipping=st.integers(min_value=0, max_value=10**5),
)
def test_every_sale_balances_and_its_reversal_cancels_it(subtotal: int, tax: int, shipping: int) -> None:
    sale = ledger.sale_entries(subtotal, tax, shipping, subtotal + tax + shipping)
    assert sum(e.debit_cents for e in sale) == sum(e.credit_cents for e in sale) == subtotal + tax + shipping
    net = net_by_account(sale)
    net.update(net_by_account(ledger.reversal_entries(sale)))  # adds, keeping zeros
    assert set(net.values()) == {0}


def test_transaction_ids_are_deterministic_per_order_and_kind() -> None:
    sale = ledger.transaction_id(ORDER_ID, ledger.SALE)
    assert sale == ledger.transaction_id(ORDER_ID, ledger.SALE)
    assert sale != ledger.transaction_id(ORDER_ID, ledger.REFUND)
    assert sale != ledger.transaction_id("ord-1002", ledger.SALE)


def test_the_sale_is_booked_balanced(tables: dict[str, Any]) -> None:
    result = invoke(accounting_handler.handler, accounting_event())
    assert result == {"transactionId": ledger.transaction_id(ORDER_ID, ledger.SALE)}

    [item] = ledger_items(tables)
    assert (item["pk"], item["sk"]) == (f"ORDER#{ORDER_ID}", "TXN#SALE")
    assert (item["transactionId"], item["chargeId"], item["currency"]) == (result["transactionId"], "ch_1", "EUR")
    entries = [Entry.from_item(e) for e in item["entries"]]
    assert sum(e.debit_cents for e in entries) == sum(e.credit_cents for e in entries) == 3470


def test_a_retry_returns_the_same_transaction_and_books_nothing_more(tables: dict[str, Any]) -> None:
    first = invoke(accounting_handler.handler, accounting_event())
    [booked] = ledger_items(tables)
    # Even a retry carrying other figures cannot rewrite what is booked.
    again = invoke(accounting_handler.handler, accounting_event(subtotalCents=2600, totalCents=3570))
    assert again == first
    assert ledger_items(tables) == [booked]


def test_an_inconsistent_pricing_books_nothing(tables: dict[str, Any]) -> None:
    with pytest.raises(UnbalancedTransaction):
        invoke(accounting_handler.handler, accounting_event(totalCents=9999))
    assert ledger_items(tables) == []


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"orderId": ORDER_ID, "chargeId": "ch_1"}, "pricing"),
        ({"orderId": ORDER_ID, "pricing": PRICING}, "chargeId"),
        (accounting_event(taxCents=-1), "pricing.taxCents"),
        (accounting_event(totalCents=None), "pricing.totalCents"),
        (accounting_event(currency=None), "pricing.currency"),
    ],
)
def test_invalid_input_names_the_field(tables: dict[str, Any], event: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidOrder, match=f"'{field}'"):
        invoke(accounting_handler.handler, event)
