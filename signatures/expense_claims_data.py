"""Seeded generator for a rule-governed expense-claim review dataset.

Each record is a short free-text expense claim, labelled "approve", "reject" or "escalate" by a
hidden travel & expense policy (`POLICY_RULES`, applied in order; the first matching rule decides).
`rules_stated` reports which of those rules a prompt text spells out, line by line.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

LABELS: tuple[str, ...] = ("approve", "reject", "escalate")

_REJECT = r"\b(reject|deny|denied|declin|refuse|disallow|not (be )?reimburs|non-reimbursable)"
_ESCALATE = r"\b(escalat|refer|flag|route|send (it )?(up|for review))"


@dataclass(frozen=True)
class PolicyRule:
    id: str  # "R1" ... "R7", and "R0" for the default
    label: str  # the decision it forces
    statement: str  # one plain-English sentence stating the rule, as an auditor would write it
    # case-insensitive regexes; a text states this rule if ALL match within one line of it
    patterns: tuple[str, ...]


POLICY_RULES: tuple[PolicyRule, ...] = (
    PolicyRule(
        "R1",
        "reject",
        "Reject any claim for personal expenses, such as gym or spa memberships, personal "
        "clothing, a family member's travel or meals, in-flight movies, or personal phone "
        "accessories.",
        (_REJECT, r"\b(personal|gym|spa|cloth|family|spouse|in-?flight (movie|entertainment))"),
    ),
    PolicyRule(
        "R2",
        "reject",
        "Reject any claim that includes alcoholic drinks (wine, beer, cocktails, spirits or a "
        "bar tab), even when they were part of a client meal.",
        (_REJECT, r"\b(alcohol|wine|beer|cocktail|spirits|liquor|bar tab|booze)"),
    ),
    PolicyRule(
        "R3",
        "reject",
        "Reject any claim submitted more than 90 days after the expense date.",
        (_REJECT, r"\b((90|ninety)[\s-]*days?|three months|3 months)\b"),
    ),
    PolicyRule(
        "R4",
        "reject",
        "Reject any claim above $75 that has no itemised receipt attached.",
        (_REJECT, r"receipt", r"\b75\b|seventy[\s-]five"),
    ),
    PolicyRule(
        "R5",
        "escalate",
        "Escalate any first-class or business-class airfare or rail ticket for approval.",
        (_ESCALATE, r"\b(first|business)[\s-]*class"),
    ),
    PolicyRule(
        "R6",
        "escalate",
        "Escalate any gift, meal or hospitality provided to a government official or public "
        "employee.",
        (
            _ESCALATE,
            r"\b(government|public[\s-](official|employee|servant|sector)"
            r"|civil servant|officials?)\b",
        ),
    ),
    PolicyRule(
        "R7",
        "escalate",
        "Escalate any single claim above $1,000.",
        (_ESCALATE, r"\b1,?000\b|one thousand|\$1k\b"),
    ),
    PolicyRule(
        "R0",
        "approve",
        "Approve any claim that none of the rules above applies to.",
        (r"\bapprov", r"\b(otherwise|default|none|no other|remaining|all other|else)\b"),
    ),
)

_RULE_BY_ID = {rule.id: rule for rule in POLICY_RULES}
_RECEIPT_CENTS = 7_500  # R4 applies strictly above $75
_LARGE_CENTS = 100_000  # R7 applies strictly above $1,000
_LATE_DAYS = 90  # R3 applies strictly above 90 days

# Share of records whose claim is built to be decided by each rule.
_TARGET_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("R0", 0.40),
    ("R1", 0.09),
    ("R2", 0.085),
    ("R3", 0.09),
    ("R4", 0.085),
    ("R5", 0.085),
    ("R6", 0.08),
    ("R7", 0.085),
)
# Chance that a lower-precedence rule also triggers on a claim built for a higher one.
_CO_OCCUR = {"R2": 0.12, "R3": 0.12, "R4": 0.12, "R5": 0.3, "R6": 0.2, "R7": 0.15}

_CATEGORY_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("meal", 5.0),
    ("airfare", 4.0),
    ("rail", 2.0),
    ("hotel", 4.0),
    ("ground", 3.0),
    ("conference", 2.0),
    ("equipment", 3.0),
    ("gift", 2.5),
    ("hospitality", 1.5),
    ("personal", 9.0),  # only ever eligible for R1
)
_SUPPORTS: dict[str, tuple[str, ...]] = {
    "meal": ("R1", "R2", "R3", "R4", "R6", "R7"),
    "airfare": ("R1", "R3", "R4", "R5", "R7"),
    "rail": ("R1", "R3", "R4", "R5"),
    "hotel": ("R1", "R2", "R3", "R4", "R7"),
    "ground": ("R3", "R4"),
    "conference": ("R3", "R4", "R7"),
    "equipment": ("R1", "R3", "R4", "R7"),
    "gift": ("R2", "R3", "R4", "R6"),
    "hospitality": ("R3", "R4", "R6", "R7"),
    "personal": ("R1", "R3", "R4", "R7"),
}

# ---------------------------------------------------------------------------------------------
# Vocabulary

_NAMES = (
    "Priya", "Marcus", "Elena", "Tomas", "Aisha", "Jonas", "Mei", "Daniel", "Fatima", "Lukas",
    "Grace", "Ravi", "Sofia", "Kwame", "Hannah", "Diego", "Yuki", "Oliver", "Amara", "Sven",
    "Leila", "Connor", "Ingrid", "Mateo", "Nadia", "Ethan", "Chloe", "Arjun", "Zara", "Felix",
    "Rosa", "Hiroshi", "Bianca", "Samuel", "Olga", "Tariq", "Emma", "Kofi", "Lucia", "Ben",
)  # fmt: skip
_CITIES = (
    "Chicago", "Boston", "Denver", "Austin", "Seattle", "Atlanta", "Toronto", "London",
    "Frankfurt", "Paris", "Madrid", "Milan", "Amsterdam", "Singapore", "Tokyo", "Sydney",
    "Dubai", "Mexico City", "Dublin", "Zurich", "Houston", "Vancouver", "Lisbon", "Oslo",
)  # fmt: skip
_DEPTS = (
    "Sales", "Finance", "Engineering", "Marketing", "Legal", "Procurement", "Customer Success",
    "Operations", "HR", "Product", "Data Science", "Supply Chain",
)  # fmt: skip
_PURPOSES = (
    "the quarterly business review", "the contract renewal", "a supplier audit",
    "the sales kickoff", "a customer onboarding workshop", "the regional partner summit",
    "due-diligence meetings", "the product launch", "a site inspection",
    "the annual budget review", "a recruiting fair", "the data-centre migration",
    "the pricing negotiation", "an investor roadshow", "the compliance training",
    "the warehouse rollout", "a joint bid", "the ERP go-live",
)  # fmt: skip
_CLIENTS = (
    "Northwind Logistics", "Halvorsen Retail Group", "Bluepeak Energy", "Corvid Analytics",
    "Marlowe & Finch LLP", "Tessaro Foods", "Quillon Software", "Redfern Pharmaceuticals",
    "Atlas Freight Ltd", "Kestrel Insurance", "Orchard Lane Hotels", "Vantage Robotics",
)  # fmt: skip
_PRIVATE_CONTACTS = (
    "the CFO of {client}", "two buyers from {client}", "the head of procurement at {client}",
    "our account lead at {client}", "three engineers from {client}",
    "the operations director at {client}", "a prospective customer from {client}",
    "the founder of {client}, a private company",
)  # fmt: skip
_OFFICIALS = (
    "a planning officer from the city council in {city}",
    "two inspectors from the state environmental protection agency",
    "the deputy director of the Ministry of Health",
    "a procurement officer from the Department of Transportation",
    "a county health inspector",
    "the superintendent of the local public school district",
    "an officer from the national customs agency",
    "a senior civil servant from the Ministry of Finance",
    "a regulator from the state banking department",
    "the mayor's chief of staff",
    "two officials from the federal trade ministry",
    "a teacher at the public high school in {city}",
    "a fire-safety inspector from the municipal fire department",
)
_RELATIVES = ("wife", "husband", "partner", "daughter", "son", "mother", "spouse")
_RESTAURANTS = (
    "Osteria Lupa", "The Copper Kettle", "Sakura Grill", "Blue Door Bistro", "Harbor House",
    "Casa Verde", "Le Petit Zinc", "Smoke & Oak BBQ", "Golden Lotus", "The Green Fork",
    "Maison Rouge", "Trattoria Sole",
)  # fmt: skip
_HOTELS = (
    "Hotel Meridian", "the Parkview Inn", "Grand Central Suites", "the Harbourside Hotel",
    "Lakeside Plaza", "the Ambassador", "Novotel Centre", "the Kimpton Riverside",
)  # fmt: skip
_AIRLINES = (
    "Delta", "United", "Lufthansa", "KLM", "Air Canada", "British Airways", "Emirates",
    "Singapore Airlines", "Qantas", "Iberia", "American Airlines",
)  # fmt: skip
# (from, to, operator)
_RAIL_ROUTES = (
    ("London", "Paris", "Eurostar"), ("Brussels", "London", "Eurostar"),
    ("Frankfurt", "Munich", "Deutsche Bahn"), ("Berlin", "Hamburg", "Deutsche Bahn"),
    ("Paris", "Lyon", "SNCF"), ("Boston", "New York", "Amtrak"),
    ("Washington", "Philadelphia", "Amtrak"), ("Milan", "Rome", "Trenitalia"),
    ("Madrid", "Barcelona", "Renfe"), ("Toronto", "Montreal", "VIA Rail"),
    ("Zurich", "Milan", "Trenitalia"),
)  # fmt: skip
_STORES = ("Staples", "Best Buy", "Office Depot", "Amazon Business", "B&H Photo", "CDW")
_WINES = ("Rioja", "Chianti", "Pinot Noir", "Sauvignon Blanc", "prosecco", "Malbec")
_BEERS = ("craft beer", "lager", "IPA", "pilsner")
_SPIRITS = ("whisky", "tequila", "brandy", "gin")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
)  # fmt: skip

_RECEIPT_YES = (
    "receipt attached", "itemised receipt attached", "the itemized receipt is attached",
    "original itemised receipt uploaded", "scanned itemised receipt included",
    "receipt uploaded to the portal", "itemised invoice and receipt attached",
    "the full itemized receipt is in the claim",
)  # fmt: skip
_RECEIPT_NO = (
    "no receipt — lost it", "card statement only, no itemised receipt", "no receipt available",
    "the receipt was lost", "there is no itemized receipt, only the bank statement line",
    "the vendor did not provide a receipt", "no receipt attached", "receipt missing",
    "only a card slip with the total, no itemised receipt",
)  # fmt: skip

_DISTRACTORS = (
    "Project code PRJ-{code}.",
    "Cost centre CC-{cc} ({dept}).",
    "Please charge cost center CC-{cc}.",
    "It rained the entire week in {city}.",
    "{name2} from {dept} also came along.",
    "The meeting went well and a follow-up is planned for {month}.",
    "Paid with the corporate card ending in {last4}.",
    "{name2} is the approving manager.",
    "Please process before the month-end close.",
    "Traffic in {city} was terrible that week.",
    "Part of the {project} programme.",
    "The {client} team has asked for another meeting in {month}.",
    "{name2} said this should be fine.",
    "Urgent: needed for the quarter-end reconciliation.",
)


# ---------------------------------------------------------------------------------------------
# Claim attributes and the policy


@dataclass
class _Claim:
    category: str
    amount_cents: int = 0
    receipt: bool = True
    delay_days: int = 0
    personal: bool = False
    alcohol: bool = False
    premium: bool = False
    government: bool = False


def _decide(claim: _Claim) -> str:
    """The id of the first policy rule that matches the claim's attributes."""
    if claim.personal:
        return "R1"
    if claim.alcohol:
        return "R2"
    if claim.delay_days > _LATE_DAYS:
        return "R3"
    if claim.amount_cents > _RECEIPT_CENTS and not claim.receipt:
        return "R4"
    if claim.premium:
        return "R5"
    if claim.government:
        return "R6"
    if claim.amount_cents > _LARGE_CENTS:
        return "R7"
    return "R0"


