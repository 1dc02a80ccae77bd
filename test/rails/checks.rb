# The Rails suite's small runner: connections (the app's through
# ActiveRecord, the superuser's through pg), one "ok NAME" or
# "FAIL NAME: reason" line per check, and exact assertions on SQLSTATEs,
# messages and the audit trail (tenant_guard.violations read as postgres).
require "json"
require "pg"

module Checks
  Failure = Class.new(StandardError)
  RESULTS = []
  SU = PG.connect(host: ENV.fetch("PGHOST"), port: ENV.fetch("PGPORT"),
                  dbname: ENV.fetch("PGDATABASE"), user: "postgres")

  def connect(role, **config)
    @role = role
    ActiveRecord::Base.establish_connection(
      adapter: "postgresql", host: ENV.fetch("PGHOST"), port: ENV.fetch("PGPORT"),
      database: ENV.fetch("PGDATABASE"), username: role, **config)
    ActiveRecord::Base.connection # connect now, so that errors show here
  end

  def su_ids(sql)
    SU.exec(sql).column_values(0).map(&:to_i)
  end

  def expect_eq(actual, expected)
    raise Failure, "expected #{expected.inspect}, got #{actual.inspect}" unless actual == expected
  end

  def expect_raise(klass)
    yield
  rescue klass => e
    e
  else
    raise Failure, "expected #{klass}, nothing raised"
  end

  # The PG::Error behind an exception (ActiveRecord wraps it as its cause).
  def pg_error(error)
    error = error.cause until error.nil? || error.is_a?(PG::Error)
    error
  end

  def sqlstate(pg) = pg&.result&.error_field(PG::Result::PG_DIAG_SQLSTATE)
  def primary(pg) = pg&.result&.error_field(PG::Result::PG_DIAG_MESSAGE_PRIMARY)

  # Run block; it must fail with this SQLSTATE and primary message exactly;
  # returns the PG::Error.
  def expect_pg_error(state, message)
    yield
  rescue Failure
    raise
  rescue StandardError => e
    pg = pg_error(e)
    got = [sqlstate(pg), primary(pg)]
    raise Failure, "expected #{state} #{message.inspect}, got #{got[0]} #{got[1].inspect} (#{e.class})" unless
      got == [state, message]
    pg
  else
    raise Failure, "expected #{state} #{message.inspect}, the call passed"
  end

  # Rows of this kind the role left in the audit trail, after a flush.
  def trail(kind, role = @role)
    SU.exec("SELECT tenant_guard.flush()")
    SU.exec_params("SELECT count(*) FROM tenant_guard.violations WHERE kind = $1 AND user_name = $2",
                   [kind, role]).getvalue(0, 0).to_i
  end

  def last_call_site(kind, role = @role)
    value = SU.exec_params("SELECT call_site FROM tenant_guard.violations WHERE kind = $1 AND user_name = $2 " \
                           "ORDER BY id DESC LIMIT 1", [kind, role]).getvalue(0, 0)
    value && JSON.parse(value)
  end

  # block must add exactly `rows` rows of kind to the trail.
  def adds_to_trail(kind, rows = 1)
    before = trail(kind)
    result = yield
    added = trail(kind) - before
    raise Failure, "expected #{rows} new #{kind} row(s) in tenant_guard.violations, got #{added}" unless added == rows
    result
  end

  def check(name)
    yield
    RESULTS << true
    puts "ok #{name}"
  rescue StandardError => e
    RESULTS << false
    pg = pg_error(e)
    reason = pg ? "#{sqlstate(pg)} #{e.message.lines.first.strip}" : "#{e.class}: #{e.message.lines.first&.strip}"
    puts "FAIL #{name}: #{reason}"
  end

  # A check that must pass without any error.
  def passes(name, &block)
    check(name, &block)
  end

  # A check that must be refused with state and message, and audited.
  def refused(name, state, message, kind: nil, call_site: nil, &block)
    check(name) do
      run = -> { expect_pg_error(state, message, &block) }
      kind ? adds_to_trail(kind, &run) : run.call
      expect_eq(last_call_site(kind), call_site) if call_site
    end
  end

  def summary
    failed = RESULTS.count(false)
    puts "rails: #{RESULTS.count(true)} passed, #{failed} failed"
    failed.zero? ? 0 : 1
  end
end
