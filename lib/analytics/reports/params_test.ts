import assert from "node:assert/strict";
import {
  bindValues,
  describeValues,
  isCalendarDate,
  PARAM_TYPES,
  type ParamDef,
  paramDefSchema,
  paramDefsSchema,
  ParamError,
  SQL_CASTS,
} from "./params.ts";

/** Asserts that `fn` throws a ParamError with `code` (and `param` when given); returns it. */
function paramError(fn: () => unknown, code: string, param?: string): ParamError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ParamError, `expected ParamError, got ${err}`);
    assert.equal(err.name, "ParamError");
    assert.equal(err.code, code, err.message);
    if (param !== undefined) assert.equal(err.param, param);
    return err;
  }
  assert.fail(`expected ${code}`);
}

/** Binds a single parameter `x` of `type` from a query string. */
function bind1(type: ParamDef["type"], query: string, extra: Partial<ParamDef> = {}): unknown {
  return bindValues([{ name: "x", type, ...extra }], new URLSearchParams(query), ["x"])[0];
}

Deno.test("params: every type has a cast", () => {
  for (const type of PARAM_TYPES) assert.ok(SQL_CASTS[type]);
  assert.equal(SQL_CASTS.date_range, "daterange");
  assert.equal(SQL_CASTS.number_list, "numeric[]");
});

Deno.test("params: text", () => {
  assert.equal(bind1("text", "x=hello"), "hello");
  assert.equal(bind1("text", "x="), "");
  assert.equal(bind1("text", "x=" + encodeURIComponent("' or 1=1 --")), "' or 1=1 --");
  assert.equal(bind1("text", "x=" + "a".repeat(1000)), "a".repeat(1000));
  paramError(() => bind1("text", "x=" + "a".repeat(1001)), "invalid_parameter", "x");
  const err = paramError(() => bind1("text", "x=a&x=b"), "invalid_parameter", "x");
  assert.match(err.message, /single value/);
  paramError(() => bind1("text", ""), "missing_parameter", "x");
  assert.equal(bind1("text", "", { default: "dflt" }), "dflt");
  assert.equal(bind1("text", "", { required: false }), null);
  assert.equal(bind1("text", "x=given", { default: "dflt" }), "given");
});

Deno.test("params: number", () => {
  for (const good of ["0", "42", "-0.5", "1e3", "2.5E-3", "1e+3", "007", "123456789012345678901234567890"]) {
    assert.equal(bind1("number", `x=${encodeURIComponent(good)}`), good);
  }
  for (
    const bad of [
      "abc",
      "NaN",
      "Infinity",
      "-Infinity",
      "",
      " 1",
      "1 ",
      "+3",
      ".5",
      "5.",
      "1,5",
      "0x10",
      "1e",
    ]
  ) {
    const err = paramError(() => bind1("number", `x=${encodeURIComponent(bad)}`), "invalid_parameter", "x");
    assert.match(err.message, /x must be a number/);
  }
  paramError(() => bind1("number", "x=" + "1".repeat(101)), "invalid_parameter");
  paramError(() => bind1("number", ""), "missing_parameter");
  assert.equal(bind1("number", "", { default: "10" }), "10");
  paramError(() => bind1("number", "x=1&x=2"), "invalid_parameter");
  // JSON numbers are accepted and bound as their decimal text.
  assert.deepEqual(bindValues([{ name: "x", type: "number" }], { x: 2.5 }, ["x"]), ["2.5"]);
  paramError(() => bindValues([{ name: "x", type: "number" }], { x: NaN }, ["x"]), "invalid_parameter");
  paramError(() => bindValues([{ name: "x", type: "number" }], { x: Infinity }, ["x"]), "invalid_parameter");
});

Deno.test("params: date", () => {
  assert.equal(bind1("date", "x=2026-11-01"), "2026-11-01");
  assert.equal(bind1("date", "x=2024-02-29"), "2024-02-29");
  assert.equal(bind1("date", "x=2000-02-29"), "2000-02-29");
  for (
    const bad of [
      "2026-13-01",
      "2025-02-29",
      "1900-02-29",
      "2026-02-30",
      "2026-04-31",
      "2026-00-10",
      "0000-01-01",
    ]
  ) {
    const err = paramError(() => bind1("date", `x=${bad}`), "invalid_parameter", "x");
    assert.equal(err.message, "x must be a date like 2026-11-01");
  }
  for (const bad of ["2026-1-01", "26-01-01", "2026/01/01", "2026-01-01T00:00", "today", ""]) {
    paramError(() => bind1("date", `x=${encodeURIComponent(bad)}`), "invalid_parameter");
  }
  paramError(() => bind1("date", ""), "missing_parameter");
  assert.equal(bind1("date", "", { default: "2026-01-01" }), "2026-01-01");
  paramError(() => bind1("date", "x=2026-01-01&x=2026-01-02"), "invalid_parameter");
  assert.ok(isCalendarDate("9999-12-31"));
  assert.ok(!isCalendarDate("2026-12-32"));
});

