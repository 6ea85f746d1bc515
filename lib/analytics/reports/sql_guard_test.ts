import assert from "node:assert/strict";
import { compileReportSql, placeholderNames, SqlGuardError, wrapForRun } from "./sql_guard.ts";

const CASTS = { q: "text", n: "numeric", day: "date", period: "daterange", kinds: "text[]" };

/** Asserts that compiling `sql` is refused with `reason`; returns the error for further checks. */
function refused(sql: string, reason: string, options?: { embedded?: boolean }): SqlGuardError {
  try {
    compileReportSql(sql, CASTS, options);
  } catch (err) {
    assert.ok(err instanceof SqlGuardError, `expected SqlGuardError, got ${err}`);
    assert.equal(err.name, "SqlGuardError");
    assert.equal(err.reason, reason, `${JSON.stringify(sql)}: ${err.message}`);
    assert.ok(err.message.length > 0);
    return err;
  }
  assert.fail(`expected ${reason} for ${JSON.stringify(sql)}`);
}

function allowed(sql: string, options?: { embedded?: boolean }) {
  return compileReportSql(sql, CASTS, options);
}

Deno.test("sql_guard: plain queries pass through unchanged", () => {
  for (
    const sql of [
      "select 1",
      "SELECT day, value FROM daily_metrics WHERE metric = 'dau'",
      "with t as (select 1 as x) select * from t",
      "values (1), (2)",
      "table daily_metrics",
      "(select 1) union (select 2)",
      "((select 1))",
      "/* lead */ -- comment\n select 1",
      "select now() - interval '1' day, '2026-01-01'::date, x::text from t",
      "select count(*), pg_backend_pid(), current_setting('timezone')",
      "select pg_catalog.now(), pg_catalog.lower('A')",
      'select "Weird ""Name""" from t',
      "select pg_sleep(1)",
      "select select(1)",
    ]
  ) {
    const out = allowed(sql);
    assert.equal(out.text, sql);
    assert.deepEqual(out.params, []);
  }
});

Deno.test("sql_guard: empty", () => {
  refused("", "empty");
  refused("   \n\t ", "empty");
  refused("-- just a comment", "empty");
  refused("/* a */ /* b /* nested */ */", "empty");
  refused(";", "empty");
});

Deno.test("sql_guard: too_long", () => {
  refused("select 1" + " ".repeat(20_000), "too_long");
  refused("select '" + "x".repeat(20_001) + "'", "too_long");
  allowed("select 1" + " ".repeat(20_000 - 8));
});

Deno.test("sql_guard: multiple_statements", () => {
  refused("select 1; select 2", "multiple_statements");
  refused("select 1;select 2;", "multiple_statements");
  refused("select 1; delete from t", "multiple_statements");
  refused("select 1;;", "multiple_statements");
  refused("select 1 /* ; */ ; -- x\n set x = 1", "multiple_statements");
});

Deno.test("sql_guard: one trailing ; is allowed and removed", () => {
  assert.equal(allowed("select 1;").text, "select 1");
  assert.equal(allowed("select 1 ;  -- done\n").text, "select 1   -- done\n");
  assert.equal(allowed("select 1; /* bye */").text, "select 1 /* bye */");
});

Deno.test("sql_guard: semicolons inside strings, identifiers, comments and dollar quotes are fine", () => {
  for (
    const sql of [
      "select 'a;b'",
      "select 'it''s; fine'",
      "select E'a\\';b'",
      'select 1 as "x;y"',
      "select 1 -- ; drop table x\n",
      "select 1 /* ; /* ; */ ; */",
      "select $$a;b$$",
      "select $tag$ ; select 2; $notag$ $tag$",
    ]
  ) {
    assert.equal(allowed(sql).text, sql);
  }
});

Deno.test("sql_guard: not_a_query", () => {
  refused("delete from t", "not_a_query");
  refused("UPDATE t SET x = 1", "not_a_query");
  refused("set search_path = public", "not_a_query");
  refused("copy t to stdout", "not_a_query");
  refused("do $$ begin end $$", "not_a_query");
  refused("call p()", "not_a_query");
  refused("listen x", "not_a_query");
  refused("explain select 1", "not_a_query");
  refused("( -- c\n insert into t values (1))", "not_a_query");
  refused('"select" 1', "not_a_query");
  refused("'select'", "not_a_query");
  refused("((", "not_a_query");
});

