"""Deterministic generator of synthetic SEC Form 3 filings in EDGAR's full-submission format.

Why this exists: the repository must not ship real EDGAR filings, yet the parser, its tests and
its benchmarks need input that looks exactly like what EDGAR serves. This script writes
fictional filings (invented people, funds and companies; CIKs from 0006000000 upward, a range
EDGAR has not reached) in EDGAR's ``.txt`` layout: the ``<SEC-HEADER>`` with its tab-aligned
fields, the ownership XML inside ``<XML>`` pretty-printed the way EDGAR re-serializes it, and
optional exhibits (an EX-24 power of attorney and a uuencoded GRAPHIC). The layout was copied
from real filings in ``../shared/form3-corpus/``; none of their content is used.

The same generator makes the bundled 10-filing sample (``data/sample/`` plus the manifest
``data/form_3_10.csv``) and arbitrarily large sets for benchmarks. Output depends only on
``count`` and ``seed``: filing ``i`` is drawn from its own ``random.Random`` seeded with
``seed`` and ``i``, so a larger set starts with the same filings as a smaller one and reruns
are byte-identical. The manifest carries per-filing counts (reporting owners, holdings,
footnotes, noSecuritiesOwned) so tests can check the parser against them.

Standard library only. Run ``python data/make_sample.py --help``.
"""

import argparse
import binascii
import csv
import dataclasses
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, TypeVar
from xml.sax.saxutils import escape as _sax_escape

HERE = Path(__file__).resolve().parent
T = TypeVar("T")
MANIFEST_FIELDS = (
    "path",
    "accession_number",
    "issuer_cik",
    "issuer_name",
    "form_type",
    "date_filed",
    "n_reporting_owners",
    "n_nonderivative_holdings",
    "n_derivative_holdings",
    "n_footnotes",
    "no_securities_owned",
)
MIX_FIELDS = ("n_nonderivative_transactions", "n_derivative_transactions")

# --------------------------------------------------------------------------------------------
# Word lists: invented names, combined at random; phone numbers all use the fictional 555.
# --------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Adele", "Alden", "Ansel", "Beatrix", "Bram", "Calla", "Cormac", "Dalia", "Dorian", "Elspeth",
    "Emrys", "Fenna", "Florian", "Greer", "Gideon", "Hollis", "Imogen", "Ira", "Juno", "Jasper",
    "Keziah", "Lachlan", "Liesl", "Mabry", "Marek", "Nell", "Niall", "Odette", "Osric", "Perrin",
    "Quinn", "Rosalind", "Rafe", "Saoirse", "Silas", "Tamsin", "Thaddeus", "Ulla", "Vaughn",
    "Wren", "Xavier", "Yara", "Zeb", "Margit", "Teodor", "Philippa", "Anselm", "Corisande",
)
LAST_NAMES = (
    "Abernathy", "Blackwood", "Calloway", "Dunmore", "Everhart", "Fairweather", "Galloway",
    "Hargrove", "Ingleby", "Jessop", "Kittredge", "Lindqvist", "Marchetti", "Northcott",
    "O'Rourke", "Pemberton", "Quarrie", "Ravensworth", "Sallow", "Thackery", "Underhill",
    "Vandermeer", "Whitcombe", "Yardley", "Zeller", "Ashgrove", "Brightwater", "Coldwell",
    "Delacroix-Hume", "Eastlake", "Fennimore", "Greaves", "Holloway", "Ivers", "Kinsella",
    "Larkin", "Merriweather", "Nightingale", "Oakes", "Prewitt", "Rutherford", "Stanhope",
)
SUFFIXES = ("", "", "", "", "", "", "JR", "III")
COMPANY_WORDS = (
    "Aldermere", "Bellcrest", "Brackenfield", "Cinderpoint", "Corvane", "Duskwater", "Emberline",
    "Farrowdale", "Glimmerton", "Halvorsen", "Ironvale", "Juniperhill", "Kestrelmark", "Lumenor",
    "Marrowby", "Nettlestone", "Orrisfield", "Pallisade", "Quillmoor", "Rookhaven", "Silverfen",
    "Tarnwick", "Umberly", "Veloria", "Wrenfield", "Yarrowgate", "Zephyrine", "Ashcombe",
    "Blythe", "Copperleaf", "Driftmark", "Foxglove", "Greyhallow", "Harrowgate", "Larchmont",
)
ENTITY_WORDS = ("Capital", "Ventures", "Growth", "Equity", "Opportunity", "Strategic", "Life Sciences")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
STREET_WORDS = (
    "Alder", "Birch", "Cedar", "Harbor", "Lantern", "Meadow", "Orchard", "Quarry", "Ridge",
    "Summit", "Tamarack", "Willow", "Foundry", "Mill", "Granary", "Beacon",
)
STREET_KINDS = ("STREET", "AVENUE", "ROAD", "BOULEVARD", "PARKWAY", "DRIVE", "LANE", "PLAZA")
# (city, state, zip prefix, area code)
US_CITIES = (
    ("AUSTIN", "TX", "787", "512"), ("BOSTON", "MA", "021", "617"),
    ("SAN DIEGO", "CA", "921", "858"), ("DENVER", "CO", "802", "303"),
    ("NEW YORK", "NY", "100", "212"), ("MENLO PARK", "CA", "940", "650"),
    ("CHICAGO", "IL", "606", "312"), ("SEATTLE", "WA", "981", "206"),
    ("MIAMI", "FL", "331", "305"), ("NASHVILLE", "TN", "372", "615"),
    ("COLUMBUS", "OH", "432", "614"), ("PITTSBURGH", "PA", "152", "412"),
    ("PORTLAND", "OR", "972", "503"), ("RALEIGH", "NC", "276", "919"),
    ("SALT LAKE CITY", "UT", "841", "801"), ("MINNEAPOLIS", "MN", "554", "612"),
    ("WILMINGTON", "DE", "198", "302"), ("GREENWICH", "CT", "068", "203"),
)
# (city, EDGAR country code, postal code, dialling code, rptOwnerStateDescription); the code and
# description pairs are the ones real filings use.
FOREIGN_CITIES = (
    ("LUXEMBOURG", "N4", "L-1855", "352", "LUXEMBOURG"),
    ("GENEVA", "V8", "CH-1204", "41", "SWITZERLAND"),
    ("HONG KONG", "K3", "", "852", "HONG KONG"),
    ("NASSAU", "C5", "", "242", "BAHAMAS"),
)
# issuer name suffix, STANDARD INDUSTRIAL CLASSIFICATION header value
ISSUER_KINDS = (
    ("Therapeutics, Inc.", "PHARMACEUTICAL PREPARATIONS [2834]"),
    ("Biosciences, Inc.", "BIOLOGICAL PRODUCTS (NO DIAGNOSTIC SUBSTANCES) [2836]"),
    ("Acquisition Corp.", "BLANK CHECKS [6770]"),
    ("Bancorp, Inc.", "STATE COMMERCIAL BANKS [6022]"),
    ("Software, Inc.", "SERVICES-PREPACKAGED SOFTWARE [7372]"),
    ("Technologies, Inc.", "SERVICES-COMPUTER PROCESSING & DATA PREPARATION [7374]"),
    ("Industries, Inc.", "SPECIAL INDUSTRY MACHINERY, NEC [3559]"),
    ("Holdings Corp.", "SERVICES-BUSINESS SERVICES, NEC [7389]"),
    ("Energy Corp.", "CRUDE PETROLEUM & NATURAL GAS [1311]"),
    ("Foods Inc.", "POULTRY SLAUGHTERING AND PROCESSING [2015]"),
)
COMMON_TITLES = (
    "Common Stock", "Common Stock", "Class A Common Stock",
    "Common Stock, par value $0.001 per share", "Ordinary Shares", "Class A common stock",
)
OFFICER_TITLES = (
    "Chief Executive Officer", "Chief Financial Officer", "EVP, General Counsel & Secretary",
    "SVP, Operations", "Chief Accounting Officer", "President and COO", "Chief Medical Officer",
    "VP, Finance", "Chief Technology Officer", "See Remarks",
)
OPTION_TITLES = (
    "Stock Option (Right to Buy)", "Option (right to buy)", "Employee Stock Option (right to buy)",
    "Non-Qualified Stock Option (right to buy)",
)
# natureOfOwnership value, footnote text ({last} is the reporting person's last name)
NATURES = (
    ("By Trust", "The shares are held by the {last} Family Trust, of which the Reporting Person "
     "is a trustee."),
    ("By Spouse", "The shares are held by the Reporting Person's spouse. The Reporting Person "
     "disclaims beneficial ownership of these securities except to the extent of his or her "
     "pecuniary interest therein."),
    ("By 401(k) Plan", "Represents shares held in the Issuer's 401(k) plan as of the most recent "
     "plan statement."),
    ("By LLC", "The shares are held by {last} Holdings LLC, of which the Reporting Person is the "
     "sole managing member."),
)
REMARK_EXHIBITS = (
    "Exhibit 24 - Power of Attorney",
    "Exhibit List: Exhibit 24 - Power of Attorney",
    "See Exhibit 24.1 - Power of Attorney.",
)
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
JPEG_TAIL = b"\xff\xd9"

# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    street1: str
    street2: str
    city: str
    state: str
    zip: str
    phone: str
    country: str = ""  # rptOwnerStateDescription; empty for US addresses