Deno.test("params: date_range", () => {
  assert.equal(bind1("date_range", "x=2026-11-01..2026-11-30"), "[2026-11-01,2026-11-30]");
  assert.equal(bind1("date_range", "x=2026-11-01..2026-11-01"), "[2026-11-01,2026-11-01]");
  for (
    const bad of [
      "2026-11-01",
      "2026-11-01..",
      "..2026-11-30",
      "2026-11-01...2026-11-30",
      "2026-11-01..2026-11-30..2026-12-01",
      "2026-11-01..2026-13-01",
      "2025-02-29..2025-03-01",
      "2026-11-01 - 2026-11-30",
      "[2026-11-01,2026-11-30]",
    ]
  ) {
    const err = paramError(
      () => bind1("date_range", `x=${encodeURIComponent(bad)}`),
      "invalid_parameter",
      "x",
    );
    assert.match(err.message, /^x must be a date range like 2026-11-01\.\.2026-11-30/);
  }
  const backwards = paramError(() => bind1("date_range", "x=2026-11-30..2026-11-01"), "invalid_parameter");
  assert.match(backwards.message, /start must not be after the end/);
  paramError(() => bind1("date_range", ""), "missing_parameter");
  assert.equal(bind1("date_range", "", { default: "2026-01-01..2026-01-31" }), "[2026-01-01,2026-01-31]");
  paramError(
    () => bind1("date_range", "x=2026-01-01..2026-01-02&x=2026-01-01..2026-01-02"),
    "invalid_parameter",
  );
});

Deno.test("params: text_list", () => {
  assert.deepEqual(bind1("text_list", "x=a&x=b"), ["a", "b"]);
  assert.deepEqual(bind1("text_list", "x=a"), ["a"]);
  assert.deepEqual(bind1("text_list", "x="), [""]);
  assert.deepEqual(bind1("text_list", "", { default: ["p", "q"] }), ["p", "q"]);
  assert.deepEqual(bind1("text_list", "", { default: [] }), []);
  assert.equal(bind1("text_list", "", { required: false }), null);
  paramError(() => bind1("text_list", ""), "missing_parameter");
  const many = Array.from({ length: 101 }, (_, i) => `x=v${i}`).join("&");
  const err = paramError(() => bind1("text_list", many), "invalid_parameter", "x");
  assert.match(err.message, /at most 100/);
  assert.equal(
    (bind1("text_list", Array.from({ length: 100 }, () => "x=v").join("&")) as string[]).length,
    100,
  );
  paramError(() => bind1("text_list", "x=a&x=" + "b".repeat(1001)), "invalid_parameter");
  // JSON arrays; an empty one is not a value.
  const defs: ParamDef[] = [{ name: "x", type: "text_list" }];
  assert.deepEqual(bindValues(defs, { x: ["a", "b"] }, ["x"]), [["a", "b"]]);
  assert.deepEqual(bindValues(defs, { x: "solo" }, ["x"]), [["solo"]]);
  paramError(() => bindValues(defs, { x: [] }, ["x"]), "invalid_parameter");
});

Deno.test("params: number_list", () => {
  assert.deepEqual(bind1("number_list", "x=1&x=-2.5&x=1e3"), ["1", "-2.5", "1e3"]);
  const err = paramError(() => bind1("number_list", "x=1&x=NaN"), "invalid_parameter", "x");
  assert.match(err.message, /x must be a number.*value 2: "NaN"/);
  paramError(() => bind1("number_list", "x=Infinity"), "invalid_parameter");
  paramError(() => bind1("number_list", "x="), "invalid_parameter");
  paramError(
    () => bind1("number_list", Array.from({ length: 101 }, () => "x=1").join("&")),
    "invalid_parameter",
  );
  assert.deepEqual(bind1("number_list", "", { default: ["3"] }), ["3"]);
  paramError(() => bind1("number_list", ""), "missing_parameter");
});

Deno.test("params: date_list", () => {
  assert.deepEqual(bind1("date_list", "x=2026-11-01&x=2026-11-02"), ["2026-11-01", "2026-11-02"]);
  paramError(() => bind1("date_list", "x=2026-11-01&x=2026-13-01"), "invalid_parameter");
  paramError(() => bind1("date_list", "x=2025-02-29"), "invalid_parameter");
  paramError(
    () => bind1("date_list", Array.from({ length: 101 }, () => "x=2026-01-01").join("&")),
    "invalid_parameter",
  );
  assert.deepEqual(bind1("date_list", "", { default: ["2026-01-01"] }), ["2026-01-01"]);
  paramError(() => bind1("date_list", ""), "missing_parameter");
});

