"""Certificates (合格证书): pure rules (`rules`), the use cases over the database
(`issuing`), and the documents (PDF, QR code) a certificate is shown as (`document`)."""