@dataclass
class _AmountNeed:
    large: bool  # must exceed $1,000 (otherwise must not)
    over75: bool  # receipt missing and must trigger R4
    small: bool  # receipt missing and must not trigger R4
    boundary: bool  # prefer an amount close to a threshold

    def bounds(self, lo: float, hi: float) -> tuple[int, int]:
        lo_c, hi_c = round(lo * 100), round(hi * 100)
        if self.large:
            lo_c = max(lo_c, _LARGE_CENTS + 1)
        else:
            hi_c = min(hi_c, _LARGE_CENTS)
        if self.over75:
            lo_c = max(lo_c, _RECEIPT_CENTS + 1)
        if self.small:
            hi_c = min(hi_c, _RECEIPT_CENTS)
        return lo_c, hi_c

    def fits(self, lo: float, hi: float) -> bool:
        lo_c, hi_c = self.bounds(lo, hi)
        return lo_c <= hi_c


def _pick_cents(rng: random.Random, lo_c: int, hi_c: int, need: _AmountNeed) -> int:
    if need.boundary:
        # (low, high, edge): edge is the exact value closest to the threshold
        windows: list[tuple[int, int, int]] = []
        if need.small:
            windows.append((6_000, _RECEIPT_CENTS, _RECEIPT_CENTS))
        if need.over75:
            windows.append((_RECEIPT_CENTS + 1, 9_500, _RECEIPT_CENTS + 1))
        if need.large:
            windows.append((_LARGE_CENTS + 1, 106_000, _LARGE_CENTS + 1))
        else:
            windows.append((94_000, _LARGE_CENTS, _LARGE_CENTS))
        feasible = [
            (max(a, lo_c), min(b, hi_c), e) for a, b, e in windows if max(a, lo_c) <= min(b, hi_c)
        ]
        if feasible:
            a, b, edge = rng.choice(feasible)
            if a <= edge <= b and rng.random() < 0.25:
                return edge
            lo_c, hi_c = a, b
    cents = rng.randint(lo_c, hi_c)
    if rng.random() < 0.4:
        whole = (cents // 100) * 100
        if whole < lo_c:
            whole += 100
        if whole <= hi_c:
            cents = whole
    return cents


def _fmt_amount(rng: random.Random, cents: int) -> str:
    dollars, rest = divmod(cents, 100)
    grouped = f"{dollars:,}" if rng.random() < 0.85 else str(dollars)
    number = f"{grouped}.{rest:02d}" if rest or rng.random() < 0.2 else grouped
    style = rng.randrange(6)
    if style in (0, 1):
        return f"${number}"
    if style == 2:
        return f"USD {number}"
    if style == 3:
        return f"{number} dollars"
    if style == 4:
        return f"US${number}"
    return f"{number} USD"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _count(rng: random.Random, n: int, unit: str) -> str:
    """'3 weeks', 'three weeks', 'a week'."""
    if n == 1:
        return f"{rng.choice(('a', 'one', '1'))} {unit}"
    shown = _NUMBER_WORDS[n] if n <= 10 and rng.random() < 0.4 else str(n)
    return f"{shown} {unit}s"


def _set_amount(
    rng: random.Random,
    claim: _Claim,
    ctx: dict[str, str],
    need: _AmountNeed,
    options: list[tuple[str, float, float]],
) -> str:
    """Pick an option (kind, lo, hi) whose range can meet `need`, set the amount, return kind."""
    fitting = [o for o in options if need.fits(o[1], o[2])]
    if not fitting and need.small:
        need.small = False  # no small variant here: attach a receipt instead
        fitting = [o for o in options if need.fits(o[1], o[2])]
    if not fitting:
        raise ValueError(f"no {claim.category} option fits {need}")
    kind, lo, hi = rng.choice(fitting)
    claim.amount_cents = _pick_cents(rng, *need.bounds(lo, hi), need)
    ctx["amount"] = _fmt_amount(rng, claim.amount_cents)
    return kind


def _join(main: str, tails: list[str], ctx: dict[str, str]) -> str:
    text = main.format_map(ctx)
    for tail in tails:
        text += "; " + tail.format_map(ctx)
    return _cap(text) + "."


# ---------------------------------------------------------------------------------------------
# Category builders: each sets the amount and returns the main sentence of the claim.


def _guest_phrase(rng: random.Random, ctx: dict[str, str], government: bool) -> str:
    pool = _OFFICIALS if government else _PRIVATE_CONTACTS
    return rng.choice(pool).format_map(ctx)


def _meal(rng: random.Random, c: _Claim, ctx: dict[str, str], need: _AmountNeed) -> str:
    options = [
        ("client", 45, 950),
        ("client_large", 1000, 2600),
        ("lunch", 25, 240),
        ("team", 80, 980),
        ("team_large", 1000, 2200),
        ("solo", 14, 90),
    ]
    if c.government:
        options = [o for o in options if o[0] in ("client", "client_large", "lunch")]
    kind = _set_amount(rng, c, ctx, need, options)
    dollars = c.amount_cents / 100
    if kind == "lunch":
        meal = "lunch"
    elif kind.endswith("_large") or dollars > 400:
        meal = "dinner"
    elif (kind == "solo" and dollars > 30) or dollars > 150 or c.alcohol:
        meal = rng.choice(("dinner", "dinner", "lunch"))
    else:
        meal = rng.choice(("dinner", "lunch", "breakfast"))
    ctx["meal"], ctx["Meal"] = meal, _cap(meal)
    ctx["event"] = rng.choice((f"the {meal}", "the meal"))
    ctx["vendor"] = rng.choice(_RESTAURANTS)
    n = rng.randint(12, 30)
    if kind == "client_large":
        ctx["guests"] = (
            f"a delegation of {n} officials from the Ministry of {rng.choice(('Trade', 'Health'))}"
            if c.government
            else f"{n} guests from {ctx['client']}"
        )
    elif kind in ("client", "lunch"):
        ctx["guests"] = _guest_phrase(rng, ctx, c.government)
    elif kind == "team":
        ctx["guests"] = f"{rng.randint(3, 9)} colleagues from {ctx['dept']}"
    else:
        ctx["guests"] = f"{n} people from the {ctx['dept']} team"
    ctx["milestone"] = rng.choice(
        (
            "the product launch",
            f"closing the {ctx['client']} deal",
            "the end of the audit",
            "a record quarter",
        )
    )
    if kind in ("client", "client_large", "lunch"):
        main = rng.choice(
            (
                "{who} took {guests} to {meal} at {vendor} in {city} during {purpose}, "
                "{amount} in total",
                "{Meal} at {vendor}, {city}, with {guests} for {purpose}: {amount}",
                "{who} paid {amount} for {meal} with {guests} at {vendor} while in {city} "
                "for {purpose}",
                "Business {meal} with {guests} at {vendor} in {city} came to {amount}",
                "{amount} to host {guests} for {meal} at {vendor} ({city}) after {purpose}",
            )
        )
    elif kind in ("team", "team_large"):
        main = rng.choice(
            (
                "Team {meal} for {guests} at {vendor} in {city} to celebrate {milestone}, {amount}",
                "{who} covered {amount} for {meal} with {guests} at {vendor} after {purpose}",
                "{amount} for a {dept} team {meal} at {vendor}, {city}, with {guests}",
            )
        )
    else:
        main = rng.choice(
            (
                "{who} had {meal} alone at {vendor} in {city} while travelling for {purpose}; "
                "it cost {amount}",
                "Solo {meal} at {vendor} during the {city} trip, {amount}",
                "{Meal} at the airport ({vendor}) before the flight to {city}: {amount}",
            )
        )
    ctx["wine"], ctx["beer"] = rng.choice(_WINES), rng.choice(_BEERS)
    ctx["spirit"] = rng.choice(_SPIRITS)
    tails = []
    if c.alcohol:
        if kind == "solo":
            tails.append(
                rng.choice(
                    (
                        "a glass of {wine} is on the bill",
                        "it includes a pint of {beer}",
                        "that includes a {spirit} and tonic",
                    )
                )
            )
        else:
            tails.append(
                rng.choice(
                    (
                        "the bill includes a bottle of {wine}",
                        "the total covers two rounds of {beer}",
                        "cocktails were ordered before the food",
                        "it also covers the bar tab afterwards",
                        "a round of {spirit} was added at the end",
                        "two glasses of {wine} are on the bill",
                    )
                )
            )
    elif kind != "solo" and rng.random() < 0.4:
        tails.append(
            rng.choice(
                (
                    "drinks were soft drinks only",
                    "nobody ordered alcohol",
                    "the only drinks were sparkling water and coffee",
                    "drinks were iced tea and lemonade",
                    "everyone stuck to non-alcoholic drinks",
                    "the drinks were mocktails and juice",
                )
            )
        )
    if c.personal:
        tails.append(
            rng.choice(
                (
                    "the bill also includes {poss} {relative}'s meal",
                    "{poss} {relative} joined and their {meal} is included",
                    "it also covers {poss} {relative}'s {meal}",
                )
            )
        )
    rng.shuffle(tails)
    return _join(main, tails, ctx)


def _airfare(rng: random.Random, c: _Claim, ctx: dict[str, str], need: _AmountNeed) -> str:
    if c.premium:
        options = [("premium", 450, 7800)]
        cls = rng.choice((("business-class", "business class"), ("first-class", "first class")))
    else:
        options = [("short", 120, 900), ("long", 700, 2100)]
        cls = rng.choice(
            (
                ("economy", "economy"),
                ("economy-class", "economy class"),
                ("coach", "coach"),
                ("basic-economy", "basic economy"),
            )
        )
    _set_amount(rng, c, ctx, need, options)
    ctx["cls_adj"], ctx["cls_noun"] = cls
    ctx["Cls_noun"] = _cap(cls[1])
    ctx["airline"] = rng.choice(_AIRLINES)
    ctx["event"] = rng.choice(("the trip", "the flight", "the return flight"))
    main = rng.choice(
        (
            "{who} booked a round-trip {cls_adj} flight on {airline} from {origin} to {city} "
            "for {purpose}, {amount}",
            "{Cls_noun} airfare from {origin} to {city} on {airline}, {amount}, for {purpose}",
            "{airline} {cls_noun} ticket to {city} for {purpose}: {amount}",
            "{who} flew {cls_noun} with {airline} to {city} for {purpose}; the fare was {amount}",
            "Return flight {origin} to {city} for {purpose}, {cls_noun} on {airline}, "
            "total {amount}",
            "{amount} for {poss} {cls_adj} seat on the {airline} flight to {city}",
        )
    )
    tails = []
    if c.personal:
        tails.append(
            rng.choice(
                (
                    "the total includes {poss} {relative}'s ticket so they could come along",
                    "it also includes in-flight movie rentals",
                    "it also covers {poss} {relative}'s seat on the same flight",
                )
            )
        )
    elif not c.premium and rng.random() < 0.12:
        tails.append(
            rng.choice(
                (
                    "a paid upgrade to business class was offered but declined",
                    "{who_was} seated in economy for the whole flight",
                )
            )
        )
    return _join(main, tails, ctx)


def _rail(rng: random.Random, c: _Claim, ctx: dict[str, str], need: _AmountNeed) -> str:
    if c.premium:
        options = [("premium", 90, 950)]
        cls = rng.choice((("first-class", "first class"), ("business-class", "business class")))
    else:
        options = [("standard", 18, 420)]
        cls = rng.choice(
            (
                ("standard-class", "standard class"),
                ("second-class", "second class"),
                ("coach", "coach"),
            )
        )
    _set_amount(rng, c, ctx, need, options)
    ctx["cls_adj"], ctx["cls_noun"] = cls
    ctx["Cls_adj"] = _cap(cls[0])
    origin, city, ctx["operator"] = rng.choice(_RAIL_ROUTES)
    if rng.random() < 0.5:
        origin, city = city, origin
    ctx["origin"], ctx["city"] = origin, city
    ctx["event"] = rng.choice(("the journey", "the trip"))
    main = rng.choice(
        (
            "{who} took the {operator} train from {origin} to {city} in {cls_noun} for {purpose}, "
            "{amount}",
            "{Cls_adj} rail ticket, {origin} to {city} on {operator}, {amount} ({purpose})",
            "{amount} for a return {operator} {cls_adj} ticket to {city} for {purpose}",
            "Train travel to {city} for {purpose}: {operator}, {cls_noun}, {amount}",
        )
    )
    tails = ["the total includes {poss} {relative}'s ticket"] if c.personal else []
    return _join(main, tails, ctx)


def _hotel(rng: random.Random, c: _Claim, ctx: dict[str, str], need: _AmountNeed) -> str:
    options = [(str(n), n * 105.0, n * 330.0) for n in range(1, 9)]
    nights = int(_set_amount(rng, c, ctx, need, options))
    ctx["nights"] = _count(rng, nights, "night")
    ctx["hotel"] = rng.choice(_HOTELS)
    ctx["event"] = rng.choice(("the stay", "checkout", "the trip"))
    ctx["wine"], ctx["spirit"] = rng.choice(_WINES), rng.choice(_SPIRITS)
    ctx["k"] = str(rng.randint(2, 5))
    main = rng.choice(
        (
            "{who} stayed {nights} at {hotel} in {city} for {purpose}; the bill came to {amount}",
            "Hotel: {hotel}, {city}, {nights}, {amount} total, for {purpose}",
            "{amount} for {nights} at {hotel} while in {city} for {purpose}",
            "Accommodation in {city} ({hotel}, {nights}) for {purpose} cost {amount}",
        )
    )
    tails = []
    if c.alcohol:
        tails.append(
            rng.choice(
                (
                    "the folio includes {k} beers from the minibar",
                    "it includes a bar tab from the hotel lounge",
                    "two glasses of {wine} from the hotel bar are on the bill",
                    "the minibar charges include a small bottle of {spirit}",
                )
            )
        )
    if c.personal:
        tails.append(
            rng.choice(
                (
                    "it includes a massage at the hotel spa",
                    "a spa treatment is on the bill",
                    "it also covers {poss} {relative}'s extra room",
                )
            )
        )
    rng.shuffle(tails)
    return _join(main, tails, ctx)


def _ground(rng: random.Random, c: _Claim, ctx: dict[str, str], need: _AmountNeed) -> str:
    options = [("ride", 9, 95), ("parking", 20, 190), ("rental", 90, 820)]
    kind = _set_amount(rng, c, ctx, need, options)
    ctx["k"] = str(rng.randint(2, 9))
    if kind == "ride":
        ride = rng.choice((("an Uber", "Uber"), ("a Lyft", "Lyft"), ("a taxi", "Taxi")))
        ctx["ride"], ctx["Ride"] = ride
        places = (
            "the airport",
            "the client's office",
            "the hotel",
            "the conference centre",
            "the train station",
        )
        ctx["place_a"], ctx["place_b"] = rng.sample(places, 2)
        ctx["event"] = "the ride"
        main = rng.choice(
            (
                "{who} took {ride} from {place_a} to {place_b} in {city} for {purpose}, {amount}",
                "{Ride} ride to {place_b} in {city}: {amount}, for {purpose}",
            )
        )
    elif kind == "parking":
        ctx["event"] = "the trip"
        main = rng.choice(
            (
                "Parking at {origin} airport for {k} days during the {city} trip, {amount}",
                "{who} paid {amount} for parking at {origin} airport while away for {purpose}",
            )
        )
    else:
        ctx["car"] = rng.choice(("compact car", "mid-size sedan", "minivan", "hybrid SUV"))
        ctx["rental"] = rng.choice(("Hertz", "Avis", "Enterprise", "Sixt"))
        ctx["event"] = "the rental"
        main = rng.choice(
            (
                "{who} rented a {car} from {rental} in {city} for {k} days ({purpose}), {amount}",
                "Car hire from {rental} in {city} for {purpose}, {amount}",
            )
        )
    return _join(main, [], ctx)


def _conference(rng: random.Random, c: _Claim, ctx: dict[str, str], need: _AmountNeed) -> str:
    options = [("conf", 150, 2900), ("course", 90, 1900), ("exam", 100, 650)]
    kind = _set_amount(rng, c, ctx, need, options)
    if kind == "conf":
        ctx["conf"] = rng.choice(
            (
                "DataOps World",
                "the European Compliance Forum",
                "FinTech Connect",
                "the Regional Supply Chain Expo",
                "RegTech Summit",
                "CloudScale Conference",
            )
        )
        ctx["goal"] = rng.choice(
            (
                "keep up with new regulations",
                "meet prospective partners",
                "present our case study",
                "scout vendors for the migration",
            )
        )
        ctx["event"] = rng.choice(("the conference", "the registration"))
        main = rng.choice(
            (
                "{who} registered for {conf} in {city} to {goal}; registration was {amount}",
                "Registration fee for {conf} ({city}), {amount}, to {goal}",
                "{amount} for {poss} pass to {conf} in {city}",
            )
        )
    elif kind == "course":
        ctx["course"] = rng.choice(
            (
                "a two-day Excel modelling course",
                "a project-management certification course",
                "a GDPR practitioner workshop",
                "an advanced SQL bootcamp",
            )
        )
        ctx["provider"] = rng.choice(("General Assembly", "PMI", "a local training firm"))
        ctx["event"] = rng.choice(("the course", "the payment"))
        main = rng.choice(
            (
                "{amount} for {poss} place on {course} run by {provider}",
                "Course fee: {course} with {provider}, {amount}",
            )
        )
    else:
        ctx["cert"] = rng.choice(("CIPP/E", "PMP", "AWS Solutions Architect", "CISA"))
        ctx["event"] = "the exam"
        main = "{who} paid {amount} for the {cert} certification exam, required for {poss} role"
    return _join(main, [], ctx)


def _equipment(rng: random.Random, c: _Claim, ctx: dict[str, str], need: _AmountNeed) -> str:
    items = {
        "supplies": (
            "printer toner and paper",
            "whiteboard markers and sticky notes",
            "notebooks and pens for the workshop",
            "a pack of USB-C cables",
        ),
        "peripherals": (
            "a 27-inch monitor",
            "a docking station",
            "a wireless keyboard and mouse",
            "a noise-cancelling headset for client calls",
            "a standing-desk converter",
        ),
        "software": (
            "an annual JetBrains licence",
            "a Figma team subscription",
            "a statistics software licence",
        ),
        "large": (
            "a replacement laptop for {poss} broken work machine",
            "a 4K projector for the training room",
            "three monitors for the new analysts",
        ),
    }
    options = [
        ("supplies", 8, 120),
        ("peripherals", 40, 650),
        ("software", 30, 1500),
        ("large", 700, 2600),
    ]
    kind = _set_amount(rng, c, ctx, need, options)
    item = rng.choice(items[kind]).format_map(ctx)
    ctx["item"], ctx["Item"] = item, _cap(item)
    ctx["store"] = rng.choice(_STORES)
    ctx["event"] = rng.choice(("the purchase", "the order"))
    main = rng.choice(
        (
            "{who} bought {item} from {store} for {purpose}, {amount}",
            "{Item} from {store}, {amount}, for the {dept} team",
            "{amount} at {store} for {item}",
            "Order from {store}: {item}, {amount}",
        )
    )
    tails = []
    if c.personal:
        tails.append(
            rng.choice(
                (
                    "the order also includes a case for {poss} personal phone",
                    "it also includes earbuds for {poss} personal phone",
                )
            )
        )
    return _join(main, tails, ctx)


def _gift(rng: random.Random, c: _Claim, ctx: dict[str, str], need: _AmountNeed) -> str:
    _set_amount(rng, c, ctx, need, [("small", 18, 120), ("medium", 80, 450)])
    if c.alcohol:
        item = rng.choice(
            (
                "a bottle of single malt whisky",
                "a case of Bordeaux",
                "a bottle of champagne",
                "a bottle of aged rum",
                "two bottles of Barolo",
            )
        )
    else:
        item = rng.choice(
            (
                "a gift basket",
                "a framed print of the {city} skyline",
                "a branded leather notebook",
                "a box of artisan chocolates",
                "a fruit basket",
                "a fountain pen set",
                "a bouquet of flowers",
                "a coffee-table book about {city}",
            )
        ).format_map(ctx)
    ctx["item"] = item
    ctx["recipient"] = _guest_phrase(rng, ctx, c.government)
    ctx["gift_vendor"] = rng.choice(
        (
            "Harry & David",
            "a local florist",
            "Paper & Co",
            "the hotel gift shop",
            "a shop near the office",
        )
    )
    ctx["event"] = rng.choice(("the purchase", "the gift", "the order"))
    main = rng.choice(
        (
            "{who} sent {item} from {gift_vendor} to {recipient} as a thank-you after {purpose}, "
            "{amount}",
            "Gift for {recipient}: {item}, {amount}, after {purpose}",
            "{amount} for {item} given to {recipient} to mark {purpose}",
            "Thank-you gift ({item}) for {recipient}, bought at {gift_vendor} for {amount}",
        )
    )
    return _join(main, [], ctx)


def _hospitality(rng: random.Random, c: _Claim, ctx: dict[str, str], need: _AmountNeed) -> str:
    kind = _set_amount(rng, c, ctx, need, [("regular", 120, 980), ("large", 1000, 3400)])
    ctx["club"] = rng.choice(("Pine Ridge Golf Club", "Westbrook Links", "the Old Course"))
    if kind == "regular":
        item = rng.choice(
            (
                "two tickets to a basketball game",
                "a round of golf at {club}",
                "seats at the {city} opera",
                "tickets to a concert at the {city} arena",
                "a private tour of the {city} aquarium",
            )
        )
    else:
        item = rng.choice(
            (
                "a corporate box at the {city} stadium",
                "a full-day golf outing for six at {club}",
                "a private cooking class for the whole delegation",
            )
        )
    ctx["item"] = item.format_map(ctx)
    ctx["recipient"] = _guest_phrase(rng, ctx, c.government)
    ctx["event"] = "the event"
    main = rng.choice(
        (
            "{who} bought {item} for {recipient} as part of {purpose}, {amount}",
            "Hospitality: {item} with {recipient}, {amount}",
            "{amount} to host {recipient} — {item}",
            "{who} treated {recipient} to {item} in {city}; cost {amount}",
        )
    )
    return _join(main, [], ctx)


def _personal(rng: random.Random, c: _Claim, ctx: dict[str, str], need: _AmountNeed) -> str:
    items = (
        ("a monthly membership at {gym}", 35, 140),
        ("a spa day at the Serenity Spa", 90, 380),
        ("a massage at the hotel spa in {city}", 60, 220),
        ("a new suit from {clothier} for the conference", 220, 1300),
        ("a winter coat bought in {city} because it was colder than expected", 90, 450),
        ("running shoes for the company 5K", 70, 180),
        ("in-flight movies on the {airline} flight to {city}", 6, 24),
        ("a phone case and wireless earbuds for {poss} personal phone", 25, 190),
        ("a new charger and screen protector for {poss} personal phone", 15, 80),
        ("{poss} {relative}'s flight to {city} so they could join the trip", 180, 1450),
        ("{poss} {relative}'s meals during the {city} trip", 35, 280),
        ("{poss} {relative}'s train ticket to {city}", 30, 220),
    )
    options = [(str(i), lo, hi) for i, (_, lo, hi) in enumerate(items)]
    index = int(_set_amount(rng, c, ctx, need, options))
    ctx["gym"] = rng.choice(("FitLife Gym", "Equinox", "the Pure Fitness club"))
    ctx["clothier"] = rng.choice(("Hugo Boss", "Brooks Brothers", "Zara"))
    ctx["airline"] = rng.choice(_AIRLINES)
    item = items[index][0].format_map(ctx)
    ctx["item"], ctx["Item"] = item, _cap(item)
    ctx["event"] = rng.choice(("the purchase", "the expense", "the trip"))
    main = rng.choice(
        (
            "{who_is} claiming {amount} for {item}",
            "{Item}: {amount}, incurred during the {city} trip for {purpose}",
            "Expense for {item}, {amount} paid on the corporate card",
            "{amount} for {item} — {who_was} on the road for {purpose}",
        )
    )
    return _join(main, [], ctx)


_BUILDERS = {
    "meal": _meal,
    "airfare": _airfare,
    "rail": _rail,
    "hotel": _hotel,
    "ground": _ground,
    "conference": _conference,
    "equipment": _equipment,
    "gift": _gift,
    "hospitality": _hospitality,
    "personal": _personal,
}


# ---------------------------------------------------------------------------------------------
# Submission delay, receipt status and assembly


def _delay(rng: random.Random, late: bool, boundary: bool) -> tuple[int, str]:
    """(days, span phrase) — the span is read as '<span> after <event>'; '' means same day."""
    if boundary:
        if late:
            days = rng.choice((91, 92, 93, 95, 97, 100, 91, 98))
        else:
            days = rng.choice((80, 84, 85, 87, 88, 89, 90, 90))
        if days % 7 == 0 and rng.random() < 0.5:
            return days, _count(rng, days // 7, "week")
        return days, _count(rng, days, "day")
    if late:
        style = rng.randrange(4)
        if style == 0:
            weeks = rng.randint(14, 30)
            return weeks * 7, _count(rng, weeks, "week")
        if style == 1:
            months = rng.randint(4, 11)
            return months * 30, _count(rng, months, "month")
        if style == 2 and rng.random() < 0.3:
            return 400, "over a year"
        days = rng.randint(95, 260)
        return days, _count(rng, days, "day")
    style = rng.randrange(5)
    if style == 0:
        days = rng.choice((0, 1))
        return days, ""
    if style == 1:
        weeks = rng.randint(1, 10)
        return weeks * 7, _count(rng, weeks, "week")
    if style == 2 and rng.random() < 0.5:
        months = rng.randint(1, 2)
        return months * 30, _count(rng, months, "month")
    days = rng.randint(2, 75)
    return days, _count(rng, days, "day")


def _delay_phrases(rng: random.Random, days: int, span: str, event: str) -> tuple[str, str, str]:
    """Three renderings of the delay: participle phrase, independent clause, active predicate."""
    verb = rng.choice(("submitted", "filed", "sent in", "entered in the expense tool", "logged"))
    if span:
        when = f"{span} after {event}"
    elif days == 0:
        when = f"the same day as {event}"
    else:
        when = f"the day after {event}"
    part = f"{verb} {when}"
    active = f"{rng.choice(('submitted', 'filed', 'sent in'))} this claim {when}"
    if abs(days - _LATE_DAYS) > 5 and days < 300 and rng.random() < 0.15:
        start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 364 - days))
        end = start + dt.timedelta(days=days)
        clause = (
            f"{event} was on {_MONTHS[start.month - 1]} {start.day} and the claim was "
            f"{rng.choice(('submitted', 'filed'))} on {_MONTHS[end.month - 1]} {end.day}"
        )
    else:
        clause = f"{rng.choice(('the claim was', 'it was', 'this was'))} {part}"
    return part, clause, active


