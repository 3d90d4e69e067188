"""The second half of the lessons' claims held to the shipped models (see test_claims.py), in a file of
its own so that ``--dist loadfile`` runs it on the other worker."""
import pytest
from test_claims import LESSONS, check_lesson

SECOND_HALF = [p for p in LESSONS if p.name >= "05"]


@pytest.mark.parametrize("notebook", SECOND_HALF, ids=lambda p: p.stem)
def test_every_claim_holds_on_the_shipped_models(notebook, tmp_path, claims_held_in_the_browser):
    check_lesson(notebook, tmp_path, claims_held_in_the_browser)
