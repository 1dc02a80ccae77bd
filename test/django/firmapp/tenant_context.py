"""Signing the tenant context: the Python function of doc/tenant-context.md
(section "Signing the context"), with only the standard library."""
import hashlib
import hmac


def tenant_context(tenants, exp, key, pid=None):
    """The signed value of tenant_guard.tenant: tenants ("5" or "5,7") until
    exp (unix seconds), bound to backend pid if given; key is bytes."""
    value = "%s;exp=%d" % (tenants, exp)
    if pid is not None:
        value += ";pid=%d" % pid
    return value + ";sig=" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
