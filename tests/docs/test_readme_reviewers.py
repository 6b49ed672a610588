"""The README says who may decide a payment review, how an operator grants that, and links docs/PRIVACY.md
(issue 11, "Done when"): with the names the stack really uses, so a renamed group, role or context key fails."""

from __future__ import annotations

import re
from pathlib import Path

from infra.workflow import REVIEWER_PRINCIPALS_CONTEXT, REVIEWER_ROLE_ID
from lambdas.backoffice_api.settings import REVIEWERS_GROUP

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Who may decide a payment review, and how an operator grants it"


def _section() -> str:
    text = README.read_text()
    assert SECTION in text, "the README does not say who may decide a review"
    return text.split(SECTION, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]


def test_the_readme_says_who_may_decide_a_review_and_how_an_operator_grants_it() -> None:
    section = _section()
    # The back office: the Cognito group, and the command that adds a user to it.
    assert f"`{REVIEWERS_GROUP}`" in section
    assert re.search(rf"admin-add-user-to-group .*--group-name {REVIEWERS_GROUP}\b", section)
    # A terminal or the Lambda console: the stack's reviewer role, or principals named at deploy time.
    assert f"`{REVIEWER_ROLE_ID}`" in section and "sts:AssumeRole" in section
    assert f"-c {REVIEWER_PRINCIPALS_CONTEXT}=" in section
    assert "never a field of" in section  # the reviewer recorded is the caller


def test_the_readme_links_the_personal_data_map() -> None:
    assert "](docs/PRIVACY.md)" in _section()
    assert (README.parent / "docs" / "PRIVACY.md").is_file()
