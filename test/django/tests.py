"""Django against a database guarded by tenant_guard in enforce mode, with
a signed tenant context set per request by firmapp.middleware.

    python3 tests.py setup    create the tables and two firms' data
    python3 tests.py run      run the checks, one line each, and a summary

Connection settings come from PGHOST, PGPORT, PGDATABASE and PGUSER (the
app's role, django_app); run needs TENANT_GUARD_KEY, the server's
tenant_guard.tenant_key.  run.sh makes the roles: django_app with
require_signed_tenant, require_tenant and require_local_tenant on;
django_worker, the same without require_local_tenant (a worker that keeps
a pid-bound context for its session); django_maint, a maintenance role
that may break glass.  The audit trail is read as the superuser postgres.
"""
import os
import sys
import time
import traceback
from contextlib import contextmanager
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
    DATABASES={alias: {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["PGDATABASE"],
        "USER": user,
        "HOST": os.environ["PGHOST"],
        "PORT": os.environ["PGPORT"],
    } for alias, user in (("default", os.environ["PGUSER"]), ("worker", "django_worker"),
                          ("maintenance", "django_maint"))},
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
    # No mail_admins handler: with DEBUG off Django formats the report of a
    # failed request even without ADMINS, and formatting it repr()s the
    # local variables of every frame, which runs their querysets again:
    # each another missing_tenant row in the audit trail, whose rows the
    # checks count.
    LOGGING={"version": 1, "disable_existing_loggers": False,
             "handlers": {"null": {"class": "logging.NullHandler"}},
             "loggers": {"django": {"handlers": ["null"], "propagate": False}}},
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
import psycopg2  # noqa: E402
from django.db import connection, connections, transaction, utils  # noqa: E402
from django.db.models import Count, F  # noqa: E402
from django.test import Client as TestClient  # noqa: E402

from firmapp.models import Client, Firm, Invoice, Membership, Payment  # noqa: E402
from firmapp.tenant_context import tenant_context  # noqa: E402


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


# The exact outcomes of the signed-context checks.
INVOICES = '"public.firmapp_invoice"'
UNSIGNED = ["42501", "unsigned tenant context refused"]
BAD_SIGNATURE = ["42501", "signed tenant context has an invalid signature"]
EXPIRED = ["42501", "signed tenant context has expired"]
OTHER_SESSION = ["42501", "signed tenant context is bound to another session"]
NOT_LOCAL = ["42501", "tenant_guard.tenant can only be set for a transaction"]
MISSING = ["42501", "no tenant context for a statement on tenant table " + INVOICES]
CROSS_READ = ["42501", "cross-tenant read of tenant table " + INVOICES]
UNSCOPED_READ = ["42501", "unscoped read of tenant table %s with no condition on tenant "
                 "column \"firm_id\"" % INVOICES]
NO_BREAK_GLASS = ["42501", "permission denied for function break_glass"]

KEY = os.environ.get("TENANT_GUARD_KEY", "").encode()


def sign(tenants, ttl=300, key=None, pid=None):
    return tenant_context(tenants, int(time.time()) + ttl, KEY if key is None else key, pid)


@contextmanager
def firm_context(firm_id, using="default"):
    """A transaction with firm_id's signed context, as a job outside a
    request sets it (the app's roles accept nothing else)."""
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT set_config('tenant_guard.tenant', %s, true)",
                           [sign(str(firm_id))])
        yield


def pg_error(fn):
    """fn's database error as [SQLSTATE, message], or None when it ran."""
    try:
        fn()
    except utils.DatabaseError as error:
        cause = error.__cause__
    except psycopg2.Error as error:
        cause = error
    else:
        return None
    return [cause.pgcode, cause.diag.message_primary]


def show_tenant(using="default"):
    with connections[using].cursor() as cursor:
        cursor.execute("SHOW tenant_guard.tenant")
        return cursor.fetchone()[0]


