"""Seeded generator for a rule-governed legal intake routing dataset.

Each record is a short free-text request that a business team sent to the in-house legal
department's intake desk, labelled "self_serve", "in_house" or "outside_counsel" by a hidden
house routing policy (`POLICY_RULES`, applied in order; the first matching rule decides). Every
rule is categorical: a topic, a party type or a document type named in the request decides it,
never arithmetic on amounts or dates. `rules_stated` reports which of those rules a prompt text
spells out, line by line.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

LABELS: tuple[str, ...] = ("self_serve", "in_house", "outside_counsel")

_SELF_SERVE = r"self[\s_-]*serv"
_IN_HOUSE = r"in[\s_-]*house"
_OUTSIDE = r"outside[\s_-]*counsel|external (law firm|counsel|lawyer)"


@dataclass(frozen=True)
class PolicyRule:
    id: str  # "R1" ... "R7", and "R0" for the default
    label: str  # the queue it routes to
    statement: str  # one plain-English sentence stating the rule, as an auditor would write it
    # case-insensitive regexes; a text states this rule if ALL match within one line of it
    patterns: tuple[str, ...]


POLICY_RULES: tuple[PolicyRule, ...] = (
    PolicyRule(
        "R1",
        "outside_counsel",
        "If the request mentions a patent (a patent license, an infringement claim, an "
        "invention disclosure or a patent filing), answer outside_counsel.",
        (_OUTSIDE, r"\bpatent"),
    ),
    PolicyRule(
        "R2",
        "outside_counsel",
        "If the request mentions a government body (a ministry, a federal, state, county or "
        "city agency or council, or a public school district), answer outside_counsel.",
        (_OUTSIDE, r"\b(government|public[\s-]sector|ministry|ministries|agency|agencies)\b"),
    ),
    PolicyRule(
        "R3",
        "outside_counsel",
        "If the request mentions immigration (a work visa, a work permit or a green card), "
        "answer outside_counsel.",
        (_OUTSIDE, r"\b(immigration|visas?|work permits?|green cards?)\b"),
    ),
    PolicyRule(
        "R4",
        "self_serve",
        "If the request mentions an NDA (a non-disclosure agreement), answer self_serve, "
        "whoever the other party is, even a competitor.",
        (_SELF_SERVE, r"\b(ndas?|non-?disclosure)\b"),
    ),
    PolicyRule(
        "R5",
        "self_serve",
        "If the request mentions the renewal of an existing contract, answer self_serve, even "
        "when the price changes.",
        (_SELF_SERVE, r"\brenew"),
    ),
    PolicyRule(
        "R6",
        "self_serve",
        "If the request mentions open-source software, answer self_serve.",
        (_SELF_SERVE, r"\bopen[\s-]?source"),
    ),
    PolicyRule(
        "R7",
        "self_serve",
        "If the request mentions a person asking to see or delete the personal data we hold "
        "about them, answer self_serve.",
        (_SELF_SERVE, r"\b(personal[\s-]data|data[\s-]subject|their (own )?data)\b"),
    ),
    PolicyRule(
        "R0",
        "in_house",
        "Otherwise, answer in_house.",
        (_IN_HOUSE, r"\b(otherwise|default|none|no other|remaining|all other|every other|else)\b"),
    ),
)

_RULE_BY_ID = {rule.id: rule for rule in POLICY_RULES}

# Share of records whose request is built to be decided by each rule.
_TARGET_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("R0", 0.34),
    ("R1", 0.10),
    ("R2", 0.11),
    ("R3", 0.09),
    ("R4", 0.09),
    ("R5", 0.09),
    ("R6", 0.09),
    ("R7", 0.09),
)
# Share of default (R0) requests built as near misses: close to a rule's topic, but not it.
_NEAR_MISS = 0.5
# Chance that a patent request also involves a government body or an NDA (R1 still decides).
_PATENT_CO_OCCUR = 0.2
# Chance that a government request is an NDA or a renewal (R2 still decides).
_GOVERNMENT_CO_OCCUR = 0.3

# ---------------------------------------------------------------------------------------------
# Vocabulary

_NAMES = (
    "Priya", "Marcus", "Elena", "Tomas", "Aisha", "Jonas", "Mei", "Daniel", "Fatima", "Lukas",
    "Grace", "Ravi", "Sofia", "Kwame", "Hannah", "Diego", "Yuki", "Oliver", "Amara", "Sven",
    "Leila", "Connor", "Ingrid", "Mateo", "Nadia", "Ethan", "Chloe", "Arjun", "Zara", "Felix",
)  # fmt: skip
_DEPTS = (
    "Sales", "Procurement", "Engineering", "Marketing", "HR", "Finance", "Product",
    "Partnerships", "Customer Success", "Operations", "Research", "IT",
)  # fmt: skip
_COMPANIES = (
    "Northwind Logistics", "Halvorsen Retail", "Bluepeak Energy", "Corvid Analytics",
    "Tessaro Foods", "Quillon Software", "Redfern Pharma", "Atlas Freight", "Kestrel Insurance",
    "Orchard Lane Hotels", "Vantage Robotics", "Meridian Health Partners", "Lumen Payments",
    "Granite Peak Capital", "Sablewood Media", "Helix Biotech", "Pinecrest Manufacturing",
)  # fmt: skip
_COMPETITORS = ("Vexa Systems", "Brightline Cloud", "Tandem Data", "Corbel Software")
_GOVERNMENT = (
    "the Ministry of Health", "the Ministry of Education", "the City of {city}",
    "the state Department of Transportation", "{county} County", "the {city} city council",
    "the federal Department of Energy", "the {city} public school district",
    "a state environmental agency", "the national tax agency", "the Ministry of Defence",
    "the county health department", "a federal procurement agency",
)  # fmt: skip
_PRIVATE_NEAR_GOVERNMENT = (
    "a private hospital group", "a nonprofit foundation", "a family-owned utility company",
    "a privately held school chain", "a charity that runs food banks",
)  # fmt: skip
_CITIES = (
    "Denver", "Austin", "Boston", "Seattle", "Atlanta", "Phoenix", "Portland", "Columbus",
    "Raleigh", "Tampa", "Madison", "Omaha",
)  # fmt: skip
_COUNTIES = ("Marion", "Jefferson", "Franklin", "Lake", "Clark", "Washington", "Orange")
_COUNTRIES = (
    "India", "Brazil", "Germany", "Nigeria", "Mexico", "the Philippines", "Canada", "Vietnam",
    "Poland", "Kenya", "Japan", "Egypt",
)  # fmt: skip
_PRODUCTS = (
    "the analytics dashboard", "our billing platform", "the mobile app", "our routing engine",
    "the customer portal", "our scheduling tool", "the new sensor kit", "our payments API",
)  # fmt: skip
_SERVICES = (
    "cloud hosting", "payroll", "office cleaning", "translation", "customer support tooling",
    "security monitoring", "facilities management", "data warehousing", "travel booking",
)  # fmt: skip
_OSS_LICENSES = ("GPL-3.0", "MIT", "Apache 2.0", "AGPL", "BSD-3", "LGPL")
_OSS_PROJECTS = ("libvec", "fastqueue", "openmaps-js", "pyledger", "tinyhttp", "gridkit")
_MEETINGS = (
    "the product demo", "next week's workshop", "the pricing discussion", "the pilot kickoff",
    "the site visit", "the partnership talks", "the technical deep dive",
)  # fmt: skip
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

_OPENERS = (
    "Hi Legal,", "Hello team,", "Hi all -", "Quick question:", "Request from {name} ({dept}):",
    "Ticket #{ticket} ({dept}):", "Legal intake form, submitted by {name} in {dept}:",
    "{name} from {dept} writes:", "Hi there,", "Good morning,", "", "", "",
)  # fmt: skip
_DISTRACTORS = (
    "The deal is worth about ${amount}k a year.",
    "We need an answer by {day}.",
    "Their lawyer is based in {city2}.",
    "The draft is {pages} pages long and attached to the ticket.",
    "{name2} in {dept} is the business owner.",
    "This is for the {project} project.",
    "We have worked with them for {years} years.",
    "The CEO is following this one closely.",
    "Low priority, no hard deadline.",
    "Their team flagged it as urgent.",
    "Please charge the time to cost centre CC-{cc}.",
    "I already checked with my manager, {name2}.",
    "The kickoff is planned for {month}.",
    "They are one of our top ten accounts.",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Requests and the policy


@dataclass
class _Request:
    matter: str
    patent: bool = False
    government: bool = False
    immigration: bool = False
    nda: bool = False
    renewal: bool = False
    open_source: bool = False
    data_request: bool = False


def _decide(request: _Request) -> str:
    """The id of the first policy rule that matches the request's attributes."""
    if request.patent:
        return "R1"
    if request.government:
        return "R2"
    if request.immigration:
        return "R3"
    if request.nda:
        return "R4"
    if request.renewal:
        return "R5"
    if request.open_source:
        return "R6"
    if request.data_request:
        return "R7"
    return "R0"


