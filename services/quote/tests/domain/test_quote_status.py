"""The quote status machine: draft -> presented -> accepted | rejected."""

import pytest
from quote.domain.errors import InvalidTransition, QuoteError
from quote.domain.quote import QuoteStatus, accept, ensure_editable, present, reject

DRAFT = QuoteStatus.DRAFT
PRESENTED = QuoteStatus.PRESENTED
ACCEPTED = QuoteStatus.ACCEPTED
REJECTED = QuoteStatus.REJECTED


def test_draft_is_presented() -> None:
    assert present("q-1", DRAFT) is PRESENTED


def test_draft_and_presented_quotes_are_accepted() -> None:
    assert accept("q-1", DRAFT) is ACCEPTED
    assert accept("q-1", PRESENTED) is ACCEPTED


def test_draft_and_presented_quotes_are_rejected() -> None:
    assert reject("q-1", DRAFT) is REJECTED
    assert reject("q-1", PRESENTED) is REJECTED


def test_only_a_draft_is_editable() -> None:
    ensure_editable("q-1", DRAFT)
    for status in (PRESENTED, ACCEPTED, REJECTED):
        with pytest.raises(InvalidTransition):
            ensure_editable("q-1", status)


def test_accepting_an_accepted_quote_again_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransition) as refused:
        accept("q-1", ACCEPTED)
    error = refused.value
    assert (error.quote_id, error.status, error.action) == ("q-1", "accepted", "accept")
    assert str(error) == "quote q-1 is accepted; cannot accept it"
    assert isinstance(error, QuoteError)


def test_rejected_quote_cannot_be_accepted() -> None:
    with pytest.raises(InvalidTransition, match="quote q-1 is rejected; cannot accept it"):
        accept("q-1", REJECTED)


def test_only_a_draft_can_be_presented() -> None:
    for status in (PRESENTED, ACCEPTED, REJECTED):
        with pytest.raises(InvalidTransition):
            present("q-1", status)


def test_accepted_and_rejected_quotes_cannot_be_rejected() -> None:
    for status in (ACCEPTED, REJECTED):
        with pytest.raises(InvalidTransition):
            reject("q-1", status)
