"""Orders: individual and group purchase (个人购买, 团体购买), paying (`checkout`), the paid
transition (`payment`), refunds (`refunds`), notification and reconciliation (`settlement`),
enrollments, invoices and their issuer."""
