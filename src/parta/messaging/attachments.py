"""What an uploaded file really is, read from its bytes (never its name), and image previews."""

import io
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from parta.messaging.models import Attachment


@dataclass(frozen=True)
class FileType:
    kind: str
    content_type: str
    extension: str


JPEG = FileType(Attachment.Kind.IMAGE, "image/jpeg", ".jpg")
PNG = FileType(Attachment.Kind.IMAGE, "image/png", ".png")
GIF = FileType(Attachment.Kind.IMAGE, "image/gif", ".gif")
WEBP = FileType(Attachment.Kind.IMAGE, "image/webp", ".webp")
PDF = FileType(Attachment.Kind.DOCUMENT, "application/pdf", ".pdf")
_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
DOCX = FileType(Attachment.Kind.DOCUMENT, _OOXML + "wordprocessingml.document", ".docx")
XLSX = FileType(Attachment.Kind.DOCUMENT, _OOXML + "spreadsheetml.sheet", ".xlsx")
PPTX = FileType(Attachment.Kind.DOCUMENT, _OOXML + "presentationml.presentation", ".pptx")
ODT = FileType(Attachment.Kind.DOCUMENT, _ODF + "text", ".odt")
ODS = FileType(Attachment.Kind.DOCUMENT, _ODF + "spreadsheet", ".ods")
ODP = FileType(Attachment.Kind.DOCUMENT, _ODF + "presentation", ".odp")

# The part of an office file's zip that says which kind of document it is.
_OOXML_MAIN_PART = {
    "word/document.xml": DOCX,
    "xl/workbook.xml": XLSX,
    "ppt/presentation.xml": PPTX,
}
_ODF_MIMETYPES = {t.content_type: t for t in (ODT, ODS, ODP)}
# Pillow's name for each image type, to check the decoder agrees with the signature.
_PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WEBP"}
# Above this an image is refused: a small file can still decode to gigabytes.
MAX_IMAGE_PIXELS = 40_000_000


class AttachmentRefused(ValidationError):
    pass


def _refuse_type() -> AttachmentRefused:
    return AttachmentRefused(
        _(
            "Такой тип файла не принимается. Можно прикрепить изображение (JPEG, PNG, WebP, "
            "GIF), PDF или документ Word, Excel, PowerPoint, OpenDocument без макросов."
        ),
        code="type_not_allowed",
    )


def check_size(size: int) -> None:
    limit = settings.PARTA_ATTACHMENT_MAX_BYTES
    if size > limit:
        raise AttachmentRefused(
            _("Файл больше %(mb)s МБ: его не получится отправить.")
            % {"mb": round(limit / 1_048_576, 1)},
            code="too_large",
        )
    if size == 0:
        raise AttachmentRefused(_("Файл пустой."), code="empty")


def _office_type(content: bytes) -> FileType | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        names = archive.namelist()
        if names and names[0] == "mimetype":
            mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
            return _ODF_MIMETYPES.get(mimetype)
    except (zipfile.BadZipFile, KeyError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        return None  # macros: not a plain document
    for part, file_type in _OOXML_MAIN_PART.items():
        if part in names:
            return file_type
    return None


def sniff(content: bytes) -> FileType:
    """The file's type from its signature; anything else is refused."""
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"PK\x03\x04"):
        office = _office_type(content)
        if office is not None:
            return office
    raise _refuse_type()


@dataclass(frozen=True)
class ImagePreview:
    jpeg: bytes
    width: int
    height: int


def image_preview(content: bytes, file_type: FileType) -> ImagePreview:
    """A small JPEG for slow links; the image must decode fully as the type it claims."""
    try:
        with Image.open(io.BytesIO(content)) as probe:
            if probe.format != _PILLOW_FORMATS[file_type]:
                raise _refuse_type()
            width, height = probe.size
            if width * height > MAX_IMAGE_PIXELS:
                raise AttachmentRefused(
                    _("Изображение слишком большое по числу точек."), code="too_many_pixels"
                )
            probe.verify()
        with Image.open(io.BytesIO(content)) as image:
            image.seek(0)
            side = settings.PARTA_ATTACHMENT_PREVIEW_PX
            small = image.convert("RGB")
            small.thumbnail((side, side))
            out = io.BytesIO()
            small.save(out, "JPEG", quality=70, optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise AttachmentRefused(
            _("Изображение повреждено или не читается."), code="broken_image"
        ) from None
    return ImagePreview(out.getvalue(), width, height)
