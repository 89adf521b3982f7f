// refapp/web: the reference Better Auth web service (see refapp/README.md for the contract).
//
// Plain node:http. Better Auth (email + password, jwt plugin) at /api/auth/*, a custom HS256
// /api/auth/token route that shadows the plugin's in hs256 mode (as a Next.js static route
// segment does), static pages from public/, and fault switches from AUTHFLOW_FAULT.
//
// Never log cookies, tokens, passwords or request bodies: the request log has method, path
// (without the query string), status and duration only.

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { SignJWT, jwtVerify } from "jose";

const env = process.env;

// Which Better Auth runs: the current one (better-auth, 1.7) or, with BETTER_AUTH_PACKAGE=better-auth-1.4,
// the 1.4 line real apps still run (an npm alias in package.json), with that version's own schema and
// error codes. Both export the same API the server uses; 1.4 has its migrations under /db.
const BA_PACKAGES = {
  "better-auth": { migration: "better-auth/db/migration" },
  "better-auth-1.4": { migration: "better-auth-1.4/db" },
};
const BA = (env.BETTER_AUTH_PACKAGE || "better-auth").trim();
if (!BA_PACKAGES[BA]) {
  process.stderr.write(JSON.stringify({ level: "error", event: "config",
    error: `BETTER_AUTH_PACKAGE must be one of ${Object.keys(BA_PACKAGES).join(", ")}, got ${JSON.stringify(BA)}` }) + "\n");
  process.exit(1);
}
const { betterAuth } = await import(BA);
const { jwt } = await import(`${BA}/plugins/jwt`);
const { toNodeHandler, fromNodeHeaders } = await import(`${BA}/node`);
const { getMigrations } = await import(BA_PACKAGES[BA].migration);
const { createAuthMiddleware } = await import(`${BA}/api`);
const BA_VERSION = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules", BA, "package.json"), "utf8")).version;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const PUBLIC_DIR = path.join(HERE, "public");

function log(obj) {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...obj }) + "\n");
}
function logError(obj) {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: "error", ...obj }) + "\n");
}
// An error's message and code, never its detail (pg details can quote row values).
function describeError(err) {
  if (!err || typeof err !== "object") return { error: String(err) };
  const out = { error: `${err.name || "Error"}: ${err.message || ""}`.slice(0, 2000) };
  if (err.code !== undefined) out.code = err.code;
  if (err.cause && typeof err.cause === "object" && err.cause.message) {
    out.cause = String(err.cause.message).slice(0, 500);
  }
  return out;
}

process.on("unhandledRejection", (reason) => logError({ event: "unhandledRejection", ...describeError(reason) }));
process.on("uncaughtException", (err) => logError({ event: "uncaughtException", ...describeError(err) }));

// ---------------------------------------------------------------- configuration

function required(name) {
  const v = (env[name] ?? "").trim();
  if (!v) {
    logError({ event: "config", error: `${name} is required` });
    process.exit(1);
  }
  return v;
}

