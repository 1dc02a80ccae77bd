# The application side of the Rails suite: ActiveRecord models, Marginalia
# query tags, and the Rack middleware a Rails team writes for tenant_guard.
# No Rails app server: ActiveRecord standalone, a request is a Rack env
# passed through the middleware stack (see Request.run).
require "active_record"
require "openssl"
require "pg"
require "marginalia" # needs rails/railtie (Debian: ruby-railties)

class Firm < ActiveRecord::Base; end

class User < ActiveRecord::Base
  belongs_to :firm
end

class Client < ActiveRecord::Base
  belongs_to :firm
  has_many :invoices
end

class Invoice < ActiveRecord::Base # lock_version: optimistic locking
  belongs_to :firm
  belongs_to :client
  has_many :payments, dependent: :destroy
end

class Payment < ActiveRecord::Base
  belongs_to :firm
  belongs_to :invoice
end

# Marginalia outside a Rails app: its Railtie's initializer does not run,
# so insert the ActiveRecord instrumentation by hand, after loading the
# PostgreSQL adapter (Marginalia instruments only adapters already loaded).
require "active_record/connection_adapters/postgresql_adapter"
Marginalia.application_name = "Billing"
Marginalia::Comment.components = [:application, :controller, :action]
Marginalia::Railtie.insert_into_active_record

# A signed tenant context: "<tenants>;exp=<unix time>[;pid=<backend pid>];sig=<hex>",
# the signature an HMAC-SHA256 with the tenant key over everything before ";sig=".
module TenantToken
  def self.sign(tenants, key:, ttl: 300, pid: nil, now: Time.now.to_i)
    message = "#{tenants};exp=#{now + ttl}"
    message += ";pid=#{pid}" if pid
    "#{message};sig=#{OpenSSL::HMAC.hexdigest("SHA256", key, message)}"
  end
end

# The request-scoped middleware: one transaction per request, the signed
# context set transaction-locally with a bind parameter, so it ends with the
# transaction (also behind PgBouncer's transaction pooling).
class TenantContext
  def initialize(app, key:)
    @app = app
    @key = key
  end

  def call(env)
    firm_id = User.find(env["app.user_id"]).firm_id # users is excluded from the guard
    ActiveRecord::Base.transaction do
      # raw_connection materializes ActiveRecord's lazy BEGIN first
      conn = ActiveRecord::Base.connection.raw_connection
      token = TenantToken.sign(firm_id.to_s, key: @key, pid: conn.backend_pid)
      conn.exec_params("SELECT set_config('tenant_guard.tenant', $1, true)", [token])
      @app.call(env)
    end
  end
end

# The session-level variant (no request transaction): set at the start,
# reset in ensure so the next request on the connection starts without one.
class SessionTenantContext
  def initialize(app, key:)
    @app = app
    @key = key
  end

  def call(env)
    firm_id = User.find(env["app.user_id"]).firm_id
    conn = ActiveRecord::Base.connection.raw_connection
    token = TenantToken.sign(firm_id.to_s, key: @key, pid: conn.backend_pid)
    conn.exec_params("SELECT set_config('tenant_guard.tenant', $1, false)", [token])
    @app.call(env)
  ensure
    conn&.exec("RESET tenant_guard.tenant")
  end
end

# Marginalia's around_action for a Rack app: name the controller and action
# ("/invoices/show") for the query comments while the request runs.
class QueryTags
  Endpoint = Struct.new(:controller_name, :action_name)

  def initialize(app)
    @app = app
  end

  def call(env)
    controller, action = env["PATH_INFO"].split("/").reject(&:empty?)
    Marginalia::Comment.update!(Endpoint.new(controller, action))
    @app.call(env)
  ensure
    Marginalia::Comment.clear!
  end
end

# The "controller": runs the block the test passes in env["app.action"].
ACTION = ->(env) { env["app.action"].call }

module Request
  # Run block as the action of PATH for USER through the middleware stack
  # (TenantContext, or SessionTenantContext with session: true); returns
  # what the block returns.
  def self.run(path, user:, session: false, &block)
    key = ENV.fetch("TENANT_KEY")
    tagged = QueryTags.new(ACTION)
    stack = session ? SessionTenantContext.new(tagged, key: key) : TenantContext.new(tagged, key: key)
    stack.call("PATH_INFO" => path, "app.user_id" => user, "app.action" => block)
  end
end