Deno.test("sql_guard: forbidden_function in many spellings", () => {
  for (
    const sql of [
      "select set_config('a', 'b', false)",
      "select SET_CONFIG('a', 'b', false)",
      "select \"set_config\"('a', 'b', false)",
      "select pg_catalog.set_config('a', 'b', false)",
      "select PG_CATALOG . SET_CONFIG ('a', 'b', false)",
      "select \"pg_catalog\".\"set_config\"('a', 'b', false)",
      "select set_config/*x*/('a', 'b', false)",
      "select set_config -- x\n ('a', 'b', false)",
      "select 1set_config('a','b',false)",
      "select query_to_xml('select 1', true, true, '')",
      "select query_to_xml_and_xmlschema('select 1', true, true, '')",
      "select table_to_xmlschema('t', true, true, '')",
      "select cursor_to_xml('c', 1, true, true, '')",
      "select schema_to_xml('s', true, true, '')",
      "select database_to_xml(true, true, '')",
      "select * from ts_stat('select v from t')",
      "select ts_rewrite('a'::tsquery, 'select 1')",
      "select pg_read_file('/etc/passwd')",
      "select pg_read_binary_file('/etc/passwd')",
      "select * from pg_ls_dir('.')",
      "select pg_stat_file('x')",
      "select lo_import('/etc/passwd')",
      "select lo_get(1)",
      "select * from dblink('host=x', 'select 1') as t(a int)",
      "select dblink_exec('x', 'drop table t')",
      "select pg_terminate_backend(1)",
      "select pg_cancel_backend(1)",
      "select pg_reload_conf()",
      "select pg_rotate_logfile()",
      "select pg_promote()",
      "select pg_advisory_lock(1)",
      "select pg_try_advisory_xact_lock(1)",
      "select pg_notify('c', 'x')",
      "select pg_logical_emit_message(true, 'x', 'y')",
      "select pg_replication_origin_create('x')",
      "select pg_create_restore_point('x')",
      "select pg_drop_replication_slot('x')",
      "select pg_switch_wal()",
      "select pg_export_snapshot()",
      "select pg_import_snapshot('x')",
      "select txid_current()",
      "select pg_current_xact_id()",
      "select nextval('s')",
      "select setval('s', 1)",
      "select currval('s')",
      "select lastval()",
    ]
  ) {
    refused(sql, "forbidden_function");
  }
});

Deno.test("sql_guard: quoted names match exactly", () => {
  allowed('select "SET_CONFIG"(1)');
  allowed('select "Set_Config"(1)');
  refused('select "set_config"(1)', "forbidden_function");
});

Deno.test("sql_guard: deny-listed names that are not calls are fine", () => {
  allowed("select set_config from t");
  allowed("select 'set_config(1)'");
  allowed("select $$ select set_config('a','b',false) $$");
  allowed("select $body$ pg_read_file('/x') $body$");
  allowed("select 1 -- set_config('a','b',false)\n");
  allowed("select 1 /* set_config('a','b',false) */");
  allowed('select "set_config" from t');
  allowed("select lower('X'), log(2, 8), loc.x from loc");
});

Deno.test("sql_guard: pg_sleep is refused only in embedded mode", () => {
  allowed("select pg_sleep(1)");
  allowed("select pg_sleep_for('1 second')");
  const err = refused("select pg_sleep(100)", "forbidden_function", { embedded: true });
  assert.match(err.message, /embedded mode cannot interrupt a running query/);
  refused("select pg_catalog.pg_sleep_for('1 minute')", "forbidden_function", { embedded: true });
  refused("select PG_SLEEP_UNTIL(now() + interval '1 hour')", "forbidden_function", { embedded: true });
});

Deno.test("sql_guard: qualified_function", () => {
  refused("select public.f(1)", "qualified_function");
  refused('select "public"."f"(1)', "qualified_function");
  refused("select * from analytics.my_fn()", "qualified_function");
  refused("select auth . uid ( )", "qualified_function");
  refused('select "PG_CATALOG".now()', "qualified_function");
  allowed("select pg_catalog.now(), PG_CATALOG.upper('a'), \"pg_catalog\".lower('A')");
  allowed("select t.a, analytics.rooms.name from analytics.rooms join t on (t.id = rooms.id)");
});

Deno.test("sql_guard: positional_parameter", () => {
  refused("select $1", "positional_parameter");
  refused("select * from t where a = $12::int", "positional_parameter");
  refused("select x from t where y=$2", "positional_parameter");
  allowed("select '$1', $$ $1 $$, \"$1\" -- $1\n");
  allowed("select a$1 from t");
});

