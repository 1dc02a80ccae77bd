"""A small multi-tenant billing app: firms (the tenants), their members,
clients, invoices and payments.  Every tenant table has a firm foreign key
(column firm_id), which tenant_guard detects."""
from django.conf import settings
from django.db import models


class Firm(models.Model):
    name = models.CharField(max_length=100)


class Membership(models.Model):
    """Which firm a user works for.  The middleware reads it before the
    tenant context is known, so it is excluded from the guard."""
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE)


class Client(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)


class Invoice(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE)
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    number = models.CharField(max_length=20)
    amount_due = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2, default=0)


class Payment(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE)
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