const PORT = Number.parseInt(env.PORT || "3000", 10);
const DATABASE_URL = required("DATABASE_URL");
const SECRET = required("BETTER_AUTH_SECRET");
const BASE_URL = required("BETTER_AUTH_URL");
const CHATKIT_URL = required("CHATKIT_URL");
const TOKEN_MODE = (env.TOKEN_MODE || "hs256").trim().toLowerCase();
if (TOKEN_MODE !== "hs256" && TOKEN_MODE !== "jwks") {
  logError({ event: "config", error: `TOKEN_MODE must be hs256 or jwks, got ${JSON.stringify(TOKEN_MODE)}` });
  process.exit(1);
}
// The jwt plugin's signing algorithm (its jwks.keyPairConfig.alg): EdDSA (Better Auth's default), ES256,
// RS256 or PS256. The backend verifies whichever the JWKS publishes.
const JWT_ALGS = ["EdDSA", "ES256", "RS256", "PS256"];
const JWT_ALG = (env.JWT_ALG || "EdDSA").trim();
if (!JWT_ALGS.includes(JWT_ALG)) {
  logError({ event: "config", error: `JWT_ALG must be one of ${JWT_ALGS.join(", ")}, got ${JSON.stringify(JWT_ALG)}` });
  process.exit(1);
}
// The app's profile, set by its own env as a deployment would, not by a fault switch:
//   development (default): Better Auth's rate limiter is off.
//   production: as a real app runs under `next start` (NODE_ENV=production): Better Auth's rate limiter
//     with its defaults (3 requests per 10 s per client address on /sign-in* and /sign-up*, 100 per
//     window elsewhere), the client address read from X-Forwarded-For, and that header set from the
//     socket address when a request has none, as Next.js does. Every client without an address of its
//     own then shares one bucket. Its sign-up and login pages are shaped like a real app's: first and
//     last name, the password twice and a terms box, errors without role=alert, sign-up lands on /login.
const PROFILE = (env.APP_PROFILE || "development").trim().toLowerCase();
if (PROFILE !== "development" && PROFILE !== "production") {
  logError({ event: "config", error: `APP_PROFILE must be development or production, got ${JSON.stringify(PROFILE)}` });
  process.exit(1);
}
const PRODUCTION = PROFILE === "production";
let BASE_ORIGIN;
try {
  BASE_ORIGIN = new URL(BASE_URL).origin;
} catch {
  logError({ event: "config", error: "BETTER_AUTH_URL is not a URL" });
  process.exit(1);
}
const TRUSTED_ORIGINS = [
  BASE_ORIGIN,
  ...(env.TRUSTED_ORIGINS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
];

// Faults this service knows; others (the backend's) are ignored here.
const WEB_FAULTS = new Set([
  "no-token-route",
  "missing-auth-tables",
  "no-auth-header",
  "chat-init-broken",
  "no-login-redirect",
  "sub-is-email",
  "token-from-latest-session",
  "token-route-accepts-bearer",
  "log-signup-body",
  "email-case-sensitive",
  "shared-thread-cache",
]);
const FAULTS = [...new Set((env.AUTHFLOW_FAULT ?? "").split(",").map((s) => s.trim()).filter((f) => WEB_FAULTS.has(f)))];
const fault = (name) => FAULTS.includes(name);

const TOKEN_PATH = "/api/auth/token";
const HS256_TTL_SECONDS = 1800;

// ---------------------------------------------------------------- Better Auth

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
pool.on("error", (err) => logError({ event: "pg-pool", ...describeError(err) }));

export const authOptions = {
  database: pool,
  secret: SECRET,
  baseURL: BASE_URL,
  emailAndPassword: { enabled: true },
  trustedOrigins: TRUSTED_ORIGINS,
  telemetry: { enabled: false },
  rateLimit: { enabled: PRODUCTION },
  logger: { disableColors: true },
  // The jwt plugin is there in both modes so its jwks table exists, as in the fixed real app.
  // In hs256 mode the custom route owns /api/auth/token: the plugin's /token is disabled (and
  // shadowed by the router below anyway) and get-session does not emit set-auth-jwt.
  plugins: [
    jwt({
      jwt: { issuer: BASE_URL, audience: BASE_URL },
      jwks: { keyPairConfig: ["RS256", "PS256"].includes(JWT_ALG) ? { alg: JWT_ALG, modulusLength: 2048 } : { alg: JWT_ALG } },
      ...(TOKEN_MODE === "hs256" ? { disableSettingJwtHeader: true } : {}),
    }),
  ],
  ...(TOKEN_MODE === "hs256" ? { disabledPaths: ["/token"] } : {}),
  ...(fault("email-case-sensitive")
    ? {
        // the regression: the address is stored as typed, so another letter case is another account
        databaseHooks: {
          user: {
            create: {
              before: async (user, ctx) => ({ data: { ...user, email: ctx?.body?.email ?? user.email } }),
            },
          },
        },
      }
    : {}),
  ...(fault("log-signup-body")
    ? {
        // the regression: a failed sign-up is logged with its request body, password and all
        hooks: {
          after: createAuthMiddleware(async (ctx) => {
            const ret = ctx.context?.returned;
            if (ctx.path === "/sign-up/email" && ret instanceof Error) {
              log({ event: "sign-up-failed", body: ctx.body });
            }
          }),
        },
      }
    : {}),
};

export const auth = betterAuth(authOptions);
const authHandler = toNodeHandler(auth);
const hmacKey = new TextEncoder().encode(SECRET);

// ---------------------------------------------------------------- helpers

function sendJSON(res, status, body, headers = {}) {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(data),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(data);
}

function sendText(res, status, text, headers = {}) {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function internalError(req, res, err, where) {
  logError({ event: "handler-error", where, method: req.method, path: pathOnly(req.url), ...describeError(err) });
  if (!res.headersSent) {
    sendJSON(res, 500, { error: "Internal Server Error" });
  } else {
    res.destroy();
  }
}

function pathOnly(url) {
  const s = String(url || "/");
  const q = s.indexOf("?");
  return q === -1 ? s : s.slice(0, q);
}

// ---------------------------------------------------------------- routes

async function userById(id) {
  const { rows } = await pool.query(`select id, email, name from "user" where id = $1`, [String(id ?? "")]);
  return rows[0] || null;
}

async function handleHS256Token(req, res) {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return sendJSON(res, 405, { error: "Method Not Allowed" }, { allow: "GET" });
  }
  let user = null;
  if (fault("token-route-accepts-bearer")) {
    // the regression: a valid JWT alone (no session) mints a fresh one, forever after sign-out
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization || "");
    if (m) {
      try {
        const { payload } = await jwtVerify(m[1], hmacKey, { algorithms: ["HS256"] });
        user = await userById(payload.sub);
      } catch {
        user = null;
      }
    }
  }
  if (!user) {
    const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
    if (!session || !session.user) {
      return sendJSON(res, 401, { error: "Unauthorized" });
    }
    user = session.user;
    if (fault("token-from-latest-session")) {
      // the regression: the token names whoever signed in last, not the caller
      const { rows } = await pool.query(`select "userId" from "session" order by "createdAt" desc limit 1`);
      user = (rows[0] && (await userById(rows[0].userId))) || user;
    }
  }
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + HS256_TTL_SECONDS;
  const token = await new SignJWT({ email: user.email, name: user.name, type: "access" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(fault("sub-is-email") ? user.email : user.id)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(hmacKey);
  return sendJSON(res, 200, {
    token,
    user: { id: user.id, email: user.email, name: user.name },
    expiresAt: new Date(exp * 1000).toISOString(),
  });
}

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

const PAGES = PRODUCTION
  ? { "/signup": "signup-production.html", "/login": "login-production.html", "/chat": "chat.html" }
  : { "/signup": "signup.html", "/login": "login.html", "/chat": "chat.html" };

// Resolve a URL path to a file inside public/, or null. Rejects traversal, dotfiles, NULs.
function resolvePublic(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const parts = decoded.split("/").filter(Boolean);
  if (parts.some((p) => p === ".." || p === "." || p.startsWith("."))) return null;
  const file = path.join(PUBLIC_DIR, ...parts);
  if (!file.startsWith(PUBLIC_DIR + path.sep)) return null;
  return file;
}

function serveFile(req, res, file) {
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) return sendText(res, 404, "Not Found");
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] || "application/octet-stream";
    const isHtml = type.startsWith("text/html");
    res.writeHead(200, {
      "content-type": type,
      "content-length": st.size,
      "cache-control": isHtml ? "no-store" : "no-cache",
      "x-content-type-options": "nosniff",
    });
    if (req.method === "HEAD") return res.end();
    const stream = fs.createReadStream(file);
    stream.on("error", (e) => internalError(req, res, e, "static"));
    stream.pipe(res);
  });
}