def _admin_sentences(
    rng: random.Random, ctx: dict[str, str], receipt: bool, days: int, span: str, third_person: bool
) -> tuple[str, int]:
    """Receipt and delay statement; returns (text, number of sentences)."""
    r = rng.choice(_RECEIPT_YES if receipt else _RECEIPT_NO)
    part, clause, active = _delay_phrases(rng, days, span, ctx["event"])
    templates = [
        ("{r}; {part}.", 1),
        ("{part}, {r}.", 1),
        ("{r}, and {clause}.", 1),
        ("{clause}; {r}.", 1),
        ("{clause}. {r}.", 2),
        ("{r}. {clause}.", 2),
        ("Note: {r}, {part}.", 1),
        ("{who} {active} ({r}).", 1),
        ("{r} — {part}.", 1),
    ]
    if third_person:
        templates.append(("Reviewer note: {r}; {clause}.", 1))
    template, n_sentences = rng.choice(templates)
    text = template.format(r=r, part=part, clause=clause, active=active, who=ctx["who"])
    # capitalise each sentence start (templates may begin with a lower-case phrase)
    text = ". ".join(_cap(s) for s in text.split(". "))
    return text, n_sentences


def _make_context(rng: random.Random) -> tuple[dict[str, str], bool]:
    name = rng.choice(_NAMES)
    third_person = rng.random() < 0.45
    city, origin = rng.sample(_CITIES, 2)
    ctx = {
        "name": name,
        "who": name if third_person else "I",
        "who_is": f"{name} is" if third_person else "I am",
        "who_was": f"{name} was" if third_person else "I was",
        "poss": f"{name}'s" if third_person else "my",
        "city": city,
        "origin": origin,
        "dept": rng.choice(_DEPTS),
        "purpose": rng.choice(_PURPOSES),
        "client": rng.choice(_CLIENTS),
        "relative": rng.choice(_RELATIVES),
        "name2": rng.choice([n for n in _NAMES if n != name]),
        "month": rng.choice(_MONTHS),
        "code": str(rng.randint(1000, 9999)),
        "cc": str(rng.randint(100, 899)),
        "last4": str(rng.randint(1000, 9999)),
        "project": rng.choice(("Atlas", "Phoenix", "Horizon", "Bluebird", "Northstar")),
    }
    return ctx, third_person


