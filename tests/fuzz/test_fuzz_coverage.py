"""Slot coverage arithmetic and the resume rules against a model made of byte sets.

The model keeps the set of delivered byte positions and a count of bytes
sent, and applies the slot rule literally: a chunk may go out while the bytes
it sends twice fit in what is left of the re-send allowance.
"""

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shares.download import coverage
from shares.download.coverage import SlotAccount
from shares.download.slot_ledger import SlotLedger

SIZE = 64
spans = st.tuples(st.integers(0, SIZE), st.integers(0, SIZE))
interval_lists = st.lists(spans, max_size=8)


def as_set(intervals) -> set[int]:
    return {i for start, end in intervals for i in range(start, end)}


@given(interval_lists)
def test_normalize_is_the_same_bytes_sorted_disjoint_and_not_touching(intervals):
    merged = coverage.normalize(intervals)
    assert as_set(merged) == as_set(intervals)
    assert all(start < end for start, end in merged)
    assert all(merged[i][1] < merged[i + 1][0] for i in range(len(merged) - 1))
    assert coverage.total(merged) == len(as_set(intervals))


@given(interval_lists, spans)
def test_add_and_overlap_count_bytes(intervals, span):
    merged = coverage.normalize(intervals)
    start, end = span
    assert as_set(coverage.add(merged, start, end)) == as_set(merged) | set(range(start, end))
    assert coverage.overlap(merged, start, end) == len(as_set(merged) & set(range(start, end)))


@given(interval_lists, st.integers(0, SIZE))
def test_covers_all_means_every_byte_of_the_file(intervals, size):
    merged = coverage.normalize(intervals)
    assert coverage.covers_all(merged, size) == (set(range(size)) <= as_set(merged))


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_allowance_is_the_configured_overlap_capped_at_half_the_file(size, configured):
    allowance = coverage.allowance_for(size, configured)
    assert 0 <= allowance <= configured and 2 * allowance <= size
    assert allowance == configured or 2 * (allowance + 1) > size


class Model:
    def __init__(self, size: int, allowance: int):
        self.size, self.allowance = size, allowance
        self.covered: set[int] = set()
        self.sent = 0

    def take(self, start: int, count: int) -> bool:
        chunk = set(range(start, start + count))
        budget_left = max(0, self.allowance - (self.sent - len(self.covered)))
        if len(chunk & self.covered) > budget_left:
            return False
        self.covered |= chunk
        self.sent += count
        return True


requests = st.lists(st.tuples(st.integers(0, SIZE - 1), st.integers(1, SIZE)), max_size=30)


@given(st.integers(1, SIZE), st.integers(0, SIZE), requests)
def test_a_slot_follows_the_model_and_never_sends_more_than_size_plus_allowance(size, configured, chunks):
    allowance = coverage.allowance_for(size, configured)
    account, model = SlotAccount(size, allowance), Model(size, allowance)
    for start, count in chunks:
        start, count = start % size, min(count, size - start % size)
        asked = account.may_continue(start, start + count)
        assert asked == (len(set(range(start, start + count)) & model.covered) <= account.budget_left)
        assert account.take(start, count) == model.take(start, count)
        assert as_set(account.covered) == model.covered
        assert account.sent == model.sent <= size + allowance
        assert account.resent == model.sent - len(model.covered) <= allowance
        assert account.complete == (len(model.covered) == size)


class LedgerMachine(RuleBasedStateMachine):
    """Requests of a few slots attach, take chunks and detach in any order."""

    def __init__(self):
        super().__init__()
        self.ledger = SlotLedger()
        self.users: dict[int, int] = {}
        self.models: dict[int, Model] = {}

    @rule(slot=st.integers(0, 2), size=st.integers(1, SIZE), prior=st.integers(0, SIZE))
    def attach(self, slot, size, prior):
        stored = SlotAccount(size, size // 2)
        stored.take(0, min(prior, size))  # what an earlier request left in the database
        if slot not in self.users:
            model = Model(size, size // 2)
            model.take(0, min(prior, size))
            self.models[slot] = model
        self.ledger.attach(slot, stored)
        self.users[slot] = self.users.get(slot, 0) + 1

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def take(self, data):
        slot = data.draw(st.sampled_from(sorted(self.users)))
        model = self.models[slot]
        start = data.draw(st.integers(0, model.size - 1))
        count = data.draw(st.integers(1, model.size - start))
        assert self.ledger.take(slot, start, count) == model.take(start, count)

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def detach(self, data):
        slot = data.draw(st.sampled_from(sorted(self.users)))
        self.ledger.detach(slot)
        self.users[slot] -= 1
        if self.users[slot] == 0:
            del self.users[slot], self.models[slot]

    @rule(slot=st.integers(0, 2))
    def detach_unknown_is_harmless(self, slot):
        if slot not in self.users:
            self.ledger.detach(slot)

    @invariant()
    def views_match_the_model(self):
        for slot in range(3):
            view = self.ledger.view(slot)
            if slot not in self.users:
                assert view is None
                continue
            model = self.models[slot]
            assert as_set(view.covered) == model.covered and view.sent == model.sent
            view.take(0, model.size)  # a view is a copy: spending it changes nothing live


TestLedger = LedgerMachine.TestCase