# Each matter: the attributes it sets and its sentence templates. "{party}" is filled with the
# other party (a company, or a government body when the request is built for R2).
_MATTERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "patent": (
        ("patent",),
        (
            "{Party} sent a letter claiming that {product} infringes one of their patents.",
            "We would like to license a patent from {party} for the next version of {product}.",
            "Engineering filed an invention disclosure for a new feature of {product} and asks "
            "whether we should file a patent.",
            "{Party} wants to buy two of our older patents; can we start the paperwork?",
            "A contractor who built part of {product} has to assign the patent rights to us.",
            "Before launch, can someone check whether {product} could run into {party}'s patents?",
        ),
    ),
    "patent_nda": (
        ("patent", "nda"),
        (
            "{Party} wants us to sign an NDA before we discuss licensing their patent.",
            "We need a mutual NDA with {party} so we can show them the patent we want to sell.",
        ),
    ),
    "nda": (
        ("nda",),
        (
            "Can we sign a mutual NDA with {party} before {meeting}?",
            "{Party} sent over their one-way non-disclosure agreement ahead of {meeting}; can I "
            "sign it?",
            "I need an NDA in place with {party} so we can share the {product} roadmap.",
            "{Party} asked us to sign their NDA before they show us their pricing.",
            "Please set up a non-disclosure agreement with {party} for {meeting}.",
        ),
    ),
    "nda_competitor": (
        ("nda",),
        (
            "{competitor}, a direct competitor, wants an NDA before we explore a joint bid.",
            "Our competitor {competitor} proposed a mutual NDA so both sides can compare "
            "integration plans.",
        ),
    ),
    "renewal": (
        ("renewal",),
        (
            "Our {service} contract with {party} ends in {month} and we want to renew it for "
            "another year.",
            "{Party} is asking to renew their subscription to {product}, with a {pct}% price "
            "increase this time.",
            "Please handle the renewal of the {service} agreement with {party}; the terms are "
            "the same as last year.",
            "Procurement wants to renew the {service} contract with {party} for two more years "
            "at a lower rate.",
            "{Party} sent the renewal paperwork for our existing {service} agreement.",
        ),
    ),
    "open_source": (
        ("open_source",),
        (
            "Can we ship {product} with a library licensed under {oss_license}? It is open source.",
            "Engineering wants to release our internal deployment scripts as open source on "
            "GitHub.",
            "One of our developers would like to contribute a fix to the open-source project "
            "{oss_project}.",
            "Is it OK to use the open-source {oss_project} package, which is under "
            "{oss_license}, in {product}?",
            "We found open-source code under {oss_license} copied into {product}; what should we "
            "do?",
        ),
    ),
    "data_request": (
        ("data_request",),
        (
            "A former customer emailed asking us to delete all the personal data we hold about "
            "her.",
            "A user of {product} wants a copy of every piece of personal data we keep on him.",
            "A job applicant asked to see the personal data we collected during the interviews.",
            "Someone who cancelled their account wants to know what personal data we still "
            "have about them and asked for it to be erased.",
            "We got a data subject request from a customer of {product} who wants their own "
            "data deleted.",
        ),
    ),
    "immigration": (
        ("immigration",),
        (
            "We are hiring an engineer from {country} and need to sponsor a work visa.",
            "{name2} on the {dept} team needs a work permit before moving to our {city} office.",
            "Can Legal help with a green card application for {name2}, who has been with us "
            "for {years} years?",
            "A new hire relocating from {country} needs a work visa before the start date in "
            "{month}.",
            "{name2}'s work permit expires in {month} and has to be renewed.",
        ),
    ),
    # Default matters (R0).
    "vendor_msa": (
        (),
        (
            "Please review the master services agreement from {party} for {service}.",
            "{Party} sent their standard terms for {service}; can someone review them?",
            "Procurement picked {party} for {service} and needs the contract reviewed.",
        ),
    ),
    "customer_redlines": (
        (),
        (
            "{Party} sent redlines on our customer agreement and wants to cap liability at "
            "fees paid.",
            "{Party} is pushing back on the indemnity clause in our order form for {product}.",
            "{Party} wants to buy {product} but asks for a most-favoured-customer clause.",
        ),
    ),
    "dispute": (
        (),
        (
            "{Party}'s lawyers sent a demand letter over unpaid invoices.",
            "A former employee has filed a lawsuit claiming wrongful dismissal.",
            "{Party} is threatening to sue over a delayed delivery of {product}.",
            "We were served with a complaint in a contract dispute with {party}.",
        ),
    ),
    "lease": (
        (),
        (
            "We are signing a lease for a new office in {city}; the landlord sent the draft.",
            "The landlord of our {city} office wants to change the maintenance terms in the lease.",
        ),
    ),
    "employment": (
        (),
        (
            "A manager in {dept} wants to let an underperforming employee go; what is the process?",
            "Can we add a non-compete to the offer letter for a new sales director?",
            "An employee has complained about harassment by a team lead in {dept}.",
        ),
    ),
    "reseller": (
        (),
        (
            "{Party} wants to become a reseller of {product} in {country}.",
            "We want to sign a distribution agreement with {party} for {product}.",
        ),
    ),
    "consulting": (
        (),
        (
            "We want to hire a freelance designer; can Legal draft a consulting agreement?",
            "{Party} will send two consultants for {service}; they sent a statement of work.",
        ),
    ),
    "sponsorship": (
        (),
        (
            "Marketing wants to sponsor a trade conference; the organiser sent a sponsorship "
            "agreement.",
            "We are paying an influencer to promote {product}; can someone check the contract?",
        ),
    ),
    "export": (
        (),
        (
            "Can we ship {product} hardware to a customer in {country}, or do export controls "
            "apply?",
        ),
    ),
    # Near misses: close to a rule's topic, but no rule applies (R0).
    "trademark": (
        (),
        (
            "Marketing wants to register a trademark for the new name of {product}.",
            "{Party} is using a logo very similar to ours; can we send a cease-and-desist over "
            "our trademark?",
            "Can we reuse photos from {party}'s website in our brochure, or is that copyright "
            "infringement?",
            "A blogger copied our user guide word for word; do we own the copyright?",
        ),
    ),
    "private_party": (
        (),
        (
            "{near_government} wants to buy {product}; they sent their own purchase contract.",
            "We are drafting a services agreement with {near_government} for {service}.",
            "{near_government} asked for a discount and a longer payment term on {product}.",
        ),
    ),
    "relocation": (
        (),
        (
            "{name2} is moving from our {city2} office to {city} and needs an updated "
            "employment contract.",
            "An engineer wants to work remotely from {city} for a month; anything to check?",
        ),
    ),
    "confidentiality_clause": (
        (),
        (
            "{Party} wants to change the confidentiality clause in our master agreement.",
            "Our customer {party} asks to shorten the confidentiality period in their contract "
            "from five years to three.",
        ),
    ),
    "new_contract": (
        (),
        (
            "We are signing a brand-new agreement with {party} for {service}; there is no "
            "earlier contract with them.",
            "We want to terminate our {service} contract with {party} early because of poor "
            "service.",
            "{Party} wants to end its subscription to {product} before the term is over.",
        ),
    ),
    "proprietary_software": (
        (),
        (
            "We are buying a commercial license for {party}'s database; please review the "
            "license terms.",
            "Can we install a paid desktop tool from {party} on all company laptops under one "
            "license?",
        ),
    ),
    "privacy_policy": (
        (),
        (
            "We need to update our privacy policy before launching {product} in {country}.",
            "{Party} wants us to sign a data processing agreement before they host our customer "
            "records.",
            "Marketing wants to start using website cookies for ad tracking; what do we need?",
        ),
    ),
}
_PLAIN_DEFAULTS = (
    "vendor_msa", "customer_redlines", "dispute", "lease", "employment", "reseller",
    "consulting", "sponsorship", "export",
)  # fmt: skip
_NEAR_MISSES = (
    "trademark", "private_party", "relocation", "confidentiality_clause", "new_contract",
    "proprietary_software", "privacy_policy",
)  # fmt: skip
_MATTERS_WITH_PARTY = ("nda", "renewal", "vendor_msa", "customer_redlines", "dispute")
_TARGET_MATTERS: dict[str, tuple[str, ...]] = {
    "R1": ("patent",),
    "R3": ("immigration",),
    "R4": ("nda", "nda", "nda", "nda_competitor"),
    "R5": ("renewal",),
    "R6": ("open_source",),
    "R7": ("data_request",),
}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _make_context(rng: random.Random) -> dict[str, str]:
    name = rng.choice(_NAMES)
    city, city2 = rng.sample(_CITIES, 2)
    ctx = {
        "name": name,
        "name2": rng.choice([n for n in _NAMES if n != name]),
        "dept": rng.choice(_DEPTS),
        "city": city,
        "city2": city2,
        "county": rng.choice(_COUNTIES),
        "country": rng.choice(_COUNTRIES),
        "product": rng.choice(_PRODUCTS),
        "service": rng.choice(_SERVICES),
        "competitor": rng.choice(_COMPETITORS),
        "near_government": _cap(rng.choice(_PRIVATE_NEAR_GOVERNMENT)),
        "oss_license": rng.choice(_OSS_LICENSES),
        "oss_project": rng.choice(_OSS_PROJECTS),
        "meeting": rng.choice(_MEETINGS),
        "month": rng.choice(_MONTHS),
        "day": rng.choice(_DAYS),
        "pct": str(rng.choice((3, 4, 5, 6, 8, 10, 12))),
        "years": str(rng.randint(2, 9)),
        "pages": str(rng.randint(4, 40)),
        "amount": str(rng.choice((15, 40, 60, 85, 120, 250, 400, 900))),
        "cc": str(rng.randint(100, 899)),
        "ticket": str(rng.randint(10000, 99999)),
        "project": rng.choice(("Atlas", "Phoenix", "Horizon", "Bluebird", "Northstar")),
    }
    return ctx


