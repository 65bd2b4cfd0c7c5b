"""What a certificate looks like: its QR code (PNG for the PDF, SVG for the print page) and
the A4 PDF drawn with reportlab on the shared Chinese setup of wxapp.infra.pdf."""

from __future__ import annotations

import io
from typing import Any

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from wxapp.certificates.rules import SEAL_PURPOSE, STATEMENT, organisation_line
from wxapp.infra import pdf

FRAME = Color(0.62, 0.12, 0.12)
GOLD = Color(0.76, 0.6, 0.25)


def _qr(url: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str) -> bytes:
    buf = io.BytesIO()
    _qr(url).make_image().save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(url: str) -> str:
    """An inline SVG (no Pillow, scales crisply when printed)."""
    image = _qr(url).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")


def body_lines(cert: dict[str, Any]) -> list[tuple[str, str]]:
    """The labelled lines of the certificate, shared by the PDF and the print page."""
    content = cert["content"]
    return [
        ("姓名", content["name"]),
        ("身份证号码", content["id_number_masked"]),
        organisation_line(content),
        ("培训项目", content["plan_title"]),
        ("科目类别", f"{content['year']}年度 {content['kind_name']}"),
        ("完成学时", f"{content['hours']} 学时"),
    ]


def certificate_pdf(cert: dict[str, Any]) -> bytes:
    """The certificate as a one-page A4 landscape PDF with embedded font, seal and QR code."""
    font = pdf.register_fonts()
    width, height = landscape(A4)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(width, height), pageCompression=1)
    c.setTitle(f"合格证书 {cert['serial']}")
    c.setAuthor(cert["issuer"])

    c.setStrokeColor(FRAME)
    c.setLineWidth(6)
    c.rect(24, 24, width - 48, height - 48)
    c.setStrokeColor(GOLD)
    c.setLineWidth(1.5)
    c.rect(36, 36, width - 72, height - 72)

    c.setFillColor(FRAME)
    c.setFont(font, 40)
    c.drawCentredString(width / 2, height - 120, "合格证书")
    c.setFillColor(black)
    c.setFont(font, 11)
    c.drawRightString(width - 60, height - 62, f"证书编号：{cert['serial']}")

    y = height - 180
    label_x, value_x, value_width = 150, 260, width - 260 - 120
    for label, value in body_lines(cert):
        c.setFont(font, 15)
        c.drawString(label_x, y, f"{label}：")
        c.setFont(font, pdf.fit_size(value, value_width, 16))
        c.drawString(value_x, y, value)
        y -= 34
    c.setFont(font, 15)
    c.drawString(label_x, y - 6, STATEMENT)

    issuer_x, issuer_y = width - 220, 110
    c.setFont(font, 15)
    c.drawCentredString(issuer_x, issuer_y + 22, cert["issuer"])
    c.drawCentredString(issuer_x, issuer_y, f"发证日期：{cert['issue_date']}")
    pdf.draw_seal(c, issuer_x, issuer_y + 18, 58, cert["issuer"], SEAL_PURPOSE)

    qr_size = 96
    c.drawImage(ImageReader(io.BytesIO(qr_png(cert["verify_url"]))), 60, 56, qr_size, qr_size)
    c.setFont(font, 9)
    c.drawString(164, 120, "扫码验证证书真伪")
    c.drawString(164, 104, f"第 {cert['version']} 版，更新于 {cert['updated_date']}")
    c.drawString(164, 88, "本证书采用电子印章，无需加盖鲜章")
    c.showPage()
    c.save()
    return buf.getvalue()
