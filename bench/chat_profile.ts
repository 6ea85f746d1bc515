/**
 * `--explain` for the chat benchmark: where the time of the chat statements goes, on the bench's
 * scratch database after the measured phases, run the way the app runs them (in a transaction as
 * the member: role and `request.jwt.claims` set, so RLS is part of every plan; the unread fan-out
 * of lib/chat/fanout.ts as the connection's own role, as the app does).
 *
 * 1. Statement times (median of repeated runs) as shipped, next to an alternative: a rewritten
 *    statement, a `bench_*` function or an index created here, in the scratch database only. This
 *    is evidence for suggestions; nothing the app uses.
 * 2. EXPLAIN (ANALYZE, BUFFERS) of the statements that matter.
 */
import { asUser } from "@/lib/db/as_user.ts";
import type { Db, Queryable } from "@/lib/db/port.ts";
import { ROOM_COLUMNS } from "@/lib/chat/views.ts";
import type { BenchUser, History } from "./chat_data.ts";
import type { Term } from "./chat_queries.ts";

// The statements, as lib/chat/*.ts sends them.
const FROM_ROOMS = `public.rooms r
  left join public.room_members rm on rm.room_id = r.id and rm.user_id = (select auth.uid())`;
const MEMBERSHIP = `select ${ROOM_COLUMNS} from ${FROM_ROOMS} where r.id = $1`;
const MEMBERSHIP_ONLY =
  `select r.id, r.kind, r.member_count, rm.user_id is not null as joined, rm.role, rm.muted_until
   from ${FROM_ROOMS} where r.id = $1`;
const PREVIOUS = `select public.chat_message_json(m) as j from public.messages m
  where m.user_id = auth.uid() and m.client_id = $1`;
const PAGE = `select public.chat_message_json(m) as j from public.messages m
  where m.room_id = $1 and ($2::bigint is null or m.id < $2) order by m.id desc limit $3`;
const SEARCH = `select public.chat_message_json(m) || jsonb_build_object('room_name', r.name) as j
  from public.messages m join public.rooms r on r.id = m.room_id
  where m.search @@ websearch_to_tsquery('english', $1) and m.deleted_at is null and m.kind <> 'system'
    and m.room_id in (select public.chat_my_room_ids())
    and ($2::uuid is null or m.room_id = $2) and ($3::bigint is null or m.id < $3)
  order by m.id desc limit $4`;
const FANOUT = `select rm.user_id, (
    select count(*)::int from (
      select 1 from public.messages m
      where m.room_id = rm.room_id and m.id > rm.last_read_id and m.kind <> 'system'
        and m.deleted_at is null and m.user_id is distinct from rm.user_id
      limit 1000) u) as n
  from public.room_members rm where rm.room_id = $1 and rm.user_id is distinct from $2`;

// Alternatives.
const SEARCH_VIA_IDS = `select public.chat_message_json(m) || jsonb_build_object('room_name', r.name) as j
  from public.bench_search_ids($1, $2, $3, $4) s(id)
  join public.messages m on m.id = s.id join public.rooms r on r.id = m.room_id
  order by m.id desc`;
const UNREAD_INDEX = `create index if not exists bench_messages_unread_idx on public.messages (room_id, id)
  include (user_id) where kind <> 'system' and deleted_at is null`;

