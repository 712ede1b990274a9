"""Printed invitation slips: an A4 PDF to cut up, one slip per family or per member of staff.

A family's slip, headed with the child's name and class, carries the student's own
invitation and her parents': the child takes one piece of paper home. Each invitation on
it has the person's name and role, a QR code that opens the joining page with the code in
the address's fragment, and the code itself to type. Slips are packed three invitations
wide in shelves; the dashed frames are the cut lines.
"""

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import MethodReturnValue

from parta.accounts.models import Person, Role
from parta.invites.invitation_status import deliverable, group_families
from parta.invites.invitations import join_path, shown_code, unseal
from parta.invites.models import PersonalInvitation
from parta.structure.models import Organization, SchoolClass

FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"

# Millimetres. A4 with a margin that every office printer keeps.
PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 10.0
COLUMNS = 3  # invitations side by side; a larger family takes another row
CELL_W = (PAGE_W - 2 * MARGIN) / COLUMNS
PAD = 3.0
QR_MM = 30.0  # ~ 8 px per module at 200 dpi for a 33-module code: any phone reads it
LINE_SMALL, LINE_NAME, LINE_CODE = 3.4, 4.2, 8.0


@dataclass
class Slip:
    heading: str
    entries: list[tuple[PersonalInvitation, str]] = field(default_factory=list)

    @property
    def columns(self) -> int:
        return min(len(self.entries), COLUMNS)

    @property
    def rows(self) -> int:
        return math.ceil(len(self.entries) / COLUMNS)

    @property
    def width(self) -> float:
        return self.columns * CELL_W


@dataclass(frozen=True)
class Slips:
    pdf: bytes
    slips: int
    # Sealed under an older SECRET_KEY: their codes are lost, they must be reissued.
    skipped: list[PersonalInvitation]


def _family_key(invitation: PersonalInvitation) -> tuple[str, int]:
    if invitation.role == Role.STUDENT:
        return ("family", invitation.person_id)
    if invitation.role == Role.PARENT and invitation.child_id is not None:
        return ("family", invitation.child_id)
    return ("person", invitation.pk)


def _heading(invitation: PersonalInvitation) -> str:
    if _family_key(invitation)[0] == "person":
        return invitation.person.full_name
    child: Person | None = (
        invitation.person if invitation.role == Role.STUDENT else invitation.child
    )
    name = child.full_name if child else ""
    if invitation.school_class is None:
        return name
    return f"{name}, {invitation.school_class.display_name}"


def group_slips(entries: Iterable[tuple[PersonalInvitation, str]]) -> list[Slip]:
    """(invitation, code) pairs into slips, in the order families first appear; on a family's
    slip the student comes first, then her parents."""
    slips: dict[tuple[str, int], Slip] = {}
    for invitation, code in entries:
        key = _family_key(invitation)
        slip = slips.get(key)
        if slip is None:
            slip = slips[key] = Slip(heading=_heading(invitation))
        slip.entries.append((invitation, code))
    for slip in slips.values():
        slip.entries.sort(key=lambda entry: entry[0].role != Role.STUDENT)
    return list(slips.values())


def _qr_png(url: str) -> io.BytesIO:
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=10, border=2)
    out.seek(0)
    return out


