"""Certificates (合格证书): pure rules, the use cases over the database, and the documents
(PDF, QR code) a certificate is shown as."""

from wxapp.certificates.service import (
    certificate_document,
    get_certificate,
    issue_certificate,
    list_certificates,
    print_view,
    verify,
    verify_view,
)

__all__ = [
    "certificate_document",
    "get_certificate",
    "issue_certificate",
    "list_certificates",
    "print_view",
    "verify",
    "verify_view",
]