async function createFunctions(db: Db): Promise<void> {
  const [{ def }] = await db.query<{ def: string }>(
    "select pg_get_functiondef('public.chat_message_json(public.messages)'::regprocedure) as def",
  );
  const start = def.indexOf("AS $function$") + "AS $function$".length;
  const body = def.slice(start, def.lastIndexOf("$function$")).replaceAll(
    "public.iso_utc(",
    "public.bench_iso_utc(",
  );
  await db.exec(`
    -- iso_utc without its SET clause (an invoker function that calls only pg_catalog): it inlines.
    create or replace function public.bench_iso_utc(t timestamptz) returns text language sql stable as $$
      select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    $$;
    create or replace function public.bench_message_json(m public.messages) returns jsonb
    language sql stable set search_path = '' as $bench$${body}$bench$;
    -- The ids of a search page: security definer, so no RLS on messages and the GIN index can serve
    -- @@ (not leakproof, so never an index condition under RLS); the caller's rooms are written out
    -- as an array, and the statement is planned for that array and that term on every call.
    create or replace function public.bench_search_ids(p_q text, p_room uuid, p_before bigint, p_limit int)
    returns setof bigint language plpgsql stable security definer set search_path = '' as $$
    declare
      v_rooms uuid[];
    begin
      select array_agg(rm.room_id) into v_rooms from public.room_members rm
      where rm.user_id = auth.uid() and (p_room is null or rm.room_id = p_room);
      return query execute
        'select m.id from public.messages m
         where m.search @@ websearch_to_tsquery(''english'', $1) and m.deleted_at is null
           and m.kind <> ''system'' and m.room_id = any($2) and ($3::bigint is null or m.id < $3)
         order by m.id desc limit $4' using p_q, v_rooms, p_before, p_limit;
    end $$;`);
}

type Runner = (fn: (tx: Queryable) => Promise<unknown>) => Promise<unknown>;
const as = (db: Db, u: BenchUser | null): Runner => (fn) =>
  u ? asUser(db, { sub: u.id, role: "authenticated" }, fn) : db.transaction(fn);

/** Median ms of `n` runs (after 2 unmeasured) and the rows of the last one. */
async function median(run: Runner, sql: string, params: () => unknown[], n = 15): Promise<[number, string]> {
  const t: number[] = [];
  let rows = "";
  for (let i = 0; i < n + 2; i++) {
    const p = params();
    const s = performance.now();
    const r = await run((tx) => tx.query(sql, p));
    if (i >= 2) t.push(performance.now() - s);
    rows = JSON.stringify(r);
  }
  t.sort((a, b) => a - b);
  return [t[Math.floor(n / 2)], rows];
}

async function explain(run: Runner, sql: string, params: unknown[]): Promise<string> {
  const rows = (await run((tx) => tx.query(`explain (analyze, buffers) ${sql}`, params))) as Record<
    string,
    string
  >[];
  return rows.map((r) => r["QUERY PLAN"]).join("\n");
}