def _choose_category(rng: random.Random, target: str) -> str:
    if target == "R1":
        eligible = [(c, w) for c, w in _CATEGORY_WEIGHTS if "R1" in _SUPPORTS[c]]
    elif target in ("R0", "R3", "R4"):
        eligible = [(c, w) for c, w in _CATEGORY_WEIGHTS if c != "personal"]
    else:
        eligible = [(c, w) for c, w in _CATEGORY_WEIGHTS if target in _SUPPORTS[c]]
    names = [c for c, _ in eligible]
    return rng.choices(names, weights=[w for _, w in eligible])[0]


def _make_claim(rng: random.Random, target: str) -> tuple[_Claim, str]:
    """Build attributes and text for a claim that `target` decides (lower rules may co-occur)."""
    order = [r.id for r in POLICY_RULES if r.id != "R0"]
    lower = [] if target == "R0" else order[order.index(target) + 1 :]
    category = _choose_category(rng, target)
    flags = set() if target == "R0" else {target}
    for rule_id in lower:
        if rule_id in _SUPPORTS[category] and rng.random() < _CO_OCCUR[rule_id]:
            flags.add(rule_id)
    claim = _Claim(
        category=category,
        personal="R1" in flags,
        alcohol="R2" in flags,
        premium="R5" in flags,
        government="R6" in flags,
    )
    need = _AmountNeed(
        large="R7" in flags,
        over75="R4" in flags,
        small="R4" not in flags and "R7" not in flags and rng.random() < 0.2,
        boundary=rng.random() < 0.25,
    )
    ctx, third_person = _make_context(rng)
    main = _BUILDERS[category](rng, claim, ctx, need)
    claim.receipt = not (need.over75 or need.small)
    claim.delay_days, span = _delay(rng, "R3" in flags, rng.random() < 0.2)
    admin, n_admin = _admin_sentences(rng, ctx, claim.receipt, claim.delay_days, span, third_person)
    parts = [main, admin]
    words = len(main.split()) + len(admin.split())
    # a distractor sentence, when it keeps the claim within ~20-60 words and 3 sentences
    if n_admin == 1 and words <= 52 and (words < 22 or rng.random() < 0.6):
        extra = rng.choice(_DISTRACTORS).format_map(ctx)
        parts.insert(rng.choice((0, 1, 2, 2)), extra)
    if third_person and parts[0] is main and rng.random() < 0.3:
        parts[0] = f"Claim from {ctx['name']} ({ctx['dept']}): {parts[0]}"
    return claim, " ".join(parts)


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