def _choose_matter(rng: random.Random, target: str) -> tuple[str, bool]:
    """(matter, whether the other party is a government body) for a request `target` decides."""
    if target == "R1":
        roll = rng.random()
        if roll < _PATENT_CO_OCCUR / 2:
            return "patent", True
        if roll < _PATENT_CO_OCCUR:
            return "patent_nda", False
        return "patent", False
    if target == "R2":
        if rng.random() < _GOVERNMENT_CO_OCCUR:
            return rng.choice(("nda", "renewal")), True
        return rng.choice(("vendor_msa", "customer_redlines", "dispute")), True
    if target == "R0":
        pool = _NEAR_MISSES if rng.random() < _NEAR_MISS else _PLAIN_DEFAULTS
        return rng.choice(pool), False
    return rng.choice(_TARGET_MATTERS[target]), False


def _make_request(rng: random.Random, target: str) -> tuple[_Request, str]:
    """Build attributes and text for a request that `target` decides."""
    matter, government = _choose_matter(rng, target)
    flags, templates = _MATTERS[matter]
    request = _Request(matter=matter, government=government)
    for flag in flags:
        setattr(request, flag, True)
    ctx = _make_context(rng)
    party = rng.choice(_GOVERNMENT).format_map(ctx) if government else rng.choice(_COMPANIES)
    ctx["party"], ctx["Party"] = party, _cap(party)
    if government:  # the government body must be named in the request
        templates = tuple(t for t in templates if "{party}" in t.lower())
    core = rng.choice(templates).format_map(ctx)
    parts = [core]
    # Short requests, at most one distractor: with two distractors and a sign-off, the 0.5B
    # student applied the true rules far less (docs/demo-ceiling.md, design log).
    if rng.random() < 0.5:
        parts.insert(rng.randint(0, 1), rng.choice(_DISTRACTORS).format_map(ctx))
    opener = rng.choice(_OPENERS).format_map(ctx)
    text = " ".join(p for p in (opener, *parts) if p)
    return request, text