/** Runs the profile; returns Markdown. */
export async function profile(db: Db, h: History, terms: Term[]): Promise<string> {
  await createFunctions(db);
  const member = as(db, h.oneRoom);
  const plain = as(db, null);
  const mid = Math.floor((h.bigRoomIds.first + h.bigRoomIds.last) / 2);
  const small = h.smallRooms[0];
  const [delivery] = await db.query<{ id: string }>("select id from public.rooms where name = 'Delivery'");
  const pick = (kind: Term["kind"]) => terms.find((t) => t.kind === kind)!.q;
  const nonce = () => [`bench-none-${crypto.randomUUID()}`];
  const rows: string[] = [];
  const line = (what: string, a: [number, string], b: [number, string], same = true) =>
    rows.push(
      `| ${what} | ${a[0].toFixed(2)} | ${b[0].toFixed(2)} | ${(a[0] / b[0]).toFixed(1)} × | ${
        !same ? "n/a" : a[1] === b[1] ? "yes" : "**no**"
      } |`,
    );
  const compare = async (what: string, run: Runner, a: string, b: string, params: () => unknown[]) =>
    line(what, await median(run, a, params), await median(run, b, params));

  // Posting (lib/chat/messages.ts postMessage) and every room request (requireMembership).
  await compare(
    "Post: idempotency check (client_id), `m.user_id = auth.uid()` → `= (select auth.uid())`",
    member,
    PREVIOUS,
    PREVIOUS.replace("= auth.uid()", "= (select auth.uid())"),
    nonce,
  );
  await compare(
    "requireMembership, big room: room with unread count and last message → membership columns only",
    member,
    MEMBERSHIP,
    MEMBERSHIP_ONLY,
    () => [h.bigRoom],
  );
  rows[rows.length - 1] = rows[rows.length - 1].replace(/\| yes \||\| \*\*no\*\* \|/, "| n/a |");
  await compare(
    "History page deep in the big room: `iso_utc` as shipped → inlined (no SET clause)",
    member,
    PAGE,
    PAGE.replace("public.chat_message_json(", "public.bench_message_json("),
    () => [h.bigRoom, mid, 51],
  );
  // Search (searchMessages): as shipped → ids from the definer function.
  for (const kind of ["rare", "medium", "common", "two words"] as const) {
    for (
      const [who, u] of [["big room", h.oneRoom], ["20 rooms", h.twentyRooms], [
        "small room",
        h.smallRoomOnly,
      ]] as const
    ) {
      await compare(
        `Search \`${pick(kind)}\` (${kind}), member of the ${who}: as shipped → \`bench_search_ids\``,
        as(db, u),
        SEARCH,
        SEARCH_VIA_IDS,
        () => [pick(kind), null, null, 21],
      );
    }
  }
  // Unread counts (afterPost fan-out; the same count is in requireMembership): before and after a
  // partial covering index on (room_id, id).
  const fanoutCases: [string, string][] = [
    ["small room (members last read before the history)", small],
    ["big room", h.bigRoom],
    ...(delivery ? [["delivery room (after part 1)", delivery.id] as [string, string]] : []),
  ];
  const before = [];
  for (const [, room] of fanoutCases) before.push(await median(plain, FANOUT, () => [room, null]));
  const membershipBefore = await median(as(db, h.behind), MEMBERSHIP, () => [h.bigRoom]);
  const plans: [string, string][] = [
    ["Post: idempotency check as shipped", await explain(member, PREVIOUS, nonce())],
    ["afterPost unread counts, small room, as shipped", await explain(plain, FANOUT, [small, null])],
  ];
  await db.exec(UNREAD_INDEX);
  await db.exec("vacuum analyze public.messages");
  for (const [i, [label, room]] of fanoutCases.entries()) {
    line(
      `afterPost unread counts, ${label}: as shipped → with \`${"(room_id, id) include (user_id) where kind <> 'system' and deleted_at is null"}\``,
      before[i],
      await median(plain, FANOUT, () => [room, null]),
    );
  }
  line(
    "requireMembership, big room, member with 1,000+ unread: as shipped → with that index",
    membershipBefore,
    await median(as(db, h.behind), MEMBERSHIP, () => [h.bigRoom]),
  );
  plans.push(["The same with that index", await explain(plain, FANOUT, [small, null])]);
  await db.exec("drop index public.bench_messages_unread_idx");
  await db.exec("analyze public.messages");

  const rare = pick("rare");
  plans.push(
    [
      `Search \`${rare}\` (rare) as a member of the big room, as shipped`,
      await explain(member, SEARCH, [rare, null, null, 21]),
    ],
    [
      "The same statement as the table owner (no RLS; the membership written out)",
      await explain(
        plain,
        SEARCH.replace(
          "(select public.chat_my_room_ids())",
          `(select room_id from public.room_members where user_id = '${h.oneRoom.id}')`,
        ),
        [rare, null, null, 21],
      ),
    ],
    [
      `Search \`${pick("medium")}\` (medium) as a member of one small room, as shipped`,
      await explain(as(db, h.smallRoomOnly), SEARCH, [pick("medium"), null, null, 21]),
    ],
    ["requireMembership, big room, as shipped", await explain(member, MEMBERSHIP, [h.bigRoom])],
    ["History page deep in the big room, as shipped", await explain(member, PAGE, [h.bigRoom, mid, 51])],
  );
  const out = [
    "Median of 15 runs of each statement alone, as the app runs it (in a transaction as the member; the",
    "fan-out as the connection's role), as shipped and with the alternative (created in the scratch database):",
    "",
    "| Statement | As shipped (ms) | Alternative (ms) | Ratio | Same rows |",
    "| --- | ---: | ---: | ---: | --- |",
    ...rows,
    "",
  ];
  for (const [title, plan] of plans) out.push(`#### ${title}`, "", "```", plan, "```", "");
  return out.join("\n");
}