def generate_claims(n: int = 400, seed: int = 7, noise: float = 0.05) -> list[dict[str, str]]:
    """records: {"id": "claim-0001", "claim": <text>, "decision": <gold label WITH noise>,
    "true_decision": <label from the policy>, "policy_rule": "R4"}"""
    if n < 0:
        raise ValueError("n must be non-negative")
    if not 0.0 <= noise <= 1.0:
        raise ValueError("noise must be within [0, 1]")
    rng = random.Random(seed)
    # A separate stream for noise, so the claims themselves do not depend on `noise`.
    noise_rng = random.Random(rng.getrandbits(64))
    records = []
    for i, target in enumerate(_target_plan(n, rng), start=1):
        claim, text = _make_claim(rng, target)
        rule_id = _decide(claim)
        true_label = _RULE_BY_ID[rule_id].label
        label = true_label
        if noise_rng.random() < noise:
            label = noise_rng.choice([x for x in LABELS if x != true_label])
        records.append(
            {
                "id": f"claim-{i:04d}",
                "claim": text,
                "decision": label,
                "true_decision": true_label,
                "policy_rule": rule_id,
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

    data = generate_claims(400, 7)
    total = len(data)
    for key in ("true_decision", "decision", "policy_rule"):
        counts = Counter(r[key] for r in data)
        shown = ", ".join(f"{k}={v} ({v / total:.1%})" for k, v in sorted(counts.items()))
        print(f"{key}: {shown}")
    flipped = sum(r["decision"] != r["true_decision"] for r in data)
    print(f"noisy labels: {flipped} ({flipped / total:.1%})")
    print()
    for record in data[:5]:
        print(f"[{record['id']}] {record['policy_rule']} -> {record['true_decision']}")
        print(f"  {record['claim']}")