Deno.test("params: unknown keys, ignore, order and undeclared placeholders", () => {
  const defs: ParamDef[] = [
    { name: "q", type: "text" },
    { name: "n", type: "number", default: "5" },
    { name: "d", type: "date", required: false },
  ];
  const err = paramError(
    () => bindValues(defs, new URLSearchParams("q=a&zzz=1"), ["q"]),
    "unknown_parameter",
  );
  assert.equal(err.param, "zzz");
  assert.match(err.message, /zzz/);
  paramError(() => bindValues(defs, { q: "a", __proto__x: "1" }, ["q"]), "unknown_parameter");
  assert.deepEqual(
    bindValues(defs, new URLSearchParams("q=a&format=csv"), ["n", "q", "d"], { ignore: ["format"] }),
    ["5", "a", null],
  );
  // A null in a JSON object counts as absent.
  assert.deepEqual(bindValues(defs, { q: "a", n: null, d: null }, ["q", "n", "d"]), ["a", "5", null]);
  const undeclared = paramError(() => bindValues(defs, { q: "a" }, ["q", "other"]), "unknown_parameter");
  assert.equal(undeclared.param, "other");
  // Declared parameters are validated even when the SQL does not use them.
  paramError(() => bindValues(defs, { q: "a", n: "x" }, ["q"]), "invalid_parameter", "n");
  paramError(() => bindValues(defs, {}, []), "missing_parameter", "q");
  // Prototype keys are plain keys.
  paramError(() => bindValues(defs, JSON.parse('{"q":"a","__proto__":"x"}'), ["q"]), "unknown_parameter");
  paramError(() => bindValues(defs, { q: "a", constructor: "x" }, ["q"]), "unknown_parameter");
});

Deno.test("params: describeValues for the audit log", () => {
  const defs: ParamDef[] = [
    { name: "q", type: "text" },
    { name: "period", type: "date_range", default: "2026-01-01..2026-01-31" },
    { name: "kinds", type: "text_list" },
    { name: "d", type: "date", required: false },
  ];
  assert.deepEqual(describeValues(defs, new URLSearchParams("q=hi&kinds=a&kinds=b")), {
    q: "hi",
    period: "2026-01-01..2026-01-31",
    kinds: ["a", "b"],
    d: null,
  });
  assert.deepEqual(describeValues(defs, new URLSearchParams("kinds=a&format=csv"), { ignore: ["format"] }), {
    q: null,
    period: "2026-01-01..2026-01-31",
    kinds: ["a"],
    d: null,
  });
  // Never throws: invalid and unknown input is recorded as given (clipped).
  const described = describeValues(defs, { q: ["x", "y"], d: "nope", extra: "z".repeat(2000) });
  assert.deepEqual(described.q, ["x", "y"]);
  assert.equal(described.d, "nope");
  assert.equal((described.extra as string).length, 1000);
  const proto = describeValues([], JSON.parse('{"__proto__":["a","b"]}'));
  assert.deepEqual(Object.keys(proto), ["__proto__"]);
  assert.equal(JSON.stringify(proto), '{"__proto__":["a","b"]}');
});

Deno.test("params: paramDefSchema", () => {
  const ok = (def: unknown) => assert.ok(paramDefSchema.safeParse(def).success, JSON.stringify(def));
  const bad = (def: unknown) => assert.ok(!paramDefSchema.safeParse(def).success, JSON.stringify(def));
  ok({ name: "q", type: "text" });
  ok({ name: "_a1", type: "number", label: "Count", default: "1e3", required: true });
  ok({ name: "period", type: "date_range", default: "2026-01-01..2026-01-31" });
  ok({ name: "kinds", type: "text_list", default: [] });
  ok({ name: "ns", type: "number_list", default: ["1", "2"] });
  ok({ name: "x".repeat(40), type: "text", required: false, default: "" });
  bad({ name: "Q", type: "text" });
  bad({ name: "1a", type: "text" });
  bad({ name: "x".repeat(41), type: "text" });
  bad({ name: "q", type: "uuid" });
  bad({ name: "q", type: "text", extra: 1 });
  bad({ name: "q", type: "text", label: "l".repeat(81) });
  bad({ name: "q", type: "text", default: "t".repeat(1001) });
  bad({ name: "q", type: "text", default: ["a"] });
  bad({ name: "q", type: "text_list", default: "a" });
  bad({ name: "q", type: "number", default: "abc" });
  bad({ name: "q", type: "date", default: "2026-02-30" });
  bad({ name: "q", type: "date_range", default: "2026-02-01..2026-01-01" });
  bad({ name: "q", type: "date_list", default: ["2026-01-01", "2026-13-01"] });
  bad({ name: "q", type: "number_list", default: Array.from({ length: 101 }, () => "1") });
  bad({ name: "q", type: "text", required: "yes" });
  const result = paramDefSchema.safeParse({ name: "q", type: "number", default: "NaN" });
  assert.ok(!result.success);
  assert.deepEqual(result.error.issues[0].path, ["default"]);
  assert.match(result.error.issues[0].message, /q must be a number/);
});

Deno.test("params: paramDefsSchema", () => {
  assert.ok(paramDefsSchema.safeParse([]).success);
  assert.ok(paramDefsSchema.safeParse([{ name: "a", type: "text" }, { name: "b", type: "date" }]).success);
  const dup = paramDefsSchema.safeParse([{ name: "a", type: "text" }, { name: "a", type: "date" }]);
  assert.ok(!dup.success);
  assert.equal(dup.error.issues[0].message, "duplicate parameter name");
  const twenty = Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, type: "text" }));
  assert.ok(paramDefsSchema.safeParse(twenty).success);
  assert.ok(!paramDefsSchema.safeParse([...twenty, { name: "p20", type: "text" }]).success);
});