def expect(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: %r, expected %r" % (what, actual, expected))


class Superuser:
    """The superuser's own connection: the audit trail, and the true counts
    (with the guard off for this session only)."""
    def __init__(self):
        self.conn = psycopg2.connect(dbname=os.environ["PGDATABASE"], user="postgres")
        self.conn.autocommit = True
        self.value("SET tenant_guard.mode = off")
        self.mark = self.last_id()

    def rows(self, query, params=None):
        with self.conn.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def value(self, query, params=None):
        rows = self.rows(query, params)
        return rows[0][0] if rows else None

    def last_id(self):
        # flush(): every violation queued so far is a row now
        self.value("SELECT tenant_guard.flush()")
        return self.value("SELECT coalesce(max(id), 0) FROM tenant_guard.violations")

    def new_rows(self):
        """The trail's rows since the last call: (kind, action, relation,
        tenant, reason, user_name)."""
        mark, self.mark = self.mark, self.last_id()
        return self.rows("SELECT kind, action, relation, tenant, reason, user_name "
                         "FROM tenant_guard.violations WHERE id > %s AND id <= %s "
                         "ORDER BY id", [mark, self.mark])


def row(kind, tenant=None, user="django_app", action="rejected", reason=None):
    return (kind, action, "public.firmapp_invoice", tenant, reason, user)


def case(name, fn, trail, superuser):
    """Run fn, which asserts its exact outcomes (expect()); then the audit
    trail must have exactly the rows in trail.  One ok/FAIL line."""
    superuser.new_rows()
    try:
        fn()
        expect(superuser.new_rows(), trail, "audit trail")
        passed, what = True, "as expected"
    except AssertionError as error:
        passed, what = False, str(error)
    except Exception:
        passed, what = False, traceback.format_exc().strip().splitlines()[-1]
    results.append(passed)
    print("%-4s %-45s %s" % ("ok" if passed else "FAIL", name, what))


def signed_context_checks(web, own_ids, superuser):
    """What an injection, a forgotten context, a replayed token and a
    maintenance job can do against signed contexts and the require_
    settings: exact errors, the context unchanged, the audit trail's rows."""
    own_count = superuser.value("SELECT count(*) FROM firmapp_invoice WHERE firm_id = 1")

    def request(name, pk, **params):
        response = web.get("/op/%s/%d" % (name, pk), params)
        expect(response.status_code, 200, "HTTP status")
        return response.json()

    # 1 and 2: SQL injected into firm 1's request tries to switch to firm 2;
    # every attempt is refused, the request keeps its signed context and
    # still reads its own invoices and not firm 2's
    def injected(refused, **params):
        def attempt():
            seen = request("inject", 2, **params)
            expect(seen["context"].startswith("1;exp="), True, "the request's context is firm 1's")
            expect(seen["refused"], refused, "the injected statement")
            # SHOW and the report give the tenants, never the signature
            expect(seen["before"], "1", "SHOW tenant_guard.tenant before")
            expect(seen["after"], "1", "SHOW tenant_guard.tenant after")
            expect(seen["reported"], "1", "the context reported to the client after")
            expect(seen["own"], own_count, "the firm's own invoices")
            expect(seen["other"], CROSS_READ, "firm 2's invoices")
        return attempt
    read_other = [row("cross_tenant_read", tenant="1")]
    # (a session-level SET is also refused by require_local_tenant; the
    # missing signature is what the server names first)
    case("injected SET tenant_guard.tenant = '2'", injected(UNSIGNED, sql="set"),
         read_other, superuser)
    case("injected set_config('2', true)", injected(UNSIGNED, sql="set_config"),
         read_other, superuser)
    case("token signed with a wrong key", injected(
        BAD_SIGNATURE, sql="value", value=sign("2", key=b"not-the-server-key-0123456789abcdef")),
        read_other, superuser)
    case("firm 1's token with its tenants changed to 2", injected(
        BAD_SIGNATURE, sql="value", value="2" + sign("1")[1:]), read_other, superuser)
    case("expired token", injected(EXPIRED, sql="value", value=sign("2", ttl=-60)),
         read_other, superuser)

    # 3: code paths that forget the context: refused and on record
    case("ORM call outside a request (no context)", lambda: expect(
        pg_error(lambda: Invoice.objects.filter(firm_id=1).count()), MISSING, "the read"),
        [row("missing_tenant")], superuser)
    case("view reached without a context (anonymous)", lambda: expect(
        pg_error(lambda: TestClient().get("/op/refresh_from_db/%d" % own_ids[0])), MISSING,
        "the anonymous request"), [row("missing_tenant")], superuser)

    # 4: clearing the context is allowed (it needs no key), but it is no
    # way back to the scoping rules, under which firm_id = 2 would pass
    def clear_mid_request():
        seen = request("clear_context", 2)
        expect(seen["cleared"], None, "clearing the context")
        expect(seen["after"], "", "SHOW tenant_guard.tenant after clearing")
        expect(seen["scoped"], MISSING, "firm 2's invoices by a scope")
        expect(seen["unscoped"], MISSING, "all invoices")
    case("context cleared mid-request, then a read", clear_mid_request,
         [row("missing_tenant"), row("missing_tenant")], superuser)

    # 5: a context bound to a backend (;pid=) for the session.  django_app
    # may set none for its session (require_local_tenant); django_worker,
    # without that setting, may, and the value is good on its backend only.
    def app_session_context():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            token = sign("1", pid=cursor.fetchone()[0])
            for statement in ("SELECT set_config('tenant_guard.tenant', %s, false)",
                              "SET tenant_guard.tenant = %s"):
                expect(pg_error(lambda: cursor.execute(statement, [token])), NOT_LOCAL, statement)
        expect(show_tenant(), "", "SHOW tenant_guard.tenant")
    case("session-level context refused for django_app", app_session_context, [], superuser)

    def pid_bound_context():
        worker = connections["worker"]
        with worker.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            token = sign("1", pid=cursor.fetchone()[0])
            cursor.execute("SELECT set_config('tenant_guard.tenant', %s, false)", [token])
        expect(show_tenant("worker"), token.split(";")[0], "SHOW tenant_guard.tenant on the worker")
        # autocommit: each statement its own transaction, the context kept
        expect(Invoice.objects.using("worker").filter(firm_id=1).count(), own_count,
               "the worker's firm 1 invoices")
        expect(pg_error(lambda: Invoice.objects.using("worker").filter(firm_id=2).count()),
               CROSS_READ, "the worker's read of firm 2")
        # the same token replayed in another session of the same role
        other = psycopg2.connect(dbname=os.environ["PGDATABASE"], user="django_worker")
        try:
            with other.cursor() as cursor:
                other.autocommit = True
                expect(pg_error(lambda: cursor.execute(
                    "SELECT set_config('tenant_guard.tenant', %s, false)", [token])),
                    OTHER_SESSION, "the token in another session")
                other.autocommit = False
                expect(pg_error(lambda: cursor.execute(
                    "SELECT set_config('tenant_guard.tenant', %s, true)", [token])),
                    OTHER_SESSION, "the token in another session's transaction")
                other.rollback()
                other.autocommit = True
                cursor.execute("SHOW tenant_guard.tenant")
                expect(cursor.fetchone()[0], "", "SHOW tenant_guard.tenant in the other session")
                expect(pg_error(lambda: cursor.execute(
                    "SELECT count(*) FROM firmapp_invoice WHERE firm_id = 1")),
                    MISSING, "the other session's read")
        finally:
            other.close()
        with worker.cursor() as cursor:
            cursor.execute("SELECT set_config('tenant_guard.tenant', '', false)")
        expect(show_tenant("worker"), "", "the worker's context after the reset")
    case("pid-bound token works on its backend only", pid_bound_context,
         [row("cross_tenant_read", tenant="1", user="django_worker"),
          row("missing_tenant", user="django_worker")], superuser)

    # 6: the server reports the context to the client (GUC_REPORT), in the
    # request's transaction, and the empty value once it has ended
    def reported_context():
        seen = request("parameter_status", 1)
        expect(seen["reported"], seen["context"].split(";")[0],
               "reported in the request: the tenants, not the signed value")
        expect(connection.connection.get_backend_pid(), seen["backend_pid"], "the connection")
        expect(connection.connection.get_parameter_status("tenant_guard.tenant"), "",
               "reported after the request")
    case("context reported to the client (GUC_REPORT)", reported_context, [], superuser)

    # 7: breaking glass: the app's role cannot; the maintenance role can,
    # for one transaction, on the record with its reason
    reason = "INC-4711: invoice count across firms for the auditors"

    def app_break_glass():
        def attempt():
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT tenant_guard.break_glass(%s)", [reason])
        expect(pg_error(attempt), NO_BREAK_GLASS, "django_app's break_glass()")
    case("break_glass() refused to django_app", app_break_glass, [], superuser)

    def maintenance_count():
        return Invoice.objects.using("maintenance").count()
    case("maintenance role without break glass", lambda: expect(
        pg_error(maintenance_count), UNSCOPED_READ, "the cross-firm count"),
        [row("unscoped_read", user="django_maint")], superuser)

    def break_glass():
        with transaction.atomic(using="maintenance"):
            with connections["maintenance"].cursor() as cursor:
                cursor.execute("SELECT tenant_guard.break_glass(%s)", [reason])
            total = maintenance_count()
            per_firm = dict(Invoice.objects.using("maintenance").values_list("firm_id")
                            .annotate(n=Count("id")).order_by())
        expect(total, superuser.value("SELECT count(*) FROM firmapp_invoice"), "the count")
        expect(per_firm, dict(superuser.rows(
            "SELECT firm_id, count(*) FROM firmapp_invoice GROUP BY firm_id")), "per firm")
        # the glass is whole again after the transaction
        expect(pg_error(maintenance_count), UNSCOPED_READ, "the count after the transaction")
    glass = row("break_glass", user="django_maint", action="logged", reason=reason)
    case("break glass: a cross-firm count on record", break_glass,
         [glass, glass, row("unscoped_read", user="django_maint")], superuser)


def run():
    firm1 = User.objects.get(username="user1")
    web = TestClient()
    web.force_login(firm1)
    # django_app reads tenant tables only under a context, also here
    with firm_context(1):
        own_ids = list(Invoice.objects.filter(firm_id=1).order_by("id").values_list("id", flat=True))
        own_client = Client.objects.filter(firm_id=1).order_by("id").values_list("id", flat=True)[0]
    with firm_context(2):
        other_ids = list(Invoice.objects.filter(firm_id=2).order_by("id").values_list("id", flat=True))
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
    # an IN is a join: another firm's rows are left out of it, as a hash
    # join reads them whether or not they match
    check("__in= a queryset of another firm sees none of it", False,
          lambda: expect(get("/op/in_other_subquery/%d" % other_client).json(),
                         {"invoices": 0}, "invoices through another firm's clients"))
    check("Exists() over another firm's rows", True, op("exists_subquery", other_client))
    check("union() with another firm's rows", True, op("union_of_querysets", other_client))

    # a cron job without a context: refused (missing_tenant, under
    # require_tenant; the unscoped rule without it)
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

    signed_context_checks(web, own_ids, superuser=Superuser())

    # nothing of the other firm changed
    assert connection.in_atomic_block is False
    with firm_context(2):
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