@dataclass(frozen=True)
class Issuer:
    cik: str
    name: str
    ticker: str
    sic: str
    irs: str
    state_of_incorporation: str
    fiscal_year_end: str
    file_number: str
    common_title: str
    address: Address
    former_names: tuple[tuple[str, str], ...]  # (name, YYYYMMDD), newest first


@dataclass(frozen=True)
class Identity:
    """A reporting person or entity; the same id always yields the same CIK and name."""

    cik: str
    name: str  # EDGAR conformed name: "PEMBERTON ADELE R" or "Foxglove Growth Fund II, L.P."
    display: str  # how the person signs: "Adele R. Pemberton"
    last: str  # last name, or the fund family's root name
    is_entity: bool
    state_of_incorporation: str = ""
    former_name: tuple[str, str] | None = None


@dataclass
class Role:
    director: bool = False
    officer: bool = False
    ten_percent: bool = False
    other: bool = False
    officer_title: str = ""
    other_text: str = ""


@dataclass
class Owner:
    who: Identity
    role: Role
    address: Address
    business_address: bool  # whether the header has a BUSINESS ADDRESS section too
    signature: str = ""


@dataclass(frozen=True)
class Field:
    """An ownership value: ``<value>`` and/or ``<footnoteId>``s (footnote-only if no value)."""

    value: str | None
    footnotes: tuple[str, ...] = ()


@dataclass
class Holding:
    title: str
    shares: Field  # sharesOwnedFollowingTransaction; underlyingSecurityShares for derivatives
    direct: bool
    nature: Field | None = None
    price: Field | None = None  # price, exercise, expiration, underlying: derivatives only
    exercise: Field | None = None
    expiration: Field | None = None
    underlying_title: str = ""


@dataclass(frozen=True)
class Style:
    """How one filing agent's software lays out the optional parts (all seen in real filings)."""

    filename: str  # may contain {n}
    description: str
    empty_tables: bool  # write <derivativeTable></derivativeTable> rather than omit it
    empty_footnotes: bool
    empty_remarks: bool
    blank_titles: bool  # always write <officerTitle></officerTitle> and <otherText></otherText>
    agent_cik: str | None  # accession prefix; None: self-filed under the issuer's CIK


STYLES = {
    "wf": Style("wf-form3_{n}.xml", "FORM 3", True, True, True, True, None),
    "doc3": Style("doc3.xml", "FORM 3 SUBMISSION", False, True, True, False, "0006100243"),
    "primary": Style("primary_doc.xml", "PRIMARY DOCUMENT", False, False, False, False, "0006178782"),
    "form3": Style("form3.xml", "FORM 3", True, False, True, False, "0006140361"),
    "ownership": Style("ownership.xml", "OWNERSHIP DOCUMENT", False, True, False, False, "0006567619"),
}
AGENT_STYLES = ("doc3", "doc3", "primary", "form3", "ownership", "wf")


@dataclass(frozen=True)
class Profile:
    """The structural shape of one filing; the details inside are random."""

    owners: tuple[str, ...]  # officer | director | officer_director | founder | fund | gp | manager
    no_securities: bool = False
    nonderivative: tuple[int, int] = (0, 0)  # inclusive range of holdings
    derivative_kinds: tuple[str, ...] = ()  # option | rsu | warrant | preferred; the first always occurs
    derivative: tuple[int, int] = (0, 0)
    flag_style: str = "10"  # 10 | tf (true/false) | tf_true (only the true flags, as some agents do)
    attachments: str = "none"  # none | poa (EX-24 text) | poa_graphic (EX-24 + uuencoded GRAPHIC)


# Filing i gets PROFILES[i % 10], so any 10 consecutive filings cover every feature.
PROFILES = (
    Profile(("officer_director",), nonderivative=(1, 2), derivative_kinds=("option",),
            derivative=(1, 3), attachments="poa_graphic"),
    Profile(("fund", "gp", "manager"), nonderivative=(1, 3), derivative_kinds=("preferred",),
            derivative=(1, 2)),
    Profile(("fund",), nonderivative=(1, 2), derivative_kinds=("warrant",), derivative=(1, 1),
            attachments="poa"),
    Profile(("officer",), no_securities=True, flag_style="tf_true", attachments="poa"),
    Profile(("officer",), nonderivative=(0, 1), derivative_kinds=("rsu", "option"),
            derivative=(1, 3), flag_style="tf"),
    Profile(("director",), nonderivative=(2, 3), attachments="poa"),
    Profile(("founder", "founder"), nonderivative=(1, 2), derivative_kinds=("option",),
            derivative=(0, 1)),
    Profile(("director",), no_securities=True),
    Profile(("officer",), nonderivative=(1, 1), derivative_kinds=("rsu", "option"),
            derivative=(2, 4), attachments="poa_graphic"),
    Profile(("fund", "fund", "gp", "manager"), nonderivative=(1, 2),
            derivative_kinds=("warrant", "preferred"), derivative=(1, 2), attachments="poa"),
)


@dataclass
class Filing:
    accession: str
    period: date
    filed: date
    accepted: str  # YYYYMMDDHHMMSS
    film_number: int
    issuer: Issuer
    owners: list[Owner]
    no_securities: bool
    nonderivative: list[Holding]
    derivative: list[Holding]
    footnotes: list[str]
    remarks: str
    flag_style: str
    style: Style
    xml_filename: str
    attachments: str
    attorney: str
    graphic_blob: bytes = b""
    signature_dates: list[date] = field(default_factory=list)
    # Forms 4 and 5 and the amendments (the Form 3 defaults leave a Form 3 as it always was).
    form: str = "3"
    original_submission: date | None = None  # dateOfOriginalSubmission of an amendment
    aff10b5_one: bool | None = None  # None: absent (schemas before X0508)
    not_subject_to_16: bool | None = None
    form5_flags: tuple[bool, bool] | None = None  # form3HoldingsReported, form4TransactionsReported
    nonderivative_trans: list["Transaction"] = field(default_factory=list)
    derivative_trans: list["Transaction"] = field(default_factory=list)


class ManifestFacts(NamedTuple):
    accession_number: str
    issuer_cik: str
    issuer_name: str
    date_filed: str
    n_reporting_owners: int
    n_nonderivative_holdings: int
    n_derivative_holdings: int
    n_footnotes: int
    no_securities_owned: bool
    form_type: str = "3"
    n_nonderivative_transactions: int = 0
    n_derivative_transactions: int = 0


