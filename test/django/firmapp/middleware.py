"""The application's only tenant code: say which tenant the request acts
for.  The request runs in one transaction and the context is set with
set_config(..., true), the function form of SET LOCAL, so it ends with the
transaction: nothing leaks to the next request on the same connection, also
behind PgBouncer's transaction pooling."""
from django.db import connection, transaction

from .models import Membership


class TenantContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.firm_id = None
        if request.user.is_authenticated:
            membership = Membership.objects.filter(user=request.user).first()
            request.firm_id = membership.firm_id if membership else None
        if request.firm_id is None:
            return self.get_response(request)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('tenant_guard.tenant', %s, true)",
                               [str(request.firm_id)])
            return self.get_response(request)
