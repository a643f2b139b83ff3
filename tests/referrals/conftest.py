import pytest

from tests.referrals.factories import customer_of, default_rate, promoter_of
from tests.stores.factories import StoreFactory


@pytest.fixture
def network(db):
    """A store, a 10% / 5% default rule, and a chain: top ← middle ← buyer."""
    top = promoter_of()
    middle = promoter_of(customer_of(top))
    buyer = customer_of(middle)
    return {
        "store": StoreFactory(),
        "rule": default_rate(10, 5),
        "top": top,
        "middle": middle,
        "buyer": buyer,
    }
