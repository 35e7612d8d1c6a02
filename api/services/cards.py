"""Printable cards: an officer's pocket card (or a letter page) of indicators and the hotlines
to call, and a card of hotlines, as PDF, from the records as the API renders them.

Text is real text in an embedded font (DejaVu Sans, subset: Spanish accents and all), so a
search finds it, and every piece of it is tagged (a heading, a paragraph, a figure with its
``tel:`` URI as alternative text; the page footer an artifact), in reading order, so a screen
reader reads all of it. Each hotline's numbers carry a QR code of their ``tel:``
URI (``sms:`` for a text line). A hotline whose check is not ``verified`` is left off. The
version of each record, its ``verified_on`` and the sources are printed small. One content
version gives the same bytes (the document's dates are the content's).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import segno
from fpdf import FPDF, ViewerPreferences

FONTS = Path(__file__).resolve().parent / "fonts"
#: The date of a card of a database that never changed.
EPOCH = datetime(1970, 1, 1)
#: The most records (indicators, hotlines) one card lists (more: narrow it with a filter).
MAX_RECORDS = 200
#: Page sizes in millimetres: a 4 x 6 in pocket card, US letter.
SIZES = {"pocket": (101.6, 152.4), "letter": (215.9, 279.4)}
WORDS = {
    "en": {"indicators": "Human trafficking indicators", "call": "Who to call",
           "hotlines": "Human trafficking hotlines", "hours": "Hours", "tty": "TTY",
           "languages": "Languages", "verified": "verified", "version": "version",
           "sources": "Sources", "content": "Content version", "none": "No indicator matches.",
           "no_hotlines": "No verified hotline matches.",
           "anytime": "24/7",
           "unverified": "Not verified: confirm before you rely on it.",
           "disputed": "Not verified: its sources disagree. Confirm before you rely on it."},
    "es": {"indicators": "Indicadores de trata de personas", "call": "A quién llamar",
           "hotlines": "Líneas de ayuda sobre trata de personas", "hours": "Horario",
           "tty": "TTY", "languages": "Idiomas", "verified": "verificado",
           "version": "versión", "sources": "Fuentes", "content": "Versión del contenido",
           "none": "Ningún indicador coincide.", "anytime": "24/7",
           "no_hotlines": "Ninguna línea verificada coincide.",
           "unverified": "Sin verificar: confírmelo antes de confiar en ello.",
           "disputed": "Sin verificar: sus fuentes no coinciden. Confírmelo antes de confiar "
                       "en ello."},
}
#: Names of the languages a line answers in, by BCP 47 tag (any other tag is printed as is).
LANGUAGE_NAMES = {
    "en": {"en": "English", "es": "inglés"}, "es": {"en": "Spanish", "es": "español"},
    "ase": {"en": "American Sign Language", "es": "lengua de señas americana"},
    "fr": {"en": "French", "es": "francés"},
    "ht": {"en": "Haitian Creole", "es": "criollo haitiano"},
    "pt": {"en": "Portuguese", "es": "portugués"}, "zh": {"en": "Chinese", "es": "chino"},
    "vi": {"en": "Vietnamese", "es": "vietnamita"}, "ko": {"en": "Korean", "es": "coreano"},
    "tl": {"en": "Tagalog", "es": "tagalo"}, "ar": {"en": "Arabic", "es": "árabe"},
    "ru": {"en": "Russian", "es": "ruso"},
}


@dataclass(frozen=True)
class Card:
    """What a card shows: ``title`` over the ``indicators`` (rendered records, one language),
    the ``caveats``, the ``hotlines``; ``version`` names the content (a change token)."""

    title: str
    indicators: list[dict[str, Any]] | None
    caveats: list[str]
    hotlines: list[dict[str, Any]]
    lang: str
    size: str
    version: str
    at: datetime | None


def callable_hotlines(hotlines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hotlines a card may show: verified ones with a number to call or text."""
    return [hotline for hotline in hotlines
            if hotline.get("verification_status") == "verified"
            and any(channel.get("kind") in CALLABLE for channel in hotline.get("channels", []))]


#: Channels a card shows with a QR code: a number to call or to text.
CALLABLE = ("voice", "text")


def uri(channel: dict[str, Any]) -> str:
    """The ``tel:`` or ``sms:`` URI of a channel."""
    return f"{'tel' if channel['kind'] == 'voice' else 'sms'}:{channel['value']}"