class _SlipsPdf:
    """Draws slips onto pages; measures a slip first (the heading and names may wrap)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.join_at = f"{parts.netloc}{parts.path}/p/"
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
        pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        pdf.set_auto_page_break(False)
        pdf.set_margins(MARGIN, MARGIN)
        pdf.set_creator(_("Парта"))
        pdf.set_title(_("Приглашения в Парту"))
        self.pdf = pdf

    def _lines(self, width: float, text: str, size: float, style: str = "") -> int:
        self.pdf.set_font(FONT, style, size)
        lines = self.pdf.multi_cell(
            width, LINE_SMALL, text, dry_run=True, output=MethodReturnValue.LINES
        )
        return max(len(lines), 1)  # type: ignore[arg-type]

    def _header(self, slip: Slip) -> tuple[str, str]:
        organization = slip.entries[0][0].organization
        return (_("Приглашение в Парту — %(school)s") % {"school": organization}, slip.heading)

    def _footer(self, slip: Slip) -> str:
        invitation = min((entry[0] for entry in slip.entries), key=lambda inv: inv.expires_at)
        zone = invitation.organization.district.region.zone
        # expires_at is midnight starting a day: the slip names the last day it works.
        last_day = timezone.localtime(invitation.expires_at - timedelta(microseconds=1), zone)
        return _(
            "Откройте камеру телефона и наведите на код, или зайдите на %(host)s и введите "
            "код. Действует до %(date)s включительно."
        ) % {"host": self.join_at, "date": last_day.strftime("%d.%m.%Y")}

    def _name_lines(self, slip: Slip) -> int:
        return max(
            self._lines(CELL_W - 2 * PAD, invitation.person.full_name, 9, "B")
            for invitation, _code in slip.entries
        )

    def height(self, slip: Slip) -> float:
        small, heading = self._header(slip)
        inner = slip.width - 2 * PAD
        header = (
            self._lines(inner, small, 7) * LINE_SMALL
            + self._lines(inner, heading, 11, "B") * LINE_NAME * 1.2
        )
        footer = self._lines(inner, self._footer(slip), 7.5) * LINE_SMALL
        return PAD + header + slip.rows * self._cell_height(slip) + footer + PAD

    def _cell_height(self, slip: Slip) -> float:
        return PAD + QR_MM + 1 + self._name_lines(slip) * LINE_NAME + LINE_SMALL + LINE_CODE

    def draw(self, slip: Slip, x: float, y: float) -> None:
        pdf = self.pdf
        height = self.height(slip)
        pdf.set_draw_color(150, 150, 150)
        pdf.set_line_width(0.2)
        pdf.set_dash_pattern(dash=2, gap=1.5)
        pdf.rect(x, y, slip.width, height)
        pdf.set_dash_pattern()
        inner = slip.width - 2 * PAD
        small, heading = self._header(slip)
        pdf.set_text_color(90, 90, 90)
        pdf.set_font(FONT, "", 7)
        pdf.set_xy(x + PAD, y + PAD)
        pdf.multi_cell(inner, LINE_SMALL, small, align="L")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(FONT, "B", 11)
        pdf.set_x(x + PAD)
        pdf.multi_cell(inner, LINE_NAME * 1.2, heading, align="L")
        top = pdf.get_y()
        cell_height = self._cell_height(slip)
        name_lines = self._name_lines(slip)
        for index, (invitation, code) in enumerate(slip.entries):
            row, column = divmod(index, COLUMNS)
            self._invitation(
                invitation, code, x + column * CELL_W, top + row * cell_height, name_lines
            )
        pdf.set_text_color(60, 60, 60)
        pdf.set_font(FONT, "", 7.5)
        pdf.set_xy(x + PAD, top + slip.rows * cell_height)
        pdf.multi_cell(inner, LINE_SMALL, self._footer(slip), align="L")
        pdf.set_text_color(0, 0, 0)

    def _invitation(
        self, invitation: PersonalInvitation, code: str, x: float, y: float, name_lines: int
    ) -> None:
        pdf = self.pdf
        width = CELL_W - 2 * PAD
        pdf.image(
            _qr_png(self.base_url + join_path(code)),
            x=x + (CELL_W - QR_MM) / 2,
            y=y + PAD,
            w=QR_MM,
            h=QR_MM,
        )
        pdf.set_font(FONT, "B", 9)
        pdf.set_xy(x + PAD, y + PAD + QR_MM + 1)
        pdf.multi_cell(width, LINE_NAME, invitation.person.full_name, align="C")
        pdf.set_font(FONT, "", 8)
        pdf.set_xy(x + PAD, y + PAD + QR_MM + 1 + name_lines * LINE_NAME)
        pdf.cell(width, LINE_SMALL, str(Role(invitation.role).label), align="C")
        pdf.set_font(FONT, "B", 16)
        pdf.set_xy(x + PAD, y + PAD + QR_MM + 1 + name_lines * LINE_NAME + LINE_SMALL)
        pdf.cell(width, LINE_CODE, shown_code(code), align="C")

    def render(self, slips: Sequence[Slip]) -> bytes:
        pdf = self.pdf
        pdf.add_page()
        if not slips:
            pdf.set_font(FONT, "", 11)
            pdf.set_xy(MARGIN, MARGIN)
            pdf.cell(text=_("Нет приглашений для печати."))
            return bytes(pdf.output())
        right, bottom = PAGE_W - MARGIN, PAGE_H - MARGIN
        x = y = MARGIN
        shelf = 0.0  # the height of the shelf being filled
        for slip in slips:
            height = self.height(slip)
            if x + slip.width > right + 0.01:
                x, y, shelf = MARGIN, y + shelf, 0.0
            if y + height > bottom + 0.01 and y > MARGIN:
                pdf.add_page()
                x, y, shelf = MARGIN, MARGIN, 0.0
            self.draw(slip, x, y)
            x += slip.width
            shelf = max(shelf, height)
        return bytes(pdf.output())


def render_slips(invitations: Iterable[PersonalInvitation], *, base_url: str) -> Slips:
    """The slips PDF for `invitations` (with organization__district__region, person, child
    and school_class read) and those skipped because their code cannot be unsealed."""
    readable: list[tuple[PersonalInvitation, str]] = []
    skipped: list[PersonalInvitation] = []
    for invitation in invitations:
        code = unseal(invitation)
        if code is None:
            skipped.append(invitation)
        else:
            readable.append((invitation, code))
    slips = group_slips(readable)
    return Slips(pdf=_SlipsPdf(base_url).render(slips), slips=len(slips), skipped=skipped)


def invitation_slips_pdf(invitations: Iterable[PersonalInvitation], *, base_url: str) -> bytes:
    """Only the PDF: callers who must tell of unreadable codes use render_slips."""
    return render_slips(invitations, base_url=base_url).pdf


def group_slips_response(
    organization: Organization, school_class: SchoolClass | None
) -> HttpResponse:
    """The group's slips PDF (only those not joined yet); the page and the API send it."""
    families = group_families(organization, school_class, timezone.now())
    rendered = render_slips(deliverable(families), base_url=settings.PARTA_BASE_URL)
    name = school_class.name if school_class else _("сотрудники")
    response = HttpResponse(rendered.pdf, content_type="application/pdf")
    response["Content-Disposition"] = str(
        content_disposition_header(
            as_attachment=True, filename=_("Приглашения %(group)s.pdf") % {"group": name}
        )
    )
    # The codes open accounts: no cache along the way keeps them.
    response["Cache-Control"] = "no-store"
    response["X-Parta-Slips"] = str(rendered.slips)
    return response
