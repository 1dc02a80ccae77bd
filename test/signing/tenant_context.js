// The Node signing function of doc/tenant-context.md, section "Signing the
// context" (Node): the lines between the snippet markers are the doc's code,
// word for word, and test/signing/run.sh checks that they still are.
//
//     node tenant_context.js KEY TENANTS EXP [PID]   prints the signed value

// --- snippet begin ---
const crypto = require("crypto");

// The signed value of tenant_guard.tenant: tenants ("5" or "5,7") until
// exp (unix seconds), bound to backend pid if given.
function tenantContext(tenants, exp, key, pid) {
  let value = `${tenants};exp=${Math.floor(exp)}`;
  if (pid !== undefined && pid !== null) value += `;pid=${pid}`;
  const sig = crypto.createHmac("sha256", key).update(value).digest("hex");
  return `${value};sig=${sig}`;
}
// --- snippet end ---

module.exports = { tenantContext };

if (require.main === module) {
  const [key, tenants, exp, pid] = process.argv.slice(2);
  console.log(tenantContext(tenants, Number(exp), key, pid === undefined ? undefined : Number(pid)));
}