class _Pdf(FPDF):
    def __init__(self, card: Card) -> None:
        width, height = SIZES[card.size]
        super().__init__(unit="mm", format=(width, height))
        self.card = card
        self.small = card.size == "pocket"
        margin = 6 if self.small else 15
        self.set_margins(margin, margin, margin)
        self.set_auto_page_break(True, margin + 6)
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        # the content's time, as UTC whatever the server's zone: the same bytes everywhere
        self.set_creation_date((card.at or EPOCH).replace(tzinfo=UTC))
        self.set_title(card.title)
        self.viewer_preferences = ViewerPreferences(display_doc_title=True)  # not the file name
        self.set_lang(card.lang)
        self.set_creator("HT Content API")
        self.set_producer("HT Content API")

    def footer(self) -> None:
        words = WORDS[self.card.lang]
        self.set_y(-(5 if self.small else 10))
        self.set_font("DejaVu", "", 5 if self.small else 7)
        self._out("/Artifact BMC")  # the page footer is not part of what is read out
        self.cell(0, 3, f"{words['content']} {self.card.version} · {self.page_no()}",
                  align="C")
        self._out("EMC")

    @contextmanager
    def tagged(self, role: str) -> Iterator[None]:
        """What is drawn inside is one structure element (``H1``, ``H2``, ``P``) of the
        document, in reading order. Nothing inside may break the page (see :func:`_line`)."""
        mcid = self.struct_builder.next_mcid_for_page(self.page)
        self._add_marked_content(struct_type=f"/{role}", mcid=mcid)
        self._out(f"/{role} <</MCID {mcid}>> BDC")
        yield
        self._out("EMC")

    def text_size(self, base: float) -> float:
        return base * (0.62 if self.small else 1.0)


def render(card: Card) -> bytes:
    """The card as PDF bytes."""
    pdf = _Pdf(card)
    words = WORDS[card.lang]
    pdf.add_page()
    pdf.set_font("DejaVu", "B", pdf.text_size(16))
    _line(pdf, pdf.text_size(8), card.title, "H1")
    sources: dict[str, str] = {}
    if card.indicators is not None:
        pdf.set_font("DejaVu", "B", pdf.text_size(9))
        for caveat in card.caveats:
            _line(pdf, pdf.text_size(4.5), f"! {caveat}")
        pdf.ln(pdf.text_size(2))
        if not card.indicators:
            pdf.set_font("DejaVu", "", pdf.text_size(10))
            _line(pdf, pdf.text_size(5), words["none"])
        for indicator in card.indicators:
            pdf.set_font("DejaVu", "", pdf.text_size(10))
            _line(pdf, pdf.text_size(5), f"• {indicator['statement']}")
            _warning(pdf, indicator, words)
            _small(pdf, f"{indicator['id']} · {words['version']} {indicator['version']} · "
                        f"{words['verified']} {indicator.get('verified_on') or '-'}")
            _sources(sources, indicator)
        pdf.ln(pdf.text_size(3))
        pdf.set_font("DejaVu", "B", pdf.text_size(13))
        _line(pdf, pdf.text_size(7), words["call"], "H2")
    if not card.hotlines:
        pdf.set_font("DejaVu", "", pdf.text_size(10))
        _line(pdf, pdf.text_size(5), words["no_hotlines"])
    for hotline in card.hotlines:
        _hotline(pdf, hotline, words)
        _sources(sources, hotline)
    if sources:
        pdf.ln(pdf.text_size(2))
        _small(pdf, f"{words['sources']}: " + "; ".join(
            f"{title} <{url}>" for url, title in sorted(sources.items())))
    return bytes(pdf.output())


def _line(pdf: _Pdf, height: float, text: str, role: str = "P") -> None:
    """A paragraph (or heading: ``role``), ragged right, then back to the left margin on the
    next line. A tagged element never runs across a page break: a paragraph that fits on a
    page but not on what is left of this one starts the next; one taller than a page is
    split at a line, each part an element of its own."""
    lines = pdf.multi_cell(0, height, text, align="L", dry_run=True, output="LINES")
    assert isinstance(lines, list)  # what output="LINES" gives
    per_page = max(1, _lines_that_fit(pdf, height, pdf.t_margin))
    while lines:
        room = _lines_that_fit(pdf, height, pdf.get_y())
        if room < min(len(lines), per_page) and pdf.get_y() > pdf.t_margin:
            pdf.add_page()
            continue
        take = max(room, 1)  # a line taller than a page is drawn anyway
        with pdf.tagged(role):
            pdf.multi_cell(0, height, "\n".join(lines[:take]), new_x="LMARGIN",
                           new_y="NEXT", align="L")
        lines = lines[take:]


def _lines_that_fit(pdf: _Pdf, height: float, top: float) -> int:
    """How many lines ``height`` tall fit between ``top`` and the bottom margin."""
    return int((pdf.page_break_trigger - top) / height + 1e-6)


