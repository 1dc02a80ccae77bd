# ActiveRecord 6.1 against a database guarded by tenant_guard in enforce
# mode (test/rails/run.sh makes it): everyday calls under the request
# middleware of app.rb, IDORs and forgotten contexts refused, signed
# contexts, call sites from Marginalia, and what a Rails app meets
# (pg_dump, client_min_messages, RecordNotUnique in a transaction).
# Prints "ok NAME" or "FAIL NAME: reason" per check and a summary line;
# settings come from PGHOST, PGPORT, PGDATABASE, TENANT_KEY and PG_BINDIR.
require_relative "app"
require_relative "checks"

include Checks

connect("rails_app")
OWN = su_ids("SELECT id FROM invoices WHERE firm_id = 1 ORDER BY id")
OTHER = su_ids("SELECT id FROM invoices WHERE firm_id = 2 ORDER BY id")
OWN_CLIENT, OTHER_CLIENT = su_ids("SELECT min(id) FROM clients WHERE firm_id IN (1, 2) GROUP BY firm_id ORDER BY firm_id")
# a request of firm 1's user through the middleware, as controller#action of path
def in_request(path = "/invoices/show", &block)
  Request.run(path, user: 1, &block)
end

# --- everyday ActiveRecord calls pass in enforce, under the middleware ----
passes("find") { in_request { expect_eq(Invoice.find(OWN[0]).firm_id, 1) } }
passes("where (unscoped, rows verified)") do
  in_request { expect_eq(Invoice.where(client_id: OWN_CLIENT).count, 3) }
end
passes("find_by") { in_request { expect_eq(Invoice.find_by(number: "1-#{OWN_CLIENT}-0").id, OWN[0]) } }
passes("create") do
  in_request { Invoice.create!(firm_id: 1, client_id: OWN_CLIENT, number: "C-1", amount_due: 5) }
end
passes("update") { in_request { Invoice.find(OWN[0]).update!(number: "1-upd") } }
passes("update_all scoped") do
  in_request { expect_eq(Invoice.where(firm_id: 1, client_id: OWN_CLIENT).update_all(amount_due: 90), 4) }
end
passes("destroy with dependent: :destroy") { in_request { Invoice.find(OWN[5]).destroy! } }
passes("includes") do
  in_request { expect_eq(Client.where(firm_id: 1).includes(:invoices).map { |c| c.invoices.size }.sum, 6) }
end
passes("preload") { in_request { expect_eq(Invoice.where(firm_id: 1).preload(:client).map { |i| i.client.firm_id }.uniq, [1]) } }
passes("eager_load") do
  in_request { expect_eq(Invoice.eager_load(:client, :payments).where(firm_id: 1).to_a.size, 6) }
end
passes("lazy belongs_to") { in_request { expect_eq(Payment.find_by(invoice_id: OWN[1]).invoice.client.firm_id, 1) } }
passes("pluck") { in_request { expect_eq(Invoice.where(firm_id: 1).pluck(:firm_id).uniq, [1]) } }
passes("count and sum") do
  in_request do
    expect_eq(Invoice.where(firm_id: 1).count, 6)
    expect_eq(Client.find(OWN_CLIENT).invoices.sum(:amount_due), BigDecimal("360"))
  end
end
passes("find_each") { in_request { n = 0; Invoice.where(firm_id: 1).find_each(batch_size: 2) { n += 1 }; expect_eq(n, 6) } }
passes("exists?") { in_request { expect_eq([Invoice.exists?(OWN[0]), Invoice.exists?(number: "none")], [true, false]) } }
passes("transaction requires_new (savepoint)") do
  in_request do
    Invoice.transaction(requires_new: true) do
      Invoice.find(OWN[1]).update!(number: "rolled-back")
      raise ActiveRecord::Rollback
    end
    expect_eq(Invoice.find(OWN[1]).number, "1-#{OWN_CLIENT}-1")
  end
