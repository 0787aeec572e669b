// The official Altogic JavaScript client (npm `altogic` 2.3.9, unchanged) against the
// local emulator. Run with `node --test official_client.test.mjs` (see run.sh).
//
// The emulator binary comes from $ALTOGIC_EMULATOR, else <repo>/target/release/altogic-emulator.
// It is started on 127.0.0.1 port 0; its one stdout line gives the URL. It is killed
// after the tests, whatever happens, and every wait here is bounded.
//
// With $ALTOGIC_EMULATOR_TLS_DIR (a directory made by scripts/make-certs.sh) the emulator
// serves HTTPS with DIR/server.pem and DIR/server.key, and the client must reach it over
// https://; node trusts the CA only through NODE_EXTRA_CA_CERTS=DIR/ca.pem, set by run.sh
// on this node process.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import altogic from "altogic";

const { createClient } = altogic;

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const emulatorPath =
  process.env.ALTOGIC_EMULATOR || path.join(repo, "target", "release", "altogic-emulator");

const CLIENT_KEY = "demo-client-key";
const SESSION_KEY = "demo-session-key";
const SESSION_TOKEN = "demo-session-token";
const BILL_ON_DEMAND_ID = "6237b1f17c2a9625f0b2119e";
const FAILING_TASK_ID = "6237b1f17c2a9625f0b2119f";

const tlsDir = process.env.ALTOGIC_EMULATOR_TLS_DIR || null;
const scheme = tlsDir ? "https" : "http";
const tlsArgs = tlsDir
  ? ["--tls-cert", path.join(tlsDir, "server.pem"), "--tls-key", path.join(tlsDir, "server.key")]
  : [];

const START_TIMEOUT_MS = 15_000;
const POLL_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 50;
const TEST_TIMEOUT_MS = 30_000;
const HEX24 = /^[0-9a-f]{24}$/;
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let emulator = null;
let envUrl = null;
let stderrTail = "";

function killEmulator() {
  if (emulator && emulator.exitCode === null && emulator.signalCode === null) {
    emulator.kill("SIGKILL");
  }
}

// If the runner itself is stopped, do not leave the emulator behind.
process.on("exit", killEmulator);
for (const [signal, number] of [["SIGINT", 2], ["SIGTERM", 15], ["SIGHUP", 1]]) {
  process.once(signal, () => {
    killEmulator();
    process.exit(128 + number);
  });
}