class Footnotes:
    """Collects footnote texts in order of first reference and hands out ``F1``, ``F2``, ..."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._ids: dict[str, str] = {}

    def add(self, text: str) -> str:
        """The id of ``text``; the same text added twice is one footnote referenced twice."""
        if text not in self._ids:
            self.texts.append(text)
            self._ids[text] = f"F{len(self.texts)}"
        return self._ids[text]


# --------------------------------------------------------------------------------------------
# Random helpers: Random.choice/randrange are exact but slow in pure Python; these are about
# twice as fast, and their tiny float bias does not matter for synthetic data.
# --------------------------------------------------------------------------------------------


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    return options[int(rng.random() * len(options))]


def _below(rng: random.Random, start: int, stop: int | None = None) -> int:
    """Like ``randrange(start, stop)``, or ``randrange(start)`` without ``stop``."""
    if stop is None:
        start, stop = 0, start
    return start + int(rng.random() * (stop - start))


def _between(rng: random.Random, low: int, high: int) -> int:
    """Like ``randint(low, high)``: both ends included."""
    return low + int(rng.random() * (high - low + 1))


def _iso(day: date) -> str:
    return day.isoformat()


def _long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


# --------------------------------------------------------------------------------------------
# Identities: issuers, people and fund families derive from an id, so they recur consistently
# (the same CIK always has the same name) across a large generated set.
# --------------------------------------------------------------------------------------------

ISSUER_SPACE = 20_000
PERSON_SPACE = 500_000
FUND_FAMILY_SPACE = 100_000  # four related entities per family
FUND_ROLES = ("fund", "parallel", "gp", "manager")


def _scramble(k: int, seed: int, modulus: int) -> int:
    """A bijection of ``range(modulus)`` for moduli 2**a * 5**b (the multiplier is coprime)."""
    return (k * 7_368_787 + seed * 104_729 + 1_234_567) % modulus


def _address(rng: random.Random, foreign: bool = False) -> Address:
    street = f"{_below(rng, 1, 9900)} {_pick(rng, STREET_WORDS).upper()} {_pick(rng, STREET_KINDS)}"
    suite = f"SUITE {_below(rng, 100, 2500)}" if rng.random() < 0.45 else ""
    if foreign:
        city, state, postal, dial, country = _pick(rng, FOREIGN_CITIES)
        return Address(street, suite, city, state, postal, f"{dial}-555-{_below(rng, 10000):04d}", country)
    city, state, prefix, area = _pick(rng, US_CITIES)
    if rng.random() < 0.5:
        phone = f"({area}) 555-{_below(rng, 10000):04d}"
    else:
        phone = f"{area}-555-{_below(rng, 10000):04d}"
    return Address(street, suite, city, state, f"{prefix}{_below(rng, 100):02d}", phone)


@lru_cache(maxsize=ISSUER_SPACE)
def make_issuer(seed: int, k: int) -> Issuer:
    rng = random.Random(f"issuer/{seed}/{k}")
    first, second = rng.sample(COMPANY_WORDS, 2)
    suffix, sic = _pick(rng, ISSUER_KINDS)
    name = f"{first if rng.random() < 0.6 else f'{first} {second}'} {suffix}"
    if rng.random() < 0.35:
        name = name.upper()
    ticker = (first[:2] + second[:2]).upper()[: _pick(rng, (3, 4))]
    if suffix.startswith("Acquisition") and rng.random() < 0.5:
        ticker += "U"  # SPAC units
    formers: list[tuple[str, str]] = []
    for _ in range(_pick(rng, (0, 0, 0, 1, 2))):
        when = date(2005, 1, 1) + timedelta(days=_below(rng, 3650))
        word = _pick(rng, COMPANY_WORDS)
        formers.append((f"{word} {_pick(rng, ('Corp', 'Inc', 'Acquisition Corp III', 'Holdings LLC'))}",
                        f"{when:%Y%m%d}"))
    formers.sort(key=lambda former: former[1], reverse=True)
    return Issuer(
        cik=f"{8_000_000 + _scramble(k, seed, 1_000_000):010d}",
        name=name,
        ticker=ticker,
        sic=sic,
        irs=f"{_below(rng, 10**8, 10**9):09d}",
        state_of_incorporation=_pick(rng, ("DE", "DE", "DE", "MD", "NV", "E9")),
        fiscal_year_end=_pick(rng, ("1231", "1231", "1231", "0630", "0930", "1003")),
        file_number=f"001-{_below(rng, 30000, 41000)}",
        common_title=_pick(rng, COMMON_TITLES),
        address=_address(rng),
        former_names=tuple(formers),
    )


def make_person(seed: int, k: int) -> Identity:
    rng = random.Random(f"person/{seed}/{k}")
    first, last = _pick(rng, FIRST_NAMES), _pick(rng, LAST_NAMES)
    middle = chr(ord("A") + _below(rng, 26))
    suffix = _pick(rng, SUFFIXES)
    conformed = " ".join(part for part in (last, first, middle, suffix) if part)
    if rng.random() < 0.7:
        conformed = conformed.upper()
    display = f"{first} {middle}. {last}" + {"": "", "JR": " Jr"}.get(suffix, f" {suffix}")
    cik = 9_000_000 + _scramble(k, seed, PERSON_SPACE)
    return Identity(f"{cik:010d}", conformed, display, last, False)


@lru_cache(maxsize=4096)
def make_entity(seed: int, family: int, role: str) -> Identity:
    """One of the related entities of a fund family; ``role`` is one of FUND_ROLES."""
    rng = random.Random(f"fund/{seed}/{family}")
    a, b = rng.sample(COMPANY_WORDS, 2)
    root = _pick(rng, (a, f"{a} {b}", f"{a} & {b}", f"{a[:1]}&{b[:1]}"))
    kind, numeral = _pick(rng, ENTITY_WORDS), _pick(rng, ROMAN)
    name = {
        "fund": f"{root} {kind} Fund {numeral}, L.P.",
        "parallel": f"{root} {kind} Fund {numeral} (Parallel), L.P.",
        "gp": f"{root} {kind} Partners {numeral} GP, LLC",
        "manager": f"{root} Management, LLC",
    }[role]
    cik = 9_500_000 + _scramble(family * 4 + FUND_ROLES.index(role), seed, 500_000)
    former = None
    if rng.random() < 0.1 and role == "fund":
        former = (f"{a} SPV LLC", f"{date(2012, 1, 1) + timedelta(days=_below(rng, 2500)):%Y%m%d}")
    state = _pick(rng, ("DE", "DE", "DE", "E9", "N4")) if role != "manager" else "DE"
    return Identity(f"{cik:010d}", name, name, root, True, state, former)


# --------------------------------------------------------------------------------------------
# Building one filing
# --------------------------------------------------------------------------------------------


def _amount(rng: random.Random, low: int, high: int) -> str:
    """A share amount, log-uniform in [low, high); sometimes fractional as in real filings."""
    value = int(low * (high / low) ** rng.random())
    if rng.random() < 0.08:
        return f"{value}.{_below(rng, 1, 1000):03d}".rstrip("0")
    return str(value)


def _price(rng: random.Random) -> str:
    return f"{_pick(rng, (0.08, 1.0, 4.0, 10.0, 25.0, 80.0)) * (0.5 + rng.random() * 2):.2f}"


def _pick_dates(rng: random.Random) -> tuple[date, date, list[date]]:
    """(period of report, filed date, [signature date]); all between 2015 and 2024."""
    first, last = date(2015, 1, 5), date(2024, 12, 13)
    period = first + timedelta(days=_below(rng, (last - first).days))
    filed = period + timedelta(days=_pick(rng, (0, 1, 2, 2, 3, 5, 7, 9, 10)))
    while filed.weekday() >= 5:
        filed += timedelta(days=1)
    return period, filed, [filed - timedelta(days=_pick(rng, (0, 0, 0, 1)))]


def _role(rng: random.Random, kind: str) -> Role:
    if kind == "officer":
        return Role(officer=True, officer_title=_pick(rng, OFFICER_TITLES))
    if kind == "director":
        return Role(director=True)
    if kind == "officer_director":
        return Role(director=True, officer=True, officer_title=_pick(rng, OFFICER_TITLES[:2]))
    if kind == "founder":
        return Role(director=rng.random() < 0.5, ten_percent=True)
    if kind == "manager" and rng.random() < 0.4:
        return Role(ten_percent=True, other=True, other_text="Member of 10% owner group")
    return Role(ten_percent=True)


def _owner_signature(rng: random.Random, who: Identity, attorney: str) -> str:
    if who.is_entity:
        capacity = _pick(rng, ("Authorized Signatory", "Attorney-in-Fact", "Managing Member"))
        return f"{who.name.upper()} By: /s/ {attorney}, {capacity}"
    if rng.random() < 0.6:
        return f"/s/ {attorney}, Attorney-in-Fact for {who.display}"
    return f"/s/ {who.display}"


def _owners(rng: random.Random, seed: int, profile: Profile, issuer: Issuer, attorney: str) -> list[Owner]:
    family = _below(rng, FUND_FAMILY_SPACE)
    owners: list[Owner] = []
    for position, kind in enumerate(profile.owners):
        if kind in ("fund", "gp", "manager"):
            second_fund = kind == "fund" and "fund" in profile.owners[:position]
            who = make_entity(seed, family, "parallel" if second_fund else kind)
            foreign = who.state_of_incorporation in ("E9", "N4") and rng.random() < 0.5
            owners.append(Owner(who, _role(rng, kind), _address(rng, foreign), True))
            continue
        who = make_person(seed, _below(rng, PERSON_SPACE))
        if kind != "founder" and rng.random() < 0.5:
            home = issuer.address  # "C/O" the issuer, as insiders usually file
            address = Address(f"C/O {issuer.name.upper()}", home.street1, home.city, home.state,
                              home.zip, home.phone)
        else:
            address = _address(rng)
        owners.append(Owner(who, _role(rng, kind), address, rng.random() < 0.3))
    for owner in owners:
        owner.signature = _owner_signature(rng, owner.who, attorney)
    return owners


def _nonderivative(rng: random.Random, notes: Footnotes, issuer: Issuer, owners: list[Owner],
                   n: int) -> list[Holding]:
    """The first holding is direct, the rest indirect; joint fund filings use "See Footnote"."""
    lead = owners[0].who
    entities = [o.who for o in owners if o.who.is_entity]
    holdings: list[Holding] = []
    for index in range(n):
        share_notes: tuple[str, ...] = ()
        if rng.random() < 0.3:
            share_notes = (notes.add(
                f"Includes {_amount(rng, 100, 20000)} shares of restricted stock that vest in equal "
                f"annual installments over {_pick(rng, ('three', 'four'))} years."),)
        shares = Field(_amount(rng, 500, 5_000_000), share_notes)
        nature: Field | None
        if len(entities) > 1:
            holder = entities[index % len(entities)]
            nature = Field("See Footnote", (notes.add(
                f'Securities held of record by {holder.name}. The Reporting Persons may be deemed '
                'members of a "group" and each disclaims beneficial ownership except to the extent '
                "of its pecuniary interest therein."),))
        elif index == 0:
            nature = None
        elif lead.is_entity:
            nature = Field("By affiliated fund", (notes.add(
                f"Held by {lead.last} Co-Invest, L.P., whose general partner is controlled by the "
                "Reporting Person."),))
        else:
            label, text = _pick(rng, NATURES)
            nature = Field(label, (notes.add(text.format(last=lead.last)),) if rng.random() < 0.7 else ())
        holdings.append(Holding(issuer.common_title, shares, nature is None, nature))
    return holdings


def _derivative(rng: random.Random, notes: Footnotes, issuer: Issuer, owners: list[Owner],
                kind: str, period: date) -> Holding:
    """One option, RSU, warrant or convertible preferred holding; RSUs and preferred give
    price and dates only as footnote references, options and warrants sometimes do."""
    underlying = issuer.common_title
    shares = Field(_amount(rng, 1000, 2_000_000))
    direct, nature = True, None
    if owners[0].who.is_entity and len(owners) > 1:
        direct, nature = False, Field("See Footnote", (notes.add(
            f"Held directly by {owners[0].who.name}; its general partner may be deemed to "
            "beneficially own these securities."),))
    if kind == "option":
        grant = period - timedelta(days=_below(rng, 0, 2500))
        if rng.random() < 0.5:
            exercise = Field(_iso(grant + timedelta(days=365)))
        else:
            exercise = Field(None, (notes.add(
                f"The option vests as to 25% of the shares on {_long_date(grant + timedelta(days=365))} "
                "and in 36 equal monthly installments thereafter, subject to continued service."),))
        expiration = Field(_iso(grant + timedelta(days=3652)))
        return Holding(_pick(rng, OPTION_TITLES), shares, direct, nature, Field(_price(rng)),
                       exercise, expiration, underlying)
    if kind == "rsu":
        each = notes.add("Each restricted stock unit represents a contingent right to receive one "
                         "share of the Issuer's common stock.")
        vest = notes.add(
            f"The restricted stock units vest in {_pick(rng, ('three', 'four'))} equal annual "
            f"installments beginning {_long_date(period + timedelta(days=365))}. Vested units "
            "settle upon vesting and do not expire.")
        title = _pick(rng, ("Restricted Stock Units", "Restricted Stock Unit"))
        return Holding(title, shares, direct, nature, Field(None, (each,)), Field(None, (vest,)),
                       Field(None, (vest,)), underlying)
    if kind == "warrant":
        start = period + timedelta(days=_below(rng, 30, 400))
        if rng.random() < 0.6:
            exercise = Field(_iso(start))
        else:
            exercise = Field(None, (notes.add(
                "The warrants become exercisable on the later of 30 days after the completion of "
                "the Issuer's initial business combination and 12 months from the closing of its "
                "initial public offering."),))
        title = _pick(rng, ("Warrants (right to buy)", "Common Stock Warrants"))
        price = Field(_pick(rng, ("11.50", "5.75", "2.00", "0.01")))
        return Holding(title, shares, direct, nature, price, exercise,
                       Field(_iso(start + timedelta(days=1826))), underlying)
    series = _pick(rng, "ABCDEF")
    convert = notes.add(
        f"The Series {series} Preferred Stock is convertible into {underlying} on a "
        f"1-for-{_pick(rng, ('1', '2', '6.299'))} basis at any time at the holder's election and "
        "will automatically convert upon the closing of the Issuer's initial public offering. "
        "The shares have no expiration date.")
    only_note = Field(None, (convert,))
    return Holding(f"Series {series} Convertible Preferred Stock", shares, direct, nature,
                   only_note, only_note, only_note, underlying)


def _remarks(rng: random.Random, profile: Profile, owners: list[Owner]) -> str:
    parts: list[str] = []
    if len(owners) > 1 and rng.random() < 0.7:
        parts.append("The Reporting Persons state that this filing shall not be an admission that "
                     "they are the beneficial owners of any securities reported herein for purposes "
                     "of Section 16 or otherwise.")
    if any(o.role.officer_title == "See Remarks" for o in owners):
        parts.append("Executive Vice President, Chief Commercial Officer and Interim Head of "
                     "Research & Development.")
    if profile.no_securities and rng.random() < 0.5:
        parts.append("No securities are beneficially owned.")
    if profile.attachments != "none":
        parts.append(_pick(rng, REMARK_EXHIBITS))
    return ("\n\n" if rng.random() < 0.5 else "\n").join(parts)  # real remarks hold newlines


def _next_accession(rng: random.Random, counters: dict[tuple[str, int], int], prefix: str,
                    year: int, agent: bool) -> str:
    """``prefix-YY-NNNNNN``, increasing per (filer, year); agents start high, self-filers low."""
    key = (prefix, year % 100)
    start = (int(prefix) + key[1] * 7919) % (20_000 if agent else 150)
    sequence = counters.get(key, start) + _between(rng, 1, 40)
    if sequence > 999_999:
        raise ValueError(f"accession sequence overflow for filer {prefix} in {year}")
    counters[key] = sequence
    return f"{prefix}-{key[1]:02d}-{sequence:06d}"


def build_filing(seed: int, index: int, counters: dict[tuple[str, int], int]) -> Filing:
    """Draw filing ``index``; ``counters`` holds the last accession sequence per (filer, year)."""
    rng = random.Random(f"filing/{seed}/{index}")
    profile = PROFILES[index % len(PROFILES)]
    issuer = make_issuer(seed, _below(rng, ISSUER_SPACE))
    period, filed, signature_dates = _pick_dates(rng)
    style = STYLES["wf" if profile.attachments == "poa_graphic" else _pick(rng, AGENT_STYLES)]
    attorney = make_person(seed, _below(rng, PERSON_SPACE)).display
    owners = _owners(rng, seed, profile, issuer, attorney)

    notes = Footnotes()
    nonderivative: list[Holding] = []
    derivative: list[Holding] = []
    if not profile.no_securities:
        nonderivative = _nonderivative(rng, notes, issuer, owners, _between(rng, *profile.nonderivative))
        for number in range(_between(rng, *profile.derivative)):
            kind = profile.derivative_kinds[0] if number == 0 else _pick(rng, profile.derivative_kinds)
            derivative.append(_derivative(rng, notes, issuer, owners, kind, period))

    accession = _next_accession(rng, counters, style.agent_cik or issuer.cik, filed.year,
                                style.agent_cik is not None)
    accepted = f"{filed:%Y%m%d}{_below(rng, 6, 22):02d}{_below(rng, 60):02d}{_below(rng, 60):02d}"
    blob = b""
    if profile.attachments == "poa_graphic":
        blob = JPEG_HEAD + rng.randbytes(_below(rng, 300, 1200)) + JPEG_TAIL
    return Filing(
        accession=accession,
        period=period,
        filed=filed,
        accepted=accepted,
        film_number=int(f"{filed.year % 100:02d}{_below(rng, 100_000, 1_600_000)}"),
        issuer=issuer,
        owners=owners,
        no_securities=profile.no_securities,
        nonderivative=nonderivative,
        derivative=derivative,
        footnotes=notes.texts,
        remarks=_remarks(rng, profile, owners),
        flag_style=profile.flag_style,
        style=style,
        xml_filename=style.filename.format(n=_below(rng, 10**14, 10**15)),
        attachments=profile.attachments,
        attorney=attorney,
        graphic_blob=blob,
        signature_dates=signature_dates * len(owners),
    )


# --------------------------------------------------------------------------------------------
# Rendering: SEC header (sections separated by blank lines, values after tab runs)
# --------------------------------------------------------------------------------------------


def _address_section(title: str, address: Address, with_phone: bool) -> str:
    lines = [f"\t{title}:\t", f"\t\tSTREET 1:\t\t{address.street1}"]
    if address.street2:
        lines.append(f"\t\tSTREET 2:\t\t{address.street2}")
    lines += [f"\t\tCITY:\t\t\t{address.city}", f"\t\tSTATE:\t\t\t{address.state}"]
    if address.zip:
        lines.append(f"\t\tZIP:\t\t\t{address.zip}")
    if with_phone:
        lines.append(f"\t\tBUSINESS PHONE:\t\t{address.phone}")
    return "\n".join(lines)


def _former_section(title: str, name: str, when: str) -> str:
    return f"\t{title}:\t\n\t\tFORMER CONFORMED NAME:\t{name}\n\t\tDATE OF NAME CHANGE:\t{when}"


def _owner_block(owner: Owner, issuer: Issuer, film: int, form: str = "3") -> str:
    who = owner.who
    data = (f"\tOWNER DATA:\t\n\t\tCOMPANY CONFORMED NAME:\t\t\t{who.name}\n"
            f"\t\tCENTRAL INDEX KEY:\t\t\t{who.cik}")
    if who.is_entity:  # entities also carry their state of incorporation and fiscal year end
        data += (f"\n\t\tSTATE OF INCORPORATION:\t\t\t{who.state_of_incorporation}"
                 "\n\t\tFISCAL YEAR END:\t\t\t1231")
    sections = [
        data,
        f"\tFILING VALUES:\n\t\tFORM TYPE:\t\t{form}\n\t\tSEC ACT:\t\t1934 Act\n"
        f"\t\tSEC FILE NUMBER:\t{issuer.file_number}\n\t\tFILM NUMBER:\t\t{film}",
    ]
    if owner.business_address:
        sections.append(_address_section("BUSINESS ADDRESS", owner.address, True))
    sections.append(_address_section("MAIL ADDRESS", owner.address, False))
    if who.former_name:
        sections.append(_former_section("FORMER NAME", *who.former_name))
    return "REPORTING-OWNER:\t\n\n" + "\n\n".join(sections)


def _issuer_block(issuer: Issuer) -> str:
    data = (
        "\tCOMPANY DATA:\t\n"
        f"\t\tCOMPANY CONFORMED NAME:\t\t\t{issuer.name}\n"
        f"\t\tCENTRAL INDEX KEY:\t\t\t{issuer.cik}\n"
        f"\t\tSTANDARD INDUSTRIAL CLASSIFICATION:\t{issuer.sic}\n"
        f"\t\tIRS NUMBER:\t\t\t\t{issuer.irs}\n"
        f"\t\tSTATE OF INCORPORATION:\t\t\t{issuer.state_of_incorporation}\n"
        f"\t\tFISCAL YEAR END:\t\t\t{issuer.fiscal_year_end}"
    )
    sections = [
        data,
        _address_section("BUSINESS ADDRESS", issuer.address, True),
        _address_section("MAIL ADDRESS", issuer.address, False),
    ]
    sections += [_former_section("FORMER COMPANY", name, when) for name, when in issuer.former_names]
    return "ISSUER:\t\t\n\n" + "\n\n".join(sections)


def render_header(filing: Filing, document_count: int) -> str:
    """``<SEC-DOCUMENT>`` through ``</SEC-HEADER>``: owners first, then the issuer."""
    acc, filed = filing.accession, f"{filing.filed:%Y%m%d}"
    top = (
        f"<SEC-DOCUMENT>{acc}.txt : {filed}\n<SEC-HEADER>{acc}.hdr.sgml : {filed}\n"
        f"<ACCEPTANCE-DATETIME>{filing.accepted}\nACCESSION NUMBER:\t\t{acc}\n"
        f"CONFORMED SUBMISSION TYPE:\t{filing.form}\nPUBLIC DOCUMENT COUNT:\t\t{document_count}\n"
        f"CONFORMED PERIOD OF REPORT:\t{filing.period:%Y%m%d}\nFILED AS OF DATE:\t\t{filed}\n"
        f"DATE AS OF CHANGE:\t\t{filed}\n\n"
    )
    # joint filers get consecutive film numbers
    blocks = [_owner_block(o, filing.issuer, filing.film_number + i, filing.form)
              for i, o in enumerate(filing.owners)]
    blocks.append(_issuer_block(filing.issuer))
    return top + "\n\n".join(blocks) + "\n</SEC-HEADER>\n"


# --------------------------------------------------------------------------------------------
# Rendering: ownership XML (EDGAR's 4-space pretty print, blank line between top-level parts)
# --------------------------------------------------------------------------------------------


def esc(text: str) -> str:
    """Escape like EDGAR: &, <, > and double quotes; apostrophes stay literal."""
    if "&" in text or "<" in text or ">" in text or '"' in text:
        return _sax_escape(text, {'"': "&quot;"})
    return text


def _field(tag: str, value: Field, pad: str) -> str:
    inner = f"{pad}    <value>{esc(value.value)}</value>\n" if value.value is not None else ""
    inner += "".join(f'{pad}    <footnoteId id="{fid}"/>\n' for fid in value.footnotes)
    return f"{pad}<{tag}>\n{inner}{pad}</{tag}>\n"


def _flag(style: str, tag: str, on: bool, pad: str) -> str:
    if style == "10":
        return f"{pad}<{tag}>{int(on)}</{tag}>\n"
    if style == "tf_true" and not on:
        return ""
    return f"{pad}<{tag}>{'true' if on else 'false'}</{tag}>\n"


def _reporting_owner(owner: Owner, filing: Filing) -> str:
    a, r, p = owner.address, owner.role, " " * 12
    flags = "".join(_flag(filing.flag_style, tag, on, p) for tag, on in (
        ("isDirector", r.director), ("isOfficer", r.officer),
        ("isTenPercentOwner", r.ten_percent), ("isOther", r.other)))
    if r.officer_title or filing.style.blank_titles:
        flags += f"{p}<officerTitle>{esc(r.officer_title)}</officerTitle>\n"
    if r.other_text or filing.style.blank_titles:
        flags += f"{p}<otherText>{esc(r.other_text)}</otherText>\n"
    return (
        "    <reportingOwner>\n"
        "        <reportingOwnerId>\n"
        f"{p}<rptOwnerCik>{owner.who.cik}</rptOwnerCik>\n"
        f"{p}<rptOwnerName>{esc(owner.who.name)}</rptOwnerName>\n"
        "        </reportingOwnerId>\n"
        "        <reportingOwnerAddress>\n"
        f"{p}<rptOwnerStreet1>{esc(a.street1)}</rptOwnerStreet1>\n"
        f"{p}<rptOwnerStreet2>{esc(a.street2)}</rptOwnerStreet2>\n"
        f"{p}<rptOwnerCity>{esc(a.city)}</rptOwnerCity>\n"
        f"{p}<rptOwnerState>{a.state}</rptOwnerState>\n"
        f"{p}<rptOwnerZipCode>{a.zip}</rptOwnerZipCode>\n"
        f"{p}<rptOwnerStateDescription>{a.country}</rptOwnerStateDescription>\n"
        "        </reportingOwnerAddress>\n"
        "        <reportingOwnerRelationship>\n"
        f"{flags}"
        "        </reportingOwnerRelationship>\n"
        "    </reportingOwner>"
    )


def _ownership_nature(holding: Holding, pad: str) -> str:
    text = (
        f"{pad}<ownershipNature>\n{pad}    <directOrIndirectOwnership>\n"
        f"{pad}        <value>{'D' if holding.direct else 'I'}</value>\n"
        f"{pad}    </directOrIndirectOwnership>\n"
    )
    if holding.nature is not None:
        text += _field("natureOfOwnership", holding.nature, pad + "    ")
    return text + f"{pad}</ownershipNature>\n"


def _holding(holding: Holding, derivative: bool) -> str:
    p, q = " " * 12, " " * 16
    tag = "derivativeHolding" if derivative else "nonDerivativeHolding"
    body = _field("securityTitle", Field(holding.title), p)
    if derivative:
        assert holding.price and holding.exercise and holding.expiration
        body += (
            _field("conversionOrExercisePrice", holding.price, p)
            + _field("exerciseDate", holding.exercise, p)
            + _field("expirationDate", holding.expiration, p)
            + f"{p}<underlyingSecurity>\n"
            + _field("underlyingSecurityTitle", Field(holding.underlying_title), q)
            + _field("underlyingSecurityShares", holding.shares, q)
            + f"{p}</underlyingSecurity>\n"
        )
    else:
        body += (
            f"{p}<postTransactionAmounts>\n"
            + _field("sharesOwnedFollowingTransaction", holding.shares, q)
            + f"{p}</postTransactionAmounts>\n"
        )
    return f"        <{tag}>\n{body}{_ownership_nature(holding, p)}        </{tag}>\n"


def _table(tag: str, holdings: list[Holding], derivative: bool, write_empty: bool) -> str | None:
    if not holdings:
        return f"    <{tag}></{tag}>" if write_empty else None
    return f"    <{tag}>\n" + "".join(_holding(h, derivative) for h in holdings) + f"    </{tag}>"


def _footnotes(filing: Filing) -> str | None:
    if not filing.footnotes:
        return "    <footnotes></footnotes>" if filing.style.empty_footnotes else None
    notes = "".join(f'        <footnote id="F{i}">{esc(text)}</footnote>\n'
                    for i, text in enumerate(filing.footnotes, 1))
    return f"    <footnotes>\n{notes}    </footnotes>"


def _signature(owner: Owner, day: date) -> str:
    return (
        f"    <ownerSignature>\n        <signatureName>{esc(owner.signature)}</signatureName>\n"
        f"        <signatureDate>{_iso(day)}</signatureDate>\n    </ownerSignature>"
    )


def render_xml(filing: Filing) -> str:
    """The ownershipDocument exactly as EDGAR shows it between ``<XML>`` and ``</XML>``."""
    if filing.form not in ("3", "3/A"):
        return render_xml_45(filing)
    issuer, style = filing.issuer, filing.style
    if filing.flag_style == "tf":
        no_securities = "true" if filing.no_securities else "false"
    else:
        no_securities = str(int(filing.no_securities))
    parts: list[str | None] = [
        "    <schemaVersion>X0206</schemaVersion>",
        f"    <documentType>{filing.form}</documentType>",
        f"    <periodOfReport>{_iso(filing.period)}</periodOfReport>",
    ]
    if filing.original_submission is not None:
        parts.append(f"    <dateOfOriginalSubmission>{_iso(filing.original_submission)}</dateOfOriginalSubmission>")
    parts += [
        f"    <noSecuritiesOwned>{no_securities}</noSecuritiesOwned>",
        f"    <issuer>\n        <issuerCik>{issuer.cik}</issuerCik>\n"
        f"        <issuerName>{esc(issuer.name)}</issuerName>\n"
        f"        <issuerTradingSymbol>{issuer.ticker}</issuerTradingSymbol>\n    </issuer>",
    ]
    parts += [_reporting_owner(o, filing) for o in filing.owners]
    if not filing.no_securities or style.empty_tables:
        parts.append(_table("nonDerivativeTable", filing.nonderivative, False, style.empty_tables))
        parts.append(_table("derivativeTable", filing.derivative, True, style.empty_tables))
    parts.append(_footnotes(filing))
    if filing.remarks or style.empty_remarks:
        parts.append(f"    <remarks>{esc(filing.remarks)}</remarks>")
    parts += [_signature(o, day) for o, day in zip(filing.owners, filing.signature_dates)]
    body = "\n\n".join(part for part in parts if part is not None)
    return f'<?xml version="1.0"?>\n<ownershipDocument>\n\n{body}\n</ownershipDocument>\n'


# --------------------------------------------------------------------------------------------
# Rendering: documents and the whole submission
# --------------------------------------------------------------------------------------------


def _document(doc_type: str, sequence: int, filename: str, description: str, text: str) -> str:
    return (
        f"<DOCUMENT>\n<TYPE>{doc_type}\n<SEQUENCE>{sequence}\n<FILENAME>{filename}\n"
        f"<DESCRIPTION>{description}\n<TEXT>\n{text}</TEXT>\n</DOCUMENT>\n"
    )


def _wrap(text: str, width: int = 80, indent: str = " " * 8) -> str:
    """Greedy word wrap with an indented first line, like the fixed-width exhibits filers paste."""
    lines: list[str] = []
    line = indent
    for word in text.split(" "):
        if line.strip() and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line.strip() else line + word
    lines.append(line)
    return "\n".join(lines)


def _poa_text(filing: Filing) -> str:
    """A short EX-24 power of attorney in the <PRE> style many agents use."""
    body = (
        "Know all by these presents, that the undersigned hereby makes, constitutes and appoints "
        f"{filing.attorney}, signing singly, as the undersigned's true and lawful attorney-in-fact "
        "to execute for and on behalf of the undersigned, in the undersigned's capacity as an "
        f"officer, director and/or stockholder of {filing.issuer.name} (the \"Company\"), Forms 3, "
        "4, and 5 in accordance with Section 16(a) of the Securities Exchange Act of 1934 and the "
        "rules thereunder."
    )
    witness = ("IN WITNESS WHEREOF, the undersigned has caused this Power of Attorney to be "
               f"executed as of {_long_date(filing.signature_dates[0])}.")
    sig = " " * 40
    return (
        "<HTML>\n<HEAD>\n</HEAD>\n<BODY>\n<PRE>\n"
        + " " * 68 + "Exhibit 24\n\n"
        + " " * 31 + "LIMITED POWER OF ATTORNEY\n"
        + " " * 26 + "FOR SECTION 16 REPORTING OBLIGATIONS\n\n"
        + _wrap(body) + "\n\n" + _wrap(witness) + "\n\n\n"
        + f"{sig}/s/ {filing.owners[0].who.display}\n{sig}{'-' * 40}\n{sig}Signature\n\n"
        + "</PRE>\n</BODY>\n</HTML>\n"
    )


def _poa_image_html(stem: str) -> str:
    """An EX-24 that only shows the scanned page sent as the GRAPHIC document."""
    return (
        f"<HTML>\n<HEAD><!-- Document generated by a filing agent -->\n<TITLE>{stem}</TITLE>\n</HEAD>\n"
        '<BODY bgcolor="white">\n<DIV align="center">\n'
        f'<DIV style="margin-left:1em;width:1055;"><!-- {stem}001.jpg -->\n'
        '<DIV style="padding-top:2em;">\n'
        f'<IMG src="{stem}001.jpg" title="slide1" width="1055" height="1365">\n'
        '<DIV><FONT size="1" style="font-size:1pt;color:white"></FONT></DIV>\n<P><HR noshade><P>\n'
        '<DIV style="page-break-before:always;">&nbsp;</DIV>\n</DIV>\n</DIV>\n</DIV>\n</BODY>\n</HTML>\n'
    )


def uuencode(name: str, blob: bytes) -> str:
    """uuencode as EDGAR stores it: spaces for zero, trailing spaces stripped from every line,
    so the zero-length terminator line is empty."""
    lines = [
        binascii.b2a_uu(blob[i:i + 45], backtick=False).decode("ascii").rstrip("\n").rstrip(" ")
        for i in range(0, len(blob), 45)
    ]
    return f"begin 644 {name}\n" + "\n".join(lines) + "\n\nend\n"


def render_filing(filing: Filing) -> bytes:
    """The complete ``<SEC-DOCUMENT>`` text of one filing: ASCII with LF line ends."""
    xml = f"<XML>\n{render_xml(filing)}</XML>\n"
    documents = [_document(filing.form, 1, filing.xml_filename, filing.style.description, xml)]
    lead = filing.owners[0].who.display
    stem = "".join(ch for ch in lead.lower() if ch.isalnum()) + "poa"
    if filing.attachments == "poa":
        documents.append(_document("EX-24", 2, f"{stem}.htm", "POWER OF ATTORNEY", _poa_text(filing)))
    elif filing.attachments == "poa_graphic":
        image = f"{stem}001.jpg"
        documents.append(_document("EX-24", 2, f"{stem}.htm", f"POA {lead.upper()}", _poa_image_html(stem)))
        documents.append(_document("GRAPHIC", 3, image, f"POA {lead.upper()}",
                                   uuencode(image, filing.graphic_blob)))
    text = render_header(filing, len(documents)) + "".join(documents) + "</SEC-DOCUMENT>\n"
    return text.encode("ascii")


def facts(filing: Filing) -> ManifestFacts:
    return ManifestFacts(
        accession_number=filing.accession,
        issuer_cik=filing.issuer.cik,
        issuer_name=filing.issuer.name,
        date_filed=_iso(filing.filed),
        n_reporting_owners=len(filing.owners),
        n_nonderivative_holdings=len(filing.nonderivative),
        n_derivative_holdings=len(filing.derivative),
        n_footnotes=len(filing.footnotes),
        no_securities_owned=filing.no_securities,
        form_type=filing.form,
        n_nonderivative_transactions=len(filing.nonderivative_trans),
        n_derivative_transactions=len(filing.derivative_trans),
    )


# --------------------------------------------------------------------------------------------
# Forms 4 and 5 and the amendments: EDGAR's mix of a real quarter
# --------------------------------------------------------------------------------------------

# Submissions per form type in the SEC's 2024 Q3 Insider Transactions data set (its SUBMISSION
# table): the proportions of ``--mix edgar``. 3/A and 5/A are too rare there to weigh; they
# occur in the showcase below.
EDGAR_MIX = (("4", 32_530), ("3", 2_866), ("4/A", 520), ("5", 62))
# Filings 0-9 of the mix are one of each form and feature (so any mixed set of 10 or more
# holds all of them); from filing 10 on, forms are drawn by EDGAR_MIX.
SHOWCASE = (
    ("4", ("fn_only_price", "long_price", "deemed", "timeliness", "derivative")),
    ("4", ("swap", "no_coding", "total_value", "underlying_value", "derivative")),
    ("5", ("holdings_only",)),
    ("4/A", ("derivative",)),
    ("3", ()),
    ("4", ("direct_and_indirect", "no_aff10b5one", "value_owned")),
    ("5/A", ("late_form4",)),
    ("3/A", ()),
    ("4", ("tranches",)),
    ("5", ("late_form4", "derivative")),
)
TRANS_CODES = (("S", 30), ("A", 20), ("M", 12), ("F", 12), ("P", 8), ("G", 6), ("J", 3), ("C", 2),
               ("D", 2), ("X", 2), ("W", 1), ("I", 1), ("L", 1))
_CODE_TABLE = [code for code, weight in TRANS_CODES for _ in range(weight)]
_MIX_TOTAL = sum(w for _, w in EDGAR_MIX)


@dataclass
class Transaction:
    """One nonDerivativeTransaction or derivativeTransaction (derivative fields None if not)."""

    title: str
    day: Field
    deemed: Field | None
    coding: tuple[str, str, bool, tuple[str, ...]] | None  # form type, code, swap, footnotes
    timeliness: str | None
    shares: Field | None  # transactionShares, or None when a total value is given
    total_value: Field | None
    price: Field
    acquired: str  # A or D
    owned_after: Field
    owned_is_value: bool
    direct: bool
    nature: Field | None
    exercise_price: Field | None = None
    exercise: Field | None = None
    expiration: Field | None = None
    underlying_title: str = ""
    underlying: Field | None = None
    underlying_is_value: bool = False


def _num(value: float) -> str:
    """A decimal as filers write it: no exponent, no trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def mix_form(seed: int, index: int) -> tuple[str, tuple[str, ...]]:
    """Form type and forced features of filing ``index`` of the EDGAR mix."""
    if index < len(SHOWCASE):
        return SHOWCASE[index]
    draw = random.Random(f"mix/{seed}/{index}").random() * _MIX_TOTAL
    for form, weight in EDGAR_MIX:
        draw -= weight
        if draw < 0:
            return form, ()
    return EDGAR_MIX[0][0], ()