end
passes("optimistic locking (lock_version)") do
  in_request do
    a = Invoice.find(OWN[2])
    b = Invoice.find(OWN[2])
    a.update!(number: "1-optimistic")
    expect_eq(a.lock_version, b.lock_version + 1)
    b.number = "1-stale"
    expect_raise(ActiveRecord::StaleObjectError) { b.save! }
  end
end
passes("increment! (relative, Rails bumps lock_version)") do
  in_request { Invoice.find(OWN[0]).increment!(:amount_paid, 10); expect_eq(Invoice.find(OWN[0]).amount_paid, 10) }
end
passes("update_counters (relative, Rails bumps lock_version)") do
  in_request do
    before = Invoice.find(OWN[0]).lock_version
    Invoice.update_counters(OWN[0], amount_paid: 5)
    expect_eq([Invoice.find(OWN[0]).amount_paid, Invoice.find(OWN[0]).lock_version], [15, before + 1])
  end
end
refused("a relative update_all that leaves lock_version alone", "23TG1",
        'non-atomic update of amount column "amount_paid" of table "public.invoices"',
        kind: "non_atomic_amount") do
  in_request { Invoice.where(id: OWN[0], firm_id: 1).update_all("amount_paid = amount_paid + 5") }
end
passes("lock! then write the amount") do
  in_request do
    invoice = Invoice.find(OWN[1])
    invoice.lock!
    invoice.update!(amount_paid: invoice.amount_paid + 7)
    expect_eq(Invoice.find(OWN[1]).amount_paid, 7)
  end
end
passes("with_lock then write the amount") do
  in_request do
    invoice = Invoice.find(OWN[1])
    invoice.with_lock { invoice.update!(amount_paid: invoice.amount_paid + 1) }
    expect_eq(Invoice.find(OWN[1]).amount_paid, 8)
  end
end
refused("amount read-modify-write that skips the version (update_columns)", "23TG1",
        'non-atomic update of amount column "amount_paid" of table "public.invoices"',
        kind: "non_atomic_amount") do
  in_request { invoice = Invoice.find(OWN[0]); invoice.update_columns(amount_paid: invoice.amount_paid + 1) }
end
passes("amount change under optimistic locking (compare-and-set on lock_version)") do
  in_request do
    invoice = Invoice.find(OWN[2])
    invoice.update!(amount_paid: invoice.amount_paid + 3)
    expect_eq(Invoice.find(OWN[2]).amount_paid, invoice.amount_paid)
  end
end
passes("a stale compare-and-set of the amount is Rails' StaleObjectError") do
  in_request do
    a = Invoice.find(OWN[2])
    b = Invoice.find(OWN[2])
    a.update!(amount_paid: a.amount_paid + 1)
    b.amount_paid = b.amount_paid + 100
    expect_raise(ActiveRecord::StaleObjectError) { b.save! }
    expect_eq(Invoice.find(OWN[2]).amount_paid, a.amount_paid)
  end
end

# --- what ActiveRecord writes with subqueries and joins: the firm's rows pass
# (the superuser has no context: its queries name the firm)
def su_count(sql) = SU.exec(sql).getvalue(0, 0).to_i

passes("update_all on a relation with joins (WHERE id IN (SELECT ... JOIN ...))") do
  in_request do
    n = su_count("SELECT count(*) FROM invoices WHERE firm_id = 1 AND client_id = #{OWN_CLIENT}")
    expect_eq(Invoice.joins(:client).where(clients: { id: OWN_CLIENT }).update_all(amount_due: 80), n)
  end
end
passes("delete_all on a relation with joins") do
  in_request { expect_eq(Payment.joins(:invoice).where(invoices: { id: OWN[1] }).delete_all, 1) }