let listening = false;

async function route(req, res) {
  let url;
  try {
    url = new URL(req.url || "/", "http://localhost");
  } catch {
    return sendText(res, 400, "Bad Request");
  }
  const p = url.pathname;
  const normalized = p.length > 1 ? p.replace(/\/+$/, "") : p;

  if (normalized === "/healthz") {
    return listening ? sendJSON(res, 200, { ok: true }) : sendJSON(res, 503, { ok: false });
  }

  if (normalized === TOKEN_PATH) {
    if (fault("no-token-route")) {
      // As when neither the jwt plugin nor a token route exists: Better Auth's unknown-path 404.
      res.writeHead(404, { "content-length": 0 });
      return res.end();
    }
    if (TOKEN_MODE === "hs256") {
      try {
        return await handleHS256Token(req, res);
      } catch (err) {
        return internalError(req, res, err, "token");
      }
    }
  }

  if (p === "/api/auth" || p.startsWith("/api/auth/")) {
    try {
      await authHandler(req, res);
    } catch (err) {
      internalError(req, res, err, "better-auth");
    }
    return;
  }

  if (req.method !== "GET" && req.method !== "HEAD") {
    return sendText(res, 405, "Method Not Allowed", { allow: "GET, HEAD" });
  }

  if (normalized === "/") {
    res.writeHead(302, { location: "/chat", "content-length": 0 });
    return res.end();
  }

  if (normalized === "/config.json") {
    return sendJSON(res, 200, { chatkitUrl: CHATKIT_URL, tokenPath: TOKEN_PATH, tokenMode: TOKEN_MODE, faults: FAULTS });
  }

  if (PAGES[normalized]) return serveFile(req, res, path.join(PUBLIC_DIR, PAGES[normalized]));

  if (p.startsWith("/api/")) return sendJSON(res, 404, { error: "Not Found" });

  const file = resolvePublic(p);
  if (!file) return sendText(res, 404, "Not Found");
  return serveFile(req, res, file);
}