def _price_field(rng: random.Random, notes: Footnotes, low: float, forced: tuple[str, ...]) -> Field:
    """A price as filers write it: two decimals, sometimes four (the SEC rounds those), a
    weighted average with its footnote, or only a footnote."""
    if "fn_only_price" in forced or rng.random() < 0.03:
        return Field(None, (notes.add(
            "The price is a weighted average; the shares were sold in multiple transactions at "
            f"prices ranging from ${low:.2f} to ${low * 1.04:.2f}. Full information on the number "
            "of shares sold at each price will be provided upon request."),))
    if "long_price" in forced or rng.random() < 0.1:
        value = f"{low:.4f}"
    else:
        value = f"{low:.2f}"
    if rng.random() < 0.15:
        return Field(value, (notes.add(
            f"Weighted average price; prices ranged from ${low * 0.98:.2f} to ${low * 1.02:.2f}."),))
    return Field(value)


def _coding(rng: random.Random, notes: Footnotes, form: str, code: str,
            forced: tuple[str, ...]) -> tuple[str, str, bool, tuple[str, ...]] | None:
    if "no_coding" in forced:
        return None
    swap = "swap" in forced or rng.random() < 0.01
    fns = (notes.add("The transaction is part of an equity swap with a broker-dealer counterparty."),) if swap else ()
    if code in ("S", "P") and rng.random() < 0.2:
        fns += (notes.add("Effected pursuant to a Rule 10b5-1 trading plan adopted by the Reporting "
                          "Person."),)
    late = form.startswith("5") and ("late_form4" in forced or rng.random() < 0.3)
    return ("4" if late or not form.startswith("5") else "5", code, swap, fns)


