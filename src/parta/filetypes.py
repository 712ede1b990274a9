"""What an uploaded file really is, read from its bytes (never its name).

Apps that accept uploads decide which of these types they take; the signatures and the
image check live only here.
"""

import io
import zipfile
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    pillow_format: str = ""  # set for images: the decoder must agree with the signature

    @property
    def is_image(self) -> bool:
        return bool(self.pillow_format)


JPEG = FileType("image/jpeg", ".jpg", "JPEG")
PNG = FileType("image/png", ".png", "PNG")
GIF = FileType("image/gif", ".gif", "GIF")
WEBP = FileType("image/webp", ".webp", "WEBP")
PDF = FileType("application/pdf", ".pdf")
_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
DOCX = FileType(_OOXML + "wordprocessingml.document", ".docx")
XLSX = FileType(_OOXML + "spreadsheetml.sheet", ".xlsx")
PPTX = FileType(_OOXML + "presentationml.presentation", ".pptx")
ODT = FileType(_ODF + "text", ".odt")
ODS = FileType(_ODF + "spreadsheet", ".ods")
ODP = FileType(_ODF + "presentation", ".odp")

# The part of an office file's zip that says which kind of document it is.
_OOXML_MAIN_PART = {
    "word/document.xml": DOCX,
    "xl/workbook.xml": XLSX,
    "ppt/presentation.xml": PPTX,
}
_ODF_MIMETYPES = {t.content_type: t for t in (ODT, ODS, ODP)}
# Above this an image is refused: a small file can still decode to gigabytes.
MAX_IMAGE_PIXELS = 40_000_000


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


def sniff(content: bytes) -> FileType | None:
    """The file's type from its signature, or None for anything not listed above."""
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
        return _office_type(content)
    return None


class ImageUnreadable(Exception):
    """The bytes start like an image but are not a usable one; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # "format_differs", "too_many_pixels" or "broken"


def image_size(content: bytes, file_type: FileType) -> tuple[int, int]:
    """(width, height) of an image that decodes fully as the type its signature claims."""
    try:
        with Image.open(io.BytesIO(content)) as probe:
            if probe.format != file_type.pillow_format:
                raise ImageUnreadable("format_differs")
            width, height = probe.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageUnreadable("too_many_pixels")
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageUnreadable("broken") from None
    return width, height
