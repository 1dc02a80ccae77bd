"""The Python signing function of doc/tenant-context.md, section "Signing the
context" (Python): the lines between the snippet markers are the doc's code,
word for word, and test/signing/run.sh checks that they still are.

    python3 tenant_context.py KEY TENANTS EXP [PID]   prints the signed value
"""
import sys

# --- snippet begin ---
import hashlib
import hmac


def tenant_context(tenants, exp, key, pid=None):
    """The signed value of tenant_guard.tenant: tenants ("5" or "5,7") until
    exp (unix seconds), bound to backend pid if given; key is bytes."""
    value = "%s;exp=%d" % (tenants, exp)
    if pid is not None:
        value += ";pid=%d" % pid
    return value + ";sig=" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
# --- snippet end ---


if __name__ == "__main__":
    pid = int(sys.argv[4]) if len(sys.argv) > 4 else None
    print(tenant_context(sys.argv[2], int(sys.argv[3]), sys.argv[1].encode(), pid))