def _nonderiv_trans(rng: random.Random, notes: Footnotes, filing: Filing, n: int,
                    forced: tuple[str, ...]) -> list[Transaction]:
    """``n`` rows of one security; a run of sales on one day is one row per price tranche."""
    owned = float(_amount(rng, 5_000, 3_000_000))
    base_price = float(_price(rng)) or 1.0
    rows: list[Transaction] = []
    indirect_nature = None
    for k in range(n):
        code = "S" if "tranches" in forced else _pick(rng, _CODE_TABLE)
        acquired = "A" if code in ("P", "A", "M", "X", "C", "I", "L", "W") else "D"
        shares = float(_amount(rng, 50, 200_000))
        owned = owned + shares if acquired == "A" else max(0.0, owned - shares)
        day = filing.period - timedelta(days=0 if "tranches" in forced else _below(rng, 0, 3))
        if code in ("A", "G"):  # grants and gifts are priced at 0
            price = Field("0")
        else:
            price = _price_field(rng, notes, base_price * (1 + 0.01 * k), forced if k == 0 else ())
        direct = not ("direct_and_indirect" in forced and k % 2 == 1) and rng.random() > 0.12
        nature = None
        if not direct:
            if indirect_nature is None:
                label, text = _pick(rng, NATURES)
                indirect_nature = Field(label, (notes.add(text.format(last=filing.owners[0].who.last)),))
            nature = indirect_nature
        value_owned = "value_owned" in forced and k == 0
        rows.append(Transaction(
            title=filing.issuer.common_title,
            day=Field(_iso(day)),
            deemed=Field(_iso(day)) if "deemed" in forced or rng.random() < 0.03 else None,
            coding=_coding(rng, notes, filing.form, code, forced if k == 0 else ()),
            timeliness=("L" if "timeliness" in forced or rng.random() < 0.02 else None),
            shares=Field(_num(shares)),
            total_value=None,
            price=price,
            acquired=acquired,
            owned_after=Field(f"{owned * base_price:.2f}" if value_owned else _num(owned)),
            owned_is_value=value_owned,
            direct=direct,
            nature=nature,
        ))
    return rows