/** Starts the emulator and resolves with its URL, read from its one stdout line. */
function startEmulator() {
  return new Promise((resolve, reject) => {
    if (!existsSync(emulatorPath)) {
      reject(
        new Error(
          `emulator binary not found at ${emulatorPath}: build it with ` +
            "`cargo build --release -p altogic-emulator` or set ALTOGIC_EMULATOR"
        )
      );
      return;
    }
    const child = spawn(emulatorPath, ["--listen", "127.0.0.1:0", ...tlsArgs], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    emulator = child;
    let stdout = "";
    let settled = false;
    const settle = (fn, value) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        fn(value);
      }
    };
    const timer = setTimeout(() => {
      killEmulator();
      settle(
        reject,
        new Error(
          `emulator printed no URL within ${START_TIMEOUT_MS} ms; stdout: ${JSON.stringify(stdout)}; stderr: ${stderrTail}`
        )
      );
    }, START_TIMEOUT_MS);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
    });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf("\n");
      if (newline < 0) return;
      const line = stdout.slice(0, newline).trim();
      const match = /^altogic-emulator listening on (https?:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (match && match[1].startsWith(`${scheme}://`)) {
        settle(resolve, match[1]);
      } else {
        killEmulator();
        settle(reject, new Error(`unexpected first stdout line from the emulator: ${JSON.stringify(line)}`));
      }
    });
    child.on("error", (err) => settle(reject, new Error(`cannot start ${emulatorPath}: ${err.message}`)));
    child.on("exit", (code, signal) =>
      settle(
        reject,
        new Error(`emulator exited before listening (code ${code}, signal ${signal}); stderr: ${stderrTail}`)
      )
    );
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls getTaskStatus until the status is one of `finals`, within POLL_TIMEOUT_MS. */
async function pollUntil(client, taskId, finals) {
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  const seen = [];
  for (;;) {
    const { info, errors } = await client.task.getTaskStatus(taskId);
    assert.equal(errors, null, `getTaskStatus(${taskId}) errors: ${JSON.stringify(errors)}`);
    assert.ok(info, `getTaskStatus(${taskId}) gave no info`);
    if (seen[seen.length - 1] !== info.status) seen.push(info.status);
    if (finals.includes(info.status)) return { info, seen };
    if (Date.now() > deadline) {
      assert.fail(`task ${taskId} still ${info.status} after ${POLL_TIMEOUT_MS} ms (seen: ${seen.join(" -> ")})`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

/** Asserts the shape the official client gives an HTTP error, and one item's code. */
function assertApiError(result, status, code) {
  const detail = JSON.stringify(result);
  assert.equal(result.info, null, detail);
  assert.ok(result.errors, `expected errors, got ${detail}`);
  assert.equal(result.errors.status, status, detail);
  assert.equal(typeof result.errors.statusText, "string", detail);
  assert.ok(Array.isArray(result.errors.items) && result.errors.items.length > 0, detail);
  const item = result.errors.items.find((i) => i.code === code);
  assert.ok(item, `no error item with code ${code}: ${detail}`);
  assert.ok(["client_error", "server_error"].includes(item.origin), detail);
  assert.equal(typeof item.message, "string", detail);
  assert.ok(item.message.length > 0, detail);
}

function session(token) {
  return { userId: "6237b1f17c2a9625f0b21100", token, creationDtm: new Date().toISOString() };
}

describe(`official altogic client against the emulator over ${scheme}`, { timeout: 120_000 }, () => {
  before(async () => {
    envUrl = await startEmulator();
  });

  after(async () => {
    if (!emulator) return;
    const exited = new Promise((r) => {
      if (emulator.exitCode !== null || emulator.signalCode !== null) r();
      else emulator.once("exit", r);
    });
    emulator.kill("SIGTERM");
    // Give it 3 s to stop, then SIGKILL; the timer must not outlive the wait.
    let timer;
    const gaveUp = new Promise((r) => {
      timer = setTimeout(r, 3_000);
    });
    await Promise.race([exited, gaveUp]);
    clearTimeout(timer);
    killEmulator();
  });

  it(`the emulator's URL is ${scheme}://`, () => {
    assert.ok(envUrl.startsWith(`${scheme}://127.0.0.1:`), envUrl);
    if (tlsDir) {
      // The client's trust in the test CA comes from NODE_EXTRA_CA_CERTS alone.
      assert.equal(process.env.NODE_EXTRA_CA_CERTS, path.join(tlsDir, "ca.pem"));
    }
  });

  it("runOnce billOnDemand answers pending info with a 24-hex taskId", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = createClient(envUrl, CLIENT_KEY);
    const { info, errors } = await client.task.runOnce("billOnDemand");
    assert.equal(errors, null, JSON.stringify(errors));
    assert.ok(info, "no info");
    assert.match(info.taskId, HEX24);
    assert.equal(info.scheduledTaskId, BILL_ON_DEMAND_ID);
    assert.equal(info.scheduledTaskName, "billOnDemand");
    assert.equal(info.status, "pending");
    assert.match(info.triggeredAt, ISO_UTC_MS);
  });

  it("runOnce by id and getTaskStatus until completed", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = createClient(envUrl, CLIENT_KEY);
    const run = await client.task.runOnce(BILL_ON_DEMAND_ID);
    assert.equal(run.errors, null, JSON.stringify(run.errors));
    assert.equal(run.info.scheduledTaskName, "billOnDemand");
    const { info, seen } = await pollUntil(client, run.info.taskId, ["completed", "errors"]);
    assert.equal(info.status, "completed", `statuses seen: ${seen.join(" -> ")}`);
    assert.equal(info.taskId, run.info.taskId);
    assert.equal(info.scheduledTaskId, BILL_ON_DEMAND_ID);
    assert.equal(info.triggeredAt, run.info.triggeredAt);
    assert.match(info.startedAt, ISO_UTC_MS);
    assert.match(info.completedAt, ISO_UTC_MS);
    assert.ok(Date.parse(info.triggeredAt) <= Date.parse(info.startedAt), JSON.stringify(info));
    assert.ok(Date.parse(info.startedAt) <= Date.parse(info.completedAt), JSON.stringify(info));
    assert.ok(info.errors == null, JSON.stringify(info));
  });

  it("failingTask ends in status errors with an errors object", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = createClient(envUrl, CLIENT_KEY);
    const run = await client.task.runOnce("failingTask");
    assert.equal(run.errors, null, JSON.stringify(run.errors));
    assert.equal(run.info.scheduledTaskId, FAILING_TASK_ID);
    assert.equal(run.info.status, "pending");
    const { info } = await pollUntil(client, run.info.taskId, ["completed", "errors"]);
    assert.equal(info.status, "errors", JSON.stringify(info));
    assert.ok(info.errors && typeof info.errors === "object", JSON.stringify(info));
    assert.match(info.completedAt, ISO_UTC_MS);
  });

  it("an unknown task gives 404 not_found", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = createClient(envUrl, CLIENT_KEY);
    assertApiError(await client.task.runOnce("noSuchTask"), 404, "not_found");
  });

  it("a bad client key gives 401 invalid_client_key", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = createClient(envUrl, "not-a-client-key");
    assertApiError(await client.task.runOnce("billOnDemand"), 401, "invalid_client_key");
    assertApiError(await client.task.getTaskStatus("6237b225b9a84d607cd79044"), 401, "invalid_client_key");
  });

  it("an enforce-session key needs a session: missing, valid, wrong", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = createClient(envUrl, SESSION_KEY);

    // No session at all.
    assertApiError(await client.task.runOnce("billOnDemand"), 401, "missing_session_token");

    // The valid session: both calls work.
    client.auth.setSession(session(SESSION_TOKEN));
    const run = await client.task.runOnce("billOnDemand");
    assert.equal(run.errors, null, JSON.stringify(run.errors));
    assert.match(run.info.taskId, HEX24);
    assert.equal(run.info.status, "pending");
    const status = await client.task.getTaskStatus(run.info.taskId);
    assert.equal(status.errors, null, JSON.stringify(status.errors));
    assert.equal(status.info.taskId, run.info.taskId);

    // A wrong token is refused, and the client drops it: the next call has no Session
    // header and so is refused as missing.
    client.auth.setSession(session("wrong-session-token"));
    assertApiError(await client.task.runOnce("billOnDemand"), 401, "invalid_session_token");
    assertApiError(await client.task.runOnce("billOnDemand"), 401, "missing_session_token");

    // getTaskStatus enforces the session too.
    assertApiError(await client.task.getTaskStatus(run.info.taskId), 401, "missing_session_token");
    client.auth.setSession(session(SESSION_TOKEN));
    const again = await client.task.getTaskStatus(run.info.taskId);
    assert.equal(again.errors, null, JSON.stringify(again.errors));
  });

  it("an unknown task id gives info null and errors null", { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = createClient(envUrl, CLIENT_KEY);
    const result = await client.task.getTaskStatus("000000000000000000000000");
    assert.deepEqual(result, { info: null, errors: null });
  });
});
