"""Which uploads a conversation accepts and the small previews that slow links load first.

What a file is comes from `parta.filetypes` (its bytes, never its name).
"""

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image

from parta import filetypes
from parta.messaging.models import Attachment

ACCEPTED = frozenset(
    {
        filetypes.JPEG,
        filetypes.PNG,
        filetypes.GIF,
        filetypes.WEBP,
        filetypes.PDF,
        filetypes.DOCX,
        filetypes.XLSX,
        filetypes.PPTX,
        filetypes.ODT,
        filetypes.ODS,
        filetypes.ODP,
    }
)


class AttachmentRefused(ValidationError):
    pass


@dataclass(frozen=True)
class FileType:
    kind: str
    content_type: str
    extension: str


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


def sniff(content: bytes) -> FileType:
    """The file's type from its signature; anything not accepted is refused."""
    found = filetypes.sniff(content)
    if found is None or found not in ACCEPTED:
        raise AttachmentRefused(
            _(
                "Такой тип файла не принимается. Можно прикрепить изображение (JPEG, PNG, WebP, "
                "GIF), PDF или документ Word, Excel, PowerPoint, OpenDocument без макросов."
            ),
            code="type_not_allowed",
        )
    kind = Attachment.Kind.IMAGE if found.is_image else Attachment.Kind.DOCUMENT
    return FileType(kind, found.content_type, found.extension)


@dataclass(frozen=True)
class ImagePreview:
    jpeg: bytes
    width: int
    height: int


def image_preview(content: bytes, file_type: FileType) -> ImagePreview:
    """A small JPEG for slow links; the image must decode fully as the type it claims."""
    (claimed,) = [t for t in ACCEPTED if t.content_type == file_type.content_type]
    try:
        width, height = filetypes.image_size(content, claimed)
    except filetypes.ImageUnreadable as exc:
        if exc.code == "too_many_pixels":
            raise AttachmentRefused(
                _("Изображение слишком большое по числу точек."), code="too_many_pixels"
            ) from None
        if exc.code == "format_differs":
            raise AttachmentRefused(
                _("Содержимое файла не совпадает с его типом."), code="type_not_allowed"
            ) from None
        raise AttachmentRefused(
            _("Изображение повреждено или не читается."), code="broken_image"
        ) from None
    with Image.open(io.BytesIO(content)) as image:
        image.seek(0)
        side = settings.PARTA_ATTACHMENT_PREVIEW_PX
        small = image.convert("RGB")
        small.thumbnail((side, side))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=70, optimize=True)
    return ImagePreview(out.getvalue(), width, height)
