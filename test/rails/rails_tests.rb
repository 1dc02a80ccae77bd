# What a Rails app meets beyond its queries: `rails db:structure:dump`
# (pg_dump as the app's role), ActiveRecord's client_min_messages =
# warning, and RecordNotUnique rescued inside the request transaction.
# Part of tests.rb (uses its ids and in_request).
require "open3"

WITHHELD = "The detail can show another tenant's values and is withheld while " \
           "a tenant context is set or required; the server log has it."
ABORTED = "current transaction is aborted, commands ignored until end of transaction block"

connect("rails_app")
# A rescue without a savepoint leaves the request transaction aborted: the
# next statement fails, whatever the guard says.
refused("rescue RecordNotUnique without a savepoint", "25P02", ABORTED) do
  in_request do
    begin
      Invoice.create!(firm_id: 1, client_id: OWN_CLIENT, number: "C-1")
    rescue ActiveRecord::RecordNotUnique
      nil # "already there": carry on
    end
    Invoice.find(OWN[0])
  end
end
# The working form: the insert in a savepoint (requires_new: true); its
# error's detail is withheld under the context.
passes("rescue RecordNotUnique in a savepoint (requires_new)") do
  in_request do
    error = expect_raise(ActiveRecord::RecordNotUnique) do
      Invoice.transaction(requires_new: true) { Invoice.create!(firm_id: 1, client_id: OWN_CLIENT, number: "C-1") }
    end
    pg = pg_error(error)
    expect_eq([sqlstate(pg), pg.result.error_field(PG::Result::PG_DIAG_MESSAGE_DETAIL)], ["23505", WITHHELD])
    expect_eq(Invoice.find(OWN[0]).firm_id, 1)
  end
end

# rails db:structure:dump runs this pg_dump as the app's role.
passes("pg_dump --schema-only as the app role (db:structure:dump)") do
  _, err, status = Open3.capture3(File.join(ENV.fetch("PG_BINDIR"), "pg_dump"), "--schema-only",
                                  "--no-privileges", "--no-owner", "-h", ENV.fetch("PGHOST"),
                                  "-p", ENV.fetch("PGPORT"), "-U", "rails_app", "-d", ENV.fetch("PGDATABASE"))
  raise Checks::Failure, "exit #{status.exitstatus}: #{err.lines.first&.strip}" unless status.success?
end

# Client messages in log mode (role rails_log): ActiveRecord sets
# client_min_messages = warning, so a NOTICE never reaches the app.
UNSCOPED = 'unscoped read of tenant table "public.invoices" with no condition on tenant column "firm_id"'

def messages_seen(client_messages, **config)
  SU.exec("ALTER ROLE rails_log SET tenant_guard.client_messages = #{client_messages}")
  connect("rails_log", **config)
  seen = []
  ActiveRecord::Base.connection.raw_connection.set_notice_receiver do |r|
    seen << [r.error_field(PG::Result::PG_DIAG_SEVERITY_NONLOCALIZED), r.error_field(PG::Result::PG_DIAG_MESSAGE_PRIMARY)]
  end
  yield
  seen
end

passes("client_messages = notice: ActiveRecord sees nothing") do
  seen = adds_to_trail("unscoped_read") do
    messages_seen("notice") { expect_eq(Invoice.where("amount_due >= 0").count, 12) }
  end
  expect_eq(seen, [])
end
passes("client_messages = warning: ActiveRecord sees the warning") do
  seen = adds_to_trail("unscoped_read") do
    messages_seen("warning") { expect_eq(Invoice.where("amount_due > 1").count, 12) }
  end
  expect_eq(seen, [["WARNING", UNSCOPED]])
end
passes("client_messages = notice with min_messages: notice") do
  seen = messages_seen("notice", min_messages: "notice") { Invoice.where("amount_due > 2").count }
  expect_eq(seen, [["NOTICE", UNSCOPED]])
end
connect("rails_app")
