/**
 * Data for the chat benchmark (bench/chat.ts): the scratch database (PGlite in a data dir, or a
 * `plaza_bench_chat_<random>` database on the server of DATABASE_URL, dropped at the end), users
 * with access tokens minted the way Plaza's auth mints them, rooms, and a bulk-loaded history of
 * messages with a Zipf-distributed vocabulary, replies and reactions.
 */
import postgres from "postgres";
import { hmacKey, signJwt } from "@/lib/auth/jwt.ts";
import { migrate } from "@/lib/db/migrate.ts";
import { openPglite } from "@/lib/db/pglite.ts";
import { openPostgres } from "@/lib/db/postgres.ts";
import type { Db } from "@/lib/db/port.ts";

/** The database the bench runs on. */
export interface BenchDatabase {
  kind: "pglite" | "postgres";
  /** For the report. */
  label: string;
  /** The scratch database's name on Postgres. */
  name?: string;
  /** Plaza's data dir (PGlite lives in `<dataDir>/db`). */
  dataDir: string;
  /** DATABASE_URL for Plaza ("" for embedded). */
  databaseUrl: string;
  /** A direct handle as the database owner (superuser): setup and bulk loading. Close it before Plaza opens PGlite. */
  open(): Promise<Db>;
  /** Drops the scratch database (Postgres); the data dir is removed by the caller. */
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminSql<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** Creates and migrates the scratch database: PGlite in `dataDir`, or a new database next to `url`'s. */
export async function createBenchDatabase(dataDir: string, url: string | undefined): Promise<BenchDatabase> {
  if (!url) {
    const db = await openPglite(`${dataDir}/db`);
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    return {
      kind: "pglite",
      label: "PGlite (embedded, data dir on disk)",
      dataDir,
      databaseUrl: "",
      open: () => openPglite(`${dataDir}/db`),
      drop: () => Promise.resolve(),
    };
  }
  const name = `plaza_bench_chat_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const version = await adminSql(url, async (sql) => {
    const [row] = await sql`show server_version`;
    await sql.unsafe(`create database ${name}`);
    return String(row.server_version).split(" ")[0];
  });
  const scratchUrl = withDatabase(url, name);
  const drop = () => adminSql(url, (sql) => sql.unsafe(`drop database if exists ${name} with (force)`));
  try {
    const db = openPostgres(scratchUrl, { max: 1 });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
  } catch (err) {
    await drop().catch(() => {});
    throw err;
  }
  return {
    kind: "postgres",
    label: `Postgres ${version} (scratch database ${name})`,
    name,
    dataDir,
    databaseUrl: scratchUrl,
    open: () => Promise.resolve(openPostgres(scratchUrl, { max: 4 })),
    drop: async () => {
      await drop();
    },
  };
}

/** A user of the bench: id, name and a bearer access token. */
export interface BenchUser {
  id: string;
  name: string;
  token: string;
}

/**
 * Inserts `count` users (each gets a profile from the signup trigger) and mints an access token for
 * each with Plaza's claim shape and key (HMAC of PLAZA_SECRET), valid for two hours.
 */
export async function createUsers(
  db: Db,
  secret: string,
  prefix: string,
  count: number,
): Promise<BenchUser[]> {
  const rows = await db.query<{ id: string; email: string; name: string }>(
    `insert into auth.users (email, raw_user_meta_data)
     select $1 || '-' || g || '@example.test', jsonb_build_object('name', initcap($1) || ' ' || g)
     from generate_series(1, $2::int) g
     returning id, email, raw_user_meta_data ->> 'name' as name`,
    [prefix, count],
  );
  const key = await hmacKey(secret);
  const now = Math.floor(Date.now() / 1000);
  return await Promise.all(rows.map(async (r) => ({
    id: r.id,
    name: r.name,
    token: await signJwt(key, {
      aud: "authenticated",
      iat: now,
      exp: now + 7200,
      sub: r.id,
      email: r.email,
      role: "authenticated",
      app_metadata: { provider: "email", providers: ["email"], role: "member" },
      user_metadata: { name: r.name },
      session_id: crypto.randomUUID(),
      is_anonymous: false,
    }),
  })));
}

/**
 * A private room owned by `owner` with `members` added, through the normal triggers (owner row,
 * member counts, join system messages). Returns its id.
 */
export async function createRoom(db: Db, name: string, owner: string, members: string[]): Promise<string> {
  const [room] = await db.query<{ id: string }>(
    `insert into public.rooms (kind, name, created_by) values ('private', $1, $2) returning id`,
    [name, owner],
  );
  const others = members.filter((m) => m !== owner);
  if (others.length) {
    await db.query(
      `insert into public.room_members (room_id, user_id)
       select $1, u::uuid from jsonb_array_elements_text($2::text::jsonb) u`,
      [room.id, JSON.stringify(others)],
    );
  }
  return room.id;
}

// ---------------------------------------------------------------------------------------------------
// Vocabulary: stop words first (the english configuration drops them), then content words in
// rank order; sampled with a Zipf distribution, so a few terms are in many messages and most in few.

const STOP = `i you the a to and it is that we of in for on my this be at have are with
  so but not can just me do will was if or your all get what our they there about its`;
const CONTENT = `thanks today tomorrow time order delivery pickup market please great morning stall
  coffee bread fresh price week weekend open close shop ready help price people place street
  table chair friday saturday sunday monday evening lunch dinner soup cheese apples pears tomatoes
  potatoes onion garlic herbs basil flowers plants honey jam eggs milk butter yogurt fish chicken
  sausage bakery cake cookies pie cash card change receipt bag box basket van bike parking corner
  square fountain church library school park bench queue line rain sunny cold warm wind umbrella
  music band festival stage poster flyer neighbour family kids dog cat photo picture message call
  phone address number question answer problem idea plan meeting group list note reminder sorry
  welcome hello goodbye later early late minute hour noon night week month year season spring
  summer autumn winter holiday birthday party gift present surprise coupon discount offer sale
  deal special menu recipe kitchen oven stove pan pot knife spoon fork plate glass bottle jar lid
  label sticker sign banner tent awning crate pallet trolley ladder rope tape glue paint brush
  hammer nail screw drill saw wood metal plastic paper cloth wool cotton leather silver gold
  ring necklace bracelet earring watch wallet purse hat scarf gloves jacket coat shirt dress skirt
  trousers shoes boots socks blanket pillow lamp candle soap towel mirror clock radio speaker
  cable charger battery laptop tablet screen keyboard printer camera lens tripod guitar violin
  drum piano flute trumpet choir dance theatre cinema museum gallery portrait sculpture poetry
  novel magazine newspaper comic puzzle chess dominoes dice marble kite balloon whistle bucket spade
  garden hedge lawn mower hose sprinkler compost seeds bulbs roses tulips daisies lilies orchids
  cactus fern moss pebbles gravel brick stone tile roof gutter chimney window curtain doorbell
  mailbox postcard stamp envelope parcel courier tracking refund exchange warranty repair
  spare vintage antique handmade organic local crispy vegan gluten spicy sweet sour bitter
  crunchy creamy smoky tangy zesty velvety`;
/** Words seen in about one message in ten thousand: names, odd items. */
const RARE = `zanzibar quokka marzipan harpsichord kumquat xylophone zeppelin obsidian tamarind
  gazpacho dulcimer kombucha sassafras manchego quinoa tarragon saffron juniper lychee rhubarb
  pistachio yuzu sorrel gooseberry bergamot cardamom fennel chervil lovage samphire`;

const words = (s: string) => s.trim().split(/\s+/);
/** Stop words, then content words in Zipf rank order. */
export const VOCABULARY = [...words(STOP), ...new Set(words(CONTENT))];
/** The rare words. */
export const RARE_WORDS = words(RARE);
const STOP_SET = new Set(words(STOP));

/** A small deterministic PRNG (mulberry32), so every run loads the same corpus. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples vocabulary indices with P(rank r) proportional to 1 / r^s. */
function zipf(n: number, s: number, rand: () => number): () => number {
  const cum: number[] = [];
  let total = 0;
  for (let r = 1; r <= n; r++) cum.push(total += 1 / r ** s);
  return () => {
    const x = rand() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** One generated message body and the content words in it. */
export function sentenceMaker(seed: number): () => { body: string; terms: Set<string> } {
  const rand = prng(seed);
  const stop = words(STOP);
  const content = VOCABULARY.slice(stop.length);
  const pickStop = zipf(stop.length, 1, rand);
  const pickContent = zipf(content.length, 0.7, rand);
  return () => {
    const n = 3 + Math.floor(rand() ** 1.6 * 22);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(rand() < 0.4 ? stop[pickStop()] : content[pickContent()]);
    if (rand() < 0.012) {
      out.splice(Math.floor(rand() * out.length), 0, RARE_WORDS[Math.floor(rand() * RARE_WORDS.length)]);
    }
    const terms = new Set(out.filter((w) => !STOP_SET.has(w)));
    const end = [".", "!", "?", "", ""][Math.floor(rand() * 5)];
    return { body: out.join(" ").replace(/^./, (c) => c.toUpperCase()) + end, terms };
  };
}

/** How the history was loaded. */
export interface History {
  /** The big room and its first/last message ids. */
  bigRoom: string;
  bigRoomIds: { first: number; last: number; count: number };
  smallRooms: string[];
  messages: number;
  replies: number;
  reactions: number;
  /** Messages containing each content word (all rooms). */
  docFreq: Map<string, number>;
  /** Readers: a member of the big room only, of all 20 rooms, of one small room only. */
  oneRoom: BenchUser;
  twentyRooms: BenchUser;
  smallRoomOnly: BenchUser;
  /** A member of the big room with more than 1,000 unread messages. */
  behind: BenchUser;
  loadSeconds: number;
}

/** Options of the history load. */
export interface HistoryOptions {
  bigRoomMessages: number;
  smallRooms: number;
  smallRoomMessages: number;
  authors: number;
  secret: string;
  progress: (message: string) => void;
}

const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "🙏", "🔥", "👀"];

/**
 * Loads the history: a big room and small rooms whose messages are interleaved in id order (one
 * global sequence, like a live server), bodies from the vocabulary, 10 % replies to a recent message
 * of the same room, reactions on 5 %. The message triggers are disabled during the load (they lock
 * the room and call realtime.send per row), so ids, created_at and rooms.last_message_* are set here.
 */
export async function loadHistory(db: Db, o: HistoryOptions): Promise<History> {
  const t0 = performance.now();
  const authors = await createUsers(db, o.secret, "author", o.authors);
  const [oneRoom, twentyRooms, smallRoomOnly] = await createUsers(db, o.secret, "reader", 3);
  const bigRoom = await createRoom(db, "History", authors[0].id, [
    ...authors.map((a) => a.id),
    oneRoom.id,
    twentyRooms.id,
  ]);
  const smallRooms: string[] = [];
  const smallAuthors: string[][] = [];
  for (let i = 0; i < o.smallRooms; i++) {
    const members = Array.from({ length: 5 }, (_, k) => authors[(i * 5 + k) % authors.length].id);
    smallAuthors.push(members);
    smallRooms.push(
      await createRoom(db, `Small ${i + 1}`, members[0], [
        ...members,
        twentyRooms.id,
        ...(i === 0 ? [smallRoomOnly.id] : []),
      ]),
    );
  }
  const rooms = [bigRoom, ...smallRooms];
  const total = o.bigRoomMessages + o.smallRooms * o.smallRoomMessages;
  const rand = prng(20261121);
  // Room of each message: the big room's messages and the small rooms' shuffled together.
  const roomOf = new Uint8Array(total);
  for (let i = o.bigRoomMessages; i < total; i++) {
    roomOf[i] = 1 + Math.floor((i - o.bigRoomMessages) / o.smallRoomMessages);
  }
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [roomOf[i], roomOf[j]] = [roomOf[j], roomOf[i]];
  }
  const [{ first }] = await db.query<{ first: string }>(
    `select nextval('public.messages_id_seq')::text as first`,
  );
  const firstId = Number(first) + 1;
  await db.query(`select setval('public.messages_id_seq', $1::bigint)`, [firstId + total]);
  const sentence = sentenceMaker(7);
  const docFreq = new Map<string, number>();
  const recent: number[][] = rooms.map(() => []);
  const spanSeconds = 90 * 86400;
  let replies = 0;
  let reactions = 0;
  const batch = 5000;
  // Building the full-text index once after the load is much faster than growing it row by row;
  // it is recreated exactly as migration 0011 defines it.
  await db.exec(`alter table public.messages disable trigger user;
    alter table public.message_reactions disable trigger user;
    drop index public.messages_search_idx;`);
  try {
    for (let start = 0; start < total; start += batch) {
      const rows: unknown[] = [];
      const reacts: unknown[] = [];
      for (let i = start; i < Math.min(total, start + batch); i++) {
        const id = firstId + i;
        const r = roomOf[i];
        const pool = r === 0 ? authors.map((a) => a.id) : smallAuthors[r - 1];
        const author = pool[Math.floor(rand() * pool.length)];
        const { body, terms } = sentence();
        for (const t of terms) docFreq.set(t, (docFreq.get(t) ?? 0) + 1);
        const prev = recent[r];
        let replyTo: number | null = null;
        if (prev.length && rand() < 0.1) {
          replyTo = prev[Math.max(0, prev.length - 1 - Math.floor(rand() * Math.min(200, prev.length)))];
          replies++;
        }
        prev.push(id);
        if (prev.length > 400) prev.splice(0, 200);
        rows.push({ id, r, a: author, b: body, t: replyTo, s: spanSeconds * (1 - i / total) + 60 });
        if (rand() < 0.05) {
          const n = 1 + Math.floor(rand() * 3);
          const users = new Set<string>();
          while (users.size < Math.min(n, pool.length)) users.add(pool[Math.floor(rand() * pool.length)]);
          for (const u of users) {
            reacts.push({ m: id, u, e: EMOJI[Math.floor(rand() ** 2 * EMOJI.length)] });
            reactions++;
          }
        }
      }
      await db.query(
        `insert into public.messages (id, room_id, user_id, client_id, kind, body, reply_to, created_at)
         select x.id, ($2::text::jsonb ->> x.r)::uuid, x.a, 'bench-' || x.id, 'text', x.b, x.t,
           now() - make_interval(secs => x.s)
         from jsonb_to_recordset($1::text::jsonb) as x(id bigint, r int, a uuid, b text, t bigint, s float8)`,
        [JSON.stringify(rows), JSON.stringify(rooms)],
      );
      if (reacts.length) {
        await db.query(
          `insert into public.message_reactions (message_id, user_id, emoji, created_at)
           select x.m, x.u, x.e, now() from jsonb_to_recordset($1::text::jsonb) as x(m bigint, u uuid, e text)
           on conflict do nothing`,
          [JSON.stringify(reacts)],
        );
      }
      if ((start / batch) % 5 === 4) o.progress(`  ${start + batch} / ${total} messages`);
    }
  } finally {
    await db.exec(`alter table public.messages enable trigger user;
      alter table public.message_reactions enable trigger user;`);
  }
  await db.exec("create index if not exists messages_search_idx on public.messages using gin (search)");
  await db.query(
    `update public.rooms r set last_message_id = m.id, last_message_at = m.created_at
     from (select distinct on (room_id) room_id, id, created_at from public.messages
           order by room_id, id desc) m
     where m.room_id = r.id`,
  );
  // The readers have read everything (the common case for someone paging a room); the authors have
  // not read since they joined (unread counts hit the cap of 1,000).
  await db.query(
    `update public.room_members rm set last_read_id = r.last_message_id
     from public.rooms r where r.id = rm.room_id and rm.user_id = any($1::text::uuid[])`,
    [`{${[oneRoom.id, twentyRooms.id, smallRoomOnly.id].join(",")}}`],
  );
  // A live database is vacuumed and analyzed by autovacuum; a bulk load needs it done by hand.
  await db.exec(
    "vacuum analyze public.messages, public.message_reactions, public.rooms, public.room_members",
  );
  const [ids] = await db.query<{ first: string; last: string; n: number }>(
    `select min(id)::text as first, max(id)::text as last, count(*)::int as n
     from public.messages where room_id = $1 and kind = 'text'`,
    [bigRoom],
  );
  return {
    bigRoom,
    bigRoomIds: { first: Number(ids.first), last: Number(ids.last), count: Number(ids.n) },
    smallRooms,
    messages: total,
    replies,
    reactions,
    docFreq,
    oneRoom,
    twentyRooms,
    smallRoomOnly,
    behind: authors[1],
    loadSeconds: (performance.now() - t0) / 1000,
  };
}
