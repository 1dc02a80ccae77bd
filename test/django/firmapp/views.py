"""One view per ORM pattern; /op/<name>/<pk> runs it inside the request
(and so inside the tenant context the middleware set)."""
from decimal import Decimal

from django.db.models import Exists, F, OuterRef
from django.http import JsonResponse

from .models import Client, Invoice, Payment


def save(request, pk):
    invoice = Invoice.objects.get(pk=pk)
    invoice.amount_paid += 1
    invoice.save()
    return {"amount_paid": str(invoice.amount_paid)}


def delete_with_cascade(request, pk):
    deleted, per_model = Invoice.objects.get(pk=pk).delete()
    return {"deleted": deleted}


def select_related(request, pk):
    invoice = Invoice.objects.select_related("client", "firm").get(pk=pk)
    return {"client": invoice.client.name}


def prefetch_related(request, pk):
    clients = Client.objects.filter(firm_id=request.firm_id).prefetch_related("invoice_set")
    return {"invoices": sum(len(c.invoice_set.all()) for c in clients)}


def lazy_foreign_key(request, pk):
    payment = Payment.objects.filter(invoice_id=pk).first()
    return {"invoice": payment.invoice.number}


def refresh_from_db(request, pk):
    invoice = Invoice.objects.get(pk=pk)
    invoice.refresh_from_db()
    return {"number": invoice.number}


def get_or_create(request, pk):
    client = Client.objects.get(pk=pk)
    obj, created = Invoice.objects.get_or_create(
        firm_id=request.firm_id, client=client, number="G-1",
        defaults={"amount_due": Decimal("5")})
    return {"created": created}


def update_or_create(request, pk):
    client = Client.objects.get(pk=pk)
    obj, created = Invoice.objects.update_or_create(
        firm_id=request.firm_id, client=client, number="U-1",
        defaults={"amount_due": Decimal("7")})
    return {"created": created}


def bulk_create(request, pk):
    client = Client.objects.get(pk=pk)
    Invoice.objects.bulk_create([
        Invoice(firm_id=request.firm_id, client=client, number="B-%d" % i)
        for i in range(3)])
    return {}


def bulk_update(request, pk):
    invoices = list(Invoice.objects.filter(client_id=pk))
    for invoice in invoices:
        invoice.amount_due += 1
    Invoice.objects.bulk_update(invoices, ["amount_due"])
    return {"updated": len(invoices)}


def f_update(request, pk):
    updated = Invoice.objects.filter(pk=pk).update(amount_paid=F("amount_paid") + 1)
    return {"updated": updated}


def pay(request, pk):
    invoice = Invoice.objects.get(pk=pk)
    Payment.objects.create(firm_id=invoice.firm_id, invoice=invoice, amount=Decimal("1"))
    return {}


def unscoped_filter(request, pk):
    return {"invoices": len(list(Invoice.objects.filter(amount_due__gte=0)))}


def update_by_pk(request, pk):
    return {"updated": Invoice.objects.filter(pk=pk).update(amount_due=0)}


def delete_by_pk(request, pk):
    return {"deleted": Invoice.objects.filter(pk=pk).delete()[0]}


def create_for_other_firm(request, pk):
    client = Client.objects.filter(firm_id=request.firm_id).first()
    Invoice.objects.create(firm_id=pk, client=client, number="X")
    return {}


# Query forms that put a tenant table in a subquery; pk is a client's id.

def exclude_related(request, pk):
    # NOT (... IN (SELECT ... FROM payment ...)) across the relation
    qs = Invoice.objects.filter(firm_id=request.firm_id).exclude(payment__amount__gt=5)
    return {"invoices": qs.count()}


def in_subquery(request, pk):
    clients = Client.objects.filter(pk=pk)
    return {"invoices": Invoice.objects.filter(client__in=clients).count()}


def exists_subquery(request, pk):
    paid = Payment.objects.filter(invoice_id=OuterRef("pk"))
    qs = Invoice.objects.filter(client_id=pk).filter(Exists(paid))
    return {"invoices": qs.count()}


def update_related_filter(request, pk):
    # UPDATE ... WHERE id IN (SELECT ... JOIN client ...)
    updated = Invoice.objects.filter(firm_id=request.firm_id, client__name__startswith="client") \
        .filter(client_id=pk).update(amount_due=F("amount_due"))
    return {"updated": updated}


def union_of_querysets(request, pk):
    first = Invoice.objects.filter(client_id=pk).values("id")
    second = Invoice.objects.filter(firm_id=request.firm_id, number__endswith="-0").values("id")
    return {"invoices": len(list(first.union(second)))}


def in_other_subquery(request, pk):
    clients = Client.objects.filter(pk=pk)
    return {"invoices": Invoice.objects.filter(client__in=clients).count()}


OPS = {f.__name__: f for f in (
    save, delete_with_cascade, select_related, prefetch_related, lazy_foreign_key,
    refresh_from_db, get_or_create, update_or_create, bulk_create, bulk_update,
    f_update, pay, unscoped_filter, update_by_pk, delete_by_pk, create_for_other_firm,
    exclude_related, in_subquery, exists_subquery, update_related_filter,
    union_of_querysets, in_other_subquery)}


def op(request, name, pk):
    return JsonResponse(OPS[name](request, pk))