def _height(pdf: _Pdf, width: float, line_height: float, text: str) -> float:
    """How tall ``text`` would be as a paragraph ``width`` wide (0: to the right margin)."""
    height = pdf.multi_cell(width, line_height, text, align="L", dry_run=True,
                            output="HEIGHT")
    assert isinstance(height, (int, float))  # what output="HEIGHT" gives
    return float(height)


def _small(pdf: _Pdf, text: str) -> None:
    pdf.set_font("DejaVu", "", pdf.text_size(6.5))
    _line(pdf, pdf.text_size(3.2), text)


def _warning(pdf: _Pdf, record: dict[str, Any], words: dict[str, str]) -> None:
    """What a record not checked against its sources (or whose sources disagree) is."""
    status = record.get("verification_status")
    if status and status != "verified":
        pdf.set_font("DejaVu", "B", pdf.text_size(7.5))
        _line(pdf, pdf.text_size(3.8),
              f"! {words['disputed' if status == 'disputed' else 'unverified']}")


def language_names(codes: list[str], lang: str) -> str:
    """The languages of ``codes`` named in ``lang`` (a tag without a name: as it is)."""
    return ", ".join(LANGUAGE_NAMES.get(code, {}).get(lang, code) for code in codes)


def _sources(found: dict[str, str], record: dict[str, Any]) -> None:
    for source in record.get("sources", []):
        found.setdefault(source["url"], source["title"])


def _hotline(pdf: _Pdf, hotline: dict[str, Any], words: dict[str, str]) -> None:
    """A hotline: its name, then each number (with hours, TTY and languages) beside its QR."""
    qr_size = 14 if pdf.small else 24
    pdf.set_font("DejaVu", "B", pdf.text_size(11))
    _line(pdf, pdf.text_size(5.5), hotline["name"], "H2" if pdf.card.indicators is None
          else "H3")
    ttys = [c.get("display") or c["value"] for c in hotline.get("channels", [])
            if c.get("kind") == "tty"]
    for channel in hotline.get("channels", []):
        if channel.get("kind") not in CALLABLE:
            continue
        details = _details(hotline, channel, ttys, words, pdf.card.lang)
        pdf.set_font("DejaVu", "", pdf.text_size(8))
        beside = pdf.epw - qr_size - 3
        needed = pdf.text_size(5.5) * 2 + _height(pdf, beside, pdf.text_size(4),
                                                  " · ".join(details[1:]) or " ")
        if pdf.will_page_break(max(qr_size + 2, needed)):
            pdf.add_page()
        top = pdf.get_y()
        image = io.BytesIO()
        # a full QR code (segno would pick a Micro QR for short numbers: phones cannot read it)
        segno.make_qr(uri(channel), error="m").save(image, kind="png", scale=8, border=4)
        image.seek(0)
        pdf.image(image, x=pdf.l_margin, y=top, w=qr_size, h=qr_size, alt_text=uri(channel))
        pdf.set_xy(pdf.l_margin + qr_size + 3, top)
        pdf.set_font("DejaVu", "B", pdf.text_size(11))
        with pdf.tagged("P"):
            pdf.multi_cell(0, pdf.text_size(5.5), details[0], new_x="LMARGIN", new_y="NEXT",
                           align="L")
        if details[1:]:
            pdf.set_x(pdf.l_margin + qr_size + 3)
            pdf.set_font("DejaVu", "", pdf.text_size(8))
            with pdf.tagged("P"):
                pdf.multi_cell(0, pdf.text_size(4), " · ".join(details[1:]),
                               new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_y(max(pdf.get_y(), top + qr_size + 1))
    _small(pdf, f"{hotline['id']} · {words['version']} {hotline['version']} · "
                f"{words['verified']} {hotline.get('verified_on') or '-'}")


def _details(hotline: dict[str, Any], channel: dict[str, Any], ttys: list[str],
             words: dict[str, str], lang: str) -> list[str]:
    """A number as printed, then its hours, TTY and languages."""
    details = [channel.get("display") or channel["value"]]
    if channel["kind"] == "text":
        details[0] = f"SMS {details[0]}"
    hours = ((words["anytime"] if hotline.get("available_24_7") else None)
             or channel.get("hours") or hotline.get("hours"))
    if hours:
        details.append(f"{words['hours']}: {hours}")
    if ttys and channel["kind"] == "voice":
        details.append(f"{words['tty']}: {', '.join(ttys)}")
    languages = channel.get("languages") or hotline.get("languages")
    if languages:
        details.append(f"{words['languages']}: {language_names(languages, lang)}")
    return details