def _deriv_trans(rng: random.Random, notes: Footnotes, filing: Filing, n: int,
                 forced: tuple[str, ...]) -> list[Transaction]:
    """Option grants and exercises, RSU vesting: each with its underlying security."""
    rows: list[Transaction] = []
    for k in range(n):
        grant = rng.random() < 0.5
        code = "A" if grant else "M"
        shares = _num(float(_amount(rng, 500, 100_000)))
        strike = _price(rng)
        start = filing.period - timedelta(days=_below(rng, 0, 1500))
        exercise = (Field(_iso(start + timedelta(days=365))) if rng.random() < 0.6 else Field(None, (notes.add(
            "The option vests in four equal annual installments beginning on the first anniversary "
            "of the grant date."),)))
        total_value = "total_value" in forced and k == 0
        by_value = "underlying_value" in forced and k == 0
        rows.append(Transaction(
            title=_pick(rng, OPTION_TITLES),
            day=Field(_iso(filing.period)),
            deemed=None,
            coding=_coding(rng, notes, filing.form, code, forced if k == 0 else ()),
            timeliness=None,
            shares=None if total_value else Field(shares),
            total_value=Field(f"{float(shares) * float(strike):.2f}") if total_value else None,
            price=Field("0" if grant else strike),
            acquired="A" if grant else "D",
            owned_after=Field(_num(float(_amount(rng, 1_000, 400_000)))),
            owned_is_value=False,
            direct=True,
            nature=None,
            exercise_price=Field(strike),
            exercise=exercise,
            expiration=Field(_iso(start + timedelta(days=3652))),
            underlying_title=filing.issuer.common_title,
            underlying=Field(f"{float(shares) * float(strike):.2f}" if by_value else shares),
            underlying_is_value=by_value,
        ))
    return rows


