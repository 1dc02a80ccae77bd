"""The application's only tenant code: say which tenant the request acts
for.  The request runs in one transaction and the context is set with
set_config(..., true), the function form of SET LOCAL, so it ends with the
transaction: nothing leaks to the next request on the same connection, also
behind PgBouncer's transaction pooling (and the app's role has
tenant_guard.require_local_tenant on, which refuses anything else).

The context is signed with the key the server holds as
tenant_guard.tenant_key, handed to the app in the environment as a
deployment hands it a secret: the role has tenant_guard.require_signed_tenant
on, so SQL injected into a request cannot name another firm with a value of
its own.  It is good for 5 minutes, long enough for a slow request, and bound to the
backend it is set on (doc/tenant-context.md, "Signing the context")."""
import os
import time

from django.db import connection, transaction

from .models import Membership
from .tenant_context import tenant_context

TENANT_GUARD_KEY = os.environ["TENANT_GUARD_KEY"].encode()


class TenantContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.firm_id = None
        request.tenant_context = None
        if request.user.is_authenticated:
            # firmapp_membership is excluded from the guard: it is read here,
            # before there is a context, to choose the context
            membership = Membership.objects.filter(user=request.user).first()
            request.firm_id = membership.firm_id if membership else None
        if request.firm_id is None:
            # no firm, no context: a statement on a tenant table is then
            # refused as missing_tenant (require_tenant)
            return self.get_response(request)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # psycopg2 sends the value as a literal, which other sessions
                # of the role can read in pg_stat_activity: bound to this
                # backend, it is of no use to them
                cursor.execute("SELECT pg_backend_pid()")
                request.tenant_context = tenant_context(
                    str(request.firm_id), int(time.time()) + 300, TENANT_GUARD_KEY,
                    pid=cursor.fetchone()[0])
                cursor.execute("SELECT set_config('tenant_guard.tenant', %s, true)",
                               [request.tenant_context])
            return self.get_response(request)