Deno.test("sql_guard: unicode_escape", () => {
  refused("select U&'d\\0061t\\+000061'", "unicode_escape");
  refused("select u&'x'", "unicode_escape");
  refused('select U&"d\\0061t" from t', "unicode_escape");
  allowed("select 'U&''x''', $$U&'x'$$ -- U&'x'\n");
  allowed("select menu&'x' from t");
});

Deno.test("sql_guard: unterminated", () => {
  refused("select 'abc", "unterminated");
  refused("select 'it''s", "unterminated");
  refused("select E'abc\\'", "unterminated");
  refused('select "abc', "unterminated");
  refused("select $$abc", "unterminated");
  refused("select $a$abc$b$", "unterminated");
  refused("select 1 /* abc", "unterminated");
  refused("select 1 /* /* nested */ abc", "unterminated");
});

Deno.test("sql_guard: nested comments and E-strings", () => {
  assert.equal(
    allowed("select 1 /* a /* b */ still comment; */").text,
    "select 1 /* a /* b */ still comment; */",
  );
  assert.equal(allowed("select E'it\\'s; {{q}}'").text, "select E'it\\'s; {{q}}'");
  assert.equal(allowed("select e'\\\\', {{q}}").text, "select e'\\\\', $1::text");
  // In a standard string a backslash is literal, so the string ends at the second quote.
  assert.equal(allowed("select '\\', {{q}}").text, "select '\\', $1::text");
});

Deno.test("sql_guard: placeholders compile to cast parameters", () => {
  const out = allowed(
    "select * from t where a = {{q}} and d <@ {{ period }} and b = {{q}} and c = any({{kinds}})",
  );
  assert.equal(
    out.text,
    "select * from t where a = $1::text and d <@ $2::daterange and b = $1::text and c = any($3::text[])",
  );
  assert.deepEqual(out.params, ["q", "period", "kinds"]);
  assert.deepEqual(placeholderNames("select {{q}}, {{n}}, {{ q }}, '{{x}}'"), ["q", "n"]);
});

Deno.test("sql_guard: placeholders inside strings and comments stay literal", () => {
  const sql = "select '{{q}}', $$ {{q}} $$, \"{{q}}\" -- {{q}}\n /* {{nope}} */";
  const out = allowed(sql);
  assert.equal(out.text, sql);
  assert.deepEqual(out.params, []);
  assert.deepEqual(placeholderNames(sql), []);
});

Deno.test("sql_guard: a placeholder stays a separate token", () => {
  assert.equal(allowed("select x{{q}}y").text, "select x $1::text y");
  assert.equal(allowed("select -{{n}}, {{n}}::int").text, "select -$1::numeric, $1::numeric::int");
  // A subscript must apply to the value, not become array bounds of the cast type.
  assert.equal(
    allowed("select {{kinds}}[1], {{kinds}} [2:3]").text,
    "select ($1::text[])[1], ($1::text[]) [2:3]",
  );
});

Deno.test("sql_guard: bad and unknown placeholders", () => {
  refused("select {{Q}}", "bad_placeholder");
  refused("select {{1a}}", "bad_placeholder");
  refused("select {{}}", "bad_placeholder");
  refused("select {{a-b}}", "bad_placeholder");
  refused(`select {{${"a".repeat(41)}}}`, "bad_placeholder");
  refused("select {{q", "bad_placeholder");
  const err = refused("select {{missing}}", "unknown_placeholder");
  assert.match(err.message, /missing/);
  refused("select {{ other_one }}", "unknown_placeholder");
  assert.equal(
    compileReportSql(`select {{${"a".repeat(40)}}}`, { ["a".repeat(40)]: "text" }).text,
    "select $1::text",
  );
});

Deno.test("sql_guard: wrapForRun survives a trailing line comment", () => {
  const compiled = allowed("select {{q}} as a, {{n}} as b -- trailing comment");
  const wrapped = wrapForRun(compiled);
  assert.equal(
    wrapped,
    "select * from (\nselect $1::text as a, $2::numeric as b -- trailing comment\n) as report limit $3",
  );
  assert.ok(wrapped.endsWith("\n) as report limit $3"));
  const semi = wrapForRun(allowed("select 1; -- end"));
  assert.equal(semi, "select * from (\nselect 1 -- end\n) as report limit $1");
});
