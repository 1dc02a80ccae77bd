"""Django against a database guarded by tenant_guard in enforce mode, with
the tenant context set per request by firmapp.middleware.

    python3 tests.py setup    create the tables and two firms' data
    python3 tests.py run      run the checks, one line each, and a summary

Connection settings come from PGHOST, PGPORT, PGDATABASE and PGUSER.
"""
import os
import sys
import traceback
from decimal import Decimal

import django
from django.conf import settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
settings.configure(
    DEBUG=False,
    SECRET_KEY="tenant-guard-test",
    ALLOWED_HOSTS=["testserver"],
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    DATABASES={"default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["PGDATABASE"],
        "USER": os.environ["PGUSER"],
        "HOST": os.environ["PGHOST"],
        "PORT": os.environ["PGPORT"],
    }},
    INSTALLED_APPS=[
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
        "django.contrib.sessions", "django.contrib.messages", "firmapp",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "firmapp.middleware.TenantContextMiddleware",
    ],
    ROOT_URLCONF="firmapp.urls",
    TEMPLATES=[{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
        ]},
    }],
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, utils  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client as TestClient  # noqa: E402

from firmapp.models import Client, Firm, Invoice, Membership, Payment  # noqa: E402


def setup():
    call_command("migrate", verbosity=0)
    for firm_id in (1, 2):
        firm = Firm.objects.create(id=firm_id, name="firm %d" % firm_id)
        user = User.objects.create_user("user%d" % firm_id, password="x",
                                        is_staff=True, is_superuser=True)
        Membership.objects.create(user=user, firm=firm)
        for c in range(2):
            client = Client.objects.create(firm=firm, name="client %d.%d" % (firm_id, c))
            for i in range(3):
                invoice = Invoice.objects.create(
                    firm=firm, client=client, number="%d-%d-%d" % (firm_id, c, i),
                    amount_due=Decimal("100"))
                Payment.objects.create(firm=firm, invoice=invoice, amount=Decimal("1"))


results = []


def check(name, expect_violation, fn):
    """Run fn; it must raise a 42501 violation exactly when expected."""
    try:
        fn()
        outcome = None
    except utils.DatabaseError as error:
        outcome = getattr(error.__cause__, "pgcode", None)
        detail = str(error).strip().splitlines()[0]
    except Exception:
        outcome = "exception"
        detail = traceback.format_exc().strip().splitlines()[-1]
    passed = (outcome == "42501") if expect_violation else (outcome is None)
    results.append(passed)
    what = "refused (42501)" if outcome == "42501" else \
        ("passed" if outcome is None else "failed: %s" % detail)
    print("%-4s %-45s %s" % ("ok" if passed else "FAIL", name, what))


