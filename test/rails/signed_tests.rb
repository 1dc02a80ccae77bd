# Signed tenant contexts (role rails_app: require_signed_tenant and
# require_tenant on; rails_local: also require_local_tenant): forged,
# unsigned, expired and replayed contexts refused with the setting
# unchanged, a forgotten context refused and audited as missing_tenant, and
# the session-level middleware.  Part of tests.rb (uses its ids and
# in_request).
BAD_SIGNATURE = "signed tenant context has an invalid signature"
EXPIRED = "signed tenant context has expired"
WRONG_PID = "signed tenant context is bound to another session"
UNSIGNED = "unsigned tenant context refused"
MISSING = 'no tenant context for a statement on tenant table "public.invoices"'
NOT_LOCAL = "tenant_guard.tenant can only be set for a transaction"

def show_tenant = ActiveRecord::Base.connection.select_value("SHOW tenant_guard.tenant")

# set_config(..., false) with a bind parameter, outside a transaction
def set_session_context(value)
  ActiveRecord::Base.connection.raw_connection.exec_params("SELECT set_config('tenant_guard.tenant', $1, false)", [value])
end

def token(tenants = "1", key: ENV.fetch("TENANT_KEY"), **options)
  TenantToken.sign(tenants, key: key, pid: ActiveRecord::Base.connection.raw_connection.backend_pid, **options)
end

connect("rails_app")
refused("forgotten context (no middleware) refused", "42501", MISSING, kind: "missing_tenant",
        call_site: { "application" => "Billing" }) do
  Invoice.where(firm_id: 1).to_a
end
# A context the app did not sign: refused, the setting unchanged.
{ "unsigned SET refused" => ["SET tenant_guard.tenant = '1'", UNSIGNED],
  "unsigned set_config refused" => [-> { set_session_context("1") }, UNSIGNED],
  "forged signature refused" => [-> { set_session_context(token(key: "k" * 40)) }, BAD_SIGNATURE],
  "expired token refused" => [-> { set_session_context(token(ttl: -10)) }, EXPIRED],
  "token of another backend refused" => [-> { set_session_context(TenantToken.sign("1", key: ENV.fetch("TENANT_KEY"), pid: 1)) }, WRONG_PID],
  "token with another tenant under the signature refused" =>
    [-> { set_session_context(token("1").sub(/\A1;/, "2;")) }, BAD_SIGNATURE] }.each do |name, (attempt, message)|
  check(name) do
    expect_pg_error("42501", message) { attempt.is_a?(String) ? ActiveRecord::Base.connection.execute(attempt) : attempt.call }
    expect_eq(show_tenant, "")
  end
end
# An injected SET inside a request (in a savepoint, so that the request
# can go on): refused, the request's context kept, the other firm's rows
# still refused.
%w[SET SET\ LOCAL].each do |set|
  check("injected #{set} tenant_guard.tenant = '2' in a request refused") do
    in_request do
      before = show_tenant
      expect_pg_error("42501", UNSIGNED) do
        Invoice.transaction(requires_new: true) { ActiveRecord::Base.connection.execute("#{set} tenant_guard.tenant = '2'") }
      end
      expect_eq(show_tenant, before)
      expect_pg_error("42501", 'cross-tenant read of tenant table "public.invoices"') do
        Invoice.transaction(requires_new: true) { Invoice.find(OTHER[0]) }
      end
    end
  end
end

passes("session-level middleware, reset in ensure") do
  expect_eq(Request.run("/invoices/show", user: 1, session: true) { Invoice.find(OWN[0]).firm_id }, 1)
  expect_eq(show_tenant, "")
end
passes("the reset context is gone: the next statement is refused") do
  expect_pg_error("42501", MISSING) { Invoice.where(firm_id: 1).count }
end

connect("rails_local")
refused("session-level middleware refused with require_local_tenant", "42501", NOT_LOCAL) do
  Request.run("/invoices/show", user: 1, session: true) { Invoice.find(OWN[0]) }
end
passes("request middleware with require_local_tenant") do
  expect_eq(in_request { Invoice.find(OWN[0]).firm_id }, 1)
end
