# The Ruby signing function of doc/tenant-context.md, section "Signing the
# context" (Ruby): the lines between the snippet markers are the doc's code,
# word for word, and test/signing/run.sh checks that they still are.
#
#     ruby tenant_context.rb KEY TENANTS EXP [PID]   prints the signed value

# --- snippet begin ---
require "openssl"

module TenantContext
  # The signed value of tenant_guard.tenant: tenants ("5" or "5,7") until
  # exp (unix seconds), bound to backend pid unless nil.
  def self.sign(tenants, exp, key, pid = nil)
    value = "#{tenants};exp=#{Integer(exp)}"
    value += ";pid=#{Integer(pid)}" if pid
    "#{value};sig=#{OpenSSL::HMAC.hexdigest('SHA256', key, value)}"
  end
end
# --- snippet end ---

if $PROGRAM_NAME == __FILE__
  key, tenants, exp, pid = ARGV
  puts TenantContext.sign(tenants, Integer(exp), key, pid && Integer(pid))
end
