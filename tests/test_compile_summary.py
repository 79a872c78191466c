"""What `pldc compile` prints at its end."""

from __future__ import annotations


def test_the_compile_summary_ends_with_what_the_artifact_ships():
    """Issue 22 item 5: the end of `pldc compile` lists the kept rules and demonstrations."""
    from rich.console import Console

    from pldc.records import Rule
    from pldc.report import print_shipped

    rule = Rule(
        id="rule-03",
        text="If the claim is for alcohol, the answer is reject.",
        labels=["reject"],
        source_example_ids=["c1"],
        support=1,
    )
    demo = Rule(
        id="demo-01",
        kind="demonstration",
        text="Claim: Taxi\nAnswer: approve",
        labels=["approve"],
        source_example_ids=["c7"],
        support=1,
        fate="demonstration",
    )
    console = Console(record=True, width=200)
    print_shipped(console, [rule, demo])
    print_shipped(console, [])
    assert console.export_text().splitlines() == [
        "shipped, in prompt order (1 rules + 1 demonstrations):",
        "  1. [rule-03] If the claim is for alcohol, the answer is reject.",
        "  2. demonstration c7 -> approve",
        "shipped: no rules and no demonstrations (the instruction alone)",
    ]
