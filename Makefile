# tenant_guard: build with PGXS against the PostgreSQL whose pg_config is found,
# or the one PG_CONFIG names (make test PG_CONFIG=/opt/postgresql/18/bin/pg_config).
#
#   make && make install      build and install the extension
#   make demo                 start a local guarded PostgreSQL with a demo schema
#   make test                 install what is missing, build, run every suite
#   make core-regress         PostgreSQL's own regression suite, with and without it
#   make bench                throughput against plain PostgreSQL and RLS (test/bench)
#   make bench-callgrind      instructions per statement, plain versus guard versus RLS
#   make bench-violation      instructions a logged violation adds to its statement
#
# `make test` and `make demo` are plain scripts under test/ so that they can run
# on a machine where the server headers (and so PGXS) are not installed yet.

EXTENSION = tenant_guard
MODULE_big = tenant_guard
OBJS = \
	src/tenant_guard.o \
	src/settings.o \
	src/extension_state.o \
	src/tenant_catalog.o \
	src/registry_cache.o \
	src/registry_shared.o \
	src/catalog_functions.o \
	src/violation.o \
	src/signed_context.o \
	src/context_rules.o \
	src/break_glass.o \
	src/error_details.o \
	src/scope_analysis.o \
	src/leaky_code.o \
	src/scope_params.o \
	src/plan_carrier.o \
	src/scoping_guard.o \
	src/fk_validation.o \
	src/check_function.o \
	src/audit_queue.o \
	src/audit_writer.o \
	src/audit_functions.o \
	src/call_site.o \
	src/query_fingerprint.o \
	src/amount_statement.o \
	src/row_locks.o \
	src/amount_guard.o \
	src/conflict_guard.o \
	src/tenant_context.o \
	src/statement_context.o \
	src/scope_values.o \
	src/row_verification.o \
	src/row_checks.o \
	src/written_rows.o \
	src/written_scopes.o \
	src/unplanned_query.o \
	src/values_lists.o \
	src/citus_cluster.o \
	src/citus_operations.o \
	src/citus_relay.o
DATA = tenant_guard--0.1.0.sql tenant_guard--0.1.0--0.2.0.sql tenant_guard--0.2.0.sql
PGFILEDESC = "tenant_guard - tenant isolation and atomic money updates"
# The user documentation, installed with the extension (see below for where).
DOCS = README.md CHANGELOG.md LICENSE $(wildcard doc/*.md)

PG_CPPFLAGS = -I$(srcdir)/src

# pg_regress suites live in sql/ and expected/.
REGRESS = settings catalog registry superuser_only scope_rules_enforce scope_rules_log \
	statement_kinds plan_cache internal_queries check_function role_exemption \
	audit_trail amount_guard query_fingerprint extension_objects
REGRESS += cross_tenant_upsert
REGRESS += scope_casts_and_operators
REGRESS += exemptions
REGRESS += tenant_context row_verification context_boundary scope_collations
REGRESS += call_site
REGRESS += signed_context

# Isolation specs live in test/isolation/specs, their output in
# test/isolation/expected.
ISOLATION = registry_visibility cached_plan_invalidation \
	amount_rmw amount_relative amount_lock amount_webhook amount_refund
ISOLATION += cross_tenant_upsert amount_version
ISOLATION_OPTS = --inputdir=test/isolation

# TAP tests live in test/t (PROVE_FLAGS is set after PGXS, which resets it).
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# .built-for: see "Objects for one PostgreSQL" below.
EXTRA_CLEAN = .built-for

PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
PROVE_FLAGS = -I test/t
# PGXS puts DOCS straight into doc/extension, shared by every extension;
# ours go into a folder of their own so that README.md and operations.md
# cannot collide with another extension's.
docmoduledir := extension/tenant_guard
else
all install installcheck:
	@echo "PostgreSQL server headers (PGXS) not found through PG_CONFIG=$(PG_CONFIG):" >&2
	@echo "install them (Debian's PostgreSQL 15: postgresql-server-dev-15), set PG_CONFIG" >&2
	@echo "to another PostgreSQL's pg_config, or run 'make test' as root, which installs them." >&2
	@exit 1
endif

# The report program, tenant_guard_report (doc/report.md), has a makefile
# of its own in tools/report: PGXS builds one MODULE_big or one PROGRAM per
# makefile.  make, make install and make clean recurse into it.
REPORT_DIR = tools/report
.PHONY: report install-report clean-report
all: report
install: install-report
clean: clean-report
report: .built-for
	$(MAKE) -C $(REPORT_DIR) PG_CONFIG=$(PG_CONFIG)
install-report: report
	$(MAKE) -C $(REPORT_DIR) PG_CONFIG=$(PG_CONFIG) install
clean-report:
	$(MAKE) -C $(REPORT_DIR) PG_CONFIG=$(PG_CONFIG) clean

# PGXS tracks no header dependencies (without --enable-depend): rebuild
# every object when a header changes.
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# Objects for one PostgreSQL: a module built for one major version does not
# load into another, and PGXS, like make, knows nothing of PG_CONFIG.  So
# .built-for holds the pg_config and version of the last build, rewritten
# only when they change, and everything built depends on it: `make
# PG_CONFIG=...` (make test, make install) after a build for another
# PostgreSQL rebuilds everything instead of installing the old objects
# (tools/report's objects depend on this file too).
PG_BUILT_FOR := $(PG_CONFIG) $(shell $(PG_CONFIG) --version 2>/dev/null)
.built-for: FORCE
	@echo '$(PG_BUILT_FOR)' | cmp -s - $@ || echo '$(PG_BUILT_FOR)' >$@
.PHONY: FORCE
FORCE:
$(OBJS): .built-for

# The concurrent-payment tool (test/tools/payment_race.c), a libpq client.
PAYMENT_RACE = test/tools/payment_race
$(PAYMENT_RACE): test/tools/payment_race.c .built-for
	$(CC) -Wall -Wextra -Werror -O2 -I$(shell $(PG_CONFIG) --includedir) \
		-o $@ $< -L$(shell $(PG_CONFIG) --libdir) -lpq -lpthread

# Each suite on its own, so the harness can report them separately.

.PHONY: test demo demo-stop fuzz payment-race regresscheck isolationcheck tapcheck
regresscheck:
	$(pg_regress_installcheck) $(REGRESS_OPTS) --dbname=contrib_regression $(REGRESS)
isolationcheck:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) --dbname=isolation_regression $(ISOLATION)
tapcheck:
	$(prove_installcheck)

test:
	bash test/run-tests.sh
demo:
	bash test/demo/demo.sh
demo-stop:
	bash test/demo/demo.sh stop
payment-race: $(PAYMENT_RACE)
fuzz:
	bash test/fuzz/sqlsmith.sh $(or $(QUERIES),20000) $(or $(SEED),1)
# PostgreSQL's own regression suite with and without tenant_guard; needs
# the built source tree of the PostgreSQL PG_CONFIG names (PG_SOURCE).
.PHONY: core-regress
core-regress:
	bash test/core-regress.sh $(PG_SOURCE)

# The benchmark (README, "Performance"); settings via BENCH_* variables.
.PHONY: bench bench-callgrind bench-violation
bench:
	bash test/bench/run.sh
bench-callgrind:
	bash test/bench/callgrind.sh
bench-violation:
	bash test/bench/violation_cost.sh
