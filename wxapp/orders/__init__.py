"""Orders: individual and group purchase (个人购买, 团体购买), paying, reconciliation, invoices."""