def run():
    firm1 = User.objects.get(username="user1")
    web = TestClient()
    web.force_login(firm1)
    own = Invoice.objects.filter(firm_id=1).order_by("id")
    own_ids = list(own.values_list("id", flat=True))
    other_ids = list(Invoice.objects.filter(firm_id=2).order_by("id").values_list("id", flat=True))
    own_client = Client.objects.filter(firm_id=1).order_by("id").values_list("id", flat=True)[0]
    other_client = Client.objects.filter(firm_id=2).order_by("id").values_list("id", flat=True)[0]

    def get(path, status=200):
        response = web.get(path)
        assert response.status_code == status, "%s: HTTP %d" % (path, response.status_code)
        return response

    def op(name, pk):
        return lambda: get("/op/%s/%d" % (name, pk))

    # the tenant's own rows, in enforce mode, through the middleware
    check("save()", False, op("save", own_ids[0]))
    check("F() update", False, op("f_update", own_ids[0]))
    check("select_related", False, op("select_related", own_ids[0]))
    check("prefetch_related", False, op("prefetch_related", 0))
    check("lazy foreign key", False, op("lazy_foreign_key", own_ids[1]))
    check("refresh_from_db()", False, op("refresh_from_db", own_ids[1]))
    check("get_or_create()", False, op("get_or_create", own_client))
    check("get_or_create() again", False, op("get_or_create", own_client))
    check("update_or_create()", False, op("update_or_create", own_client))
    check("update_or_create() again", False, op("update_or_create", own_client))
    check("bulk_create()", False, op("bulk_create", own_client))
    check("bulk_update()", False, op("bulk_update", own_client))
    check("payment create", False, op("pay", own_ids[2]))
    check("delete() with cascade", False, op("delete_with_cascade", own_ids[2]))
    check("admin changelist", False, lambda: get("/admin/firmapp/invoice/"))
    check("admin search across a relation", False,
          lambda: get("/admin/firmapp/invoice/?q=client"))
    check("exclude() across a relation", False, op("exclude_related", own_client))
    check("__in= a queryset", False, op("in_subquery", own_client))
    check("Exists()", False, op("exists_subquery", own_client))
    check("update() with a related filter", False, op("update_related_filter", own_client))
    check("union()", False, op("union_of_querysets", own_client))

    # another tenant's rows: refused loudly
    check("fetch another firm's invoice by pk", True, op("select_related", other_ids[0]))
    check("save() of another firm's invoice", True, op("save", other_ids[0]))
    check("update another firm's invoice by pk", True, op("update_by_pk", other_ids[0]))
    check("delete another firm's invoice by pk", True, op("delete_by_pk", other_ids[0]))
    check("create an invoice for another firm", True, op("create_for_other_firm", 2))
    check("unscoped filter() over all firms", True, op("unscoped_filter", 0))
    check("__in= a queryset of another firm", True, op("in_other_subquery", other_client))
    check("Exists() over another firm's rows", True, op("exists_subquery", other_client))
    check("union() with another firm's rows", True, op("union_of_querysets", other_client))

    # a cron job without a context: the unscoped rule, as before
    def cron():
        list(Invoice.objects.filter(amount_paid__lt=F("amount_due")))
    check("cron job without a context", True, cron)

    # QuerySet.iterator() uses a server-side cursor.  In a transaction the
    # violation reaches the application as it is; in autocommit Django
    # declares the cursor WITH HOLD, the DECLARE fails, and the CLOSE that
    # Django's error path sends for the cursor that was never made raises
    # InvalidCursorName in its place, with the violation as its context
    # (as for any error of that DECLARE, a permission error included).
    from django.db import transaction  # noqa: E402

    def iterate_in_transaction():
        with transaction.atomic():
            list(Invoice.objects.filter(amount_paid__lt=F("amount_due")).iterator())
    check("iterator() in a transaction", True, iterate_in_transaction)
    try:
        list(Invoice.objects.filter(amount_paid__lt=F("amount_due")).iterator())
        masked = False
    except Exception as error:  # psycopg2's own error, which Django does not wrap here
        codes, seen = [], error
        while seen is not None and len(codes) < 10:
            codes.append(getattr(seen, "pgcode", None))
            seen = seen.__cause__ or seen.__context__
        masked = codes[0] == "34000" and "42501" in codes
    results.append(masked)
    print("%-4s %-45s %s" % ("ok" if masked else "FAIL", "iterator() in autocommit",
                             "InvalidCursorName, the 42501 as its context"))

    # nothing of the other firm changed
    assert connection.in_atomic_block is False
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('tenant_guard.tenant', '2', false)")
    unchanged = Invoice.objects.filter(firm_id=2).count() == 6 and \
        not Invoice.objects.filter(firm_id=2, amount_due=0).exists()
    results.append(unchanged)
    print("%-4s %-45s" % ("ok" if unchanged else "FAIL", "the other firm's invoices are unchanged"))

    failed = results.count(False)
    print("django: %d passed, %d failed" % (results.count(True), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["setup"]:
        setup()
    elif sys.argv[1:] == ["run"]:
        sys.exit(run())
    else:
        sys.exit(__doc__)
