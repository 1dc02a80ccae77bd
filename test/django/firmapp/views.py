"""One view per ORM pattern; /op/<name>/<pk> runs it inside the request
(and so inside the tenant context the middleware set)."""
from decimal import Decimal

from django.db import DatabaseError, connection, transaction
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


# Attacks on the tenant context from inside a request (firm 1's): each view
# reports what the database did, so that the test can check the exact error,
# the context before and after, and what the request can still read.

def refusal(fn):
    """Run fn in a savepoint, so that the request can go on after an error;
    the error's [SQLSTATE, message], or None when fn ran."""
    try:
        with transaction.atomic():
            fn()
    except DatabaseError as error:
        return [error.__cause__.pgcode, error.__cause__.diag.message_primary]
    return None


def sql(statement, params=None):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
    return run


def show_tenant():
    with connection.cursor() as cursor:
        cursor.execute("SHOW tenant_guard.tenant")
        return cursor.fetchone()[0]


# What an injection could send to switch the request to firm 2; "value"
# sets the value in ?value= (a forged, tampered or expired token).
INJECTED = {
    "set": ("SET tenant_guard.tenant = '2'", None),
    "set_config": ("SELECT set_config('tenant_guard.tenant', '2', true)", None),
    "value": ("SELECT set_config('tenant_guard.tenant', %s, true)", "value"),
}


def inject(request, pk):
    """?sql= one of INJECTED; then read the own firm's and firm pk's invoices."""
    statement, param = INJECTED[request.GET["sql"]]
    before = show_tenant()
    refused = refusal(sql(statement, [request.GET[param]] if param else None))
    return {"context": request.tenant_context, "before": before, "refused": refused,
            "after": show_tenant(),
            "reported": connection.connection.get_parameter_status("tenant_guard.tenant"),
            "own": Invoice.objects.filter(firm_id=request.firm_id).count(),
            "other": refusal(lambda: Invoice.objects.filter(firm_id=pk).count())}


def clear_context(request, pk):
    """Clear the context (allowed: no key needed), then read firm pk's
    invoices by a scope and all invoices without one."""
    cleared = refusal(sql("SELECT set_config('tenant_guard.tenant', '', true)"))
    return {"cleared": cleared, "after": show_tenant(),
            "scoped": refusal(lambda: Invoice.objects.filter(firm_id=pk).count()),
            "unscoped": refusal(lambda: Invoice.objects.filter(amount_due__gte=0).count())}


def parameter_status(request, pk):
    """The context as the server reported it to the client (GUC_REPORT)."""
    return {"context": request.tenant_context,
            "reported": connection.connection.get_parameter_status("tenant_guard.tenant"),
            "backend_pid": connection.connection.get_backend_pid()}


OPS = {f.__name__: f for f in (
    save, delete_with_cascade, select_related, prefetch_related, lazy_foreign_key,
    refresh_from_db, get_or_create, update_or_create, bulk_create, bulk_update,
    f_update, pay, unscoped_filter, update_by_pk, delete_by_pk, create_for_other_firm,
    exclude_related, in_subquery, exists_subquery, update_related_filter,
    union_of_querysets, in_other_subquery, inject, clear_context, parameter_status)}


def op(request, name, pk):
    return JsonResponse(OPS[name](request, pk))
