"""Demo task: review employee expense claims under a travel & expense policy.

The data comes from `expense_claims_data.py` beside this file: a seeded generator with a hidden
seven-rule policy and 5% label noise, so no external data is needed and a script can check
how many of the true rules a compiled prompt recovers.
"""

from typing import Literal

import dspy
from expense_claims_data import POLICY_RULES, generate_claims, rules_stated

import pldc


class ExpenseClaimReview(dspy.Signature):
    """Review an employee's expense claim under the company's travel and expense policy and
    decide whether to approve it, reject it, or escalate it to a senior reviewer."""

    claim: str = dspy.InputField(desc="the expense claim as the employee submitted it")
    decision: Literal["approve", "reject", "escalate"] = dspy.OutputField()


# For scripts/ablation.py: count the generator's true rules a prompt states, and score the
# student with those rules as an upper reference.
true_rules = [rule.statement for rule in POLICY_RULES]
__all__ = ["ExpenseClaimReview", "rules_stated", "task", "true_rules"]

task = pldc.Task(
    signature=ExpenseClaimReview,
    data=generate_claims(n=400, seed=7),
    splits=pldc.Splits(train=0.6, dev=0.1, test=0.3, seed=0),
    name="expense_claims",
)