end
passes("where(id: a relation) and where.not(id: a relation)") do
  in_request do
    paid = Payment.where(invoice_id: OWN[0]).select(:invoice_id)
    n = su_count("SELECT count(*) FROM invoices WHERE firm_id = 1 AND client_id = #{OWN_CLIENT}")
    expect_eq(Invoice.where(client_id: OWN_CLIENT).where(id: paid).count, 1)
    expect_eq(Invoice.where(client_id: OWN_CLIENT).where.not(id: paid).count, n - 1)
  end
end
passes("NOT EXISTS correlated on the client") do
  in_request do
    unpaid = "NOT EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = invoices.id)"
    expect_eq(Invoice.where(client_id: OWN_CLIENT).where(unpaid).count,
              su_count("SELECT count(*) FROM invoices WHERE firm_id = 1 AND client_id = #{OWN_CLIENT} AND " \
                       "NOT EXISTS (SELECT 1 FROM payments p WHERE p.firm_id = 1 AND p.invoice_id = invoices.id)"))
  end
end
passes("a UNION of two association arms") do
  in_request do
    arms = "(#{Invoice.where(client_id: OWN_CLIENT).to_sql} UNION #{Invoice.where(id: OWN[3]).to_sql}) AS invoices"
    expect_eq(Invoice.from(arms).count,
              su_count("SELECT count(*) FROM invoices WHERE firm_id = 1 AND (client_id = #{OWN_CLIENT} OR id = #{OWN[3]})"))
  end
end
passes("a correlated count(*) in the select list") do
  in_request do
    counted = "clients.*, (SELECT count(*) FROM invoices i WHERE i.client_id = clients.id) AS invoice_count"
    expect_eq(Client.where(id: OWN_CLIENT).select(counted).first.invoice_count,
              su_count("SELECT count(*) FROM invoices WHERE firm_id = 1 AND client_id = #{OWN_CLIENT}"))
  end
end

# --- another firm's rows: refused, audited with the call site -------------
refused("find another firm's invoice (IDOR)", "42501",
        'cross-tenant read of tenant table "public.invoices"', kind: "cross_tenant_read",
        call_site: { "application" => "Billing", "controller" => "invoices", "action" => "show" }) do
  in_request { Invoice.find(OTHER[0]) }
end
refused("update_all of another firm's invoice by id", "42501",
        'cross-tenant write to tenant table "public.invoices"', kind: "cross_tenant_write",
        call_site: { "application" => "Billing", "controller" => "invoices", "action" => "update" }) do
  in_request("/invoices/update") { Invoice.where(id: OTHER[0]).update_all(number: "X") }
end
refused("destroy another firm's invoice", "42501",
        'cross-tenant read of tenant table "public.invoices"', kind: "cross_tenant_read") do
  in_request { Invoice.find(OTHER[1]).destroy! }
end
refused("create an invoice for another firm", "42501",
        'cross-tenant write to tenant table "public.invoices"', kind: "cross_tenant_write") do
  in_request { Invoice.create!(firm_id: 2, client_id: OWN_CLIENT, number: "X-2") }
end
refused("update_column pointing a foreign key at another firm's client", "42501",
        'cross-tenant read of tenant table "public.clients"', kind: "cross_tenant_read") do
  in_request { Invoice.find(OWN[0]).update_column(:client_id, OTHER_CLIENT) }
end
passes("where(id: a relation over another firm's payments) sees none of them") do
  in_request { expect_eq(Invoice.where(id: Payment.where(invoice_id: OTHER[0..2]).select(:invoice_id)).count, 0) }
end
refused("unscoped where over all firms", "42501",
        'cross-tenant read of tenant table "public.invoices"', kind: "cross_tenant_read") do
  in_request { Invoice.where("amount_due >= 0").to_a }
end

require_relative "signed_tests"
require_relative "rails_tests"

# nothing of the other firm changed
passes("the other firm's invoices are unchanged") do
  expect_eq(SU.exec("SELECT count(*), min(number), sum(amount_paid) FROM invoices WHERE firm_id = 2 AND number LIKE '2-%'").values,
            [["6", "2-#{OTHER_CLIENT}-0", "0.00"]])
end
exit(summary)