def _target_plan(n: int, rng: random.Random) -> list[str]:
    """Exact per-rule quotas (largest remainder), shuffled."""
    raw = [(rule_id, w * n) for rule_id, w in _TARGET_WEIGHTS]
    counts = {rule_id: int(x) for rule_id, x in raw}
    by_remainder = sorted(range(len(raw)), key=lambda i: (-(raw[i][1] % 1), i))
    for i in by_remainder[: n - sum(counts.values())]:
        counts[raw[i][0]] += 1
    plan = [rule_id for rule_id, _ in _TARGET_WEIGHTS for _ in range(counts[rule_id])]
    rng.shuffle(plan)
    return plan


def generate_requests(n: int = 400, seed: int = 11, noise: float = 0.05) -> list[dict[str, str]]:
    """records: {"id": "request-0001", "request": <text>, "queue": <gold label WITH noise>,
    "true_queue": <label from the policy>, "policy_rule": "R4", "matter": "nda"}"""
    if n < 0:
        raise ValueError("n must be non-negative")
    if not 0.0 <= noise <= 1.0:
        raise ValueError("noise must be within [0, 1]")
    rng = random.Random(seed)
    # A separate stream for noise, so the requests themselves do not depend on `noise`.
    noise_rng = random.Random(rng.getrandbits(64))
    records = []
    for i, target in enumerate(_target_plan(n, rng), start=1):
        request, text = _make_request(rng, target)
        rule_id = _decide(request)
        true_label = _RULE_BY_ID[rule_id].label
        label = true_label
        if noise_rng.random() < noise:
            label = noise_rng.choice([x for x in LABELS if x != true_label])
        records.append(
            {
                "id": f"request-{i:04d}",
                "request": text,
                "queue": label,
                "true_queue": true_label,
                "policy_rule": rule_id,
                "matter": request.matter,
            }
        )
    return records


def _segments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def rules_stated(prompt_text: str) -> list[str]:
    """ids of R1..R7 whose patterns match within a single line of prompt_text (R0 excluded)"""
    found = []
    for rule in POLICY_RULES:
        if rule.id == "R0":
            continue
        for line in _segments(prompt_text):
            if all(re.search(p, line, re.IGNORECASE) for p in rule.patterns):
                found.append(rule.id)
                break
    return found


if __name__ == "__main__":
    from collections import Counter

    data = generate_requests(600, 11)  # as signatures/legal_intake.py
    total = len(data)
    for key in ("true_queue", "queue", "policy_rule"):
        counts = Counter(r[key] for r in data)
        shown = ", ".join(f"{k}={v} ({v / total:.1%})" for k, v in sorted(counts.items()))
        print(f"{key}: {shown}")
    flipped = sum(r["queue"] != r["true_queue"] for r in data)
    print(f"noisy labels: {flipped} ({flipped / total:.1%})")
    print()
    for record in data[:12]:
        print(
            f"[{record['id']}] {record['policy_rule']} {record['matter']} -> {record['true_queue']}"
        )
        print(f"  {record['request']}")