const server = http.createServer((req, res) => {
  const started = performance.now();
  res.on("close", () => {
    const entry = {
      method: req.method,
      path: pathOnly(req.url),
      status: res.statusCode,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (!res.writableFinished) entry.aborted = true;
    log(entry);
  });
  if (PRODUCTION && !req.headers["x-forwarded-for"]) {
    req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "";
  }
  route(req, res).catch((err) => internalError(req, res, err, "router"));
});
server.keepAliveTimeout = 5000;

// ---------------------------------------------------------------- startup

function isTransientDbError(err) {
  const code = err && (err.code || (err.cause && err.cause.code));
  return ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "ETIMEDOUT", "57P03", "53300"].includes(code) ||
    /Connection terminated|timeout/i.test(String(err && err.message));
}

async function withDbRetry(what, fn, deadlineMs = 60000) {
  const start = Date.now();
  let delay = 100;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientDbError(err) || Date.now() - start > deadlineMs) throw err;
      logError({ event: "db-wait", what, ...describeError(err) });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }
}

async function start() {
  if (fault("missing-auth-tables")) {
    log({ event: "fault", fault: "missing-auth-tables", note: "Better Auth migrations skipped" });
  } else {
    const m = await withDbRetry("migrations", async () => {
      const migrations = await getMigrations(authOptions);
      await migrations.runMigrations();
      return migrations;
    });
    log({
      event: "migrations",
      created: m.toBeCreated.map((t) => t.table),
      added: m.toBeAdded.map((t) => t.table),
    });
    // Warm the schema check, then (jwks mode) create the signing key serially, so concurrent
    // first calls cannot race into several keys.
    // Failures here are logged, not fatal: requests then fail with 500 and a log line.
    try {
      await auth.api.ok();
      if (TOKEN_MODE === "jwks") {
        const jwks = await auth.api.getJwks();
        log({ event: "jwks-ready", keys: jwks?.keys?.length ?? 0 });
      }
    } catch (err) {
      logError({ event: "warm-up-failed", ...describeError(err) });
    }
  }
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(PORT, () => {
      server.off("error", reject);
      resolve();
    });
  });
  listening = true;
  process.stdout.write(JSON.stringify({ listening: server.address().port, startupMs: Math.round(performance.now()) }) + "\n");
  if (FAULTS.length) log({ event: "faults", faults: FAULTS });
  log({ event: "config", profile: PROFILE, betterAuth: BA_VERSION, tokenMode: TOKEN_MODE, baseURL: BASE_URL, trustedOrigins: TRUSTED_ORIGINS });
}

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log({ event: "shutdown", signal });
  const force = setTimeout(() => process.exit(0), 2000);
  force.unref();
  server.close();
  server.closeAllConnections?.();
  pool.end().catch(() => {}).finally(() => process.exit(0));
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

start().catch((err) => {
  logError({ event: "startup-failed", ...describeError(err) });
  pool.end().catch(() => {});
  process.exit(1);
});