def build_filing_45(seed: int, index: int, counters: dict[tuple[str, int], int], form: str,
                    forced: tuple[str, ...]) -> Filing:
    """A Form 4, 5 or amendment: a Form 3's people and issuer, its holdings kept where the form
    reports holdings (indirect ones on a Form 4, all on a Form 5), and transactions."""
    filing = build_filing(seed, index, counters)
    rng = random.Random(f"form45/{seed}/{index}")
    filing.form = form
    digit = form[0]
    filing.xml_filename = filing.xml_filename.replace("form3", f"form{digit}").replace("doc3", f"doc{digit}")
    filing.style = dataclasses.replace(
        filing.style, description=filing.style.description.replace("FORM 3", f"FORM {form}"))
    if filing.flag_style == "tf_true":
        filing.flag_style = "tf"
    notes = Footnotes()
    for text in filing.footnotes:  # the holdings' footnotes keep their ids
        notes.add(text)
    if form.startswith("4"):
        filing.nonderivative = [h for h in filing.nonderivative if not h.direct][:2]
        filing.derivative = []
        filing.not_subject_to_16 = False
    else:
        filing.form5_flags = (rng.random() < 0.05, rng.random() < 0.2)
    filing.no_securities = False
    if "holdings_only" not in forced and not (form.startswith("5") and rng.random() < 0.3):
        n = 8 if "tranches" in forced else _pick(rng, (0, 1, 1, 1, 2, 2, 3, 4, 5, 7)) or (
            0 if rng.random() < 0.5 else 1)
        if "direct_and_indirect" in forced:
            n = max(n, 2)
        derivatives = _pick(rng, (1, 1, 2, 3)) if "derivative" in forced or rng.random() < 0.3 else 0
        if n == 0 and derivatives == 0:
            n = 1
        filing.nonderivative_trans = _nonderiv_trans(rng, notes, filing, n, forced)
        filing.derivative_trans = _deriv_trans(rng, notes, filing, derivatives, forced)
    elif not filing.nonderivative:
        filing.nonderivative = _nonderivative(rng, notes, filing.issuer, filing.owners, 1)
    filing.footnotes = notes.texts
    filing.aff10b5_one = None if "no_aff10b5one" in forced else rng.random() < 0.08
    if form.endswith("/A"):
        filing.original_submission = filing.filed - timedelta(days=_below(rng, 3, 200))
    filing.filed = max(filing.filed, filing.period + timedelta(days=1 if form.startswith("4") else 40))
    return filing


def build_mixed(seed: int, index: int, counters: dict[tuple[str, int], int]) -> Filing:
    """Filing ``index`` of the EDGAR mix."""
    form, forced = mix_form(seed, index)
    if form in ("3", "3/A"):
        filing = build_filing(seed, index, counters)
        filing.form = form
        if form == "3/A":
            filing.original_submission = filing.filed - timedelta(days=_below(
                random.Random(f"form3a/{seed}/{index}"), 3, 200))
        return filing
    return build_filing_45(seed, index, counters, form, forced)


def _bool(style: str, on: bool) -> str:
    return ("true" if on else "false") if style == "tf" else str(int(on))


def _nature(direct: bool, nature: Field | None, pad: str) -> str:
    text = (f"{pad}<ownershipNature>\n{pad}    <directOrIndirectOwnership>\n"
            f"{pad}        <value>{'D' if direct else 'I'}</value>\n{pad}    </directOrIndirectOwnership>\n")
    if nature is not None:
        text += _field("natureOfOwnership", nature, pad + "    ")
    return text + f"{pad}</ownershipNature>\n"


def _transaction(t: Transaction, derivative: bool, style: str) -> str:
    p, q = " " * 12, " " * 16
    tag = "derivativeTransaction" if derivative else "nonDerivativeTransaction"
    body = _field("securityTitle", Field(t.title), p)
    if derivative:
        assert t.exercise_price is not None
        body += _field("conversionOrExercisePrice", t.exercise_price, p)
    body += _field("transactionDate", t.day, p)
    if t.deemed is not None:
        body += _field("deemedExecutionDate", t.deemed, p)
    if t.coding is not None:
        form, code, swap, fns = t.coding
        body += (f"{p}<transactionCoding>\n{q}<transactionFormType>{form}</transactionFormType>\n"
                 f"{q}<transactionCode>{code}</transactionCode>\n"
                 f"{q}<equitySwapInvolved>{_bool(style, swap)}</equitySwapInvolved>\n"
                 + "".join(f'{q}<footnoteId id="{fid}"/>\n' for fid in fns) + f"{p}</transactionCoding>\n")
    if t.timeliness is not None:
        body += f"{p}<transactionTimeliness>\n{q}<value>{t.timeliness}</value>\n{p}</transactionTimeliness>\n"
    body += f"{p}<transactionAmounts>\n"
    body += (_field("transactionShares", t.shares, q) if t.shares is not None
             else _field("transactionTotalValue", t.total_value, q))  # type: ignore[arg-type]
    body += _field("transactionPricePerShare", t.price, q)
    body += (f"{q}<transactionAcquiredDisposedCode>\n{q}    <value>{t.acquired}</value>\n"
             f"{q}</transactionAcquiredDisposedCode>\n{p}</transactionAmounts>\n")
    if derivative:
        assert t.exercise is not None and t.expiration is not None and t.underlying is not None
        body += (_field("exerciseDate", t.exercise, p) + _field("expirationDate", t.expiration, p)
                 + f"{p}<underlyingSecurity>\n" + _field("underlyingSecurityTitle", Field(t.underlying_title), q)
                 + _field("underlyingSecurityValue" if t.underlying_is_value else "underlyingSecurityShares",
                          t.underlying, q)
                 + f"{p}</underlyingSecurity>\n")
    owned = "valueOwnedFollowingTransaction" if t.owned_is_value else "sharesOwnedFollowingTransaction"
    body += f"{p}<postTransactionAmounts>\n" + _field(owned, t.owned_after, q) + f"{p}</postTransactionAmounts>\n"
    return f"        <{tag}>\n{body}{_nature(t.direct, t.nature, p)}        </{tag}>\n"


