"""Demo task: route requests to an in-house legal team's intake desk under a house policy.

The data comes from `legal_intake_data.py` beside this file: a seeded generator with a hidden
seven-rule routing policy and 5% label noise (600 requests, split about 300 / 90 / 210), so no
external data is needed and a script can check how many of the true rules a compiled prompt
recovers. Every rule is categorical (a topic, a party type or a document type named in the
request), so a small student can apply the rules once it is told them;
scripts/demo_ceiling.py measures how far that takes it.
"""

from typing import Literal

import dspy
from legal_intake_data import POLICY_RULES, generate_requests, rules_stated

import pldc


class LegalIntakeRouting(dspy.Signature):
    """Route a request that a business team sent to the in-house legal department's intake desk
    to the queue that handles it: self_serve (the requester uses an approved template or
    playbook, without a lawyer), in_house (a lawyer on the company's legal team takes it), or
    outside_counsel (it is referred to an external law firm)."""

    request: str = dspy.InputField(desc="the request as the business team submitted it")
    queue: Literal["self_serve", "in_house", "outside_counsel"] = dspy.OutputField()


# For scripts/ablation.py and scripts/demo_ceiling.py: count the generator's true rules a
# prompt states, and score the student with those rules as an upper reference.
true_rules = [rule.statement for rule in POLICY_RULES]
__all__ = ["LegalIntakeRouting", "generate_requests", "rules_stated", "task", "true_rules"]

task = pldc.Task(
    signature=LegalIntakeRouting,
    data=generate_requests(n=600, seed=11),
    splits=pldc.Splits(train=0.5, dev=0.15, test=0.35, seed=0),  # 300 / 90 / 210 requests
    name="legal_intake",
)