def _holding_45(holding: Holding, derivative: bool) -> str:
    """A Form 4/5 holding: a Form 3 holding plus the amount owned after (postTransactionAmounts)."""
    if not derivative:
        return _holding(holding, False)
    p, q = " " * 12, " " * 16
    assert holding.price and holding.exercise and holding.expiration
    body = (_field("securityTitle", Field(holding.title), p)
            + _field("conversionOrExercisePrice", holding.price, p)
            + _field("exerciseDate", holding.exercise, p) + _field("expirationDate", holding.expiration, p)
            + f"{p}<underlyingSecurity>\n" + _field("underlyingSecurityTitle", Field(holding.underlying_title), q)
            + _field("underlyingSecurityShares", holding.shares, q) + f"{p}</underlyingSecurity>\n"
            + f"{p}<postTransactionAmounts>\n" + _field("sharesOwnedFollowingTransaction", holding.shares, q)
            + f"{p}</postTransactionAmounts>\n")
    return f"        <derivativeHolding>\n{body}{_ownership_nature(holding, p)}        </derivativeHolding>\n"


def _table_45(tag: str, trans: list[Transaction], holdings: list[Holding], derivative: bool,
              style: str) -> str | None:
    if not trans and not holdings:
        return None
    rows = [_transaction(t, derivative, style) for t in trans] + [_holding_45(h, derivative) for h in holdings]
    return f"    <{tag}>\n" + "".join(rows) + f"    </{tag}>"


def render_xml_45(filing: Filing) -> str:
    """A Form 4 or 5 (or amendment) ownershipDocument, in the v5.5 schemas' element order."""
    issuer, style = filing.issuer, filing.flag_style
    parts: list[str | None] = [
        f"    <schemaVersion>{'X0306' if filing.aff10b5_one is None else 'X0508'}</schemaVersion>",
        f"    <documentType>{filing.form}</documentType>",
        f"    <periodOfReport>{_iso(filing.period)}</periodOfReport>",
    ]
    if filing.original_submission is not None:
        parts.append(f"    <dateOfOriginalSubmission>{_iso(filing.original_submission)}</dateOfOriginalSubmission>")
    if filing.not_subject_to_16 is not None:
        parts.append(f"    <notSubjectToSection16>{_bool(style, filing.not_subject_to_16)}</notSubjectToSection16>")
    if filing.form5_flags is not None:
        parts.append(f"    <form3HoldingsReported>{_bool(style, filing.form5_flags[0])}</form3HoldingsReported>")
        parts.append(f"    <form4TransactionsReported>{_bool(style, filing.form5_flags[1])}</form4TransactionsReported>")
    parts.append(
        f"    <issuer>\n        <issuerCik>{issuer.cik}</issuerCik>\n"
        f"        <issuerName>{esc(issuer.name)}</issuerName>\n"
        f"        <issuerTradingSymbol>{issuer.ticker}</issuerTradingSymbol>\n    </issuer>")
    parts += [_reporting_owner(o, filing) for o in filing.owners]
    if filing.aff10b5_one is not None:
        parts.append(f"    <aff10b5One>{_bool(style, filing.aff10b5_one)}</aff10b5One>")
    parts.append(_table_45("nonDerivativeTable", filing.nonderivative_trans, filing.nonderivative, False, style))
    parts.append(_table_45("derivativeTable", filing.derivative_trans, filing.derivative, True, style))
    parts.append(_footnotes(filing))
    if filing.remarks:
        parts.append(f"    <remarks>{esc(filing.remarks)}</remarks>")
    parts += [_signature(o, day) for o, day in zip(filing.owners, filing.signature_dates)]
    body = "\n\n".join(part for part in parts if part is not None)
    return f'<?xml version="1.0"?>\n<ownershipDocument>\n\n{body}\n</ownershipDocument>\n'


# --------------------------------------------------------------------------------------------
# Public interface
# --------------------------------------------------------------------------------------------


MIXES = ("form3", "edgar")  # Form 3s only (the bundled sample), or EDGAR's mix of every form


def iter_filings(count: int, seed: int = 3, mix: str = "form3") -> Iterator[Filing]:
    """Yield ``count`` filings in order; filing ``i`` is the same whatever ``count`` is."""
    build = build_mixed if mix == "edgar" else build_filing
    counters: dict[tuple[str, int], int] = {}
    for index in range(count):
        yield build(seed, index, counters)


def _emit(out_dir: Path, count: int, seed: int, mix: str = "form3") -> Iterator[tuple[Path, ManifestFacts]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for filing in iter_filings(count, seed, mix):
        path = out_dir / f"{filing.accession}.txt"
        with open(path, "wb") as handle:
            handle.write(render_filing(filing))
        yield path, facts(filing)


def generate(out_dir: Path, count: int, seed: int = 3) -> list[Path]:
    """Write ``count`` filings named ``<accession>.txt`` into ``out_dir``; return their paths."""
    return [path for path, _ in _emit(Path(out_dir), count, seed)]


def write_manifest(manifest_path: Path, entries: Iterable[tuple[Path, ManifestFacts]],
                   transactions: bool = False) -> None:
    """Write the CSV manifest; ``path`` is relative to the manifest's directory, posix-style.
    With ``transactions`` (the EDGAR mix) two more columns count each filing's transactions."""
    manifest_path = Path(manifest_path)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    base = os.path.abspath(manifest_path.parent)
    with open(manifest_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MANIFEST_FIELDS + (MIX_FIELDS if transactions else ()))
        for path, info in entries:
            extra = [info.n_nonderivative_transactions, info.n_derivative_transactions] if transactions else []
            writer.writerow([
                Path(os.path.relpath(os.path.abspath(path), base)).as_posix(),
                info.accession_number,
                info.issuer_cik,
                info.issuer_name,
                info.form_type,
                info.date_filed,
                info.n_reporting_owners,
                info.n_nonderivative_holdings,
                info.n_derivative_holdings,
                info.n_footnotes,
                "true" if info.no_securities_owned else "false",
                *extra,
            ])


def make(out_dir: Path, manifest_path: Path, count: int, seed: int = 3, clean: bool = False,
         mix: str = "form3") -> Path:
    """Generate ``count`` filings into ``out_dir`` plus the manifest; return the manifest path.

    With ``clean``, ``.txt`` files in ``out_dir`` that this run did not write are deleted, so a
    regenerated sample keeps no filings from an older version of the generator.
    """
    written: set[str] = set()

    def remember(entries: Iterator[tuple[Path, ManifestFacts]]) -> Iterator[tuple[Path, ManifestFacts]]:
        for path, info in entries:
            written.add(path.name)
            yield path, info

    write_manifest(Path(manifest_path), remember(_emit(Path(out_dir), count, seed, mix)), mix == "edgar")
    if clean:
        for stale in sorted(Path(out_dir).glob("*.txt")):
            if stale.name not in written:
                stale.unlink()
    return Path(manifest_path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write synthetic (fictional) SEC Form 3 filings in EDGAR's full-submission "
        ".txt format plus a CSV manifest of the expected counts. Without arguments, rewrite the "
        "bundled sample: 10 filings in data/sample/ and the manifest data/form_3_10.csv.",
    )
    parser.add_argument("--count", type=int, default=10, help="number of filings (default: 10)")
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for the <accession>.txt files (default: data/sample, "
                        "where stale .txt files from earlier runs are removed; required with "
                        "--mix edgar, which must not replace the bundled sample)")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="manifest CSV path (default: data/form_3_<count>.csv; with --mix "
                        "edgar, OUT/../mix_<count>.csv)")
    parser.add_argument("--seed", type=int, default=3,
                        help="random seed; the same count and seed give byte-identical output "
                        "(default: 3)")
    parser.add_argument("--mix", choices=MIXES, default="form3",
                        help="form3: Form 3s only, as the bundled sample; edgar: Forms 3, 4, 5 and "
                        "amendments in the proportions of a real quarter (2024 Q3), the first 10 "
                        "one of each form and feature (default: form3)")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be >= 0")
    if args.mix != "form3" and args.out is None:
        parser.error("--mix edgar needs --out (the default, data/sample, is the Form 3 sample)")
    out = args.out or HERE / "sample"
    manifest = args.manifest or (
        HERE / f"form_3_{args.count}.csv" if args.mix == "form3" else out.parent / f"mix_{args.count}.csv"
    )
    started = time.perf_counter()
    make(out, manifest, args.count, args.seed, clean=args.out is None, mix=args.mix)
    elapsed = time.perf_counter() - started
    print(f"wrote {args.count} filings to {out} and {manifest} in {elapsed:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
