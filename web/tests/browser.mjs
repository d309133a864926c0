// Browser tests of the lab page: Debian's /usr/bin/chromium driven by playwright-core, against
// web/dist served by a tiny static server started here. Every test fails on any console error,
// and keeps a screenshot of its view in tests/screenshots/. The last line reads
// "N passed, N failed".
//
// DISTLAB_BIN (set by `cargo xtask test`) is the native binary: the page's trace hash for a
// scenario must equal what `distlab sim run` prints for the same scenario and seed.

import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "..", "dist");
const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".svg": "image/svg+xml" };

// Like `cargo xtask lab`: a precompressed sibling (.br, .gz) in the best encoding the browser
// accepts, with X-Decoded-Length for the loading screen's progress bar.
function serve() {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dist, path === "/" ? "index.html" : path);
    try {
      if (!file.startsWith(dist) || !statSync(file).isFile()) throw new Error("not found");
      const accepts = (req.headers["accept-encoding"] ?? "").split(",").map((e) => e.split(";")[0].trim());
      const headers = { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", Vary: "Accept-Encoding" };
      for (const [encoding, ext] of [["br", ".br"], ["gzip", ".gz"]]) {
        if (accepts.includes(encoding) && existsSync(file + ext)) {
          res.writeHead(200, { ...headers, "Content-Encoding": encoding, "X-Decoded-Length": String(statSync(file).size) });
          res.end(readFileSync(file + ext));
          return;
        }
      }
      res.writeHead(200, headers);
      res.end(readFileSync(file));
    } catch {
      res.writeHead(404);
      res.end("not found");
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function nativeHash(seed) {
  const bin = process.env.DISTLAB_BIN;
  if (!bin) throw new Error("DISTLAB_BIN is not set: run the browser tests through `cargo xtask test`");
  let out;
  try {
    out = execFileSync(bin, ["sim", "run", "pn-counter", "--seed", String(seed)], { encoding: "utf8" });
  } catch (e) {
    out = e.stdout; // exit code 1 means a violated property, the hash is still printed
  }
  return out.trim().split("\n").pop().replace("trace hash: ", "");
}

const server = await serve();
const base = `http://127.0.0.1:${server.address().port}/`;
const profile = mkdtempSync(join(tmpdir(), "distlab-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

let passed = 0;
let failed = 0;

/** `ONLY=<words>` runs just the tests whose names contain them (while working on one view). */
const only = process.env.ONLY ?? "";

async function test(name, body) {
  if (!name.includes(only)) return;
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  try {
    await body(page);
    if (errors.length) throw new Error(`console errors: ${errors.join(" | ")}`);
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${e.message}`);
  } finally {
    await page.screenshot({ path: join(shots, `${name.replace(/[^a-z0-9]+/gi, "-")}.png`), fullPage: true }).catch(() => {});
    await page.close();
  }
}

/**
 * A full-page screenshot kept for a person to look at. Chromium on a loaded CI machine has once
 * stalled a single capture past Playwright's 30 s (every capture takes under 1.2 s here), so a
 * capture gets a second try, and a failure says which view, language and size it was.
 */
async function keepScreenshot(page, path, what) {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.screenshot({ path, fullPage: true, timeout: 45000 });
      return;
    } catch (e) {
      if (attempt === 2) throw new Error(`screenshot of ${what}: ${e.message.split("\n")[0]}`);
      console.log(`     screenshot of ${what} failed once (${e.message.split("\n")[0]}); trying again`);
    }
  }
}

/** The page's address (what the share button copies): page.url() can lag behind history.replaceState. */
const href = (page) => page.evaluate(() => location.href);

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function open(page, hash = "") {
  await page.goto(base + hash);
  await page.waitForSelector("main#view h2");
}

await test("the start page lists the chapter's eight goals, each with its views, and a path", async (page) => {
  await open(page);
  assert((await page.textContent("main h2")) === "A hands-on lab for chapter 46", await page.textContent("main h2"));
  assert((await page.locator("#home-goals > li").count()) === 8, "eight learning goals");
  assert((await page.locator("#home-goals > li[data-built='true']").count()) === 8, "each of them has a view");
  assert((await page.locator("#home-path li").count()) === 5, "a first path through five views");
  const labels = await page.locator("nav a").evaluateAll((as) => as.map((a) => [a.getAttribute("href"), a.childNodes[0].textContent]));
  for (const [link, label] of labels.filter(([l]) => l !== "#/")) {
    await page.goto(base + link);
    await page.waitForSelector("main#view h2");
    assert((await page.textContent("main h2")) === label, `the nav says ${label}, the page ${await page.textContent("main h2")}`);
  }
  const numbers = (await page.locator("nav").textContent()).match(/46\.\d(\.\d)?/g);
  assert(new Set(numbers).size === numbers.length, `each section number once: ${numbers}`);
  await page.click("#lang");
  await page.goto(base + "#/?lang=zh");
  await page.waitForSelector("main#view h2");
  assert((await page.textContent("main h2")) === "第 46 章动手实验室", await page.textContent("main h2"));
});

await test("below 900 px the nav is a menu and nothing is clipped at 390 px", async (page) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await open(page, "#/counter?sim.seed=1");
  assert(!(await page.isVisible("nav")), "the nav is folded away");
  await page.click("#menu");
  assert(await page.isVisible("nav"), "the menu opens it");
  await page.click("#menu");
  const width = await page.evaluate(() => document.querySelector("main").getBoundingClientRect().width);
  assert(width >= 380, `the content takes the width: ${width}px`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 0, `no horizontal scroll on the page: ${overflow}px`);
});

await test("the page loads with the ring view and no console errors", async (page) => {
  await open(page, "#/ring");
  assert((await page.textContent("main h2")) === "Consistent hashing", "the ring view");
  const ticks = await page.locator("svg.ring line").count();
  assert(ticks === 450, `3 nodes × 150 virtual nodes = 450 ticks, got ${ticks}`);
  const keyPaths = await page.locator("svg.ring path[data-owner]").count();
  assert(keyPaths === 3, `one key path per owner, got ${keyPaths}`);
  const sections = await page.locator("nav a").count();
  assert(sections === 20, `the start page, 14 chapter sections and 5 exercises, got ${sections}`);
  const load = await page.locator(".bar").count();
  assert(load === 3, `a load bar per node, got ${load}`);
});

await test("adding a node updates the moved-keys figure", async (page) => {
  await open(page, "#/ring");
  assert((await page.textContent("#moved")).includes("Change the ring"), "no change yet");
  await page.click("#add-node");
  const moved = Number(await page.getAttribute("#moved", "data-ring"));
  assert(moved > 0.15 && moved < 0.35, `adding a 4th node moves about a quarter of the keys, got ${moved}`);
  const text = await page.textContent("#moved");
  assert(/ideal 25\.0%/.test(text) && /hash % N \d+\.\d%/.test(text), text);
  assert((await page.locator("svg.ring line").count()) === 600, "the new node's 150 ticks are drawn");
  await page.click('button[data-remove="node-2"]');
  assert((await page.textContent("#moved")).includes("remove node-2"), "removal is reported too");
});

await test("hovering the ring shows a key's owners", async (page) => {
  await open(page, "#/ring?replicas=2");
  const box = await page.locator("svg.ring").boundingBox();
  await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.3);
  const hover = await page.textContent("#hover");
  assert(/^key:\d+ → node-\d, node-\d$/.test(hover), `two distinct owners, got ${hover}`);
});

await test("the language toggle switches every visible string", async (page) => {
  await open(page, "#/ring");
  await page.click("#lang");
  assert((await page.textContent("main h2")) === "一致性哈希", "the view title is Chinese");
  assert((await page.textContent("nav")).includes("分布式锁"), "the sections are Chinese");
  assert((await page.textContent("#lang")) === "English", "the toggle offers English back");
  assert(page.url().includes("lang=zh"), "the language is in the URL");
  await page.click("#lang");
  assert((await page.textContent("main h2")) === "Consistent hashing", "and back to English");
});

await test("a weighted ring reloads in the same node order and survives a language switch", async (page) => {
  // Found in review: weighted nodes were re-added last on reload, renumbering jump and hash % N.
  await open(page, "#/ring?nodes=node-1,node-2,node-3&w=node-1:2");
  const order = await page.locator(".nodes .node .mono").allTextContents();
  assert(order.join(",") === "node-1,node-2,node-3", order.join(","));
  await page.click('button[data-remove="node-3"]');
  const moved = await page.textContent("#moved");
  await page.click("#lang");
  assert((await page.getAttribute("#moved", "data-ring")) !== "", "the last movement survives the switch");
  await page.click("#lang");
  assert((await page.textContent("#moved")) === moved, moved);
});

await test("a share link reproduces the ring", async (page) => {
  await open(page, "#/ring");
  await page.click("#add-node");
  await page.locator("#vnodes").fill("40");
  await page.locator("#vnodes").dispatchEvent("change");
  const balance = await page.textContent("#balance");
  const url = page.url();
  assert(url.includes("vnodes=40") && url.includes("node-4"), url);
  const again = await context.newPage();
  await again.goto(url);
  await again.waitForSelector("#balance");
  assert((await again.textContent("#balance")) === balance, "the same balance from the link");
  assert((await again.locator("svg.ring line").count()) === 160, "4 nodes × 40 virtual nodes");
  await again.close();
});

await test("a scenario run in the page has the native trace hash", async (page) => {
  await open(page, "#/counter?sim.seed=42&sim.t=10000000");
  const hash = await page.textContent("#trace-hash");
  const native = nativeHash(42);
  assert(/^0x[0-9a-f]{16}$/.test(native), `native hash ${native}`);
  assert(hash === native, `page ${hash} vs native ${native}`);
  assert((await page.getAttribute("#verdict-convergence", "data-status")) === "holds", "the counter converged");
});

await test("the simulation controls step, play, pause, reset and show events", async (page) => {
  await open(page, "#/counter?sim.seed=7");
  const events = async () => Number((await page.textContent("#event-count")).replace(/\D+/g, ""));
  const time = async () => Number((await page.textContent("#sim-time")).match(/([\d.]+) s/)[1]);
  const before = await events();
  await page.keyboard.press("ArrowRight");
  assert((await events()) > before, "→ steps one event");
  await page.keyboard.press("Space");
  // Wait for progress rather than for wall time: a loaded machine draws fewer frames.
  await page.waitForFunction(() => Number(document.querySelector("#sim-time").textContent.match(/([\d.]+) s/)[1]) > 0.1, null, { timeout: 15000 });
  await page.keyboard.press("Space");
  const played = await time();
  await page.waitForTimeout(300);
  assert((await time()) === played, `space pauses: ${played} s, then ${await time()} s`);
  await page.locator("#events div").first().click();
  const details = JSON.parse(await page.textContent("#event-details"));
  assert(typeof details.kind === "string" && typeof details.index === "number", "clicking an event shows it");
  await page.click("#share");
  const url = await href(page);
  const hash = await page.textContent("#trace-hash");
  const again = await context.newPage();
  await again.goto(url);
  await again.waitForSelector("#trace-hash");
  assert((await again.textContent("#trace-hash")) === hash, "the share link replays the same run");
  await again.close();
  await page.click("main h2");
  await page.keyboard.press("r");
  assert((await time()) === 0, "r resets to t = 0");
});

await test("a fault injected between two events of one instant replays exactly", async (page) => {
  // Found in review: replaying by time alone put the crash after r1's start instead of before.
  await open(page, "#/counter?sim.seed=5");
  await page.click("main h2");
  await page.keyboard.press("ArrowRight"); // only r0 has started
  await page.click("#crash-r1");
  await page.keyboard.press("ArrowRight");
  await page.click("#share");
  const url = await href(page);
  const hash = await page.textContent("#trace-hash");
  const again = await context.newPage();
  await again.goto(url);
  await again.waitForSelector("#trace-hash");
  assert((await again.textContent("#trace-hash")) === hash, `same hash: ${url}`);
  await again.close();
});

await test("injected faults are replayed by the share link", async (page) => {
  await open(page, "#/counter?sim.seed=3&sim.t=1000000");
  await page.click("#crash-r1");
  assert((await page.getAttribute('.card[data-node="r1"]', "class")).includes("crashed"), "r1 is crashed");
  await page.click("#step");
  await page.click("#share");
  const url = await href(page);
  assert(url.includes("faults="), url);
  const hash = await page.textContent("#trace-hash");
  const again = await context.newPage();
  await again.goto(url);
  await again.waitForSelector("#trace-hash");
  assert((await again.textContent("#trace-hash")) === hash, "same hash with the replayed crash");
  assert((await again.getAttribute('.card[data-node="r1"]', "class")).includes("crashed"), "r1 is still crashed");
  await again.close();
});

await test("the chapter's merge is caught by the checker", async (page) => {
  await open(page, "#/counter?sim.seed=1&merge=chapter&sim.t=10000000");
  assert((await page.getAttribute("#verdict-convergence", "data-status")) === "violated", "the chapter's merge never converges");
  await page.click("#lang");
  const verdict = await page.textContent("#verdict-convergence strong");
  assert(verdict === "收敛：被违反", verdict);
});

await test("sections without a view say so in both languages", async (page) => {
  await open(page, "#/choosing");
  assert((await page.textContent("main h2")) === "46.6 Choosing technology", await page.textContent("main h2"));
  await page.click("#lang");
  assert((await page.textContent("main p")).includes("尚未完成"), "the placeholder is Chinese too");
});

/** Plays the simulation at 4× until its clock reaches `seconds`, then pauses it. */
async function playUntil(page, seconds) {
  await page.selectOption("#speed", "4");
  await page.click("#play");
  await page.waitForFunction((s) => Number(document.querySelector("#sim-time").textContent.match(/([\d.]+) s/)[1]) >= s, seconds, { timeout: 30000 });
  await page.click("#play");
}

/** Pauses the client that holds the lock for the GC length in the URL, and plays on to `seconds`. */
async function pauseTheHolder(page, seconds) {
  const holder = page.locator(".card[data-node^='c']", { hasText: "holding" }).first();
  const name = await holder.getAttribute("data-node");
  await page.click(`button[data-action='pause-${name}']`);
  assert((await page.getAttribute(`.card[data-node='${name}']`, "class")).includes("paused"), `${name} is paused`);
  await playUntil(page, seconds);
  return name;
}

await test("a client paused past its lease corrupts the resource without fencing", async (page) => {
  await open(page, "#/locks?kind=single&fencing=0&sim.seed=1&sim.t=1200000");
  assert(!(await page.isChecked("#fencing")), "fencing is off, from the URL");
  await pauseTheHolder(page, 7);
  const violations = await page.locator("#lock-timeline rect.violation").count();
  assert(violations === 2, `the stale hold and the newer one are marked, got ${violations}`);
  assert((await page.getAttribute("#verdict-mutual_exclusion", "data-status")) === "violated", "the checker says so");
  assert((await page.textContent("#verdict-mutual_exclusion")).includes("a stale holder's write was accepted"), await page.textContent("#verdict-mutual_exclusion"));
});

await test("with fencing the paused client's late write is rejected", async (page) => {
  await open(page, "#/locks?kind=single&sim.seed=1&sim.t=1200000");
  assert(await page.isChecked("#fencing"), "fencing is on by default");
  await pauseTheHolder(page, 7);
  const rejected = await page.locator("#lock-timeline .write.rejected").count();
  assert(rejected >= 1, `the late write is rejected, got ${rejected}`);
  assert((await page.locator("#lock-timeline rect.violation").count()) === 0, "no violation at the resource");
  assert((await page.locator("#lock-timeline rect.overlap").count()) === 2, "but two clients believed at once (amber)");
  assert((await page.getAttribute("#verdict-mutual_exclusion", "data-status")) === "holds", "mutual exclusion holds");
  const resource = await page.textContent(".card[data-node='resource']");
  assert(/rejected [1-9]/.test(resource), resource);
});

await test("the lock view switches kinds and speaks Chinese", async (page) => {
  await open(page, "#/locks?sim.seed=3");
  await page.selectOption("#lock-kind", "redlock");
  assert(await page.isDisabled("#fencing") && await page.isDisabled("#watchdog"), "Redlock has neither");
  assert((await page.locator(".card.server").count()) === 5, "five independent stores");
  await page.selectOption("#lock-kind", "zk");
  assert((await page.locator(".card.server[data-node='zk']").count()) === 1, "a coordination service");
  assert(!(await page.isDisabled("#fencing")) && await page.isDisabled("#watchdog"), "ZooKeeper fences, its session is the lease");
  await playUntil(page, 3);
  assert((await page.locator("#lock-timeline g.hold").count()) > 0, "holds are drawn");
  await page.click("#lang");
  assert((await page.textContent("main h2")) === "故障下的分布式锁", await page.textContent("main h2"));
  assert((await page.inputValue("#lock-kind")) === "zk", "the kind survives the language switch");
  assert((await page.textContent("#verdict-mutual_exclusion strong")).startsWith("资源处的互斥："), await page.textContent("#verdict-mutual_exclusion"));
});

await test("the exercise-1 walkthrough can be stepped to the end", async (page) => {
  await open(page, "#/exercise-1");
  assert((await page.textContent("main h2")).startsWith("Exercise 1"), await page.textContent("main h2"));
  const positions = [];
  const longest = [];
  for (let i = 0; i < 5; i++) {
    assert((await page.getAttribute("#walk-step", "data-page")) === String(i), `page ${i}`);
    assert(await page.isDisabled("#reveal"), "no reveal before an answer");
    assert((await page.locator("#walk-explain").count()) === 0, "the explanation waits for the reveal");
    await page.locator("input[name='choice']").nth(i % 3).check();
    await page.click("#reveal");
    assert((await page.textContent("#walk-explain")).length > 50, "the explanation is shown");
    assert((await page.locator(".choice.right").count()) === 1, "the right answer is marked");
    const choices = await page.locator(".choice").evaluateAll((ls) => ls.map((l) => [l.classList.contains("right"), l.textContent.length]));
    positions.push(choices.findIndex(([right]) => right));
    longest.push(choices.every(([right, len]) => right || len < choices.find(([r]) => r)[1]));
    const violations = await page.locator("#walk-timeline rect.violation").count();
    const rejected = await page.locator("#walk-timeline .write.rejected").count();
    if (i === 2) assert(violations === 2 && rejected === 0, `the pause without fencing corrupts: ${violations} ${rejected}`);
    if (i === 3) assert(violations === 0 && rejected === 1, `fencing rejects the late write: ${violations} ${rejected}`);
    if (i === 4) assert(violations === 0 && rejected > 0, `the restarted counter's tokens are refused: ${violations} ${rejected}`);
    if (i < 2) assert(violations === 0, "nothing breaks in steps 1 and 2");
    await page.click("#next");
  }
  await page.waitForSelector("#walkthrough-done");
  assert(new Set(positions).size > 1, `the right answer moves between pages: ${positions}`);
  assert(longest.filter(Boolean).length <= 2, `the right answer is not the longest on most pages: ${longest}`);
  await page.click("#walk-again");
  await page.click("#lang");
  assert((await page.textContent("main h2")).startsWith("练习 1"), await page.textContent("main h2"));
  assert((await page.textContent("#walk-step h3")).includes("持锁时崩溃"), await page.textContent("#walk-step h3"));
});

await test("crashing the leader elects a new one, with timers as rings", async (page) => {
  await open(page, "#/coordination?sim.seed=2&sim.t=2000000");
  const roles = await page.textContent("#election-roles");
  const leader = /(n\d): leader \(term (\d+)\)/.exec(roles);
  assert(leader, roles);
  assert((await page.locator("#election-ring circle.timer").count()) === 4, "four followers' election timers");
  await page.click("#crash-leader");
  assert((await page.textContent("#election-roles")).includes(`${leader[1]}: crashed`), "the old leader is down");
  await playUntil(page, 3);
  const after = await page.textContent("#election-roles");
  const next = /(n\d): leader \(term (\d+)\)/.exec(after);
  assert(next && next[1] !== leader[1] && Number(next[2]) > Number(leader[2]), `a new leader in a higher term: ${after}`);
  assert((await page.getAttribute("#verdict-one_leader_per_term", "data-status")) === "holds", "one leader per term");
});

await test("the chapter's grant-every-vote rule elects two leaders in a term on the default seed, Raft's never", async (page) => {
  await open(page, "#/coordination?votes=chapter&sim.t=3000000");
  assert((await page.inputValue("#seed")) === "1", "the default seed");
  assert((await page.getAttribute("#verdict-one_leader_per_term", "data-status")) === "violated", await page.textContent("#verdict-one_leader_per_term"));
  await page.click("#verdict-one_leader_per_term button.jump");
  assert((await page.getAttribute("#run-state", "data-state")) === "rewound", "the verdict's button goes to the moment");
  await open(page, "#/coordination?sim.t=3000000");
  await page.click("#crash-leader");
  await playUntil(page, 6);
  assert((await page.getAttribute("#verdict-one_leader_per_term", "data-status")) === "holds", "Raft's rule keeps one leader per term");
});

await test("the CAP view: cutting links costs availability, the history and the verdict show it", async (page) => {
  await open(page, "#/cap?sim.seed=1&sim.t=3000000");
  assert((await page.textContent("#cap-quorums")).includes("R + W > N ✓"), await page.textContent("#cap-quorums"));
  const bars = await page.locator("#cap-history g.op").count();
  assert(bars > 20, `the history shows the operations, got ${bars}`);
  assert((await page.getAttribute("#verdict-linearizability", "data-status")) === "holds", "strong is linearizable");
  assert((await page.textContent("#cap-recent")).endsWith("100.0%"), await page.textContent("#cap-recent"));
  // A horizontal line has an empty bounding box, which Playwright calls invisible: dispatch.
  await page.dispatchEvent("line[data-link='r0-r2']", "pointerdown");
  await page.dispatchEvent("line[data-link='r1-r2']", "pointerdown");
  assert((await page.locator("line.link.cut").count()) === 2, "both links are drawn cut");
  await playUntil(page, 6);
  // Playing stops wherever the wall clock left it; the two-second window must not depend on
  // that, so the same run is reopened from its share link at exactly six seconds.
  await page.click("#share");
  const url = (await href(page)).replace(/([?&])sim\.ev=\d+/, "$1sim.ev=0").replace(/([?&])sim\.t=\d+/, "$1sim.t=6000000");
  assert(url.includes("t=6000000") && url.includes("faults="), url);
  const again = await context.newPage();
  await again.goto(url);
  await again.waitForSelector("#cap-recent");
  assert((await again.locator("line.link.cut").count()) === 2, "the share link replays both cuts");
  const recent = parseFloat((await again.textContent("#cap-recent")).split(":")[1]);
  // Seed 1: the isolated replica's client is refused until it fails over to the majority.
  assert(recent === 88.9, `the client beside the isolated replica is refused: ${recent}%`);
  assert((await again.locator("#cap-history g.op.failed").count()) > 0, "refused operations are drawn red");
  await again.click("#lang");
  assert((await again.textContent("main h2")) === "CAP、法定人数与一致性级别", await again.textContent("main h2"));
  assert((await again.textContent("#cap-recent")).startsWith("最近 2 秒的可用性"), await again.textContent("#cap-recent"));
  await again.close();
});

await test("bare quorums: the checker's counterexample is outlined in the history", async (page) => {
  await open(page, "#/cap?sim.seed=1&level=quorum&r=1&w=1&sim.t=6000000");
  assert((await page.textContent("#cap-quorums")).includes("R + W > N ✗"), await page.textContent("#cap-quorums"));
  assert((await page.getAttribute("#verdict-linearizability", "data-status")) === "violated" && (await page.getAttribute("#verdict-linearizability", "class")).includes("warn"), "violated, not promised");
  assert((await page.locator("#cap-history rect.violation").count()) >= 2, "the operations that cannot be ordered are outlined");
});

await test("the sweep runs in a worker and draws its chart", async (page) => {
  await open(page, "#/cap?sim.seed=1");
  await page.selectOption("#sweep-param", "consistency");
  await page.fill("#sweep-seeds", "2");
  await page.click("#sweep-run");
  await page.waitForSelector("#sweep-chart[data-done='1']", { timeout: 60000 });
  assert((await page.locator("#sweep-chart rect.bar-violation").count()) === 4, "one point per level");
  assert((await page.locator("#sweep-chart rect.bar-availability").count()) === 4, "with its availability");
  assert((await page.getAttribute("#sweep-progress", "value")) === "8", "4 points × 2 seeds");
  // Every (R, W) pair of N = 5 at a phone's width: the labels shown never run into each other or
  // into the legend, which is text below the drawing.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(base + "#/cap?n=5&sim.seed=1");
  await page.waitForSelector("#verdicts");
  await page.fill("#sweep-seeds", "1");
  await page.click("#sweep-run");
  await page.waitForSelector("#sweep-chart[data-done='1']", { timeout: 60000 });
  assert((await page.locator("#sweep-chart rect.bar-violation").count()) === 25, "25 (R, W) pairs");
  const boxes = await page.locator("#sweep-chart .axis.x text").evaluateAll((ts) => ts.map((e) => { const r = e.getBoundingClientRect(); return [r.left, r.right]; }));
  assert(boxes.length > 2 && boxes.every((b, i) => i === 0 || boxes[i - 1][1] <= b[0]), `tick labels apart: ${JSON.stringify(boxes)}`);
  const legend = await page.locator("#sweep-legend").boundingBox();
  const axis = await page.locator("#sweep-chart .axis.x").boundingBox();
  assert(legend.y >= axis.y + axis.height, "the legend is below the axis");
});

await test("the caching view compares three policies under the optimum", async (page) => {
  await open(page, "#/caching");
  assert((await page.textContent("main h2")).startsWith("Caching: policies"), await page.textContent("main h2"));
  await page.fill("#cache-length", "50000");
  await page.click("#cache-compare");
  await page.waitForFunction(() => document.querySelector("#policy-legend")?.textContent.startsWith("50000/50000"), null, { timeout: 30000 });
  assert((await page.locator("#policy-chart path.series").count()) === 3, "LRU, LFU and W-TinyLFU");
  assert((await page.locator("#policy-chart line.ceiling").count()) === 1, "OPT as the ceiling");
  assert((await page.locator("#policy-chart .axis.x .tick").count()) >= 3 && (await page.locator("#policy-chart .axis.y .tick").count()) >= 3, "both axes have ticks with numbers");
  const legend = await page.textContent("#policy-legend");
  const ratio = (name) => parseFloat(legend.split(`${name} `)[1]);
  assert(ratio("W-TinyLFU") > ratio("LRU") && ratio("OPT") > ratio("W-TinyLFU"), legend);
  assert((await page.locator("#contents-grid rect").count()) === 120, "40 hot keys × 3 policies");
  assert((await page.textContent("#bloom-facts")).startsWith("958506 bits, 7 hashes"), await page.textContent("#bloom-facts"));
  await page.click("#lang");
  assert((await page.textContent("#cache-compare")) === "开始比较", "the view speaks Chinese");
});

await test("toggling TTL jitter changes the database-load chart", async (page) => {
  await open(page, "#/caching?story=avalanche&sim.seed=3&sim.t=12000000");
  const peak = async () => Number(await page.textContent("tr[data-metric='db_peak_per_bucket'] td:nth-child(3)"));
  const line = async () => page.getAttribute("#db-chart path.after", "d");
  const [flatPeak, flatLine] = [await peak(), await line()];
  assert(flatPeak > 100, `every warmed key expires at once: ${flatPeak}`);
  await page.check("#toggle-jitter_percent");
  await playUntil(page, 12);
  const [jitterPeak, jitterLine] = [await peak(), await line()];
  assert(jitterLine !== flatLine, "the chart changed");
  assert(flatPeak >= 5 * jitterPeak, `peak load per 100 ms: ${flatPeak} without jitter, ${jitterPeak} with`);
  assert((await page.textContent("tr[data-metric='db_peak_per_bucket'] td:nth-child(2)")).trim() === String(flatPeak), "the grey run is the story without jitter");
});

await test("the exercise-3 walkthrough can be stepped to the end", async (page) => {
  await open(page, "#/exercise-3");
  assert((await page.textContent("main h2")).startsWith("Exercise 3"), await page.textContent("main h2"));
  for (let i = 0; i < 5; i++) {
    assert((await page.getAttribute("#walk-step", "data-page")) === String(i), `page ${i}`);
    assert((await page.locator("#walk-chart").count()) === 0, "the runs wait for the reveal");
    await page.locator("input[name='choice']").nth(i % 3).check();
    await page.click("#reveal");
    assert((await page.locator("#walk-series path.series").count()) === 2, "before and after");
    if (i === 1) assert((await page.textContent("#walk-chart")).includes("stale reads per 100 ms"), "the stale-fill page draws the stale reads it asks about");
    assert((await page.locator(".choice.right").count()) === 1, "the right answer is marked");
    const numbers = await page.textContent("#walk-numbers");
    if (i === 4) assert(numbers.includes("1000 → single-flight 1"), numbers);
    await page.click("#next");
  }
  await page.waitForSelector("#walkthrough-done");
  await page.click("#lang");
  assert((await page.textContent("main h2")).startsWith("练习 3"), await page.textContent("main h2"));
});

/** The names of the transaction lanes drawn, top to bottom. */
const laneNames = (page) => page.locator("#txn-lanes g.lane").evaluateAll((gs) => gs.map((g) => g.dataset.node));

await test("a saga failing at its third step compensates payment, then inventory", async (page) => {
  await open(page, "#/transactions?protocol=saga&sim.seed=1");
  await page.fill("#txn-fail-order", "3");
  await page.locator("#txn-fail-order").dispatchEvent("change");
  assert((await page.inputValue("#txn-fail-step")) === "3", "shipping is the default step to fail");
  await page.click("#share");
  const url = (await href(page)).replace(/([?&])sim\.ev=\d+/, "$1sim.ev=0").replace(/([?&])sim\.t=\d+/, "$1sim.t=7000000");
  assert(url.includes("fail=3") && url.includes("step=3") && url.includes("t=7000000"), url);
  await page.goto(url);
  await page.waitForSelector("#txn-lanes svg");
  assert((await page.getAttribute("#txn-lanes svg", "data-order")) === "3", "the lanes show the failed order");
  const row = (order) => page.locator(`#txn-grid-box tr[data-order='${order}'] td[data-node]`).evaluateAll((cells) => cells.map((c) => `${c.dataset.node}:${c.dataset.state ?? ""}`).join(" "));
  assert((await row(3)) === "orchestrator:rolled_back inventory:compensated payment:compensated shipping:failed", await row(3));
  assert((await row(12)) === "orchestrator:rolled_back inventory:failed payment: shipping:", `out of stock: ${await row(12)}`);
  const compensations = await page.locator("#txn-events .txn-event[data-type='compensated']").evaluateAll((ls) => ls.map((l) => [l.dataset.node, Number(l.dataset.index)]));
  assert(compensations.map(([node]) => node).join() === "payment,inventory" && compensations[0][1] < compensations[1][1], `step 2 then step 1: ${JSON.stringify(compensations)}`);
  const undos = await page.locator("#txn-lanes g.msg.undo").evaluateAll((gs) => gs.map((g) => [Number(g.dataset.index), g.dataset.to]).sort((a, b) => a[0] - b[0]).map(([, to]) => to));
  assert(undos.join() === "payment,inventory", `the undo arrows go to payment, then inventory: ${undos}`);
  const metric = (name) => page.textContent(`#txn-summary tr[data-metric='${name}'] td:nth-child(2)`);
  assert((await metric("completed")) === "10" && (await metric("rolled_back")) === "2" && (await metric("compensations")) === "2", "ten completed; order 3 and order 12 (no stock left) rolled back");
  for (const property of ["atomicity", "conservation", "nothing_dropped"]) assert((await page.getAttribute(`#verdict-${property}`, "data-status")) === "holds", property);
  // Twelve orders, one every 500 ms: the run lasts about six seconds, and says when it is over.
  assert((await page.getAttribute("#run-state", "data-state")) === "finished", await page.textContent("#run-state"));
  assert((await page.getAttribute("#verdict-atomicity", "data-final")) === "true", "the verdicts are final");
  assert(/6\.\d+ s/.test(await page.textContent("#run-state")), `finished at about 6 s: ${await page.textContent("#run-state")}`);
});

await test("2PC: participants stay in doubt while the coordinator is down, and resolve after its restart", async (page) => {
  // Seed 1: after event 19 the coordinator has two of the three votes; payment's is still on its way.
  await open(page, '#/transactions?protocol=2pc&sim.seed=1&sim.faults=[{"after":19,"fault":{"fault":"crash","node":"coordinator"}}]&sim.ev=19');
  const blocked = () => page.locator("#txn-blocked .blocked").evaluateAll((ls) => ls.map((l) => `${l.dataset.node}:${l.dataset.order}:${l.dataset.blockedUs}`).join(" "));
  assert((await blocked()) === "inventory:1:5022 payment:1:3498 shipping:1:3400", await blocked());
  assert((await page.textContent("#txn-blocked .blocked[data-node='inventory'] .clock")) === "0.005 s", "the clock is shown in seconds");
  assert((await page.locator("#txn-lanes g.msg[data-type='vote'] line.flying").count()) === 1, "the third vote is on its way");
  assert((await page.textContent("#txn-twin-status")).includes("crashed") && (await page.textContent("#txn-twin-status")).includes("locks held: none"), await page.textContent("#txn-twin-status"));
  for (let i = 0; i < 6; i++) await page.click("#step");
  assert((await blocked()) === "inventory:1:504563 payment:1:503039 shipping:1:502941", `the clocks grow with simulated time: ${await blocked()}`);
  assert((await page.locator("#txn-lanes g.msg[data-type='vote'] line.lost").count()) === 1, "the third vote was lost: the coordinator is down");
  assert((await page.locator("#txn-lanes g.msg[data-type='query'] line.lost").count()) === 2, "and so are the participants' queries");
  assert((await page.textContent("#txn-blocked .blocked[data-node='inventory'] .clock")) === "0.505 s", await page.textContent("#txn-blocked .blocked[data-node='inventory'] .clock"));
  assert((await page.getAttribute("#verdict-atomicity", "data-status")) === "pending", "an order in doubt is not atomic yet, and cannot be judged before the end");
  await page.click("button[data-action='restart-coordinator']");
  for (let i = 0; i < 30 && (await page.locator("#txn-blocked .blocked").count()) > 0; i++) await page.click("#step");
  assert((await page.locator("#txn-blocked .blocked").count()) === 0, "nobody is in doubt any more");
  const states = await page.locator("#txn-grid-box tr[data-order='1'] td[data-node]").evaluateAll((cells) => cells.map((c) => c.dataset.state).join());
  assert(states === "aborted,aborted,aborted,aborted", `presumed abort: the restarted coordinator aborts what it had not decided: ${states}`);
  assert((await page.textContent("#txn-blocked-measured")).includes("longest 505 ms, in all 1515 ms"), await page.textContent("#txn-blocked-measured"));
  assert((await page.getAttribute("#verdict-atomicity", "data-status")) === "holds", "atomic again");
  assert((await page.textContent("#txn-twin-status")).startsWith("orchestrator: up"), await page.textContent("#txn-twin-status"));
});

await test("the transactions view switches protocols and speaks Chinese", async (page) => {
  await open(page, "#/transactions?sim.seed=1&sim.t=2500000");
  assert((await page.textContent("main h2")) === "Distributed transactions", await page.textContent("main h2"));
  const protocols = await page.locator("#txn-protocol option").evaluateAll((os) => os.map((o) => o.value));
  assert(protocols.slice(0, 3).join() === "2pc,tcc,saga" && protocols.at(-1) === "outbox", `from the catalogue: ${protocols}`);
  assert((await laneNames(page)).join() === "coordinator,inventory,payment,shipping", (await laneNames(page)).join());
  assert((await page.locator("#txn-grid-box tr[data-order]").count()) === 5, "an order every 500 ms from 0.5 s: five by 2.5 s");
  await page.selectOption("#txn-protocol", "saga");
  assert((await href(page)).includes("protocol=saga"), await href(page));
  assert((await page.textContent("#sim-time")).endsWith("0.000 s"), "a new protocol starts a new run");
  for (let i = 0; i < 6; i++) await page.click("#step");
  assert((await laneNames(page)).join() === "orchestrator,inventory,payment,shipping", (await laneNames(page)).join());
  assert(await page.isVisible("#txn-fail-order") && !(await page.isVisible("#txn-dual")), "sagas fail a step; only the outbox has a dual write");
  await page.selectOption("#txn-protocol", "outbox");
  assert(!(await page.isVisible("#txn-fail-order")) && await page.isVisible("#txn-dual"), "the outbox has no step to fail");
  for (let i = 0; i < 10; i++) await page.click("#step");
  assert((await laneNames(page)).join() === "orders,shipping", (await laneNames(page)).join());
  assert((await page.getAttribute("#txn-grid-box td[data-node='shipping']", "data-state")) === "applied", "order 1 reached the consumer");
  await page.click("#share"); // the position goes into the URL, which the language switch rebuilds from
  await page.click("#lang");
  assert((await page.textContent("main h2")) === "分布式事务", await page.textContent("main h2"));
  assert((await page.inputValue("#txn-protocol")) === "outbox", "the protocol survives the language switch");
  assert((await page.textContent("#txn-lanes")).includes("订单服务"), "the lanes are labelled in Chinese");
  assert((await page.textContent("#txn-grid-box td[data-node='shipping']")) === "已应用", await page.textContent("#txn-grid-box td[data-node='shipping']"));
  // On the outbox's lossy default link a lost message is not yet a violation: the relay resends it.
  assert((await page.getAttribute("#verdict-delivered", "data-status")) !== "violated", await page.textContent("#verdict-delivered"));
  // Two counts, two names: the frame counts trace records, the summary the events processed.
  const frameLabel = (await page.textContent("#event-count")).split(/[:：]/)[0];
  const summaryLabel = await page.textContent("#txn-summary tr[data-metric='events'] td:first-child");
  assert(frameLabel === "轨迹记录" && summaryLabel === "已处理事件", `${frameLabel} / ${summaryLabel}`);
  assert(/^恰好投递一次：(目前成立|尚无法判定)/.test(await page.textContent("#verdict-delivered strong")), await page.textContent("#verdict-delivered"));
});

await test("clicking a lane crashes that actor there, and the share link replays it", async (page) => {
  await open(page, "#/transactions?protocol=saga&sim.seed=1&sim.t=1500000&order=2");
  assert((await page.getAttribute("#txn-lanes svg", "data-order")) === "2", "the lanes show order 2");
  const payment = page.locator("#txn-lanes g.lane[data-node='payment'] rect.lane-bg");
  await payment.scrollIntoViewIfNeeded();
  const lane = await payment.boundingBox();
  // Whatever is drawn there (a band, an arrow), the click belongs to the lane under it.
  await page.mouse.click(lane.x + lane.width * 0.5, lane.y + lane.height / 2);
  const faults = JSON.parse(new URLSearchParams(new URL(await href(page)).hash.split("?")[1]).get("sim.faults"));
  assert(faults.length === 1 && faults[0].fault.fault === "crash" && faults[0].fault.node === "payment", JSON.stringify(faults));
  assert(faults[0].after === 15, `the click at the middle of order 2 crashes payment right after its step (event 15), not ${faults[0].after}`);
  assert((await page.getAttribute(".card[data-node='payment']", "class")).includes("crashed"), "payment is down");
  assert((await page.locator("#txn-lanes text.crash[data-node='payment']").count()) === 1, "the crash is drawn on its lane");
  await page.click("#share");
  const url = await href(page);
  const hash = await page.textContent("#trace-hash");
  const again = await context.newPage();
  await again.goto(url);
  await again.waitForSelector("#trace-hash");
  assert((await again.textContent("#trace-hash")) === hash, "the share link replays the same run");
  assert((await again.locator("#txn-lanes text.crash[data-node='payment']").count()) === 1, "with the crash on the lane");
  await again.close();
});

await test("the choreographed saga compensates back along the chain, with no orchestrator", async (page) => {
  await open(page, "#/transactions?protocol=saga-choreo&sim.seed=1&fail=3&step=3&sim.t=7000000&order=3");
  assert((await laneNames(page)).join() === "orders,inventory,payment,shipping", (await laneNames(page)).join());
  const compensations = await page.locator("#txn-events .txn-event[data-type='compensated']").evaluateAll((ls) => ls.map((l) => l.dataset.node));
  assert(compensations.join() === "payment,inventory", `payment, then inventory: ${compensations}`);
  const row = await page.locator("#txn-grid-box tr[data-order='3'] td[data-node]").evaluateAll((cells) => cells.map((c) => `${c.dataset.node}:${c.dataset.state ?? ""}`).join(" "));
  assert(row === "orders:rolled_back inventory:compensated payment:compensated shipping:failed", row);
  for (const property of ["atomicity", "conservation", "nothing_dropped"]) assert((await page.getAttribute(`#verdict-${property}`, "data-status")) === "holds", property);
});

await test("a fault injected after playing past the last event replays at its own time", async (page) => {
  // Found in review: at t = 1.1 s the last event is earlier; replaying by event count alone put
  // the crash back at that event's time, and the share link gave another run.
  await open(page, "#/transactions?protocol=2pc&sim.seed=1&sim.t=1100000");
  await page.click("button[data-action='crash-coordinator']");
  await page.click("#share");
  const url = await href(page);
  const faults = JSON.parse(new URLSearchParams(new URL(url).hash.split("?")[1]).get("sim.faults"));
  assert(faults[0].at === 1100000, `the crash is recorded at 1.1 s: ${JSON.stringify(faults)}`);
  for (let i = 0; i < 20 && !(await page.isDisabled("#step")); i++) await page.click("#step");
  await page.click("#share");
  const later = await href(page);
  const hash = await page.textContent("#trace-hash");
  const again = await context.newPage();
  await again.goto(later);
  await again.waitForSelector("#trace-hash");
  assert((await again.textContent("#trace-hash")) === hash, `same run from the share link: ${later}`);
  await again.close();
});

await test("a CAP share link with five replicas reopens five replicas at the same time and event", async (page) => {
  // Found in review: the controls' event count `n` was read back as the view's replica count.
  await open(page, "#/cap?n=5&r=3&w=3&sim.seed=2");
  for (let i = 0; i < 40; i++) await page.click("#step");
  await page.click("#share");
  const url = await href(page);
  const [time, events] = [await page.textContent("#sim-time"), await page.textContent("#event-count")];
  const again = await context.newPage();
  await again.goto(url);
  await again.waitForSelector("main#view h2");
  assert((await again.inputValue("#cap-n")) === "5", `five replicas, got ${await again.inputValue("#cap-n")}`);
  assert((await again.textContent("#cap-quorums")).includes("R + W > N ✓"), await again.textContent("#cap-quorums"));
  assert((await again.textContent("#sim-time")) === time && (await again.textContent("#event-count")) === events, `${time} ${events}`);
  await again.close();
});

await test("a transactions share link taken while playing reopens at the sender's time", async (page) => {
  // Found in review: the link kept only the event count, so a run played to a moment between two
  // events reopened at the last event's time (3.9 s where the sender was at 8.2 s).
  await open(page, "#/transactions?protocol=2pc&sim.seed=1&sim.t=1000000");
  const play = await page.locator("#play").boundingBox();
  await page.mouse.move(play.x + play.width / 2, play.y + play.height / 2);
  await page.mouse.down();
  await page.waitForTimeout(150);
  await page.mouse.up();
  await page.waitForTimeout(800);
  await page.mouse.down();
  await page.waitForTimeout(150);
  await page.mouse.up();
  await page.click("#share");
  const url = await href(page);
  const [time, hash] = [await page.textContent("#sim-time"), await page.textContent("#trace-hash")];
  assert(Number(time.replace(/[^\d.]/g, "")) > 1, `played on past 1 s: ${time}`);
  const again = await context.newPage();
  await again.goto(url);
  await again.waitForSelector("#trace-hash");
  assert((await again.textContent("#sim-time")) === time, `${await again.textContent("#sim-time")} against ${time}`);
  assert((await again.textContent("#trace-hash")) === hash, "the same run");
  await again.close();
});

/** A realistic click: press, hold 150 ms, release, on the element's centre. */
/** Where `selector` is on screen now, read in one step: a playing view redraws its pictures
 * every frame, so an element found a moment ago may already be a new one. */
const boxOf = (page, selector) => page.evaluate((sel) => {
  document.querySelector(sel)?.scrollIntoView({ block: "center" });
  const r = document.querySelector(sel)?.getBoundingClientRect();
  return r ? { x: r.x, y: r.y, width: r.width, height: r.height } : null;
}, selector);

async function heldClick(page, selector) {
  const box = await boxOf(page, selector);
  if (!box) throw new Error(`nothing to press at ${selector}`);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.waitForTimeout(150);
  await page.mouse.up();
}

const simTime = async (page) => Number((await page.textContent("#sim-time")).match(/([\d.]+) s/)[1]);
const linkParams = async (page) => new URLSearchParams(new URL(await href(page)).hash.split("?")[1]);

// The transactions view's own pictures are redrawn every frame while the run plays: a held press
// on a lane, on a grid row or on an event's ✕ must still land (they are taken on stable containers).
await test("the transactions lanes, grid and event list take held presses while the run plays", async (page) => {
  // The first lanes drawn show order 2 (the latest at 1.2 s); then the learner chooses order 1.
  await open(page, "#/transactions?protocol=saga&sim.seed=1&sim.speed=0.25&sim.t=1200000");
  await page.click("#play");
  await heldClick(page, "#txn-grid-box tr[data-order='1']");
  assert((await page.getAttribute("#txn-lanes svg", "data-order")) === "1", "the held press on row 1 chose order 1");
  const lane = await boxOf(page, "#txn-lanes g.lane[data-node='payment'] rect.lane-bg");
  await page.mouse.move(lane.x + lane.width * 0.9, lane.y + lane.height / 2);
  await page.mouse.down();
  await page.waitForTimeout(150);
  await page.mouse.up();
  await page.waitForTimeout(100);
  assert((await page.getAttribute("#run-state", "data-state")) === "playing", "still playing");
  await page.click("#play");
  const faults = JSON.parse((await linkParams(page)).get("sim.faults") ?? "[]");
  // The lane press maps through order 1's lanes as drawn now (0.5 s to 0.52 s), not through the
  // time scale of order 2's, which the first drawing showed.
  assert(faults.length === 1 && faults[0].fault.node === "payment" && faults[0].at >= 500000 && faults[0].at < 1000000, `the press landed in order 1's time: ${JSON.stringify(faults)}`);
  // An event's ✕, pressed while playing, crashes its actor right after that event.
  await page.click("#play");
  const last = await page.locator("#txn-events .txn-event:not(.fault)").first().getAttribute("data-node");
  await heldClick(page, "#txn-events .txn-event:not(.fault) .crash-here");
  await page.click("#play");
  const after = JSON.parse((await linkParams(page)).get("sim.faults") ?? "[]");
  assert(after.length >= 1 && after.at(-1).fault.fault === "crash" && after.at(-1).fault.node === last, `the ✕ crashed ${last}: ${JSON.stringify(after)}`);
});


// The distributed-IDs view (46.7.2): each of the chapter's generators fails its story on the
// default seed and the fix holds on the same seed; an ID pressed in the stream while the run
// plays is decoded, and the decoder reads another layout where the chapter's parse_id misreads it.
await test("distributed IDs: the chapter's generators fail their stories on the default seed, the fixes hold, and the decoder reads any layout", async (page) => {
  const verdict = (p) => page.getAttribute(`#verdict-${p}`, "data-status");
  const metric = (k) => page.textContent(`#ids-measured tr[data-metric='${k}'] td`);
  for (const [story, property, key, value] of [["same-worker", "unique", "duplicates", "400"], ["clock-back", "available", "refused", "59"], ["segment-stall", "no_stall", "longest_wait_ms", "572.0 ms"], ["chapter-v7", "monotonic", "out_of_order", "3020"]]) {
    await open(page, `#/ids?story=${story}&sim.t=11000000`);
    await page.waitForSelector(`#verdict-${property}`);
    assert((await verdict(property)) === "violated", `${story}: ${await page.textContent(`#verdict-${property}`)}`);
    assert((await metric(key)) === value, `${story}: ${key} ${await metric(key)}, not ${value}`);
    await page.click("#ids-chapter");
    assert((await linkParams(page)).get("chapter") === "0", `the link keeps the fix: ${await href(page)}`);
    await open(page, `#/ids?story=${story}&chapter=0&sim.t=11000000`);
    await page.waitForSelector(`#verdict-${property}`);
    assert((await verdict(property)) === "holds", `${story} fixed: ${await page.textContent(`#verdict-${property}`)}`);
  }
  await open(page, "#/ids?story=same-worker&sim.seed=1");
  await page.click("#play");
  await page.waitForFunction(() => document.querySelectorAll("#ids-stream li").length > 10, null, { timeout: 20000 });
  assert((await page.getAttribute("#run-state", "data-state")) === "playing", "the run plays");
  await heldClick(page, "#ids-stream li:nth-child(3)");
  await page.waitForSelector("#ids-fields tr[data-field='worker']");
  const worker = await page.textContent("#ids-fields tr[data-field='worker'] td:last-child");
  assert(["1", "2"].includes(worker), `the pressed ID's worker: ${worker}`);
  await page.click("#play");
  await page.fill("#ids-layout", "43/0/8/12");
  await page.fill("#ids-decode-input", String((5n << 20n) | (255n << 12n) | 7n));
  await page.click("#ids-decode");
  assert((await page.textContent("#ids-fields tr[data-field='worker'] td:last-child")) === "255", "read with its own layout");
  assert((await page.getAttribute("#ids-chapter-reads", "class")).includes("bad"), "the chapter's parse_id reads something else");
  assert((await page.textContent("#ids-chapter-reads")).includes("worker 31"), await page.textContent("#ids-chapter-reads"));
  await page.fill("#ids-layout", "41/5/5/13");
  await page.click("#ids-decode");
  assert((await page.textContent("#ids-decoded")).includes("sums to 64"), await page.textContent("#ids-decoded"));
  await page.fill("#ids-decode-input", "01a25048-61c9-730d-bb05-26eb11003698");
  await page.click("#ids-decode");
  assert((await page.textContent("#ids-decoded")).includes("version 7"), await page.textContent("#ids-decoded"));
  await page.click("#lang");
  assert((await page.textContent("main h2")) === "分布式 ID", await page.textContent("main h2"));
});

// The throughput race (46.7.2), pressed while the run plays: every mode's lap in a worker, the
// page answering meanwhile; the Snowflake family never above its ceiling (Sonyflake's laps hold
// whole ticks, so it is never even a part-tick over), only v7 and the ordered modes in order.
await test("distributed IDs: the throughput race runs in a worker while the run plays, each mode under its ceiling", async (page) => {
  await open(page, "#/ids?generator=segment");
  await page.click("#play");
  await page.click("#ids-race-go");
  assert(await page.isDisabled("#ids-race-go"), "one race at a time");
  await page.click("#play");
  assert((await page.getAttribute("#run-state", "data-state")) !== "playing", "the page answers a click during the race");
  await page.waitForSelector("#ids-race-table[data-done]", { timeout: 30000 });
  const rows = await page.$$eval("#ids-race-table tr[data-mode]", (rs) => rs.map((r) => ({
    mode: r.dataset.mode, rate: Number(r.dataset.rate), unordered: r.querySelector("td:last-child .bad") !== null, text: r.textContent,
  })));
  assert(rows.map((r) => r.mode).join(" ") === "snowflake sonyflake uuid-v4 uuid-v7 chapter-v7 segment", rows.map((r) => r.mode).join(" "));
  const row = Object.fromEntries(rows.map((r) => [r.mode, r]));
  assert(row.snowflake.rate > 100_000 && row.snowflake.rate <= 4_096_000, `Snowflake at ${row.snowflake.rate}/s`);
  assert(row.sonyflake.rate > 20_000 && row.sonyflake.rate <= 25_600, `Sonyflake at ${row.sonyflake.rate}/s`);
  for (const m of ["snowflake", "sonyflake", "uuid-v7", "segment"]) assert(!row[m].unordered, `${m} in order: ${row[m].text}`);
  for (const m of ["uuid-v4", "chapter-v7"]) assert(row[m].unordered && row[m].text.includes("version 4"), `${m}: ${row[m].text}`);
  assert(row["uuid-v7"].text.includes("version 7"), row["uuid-v7"].text);
  assert(/\d+ segments claimed/.test(row.segment.text), row.segment.text);
  assert(!(await page.isDisabled("#ids-race-go")), "the button is back");
});

// Minimal failing schedules: the lock storm without fencing (the CLI's configuration, opened on
// the page through `sim.config`), shrunk in a worker by a click while it plays, to the same
// schedule `distlab sim shrink --keep-workload` finds natively; the minimal run opened, replayed
// from its share link with the native trace hash, and left for the view's own run.
await test("a violated verdict shrinks in a worker to the native minimal schedule, and the minimal run replays from its link", async (page) => {
  const bin = process.env.DISTLAB_BIN;
  if (!bin) throw new Error("DISTLAB_BIN is not set: run the browser tests through `cargo xtask test`");
  const native = JSON.parse(execFileSync(bin, ["sim", "shrink", "lock", "--seed", "1", "--config", '{"fencing":false}', "--keep-workload", "--json"], { encoding: "utf8" }));
  const storm = encodeURIComponent(JSON.stringify({ fencing: false }));
  await open(page, `#/locks?kind=single&sim.seed=1&sim.config=${storm}`);
  assert(await page.isVisible("#linked-config"), "the banner says the run comes from the link");
  assert((await page.locator("#fault-strip .fault-mark.scheduled").count()) === native.faults_before, `the storm's ${native.faults_before} faults are on the strip`);
  await page.selectOption("#speed", "4");
  await page.click("#play");
  await page.waitForSelector("button[data-shrink='mutual_exclusion']", { timeout: 30000 });
  await heldClick(page, "button[data-shrink='mutual_exclusion']"); // a held press, while the run plays
  assert((await page.getAttribute("#run-state", "data-state")) === "playing", "the run plays on while the worker shrinks");
  await page.waitForSelector("#shrink[data-state='done']", { timeout: 60000 });
  await page.click("#play");
  const [before, after] = [Number(await page.getAttribute("#shrink", "data-before")), Number(await page.getAttribute("#shrink", "data-after"))];
  assert(before === native.faults_before && after === native.faults_after, `page ${before} -> ${after}, native ${native.faults_before} -> ${native.faults_after}`);
  assert((await page.locator("#shrink li").count()) === after, "each kept fault is listed");
  for (const lang of ["en", "zh"]) {
    if (lang === "zh") {
      await page.click("#lang"); // the view is drawn again in Chinese: shrink again there
      await page.click("button[data-shrink='mutual_exclusion']");
      await page.waitForSelector("#shrink[data-state='done']", { timeout: 60000 });
    }
    for (const [w, h] of [[1440, 900], [1024, 768], [390, 844]]) {
      await page.setViewportSize({ width: w, height: h });
      await page.locator("#shrink").scrollIntoViewIfNeeded();
      await keepScreenshot(page, join(shots, `shrink-${lang}-${w}.png`), `the shrink result, ${lang}, ${w}`);
    }
  }
  assert((await page.textContent("#shrink")).includes("仍被违反"), "the result speaks Chinese");
  await page.setViewportSize({ width: 1400, height: 1000 });

  await page.click("#shrink-open");
  const link = await href(page);
  const linked = JSON.parse(new URL(link).hash.split("?")[1].split("&").map((kv) => kv.split("=")).filter(([k]) => k === "sim.config").map(([, v]) => decodeURIComponent(v.replace(/\+/g, " ")))[0]);
  assert(JSON.stringify(linked.schedule) === JSON.stringify(native.config.schedule), `the link holds the native schedule: ${JSON.stringify(linked.schedule)}`);
  assert((await page.locator("#fault-strip .fault-mark").count()) === after, "only the kept faults are on the strip");
  await page.click("#play");
  await page.waitForSelector("#run-state[data-state='finished']", { timeout: 60000 });
  assert((await page.getAttribute("#verdict-mutual_exclusion", "data-status")) === "violated", "the minimal run still breaks mutual exclusion");
  const hash = await page.textContent("#trace-hash");

  const again = await context.newPage();
  await again.goto(await href(page));
  await again.waitForSelector("#linked-config");
  assert((await again.textContent("#trace-hash")) === hash, "the share link reopens the same finished run");
  await again.close();
  let out;
  try {
    out = execFileSync(bin, ["sim", "run", "lock", "--seed", "1", "--config", JSON.stringify(linked)], { encoding: "utf8" });
  } catch (e) {
    out = e.stdout;
  }
  assert(out.trim().endsWith(`trace hash: ${hash}`), `native replay of the link: ${out.trim().split("\n").pop()} vs ${hash}`);

  await page.click("#watchdog");
  assert(!(await page.isVisible("#linked-config")), "changing a setting of the view leaves the link's configuration");
  assert(!(await href(page)).includes("sim.config"), "and the link no longer carries it");
});

// Against real Redis: `distlab replay` of the shrunk lock counterexample (a store clock jump the
// simulator makes and Redis cannot), its file opened on the locks view while another run plays:
// the run it replayed is rebuilt from the file, the table marks the command Redis answered
// otherwise, the ≠ on the timeline takes the world to the store's execution of it, and a file of
// another scenario is refused in words.
await test("a replay file opens beside the run it replayed, the divergence on the timeline", async (page) => {
  const bin = process.env.DISTLAB_BIN;
  if (!bin) throw new Error("DISTLAB_BIN is not set: run the browser tests through `cargo xtask test`");
  const dir = mkdtempSync(join(tmpdir(), "distlab-replay-"));
  const file = join(dir, "replay-lock-1.json");
  const config = '{"fencing":false,"clients":2,"duration_ms":1975,"schedule":[{"at_us":1743000,"fault":"clock_jump","node":"redis","delta_us":1978000}]}';
  try {
    execFileSync(bin, ["replay", "lock", "--seed", "1", "--config", config, "--out", file], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    if (e.status !== 1) throw e; // 1: the divergence is flagged by mutual_exclusion, as it should be
  }
  const replayed = JSON.parse(readFileSync(file, "utf8"));
  assert(replayed.divergence.n === 14, `the native replay parts at command 14: ${replayed.divergence?.n}`);
  await open(page, "#/locks?kind=single&sim.seed=3");
  await page.selectOption("#speed", "4");
  await page.click("#play");
  await page.click("#replay summary");
  await page.setInputFiles("#replay-file", file); // while the view's own run plays
  await page.waitForSelector("#replay[data-diverged='true']");
  assert((await page.getAttribute("#replay", "data-n")) === "14", "the panel names command 14");
  assert((await page.inputValue("#seed")) === "1", "the replayed run's seed");
  assert(await page.isVisible("#linked-config"), "the replayed run's configuration, from the file");
  assert((await page.locator("#replay tr.diverged").count()) === 1, "one row marked");
  const row = await page.textContent("#replay tr.diverged");
  assert(row.includes("SET {lock} n2.0:3 NX PX 2000") && row.includes("OK") && row.includes("nil"), row);
  assert((await page.textContent("#replay-verdict")).includes("1.775064 s"), await page.textContent("#replay-verdict"));
  await page.selectOption("#speed", "4");
  await page.click("#play");
  await page.waitForSelector("#run-state[data-state='finished']", { timeout: 30000 });
  await heldClick(page, "#replay-mark");
  const details = JSON.parse(await page.textContent("#event-details"));
  const record = replayed.history[14].record;
  assert(details.index === record && details.kind === "deliver", `the mark goes to the store's execution: ${JSON.stringify(details)}`);
  for (const lang of ["en", "zh"]) {
    if (lang === "zh") {
      await page.click("#lang");
      await page.click("#replay summary").catch(() => undefined);
      await page.setInputFiles("#replay-file", file);
      await page.waitForSelector("#replay[data-diverged='true']");
      assert((await page.textContent("#replay")).includes("Redis 第一次给出不同回复"), "the panel speaks Chinese");
    }
    for (const [w, h] of [[1440, 900], [1024, 768], [390, 844]]) {
      await page.setViewportSize({ width: w, height: h });
      await page.locator("#replay").scrollIntoViewIfNeeded();
      await keepScreenshot(page, join(shots, `replay-${lang}-${w}.png`), `the replay beside its run, ${lang}, ${w}`);
    }
  }
  await page.click("#lang");
  await page.setViewportSize({ width: 1400, height: 1000 });
  const other = join(dir, "other.json");
  writeFileSync(other, JSON.stringify({ ...replayed, scenario: "redlock" }));
  await page.setInputFiles("#replay-file", other);
  // The file is read asynchronously: wait for the words, which fail the test if they never come.
  await page.waitForFunction(() => document.querySelector(".frame-controls").textContent.includes("This replay is of the scenario redlock"), null, { timeout: 5000 })
    .catch(() => assert(false, "another scenario's file is refused in words"));
  rmSync(dir, { recursive: true, force: true });
});

// Branch and compare: the lock storm without fencing, rewound by a press on a fault of the strip
// while it plays, forked there twice (the store's clock jump at 1.743 s removed, a crash of the
// store added), each comparison the one `distlab sim branch` makes natively (the same first
// divergence and both trace hashes), reopened from its share link, and branch B opened as a run.
await test("branch and compare: forked while the run plays, the native comparison, reopened from its share link", async (page) => {
  const bin = process.env.DISTLAB_BIN;
  if (!bin) throw new Error("DISTLAB_BIN is not set: run the browser tests through `cargo xtask test`");
  const config = JSON.stringify({ fencing: false });
  const native = (args) => JSON.parse(execFileSync(bin, ["sim", "branch", "lock", "--seed", "1", "--config", config, ...args, "--json"], { encoding: "utf8" }));
  const same = async (p, want, what) => {
    const got = await p.evaluate(() => Object.fromEntries(["a-index", "b-index", "a-hash", "b-hash"].map((k) => [k, document.querySelector("#branch").getAttribute(`data-${k}`)])));
    const expected = { "a-index": String(want.divergence.a_index), "b-index": String(want.divergence.b_index), "a-hash": want.a.trace_hash, "b-hash": want.b.trace_hash };
    assert(JSON.stringify(got) === JSON.stringify(expected), `${what}: page ${JSON.stringify(got)}, native ${JSON.stringify(expected)}`);
  };
  await open(page, `#/locks?kind=single&sim.seed=1&sim.config=${encodeURIComponent(config)}`);
  await page.selectOption("#speed", "0.25");
  await page.click("#play");
  await page.waitForSelector(".fault-mark.applied[data-time='938000']", { timeout: 30000 });
  await heldClick(page, ".fault-mark.applied[data-time='938000']"); // the jump at 0.938 s, pressed while the run plays
  assert((await page.getAttribute("#run-state", "data-state")) === "rewound", "the press rewinds to the jump");
  const jump = await page.locator("#branch-change option[value^='remove-1743000-']").getAttribute("value");
  await page.selectOption("#branch-change", jump);
  await heldClick(page, "#branch-run");
  await page.waitForSelector("#branch[data-state='done']", { timeout: 60000 });
  const live = await page.evaluate(() => document.querySelector("#sim-time").textContent);
  await page.waitForFunction((t) => document.querySelector("#sim-time").textContent !== t || document.querySelector("#run-state").dataset.state === "finished", live);
  const removed = native(["--remove", "3"]);
  await same(page, removed, "the jump removed");
  assert((await page.locator("#branch tr.differs").evaluateAll((rows) => rows.map((r) => r.dataset.property)).then((p) => p.join())) === "mutual_exclusion,lock_belief", "both verdicts differ");
  assert((await page.locator("#branch .events .diverged").count()) === 2, "the divergence is marked in both columns");
  assert((await page.textContent("#branch-verdict")).includes("1.868797 s"), await page.textContent("#branch-verdict"));
  if ((await page.getAttribute("#run-state", "data-state")) !== "finished") await page.click("#play");

  const link = await href(page);
  const params = new URLSearchParams(new URL(link).hash.split("?")[1]);
  assert(JSON.parse(params.get("sim.branch")).remove.at_us === 1743000, `the link carries the change: ${params.get("sim.branch")}`);
  const again = await context.newPage();
  await again.goto(link);
  await again.waitForSelector("#branch[data-state='done']", { timeout: 60000 });
  await same(again, removed, "the comparison reopened from its link");
  await again.close();

  for (const lang of ["en", "zh"]) {
    if (lang === "zh") {
      await page.click("#lang"); // the view is drawn again in Chinese from its URL: the comparison with it
      await page.waitForSelector("#branch[data-state='done']", { timeout: 60000 });
      assert((await page.textContent("#branch")).includes("分道扬镳"), "the comparison speaks Chinese");
    }
    for (const [w, h] of [[1440, 900], [1024, 768], [390, 844]]) {
      await page.setViewportSize({ width: w, height: h });
      await page.locator("#branch").scrollIntoViewIfNeeded();
      await keepScreenshot(page, join(shots, `branch-${lang}-${w}.png`), `the comparison, ${lang}, ${w}`);
    }
  }
  await page.click("#lang");
  await page.setViewportSize({ width: 1400, height: 1000 });

  await page.click(".fault-mark.applied[data-time='938000']");
  await page.selectOption("#branch-change", "add-crash-redis");
  await page.click("#branch-run");
  await page.waitForSelector("#branch[data-state='done']", { timeout: 60000 });
  const added = JSON.parse((await linkParams(page)).get("sim.branch")).add;
  assert(added.fault.fault === "crash" && added.fault.node === "redis", JSON.stringify(added));
  const crash = native(["--add", JSON.stringify(added.fault), "--after-events", String(added.after)]);
  assert(crash.change.add.at === added.at, `the same moment: page ${added.at}, native ${crash.change.add.at}`);
  await same(page, crash, "the store crashed");
  await page.click("#branch-open");
  assert((await page.locator("#branch").count()) === 0, "the comparison is put away");
  assert((await page.locator("#fault-strip .fault-mark.learner").count()) === 1, "branch B's crash is the learner's fault on the strip");
  await page.selectOption("#speed", "4");
  await page.click("#play");
  await page.waitForSelector("#run-state[data-state='finished']", { timeout: 60000 });
  assert((await page.textContent("#trace-hash")) === crash.b.trace_hash, "branch B opened runs to B's trace hash");
});

// Every simulation view: non-default parameters, a fault button pressed like a person while the
// run plays (it must land: the buttons are no longer rebuilt under the pointer), an event chosen
// in the list (a rewind), then the share link opened in a fresh page: the same parameters, trace
// hash, simulated time and selected event.
// The message-queue view (46.2): the chapter's queue loses what a crashed consumer or broker held,
// on the default seed; the reliable broker loses nothing there. A message's journey is one click
// away while the run plays, and the share link keeps it.
await test("the chapter's queue loses messages on the default seed, the reliable broker none, and a message's journey follows a click while playing", async (page) => {
  await open(page, "#/queues?mode=chapter&sim.t=30000000");
  await page.waitForSelector("#verdict-no_loss");
  assert((await page.getAttribute("#verdict-no_loss", "data-status")) === "violated", await page.textContent("#verdict-no_loss"));
  assert((await page.textContent("#mq-counters .card[data-counter='lost'] .value")) === "12", await page.textContent("#mq-counters"));
  assert((await page.locator("#mq-lanes .mq-tile.lost").count()) === 12, "the lost messages are drawn crossed out in their lane");
  assert(await page.isDisabled("#mq-fsync"), "the chapter's broker has no log to sync");
  await open(page, "#/queues?sim.t=30000000");
  await page.waitForSelector("#verdict-no_loss");
  for (const p of ["settled", "no_loss", "effectively_once"]) assert((await page.getAttribute(`#verdict-${p}`, "data-status")) === "holds", await page.textContent(`#verdict-${p}`));
  assert((await page.locator("#mq-dlq .mq-tile.dead").count()) === 4, "the four poison messages are in the dead-letter queue");
  // At a tenth of real speed a message stays in its lane for a while; on a slow machine the one
  // chosen may still be acknowledged (and leave) before the press, so the learner tries the next.
  await open(page, "#/queues?sim.seed=1&sim.speed=0.1");
  await page.click("#play");
  await page.waitForFunction(() => document.querySelector("#mq-lanes .mq-tile.in_flight"), null, { timeout: 20000 });
  assert((await page.getAttribute("#run-state", "data-state")) === "playing", "the run plays");
  let tileAt = null;
  for (let attempt = 0; attempt < 5 && tileAt === null; attempt++) {
    const id = await page.locator("#mq-lanes .mq-tile").first().getAttribute("data-msg");
    if (await boxOf(page, `#mq-lanes .mq-tile[data-msg='${id}']`)) {
      await heldClick(page, `#mq-lanes .mq-tile[data-msg='${id}']`).then(() => { tileAt = id; }, () => {});
    }
  }
  assert(tileAt !== null, "a message tile could be pressed while playing");
  await page.waitForFunction((id) => document.querySelector("#mq-journey h3")?.textContent.includes(id), tileAt, { timeout: 5000 });
  await page.click("#play");
  const steps = await page.locator("#mq-journey li").allTextContents();
  assert(steps[0].includes("publishes it") && steps.some((s) => s.includes("delivered from")), steps.join(" | "));
  assert((await linkParams(page)).get("msg") === tileAt, `the link keeps the message: ${await href(page)}`);
  await page.click("#share");
  const again = await context.newPage();
  await again.goto(await href(page));
  await again.waitForSelector("#mq-journey h3");
  assert((await again.textContent("#mq-journey h3")) === (await page.textContent("#mq-journey h3")), "the journey reopens");
  assert(JSON.stringify(await again.locator("#mq-journey li").allTextContents()) === JSON.stringify(steps), "step for step");
  await again.close();
  await page.click("#lang");
  assert((await page.textContent("main h2")).startsWith("消息队列"), await page.textContent("main h2"));
  assert((await page.textContent("#mq-journey h3")).startsWith("消息"), await page.textContent("#mq-journey h3"));
});

await test("the exercise-2 walkthrough can be stepped to the end, each page's runs telling its story", async (page) => {
  await open(page, "#/exercise-2");
  assert((await page.textContent("main h2")).startsWith("Exercise 2"), await page.textContent("main h2"));
  const row = async (metric) => (await page.locator(`#walk-numbers tr[data-metric='${metric}'] td`).allTextContents()).slice(1).join(" ");
  const expected = [["lost", "1 0"], ["dead_lettered", "8 8"], ["dead_lettered", "8 0"], ["applied_twice", "24 0"], ["lost", "5 3 0"]];
  for (let i = 0; i < 5; i++) {
    assert((await page.getAttribute("#walk-step", "data-page")) === String(i), `page ${i}`);
    assert((await page.locator("#walk-numbers").count()) === 0, "the runs wait for the reveal");
    await page.locator("input[name='choice']").nth(i % 3).check();
    await page.click("#reveal");
    assert((await page.locator(".choice.right").count()) === 1, "the right answer is marked");
    const [metric, values] = expected[i];
    assert((await row(metric)) === values, `page ${i}: ${metric} ${await row(metric)}, not ${values}`);
    assert((await page.locator("#walk-journeys ol").count()) >= 2, "the story's message, in each run");
    await page.click("#next");
  }
  await page.waitForSelector("#walkthrough-done");
  await page.click("#lang");
  assert((await page.textContent("main h2")).startsWith("练习 2"), await page.textContent("main h2"));
});

await test("the exercise-5 walkthrough can be stepped to the end, each page's runs telling its story", async (page) => {
  await open(page, "#/exercise-5");
  assert((await page.textContent("main h2")).startsWith("Exercise 5"), await page.textContent("main h2"));
  const row = async (metric) => (await page.locator(`#walk-numbers tr[data-metric='${metric}'] td`).allTextContents()).slice(1).join(" ");
  const expected = [["refused", "59 0 0"], ["duplicates", "400 0"], ["duplicates", "16 0"], ["duplicates", "200 0"], ["out_of_order", "3020 0"]];
  for (let i = 0; i < 5; i++) {
    assert((await page.getAttribute("#walk-step", "data-page")) === String(i), `page ${i}`);
    assert((await page.locator("#walk-numbers").count()) === 0, "the runs wait for the reveal");
    await page.locator("input[name='choice']").nth(i % 3).check();
    await page.click("#reveal");
    assert((await page.locator(".choice.right").count()) === 1, "the right answer is marked");
    const [metric, values] = expected[i];
    assert((await row(metric)) === values, `page ${i}: ${metric} ${await row(metric)}, not ${values}`);
    await page.click("#next");
  }
  await page.waitForSelector("#walkthrough-done");
  await page.click("#lang");
  assert((await page.textContent("main h2")).startsWith("练习 5"), await page.textContent("main h2"));
});

await test("load balancing: the chapter's checker keeps a dead backend in rotation for 35 s, passive checks eject it in a second, and the chapter's algorithms compare worse", async (page) => {
  const metric = (k) => page.textContent(`#lb-measured tr[data-metric='${k}'] td:last-child`);
  await open(page, "#/balancing?health=chapter&passive=off&sim.t=92000000");
  await page.waitForSelector("#lb-measured tr[data-metric='lb.m.deadFor']");
  assert((await metric("lb.m.deadFor")) === "35.0 s", `the chapter's checker: ${await metric("lb.m.deadFor")}`);
  assert((await metric("lb.m.dead")) === "864", `sent to the dead backend: ${await metric("lb.m.dead")}`);
  assert((await page.locator("#lb-health-timeline .lb-flip.down[data-backend='b'][data-cause='probes']").count()) === 1, "taken out by its probes, once");
  const failedAt = await page.locator("#lb-health-timeline .lb-probe.failed[data-backend='b']").evaluateAll((ps) => ps.map((p) => p.getAttribute("data-at")));
  const downAt = await page.getAttribute("#lb-health-timeline .lb-flip.down[data-backend='b']", "data-at");
  assert(failedAt[2] === downAt, `taken out at the third failed probe: ${downAt}, failures at ${failedAt.join(", ")}`);
  await open(page, "#/balancing?sim.t=92000000");
  await page.waitForSelector("#lb-measured tr[data-metric='lb.m.deadFor']");
  assert((await metric("lb.m.deadFor")) === "1.0 s", `passive checks: ${await metric("lb.m.deadFor")}`);
  assert((await metric("lb.m.dead")) === "73", await metric("lb.m.dead"));
  assert((await page.locator("#lb-health-timeline .lb-flip.down[data-backend='b'][data-cause='requests']").count()) >= 1, "ejected by a failed request");
  assert((await page.getAttribute("#verdict-no_route_to_down", "data-status")) === "holds", await page.textContent("#verdict-no_route_to_down"));
  await page.click("#lb-compare-run");
  await page.waitForSelector("#lb-compare-table", { timeout: 60000 });
  assert((await page.locator("#lb-compare-table tr[data-algorithm]").count()) === 14, "every algorithm, the chapter's included");
  assert((await page.locator("#lb-latency-chart rect.bar.p99[data-algorithm]").count()) === 14 && (await page.locator("#lb-spread-chart rect.bar[data-algorithm]").count()) === 14, "both charts, a bar per algorithm");
  const cell = (a, col) => page.textContent(`#lb-compare-table tr[data-algorithm='${a}'] td:nth-child(${col})`);
  assert((await cell("chapter_ip_hash", 5)).startsWith("746 of 1000"), `the chapter's IP hash remaps most keys: ${await cell("chapter_ip_hash", 5)}`);
  assert((await cell("ip_hash", 5)).startsWith("256 of 1000 (256 had to"), `jump hash only b's: ${await cell("ip_hash", 5)}`);
  const spread = await page.getAttribute("#lb-spread-chart rect[data-algorithm='chapter_least_conn']", "width");
  const rr = await page.getAttribute("#lb-spread-chart rect[data-algorithm='round_robin']", "width");
  assert(Number(spread) > 3 * Number(rr), `the chapter's least connections piles everything on a: ${spread} against ${rr}`);
  await page.selectOption("#lb-algorithm", "p2c_ewma");
  assert((await page.locator("#lb-compare .warn").count()) === 1, "a comparison of other settings says so");
  await page.click("#lang");
  assert((await page.textContent("main h2")).startsWith("负载均衡"), await page.textContent("main h2"));
});

await test("the exercise-4 walkthrough can be stepped to the end, each page's runs telling its story", async (page) => {
  await open(page, "#/exercise-4");
  assert((await page.textContent("main h2")).startsWith("Exercise 4"), await page.textContent("main h2"));
  const row = async (metric) => (await page.locator(`#walk-numbers tr[data-metric='${metric}'] td`).allTextContents()).slice(1).join(" | ");
  const expected = [
    ["lb.m.requests", /^\d+ \| \d+$/],
    ["lb.m.remap", /^746 of 1000 .* \| 256 of 1000 \(256 had to; ideal 1\/4\) \| 2\d\d of 1000/],
    ["lb.m.deadFor", /^35\.0 s \| 3\d\.\d s \| 1\.0 s$/],
    ["slow-share", /^1854 .* \| 1231 /],
    ["slow-share", /^2260 .* \| 1398 .* \| 1103 .* \| 706 .* \| 0 \(0\.0%\)$/],
  ];
  for (let i = 0; i < expected.length; i++) {
    assert((await page.getAttribute("#walk-step", "data-page")) === String(i), `page ${i}`);
    assert((await page.locator("#walk-numbers").count()) === 0, "the runs wait for the reveal");
    await page.locator("input[name='choice']").nth(i % 3).check();
    await page.click("#reveal");
    assert((await page.locator(".choice.right").count()) === 1, "the right answer is marked");
    const [metric, values] = expected[i];
    assert(values.test(await row(metric)), `page ${i}: ${metric} ${await row(metric)}, not ${values}`);
    if (i === 0) {
      assert((await page.locator("#walk-verdicts [data-status]").count()) === 2, "each run's verdict on the weighted shares");
      assert((await page.textContent("#walk-picks")).includes("a a b a c a d a a"), `smooth WRR interleaves: ${await page.textContent("#walk-picks")}`);
    }
    await page.click("#next");
  }
  await page.waitForSelector("#walkthrough-done");
  await page.click("#lang");
  assert((await page.textContent("main h2")).startsWith("练习 4"), await page.textContent("main h2"));
});

const VIEWS = [
  { name: "counter", hash: "#/counter?merge=chapter&sim.seed=4", button: "#partition", inputs: { "#merge": "chapter" } },
  { name: "coordination", hash: "#/coordination?votes=chapter&sim.seed=3", button: "#crash-leader", inputs: { "#votes": "chapter" } },
  { name: "locks", hash: "#/locks?kind=zk&gc=3000&sim.seed=2", button: "#pause-c1", inputs: { "#lock-kind": "zk", "#gc-ms": "3000" } },
  { name: "cap", hash: "#/cap?n=5&r=2&w=4&level=quorum&sim.seed=6", button: "#crash-r1", inputs: { "#cap-n": "5", "#cap-r": "2", "#cap-w": "4", "#cap-level": "quorum" } },
  { name: "caching", hash: "#/caching?story=write-behind&sim.seed=2", button: "#crash-cache", inputs: { "#cache-story": "write-behind" } },
  { name: "transactions", hash: "#/transactions?protocol=tcc&loss=10&sim.seed=5", button: "#crash-payment", inputs: { "#txn-protocol": "tcc", "#txn-loss": "10" } },
  { name: "failure-detector", hash: "#/failure-detector?timeout=300&phi=3&sim.seed=2", button: "#pause-target", inputs: { "#fd-timeout": "300", "#fd-phi": "3" } },
  { name: "queues", hash: "#/queues?topology=pubsub&exchange=topic&fsync=every_ms&sim.seed=3", button: "#pause-consumer-2", inputs: { "#mq-topology": "pubsub", "#mq-exchange": "topic", "#mq-fsync": "every_ms" } },
  { name: "balancing", hash: "#/balancing?alg=smooth_wrr&w=5,1,1,1&passive=envoy&lbs=2&sim.seed=2", button: "#slow-c", inputs: { "#lb-algorithm": "smooth_wrr", "#lb-passive": "envoy", "#lb-balancers": "2", "#lb-weight-a": "5" } },
  { name: "availability", hash: "#/availability?story=retry-storm&on=budget&retries=2&sim.seed=2", button: "#slow", inputs: { "#ha-story": "retry-storm", "#ha-retries": "2", "#ha-incident": "outage" } },
  { name: "ids", hash: "#/ids?story=restart-behind&chapter=0&sim.seed=2", button: "#clock-back-gen-2", inputs: { "#ids-story": "restart-behind", "#ids-generator": "snowflake" } },
];

for (const v of VIEWS) {
  await test(`the ${v.name} view takes a held click while playing, and its share link reopens the same run and event`, async (page) => {
    await open(page, v.hash);
    await page.click("#play");
    await page.waitForFunction(() => Number(document.querySelector("#sim-time").textContent.match(/([\d.]+) s/)[1]) > 0.3, null, { timeout: 20000 });
    assert((await page.getAttribute("#run-state", "data-state")) === "playing", "the run plays");
    await heldClick(page, v.button);
    await page.waitForTimeout(200);
    await page.click("#play");
    const marks = await page.locator("#fault-strip g.fault-mark.learner").count();
    assert(marks === 1, `the fault reached the trace and the timeline: ${marks} marks of the learner's`);
    const faults = JSON.parse((await linkParams(page)).get("sim.faults") ?? "[]");
    assert(faults.length === 1, `the link records it: ${JSON.stringify(faults)}`);
    const lines = page.locator("#events div");
    const picked = lines.nth(Math.floor((await lines.count()) / 3));
    const index = await picked.getAttribute("data-index");
    await picked.click();
    assert((await page.getAttribute("#run-state", "data-state")) === "rewound", "choosing an event rewinds");
    await page.click("#share");
    assert((await page.textContent("#share")).includes("✓"), "the share button says it copied");
    const url = await href(page);
    assert((await linkParams(page)).get("sim.sel") === index, `the link keeps the event: ${url}`);
    const expected = { hash: await page.textContent("#trace-hash"), time: await page.textContent("#sim-time"), events: await page.textContent("#event-count"), details: await page.textContent("#event-details") };
    const again = await context.newPage();
    await again.goto(url);
    await again.waitForSelector("#trace-hash");
    for (const [selector, value] of Object.entries(v.inputs)) assert((await again.inputValue(selector)) === value, `${selector} = ${await again.inputValue(selector)}, not ${value}`);
    const got = { hash: await again.textContent("#trace-hash"), time: await again.textContent("#sim-time"), events: await again.textContent("#event-count"), details: await again.textContent("#event-details") };
    assert(JSON.stringify(got) === JSON.stringify(expected), `${JSON.stringify(got)} against ${JSON.stringify(expected)}`);
    assert((await again.getAttribute("#run-state", "data-state")) === "rewound", "rewound there too");
    await again.close();
  });
}

await test("high availability: the retry storm keeps real answers away after the outage, a clicked retry budget ends it, and the breaker lights up", async (page) => {
  await open(page, "#/availability?story=retry-storm&sim.t=30000000");
  assert((await page.getAttribute("#verdict-goodput_recovers", "data-status")) === "violated", "the storm outlives the outage");
  assert((await page.getAttribute("#verdict-retries_within_budget", "data-status")) === "violated", "three retries a call are over any budget");
  const metric = (name) => page.textContent(`#ha-measured tr[data-metric='${name}'] td:nth-child(2)`);
  assert(Number(await metric("ha.m.wasted")) > 1000, `work done for callers already gone: ${await metric("ha.m.wasted")}`);
  assert((await metric("ha.m.recovered")) === "not yet", await metric("ha.m.recovered"));
  assert((await page.locator("#ha-calls polyline[data-series='retries']").count()) === 1, "the retries are drawn");
  await page.click("#ha-budget");
  assert((await linkParams(page)).get("on") === "budget", `the link records the toggle: ${await href(page)}`);
  await playUntil(page, 26);
  assert((await page.getAttribute("#verdict-goodput_recovers", "data-status")) === "holds", "the budget ends the storm");
  assert(/^\d+\.\d s$/.test(await metric("ha.m.recovered")), `back after ${await metric("ha.m.recovered")}`);
  assert(Number(await metric("ha.m.amplification")) < 1.2, `attempts a call: ${await metric("ha.m.amplification")}`);
  await page.selectOption("#ha-story", "protected");
  assert((await page.locator("#ha-protections input:checked").count()) === 8, "every protection on");
  await playUntil(page, 13);
  assert((await page.locator("#ha-breaker .ha-state.lit").count()) === 1, "one state lit");
  const moves = Number(await page.getAttribute("#ha-transitions", "data-count"));
  assert(moves >= 1, `the slow dependency opened the breaker: ${moves} transitions`);
  assert((await page.textContent(".card[data-node='dependency']")).includes("20× slower"), await page.textContent(".card[data-node='dependency']"));
  const tokens = (await page.textContent(".card[data-node='service']")).match(/rate limiter: (\d+) of 40 left/);
  assert(tokens && Number(tokens[1]) <= 40, `the limiter's gauge: ${await page.textContent(".card[data-node='service']")}`);
  await page.click("#lang");
  assert((await page.textContent("main h2")) === "高可用", await page.textContent("main h2"));
  assert((await page.textContent("#ha-breaker h3")) === "熔断器", "the breaker in Chinese");
});

await test("scrubbing rewinds the world and the verdicts; a fault on a rewound run branches it there", async (page) => {
  await open(page, "#/counter?sim.seed=3&sim.t=1000000");
  assert((await page.locator("#fault-strip g.fault-mark.scheduled").count()) > 0, "the storm's own faults are drawn before they happen");
  const early = await page.getAttribute("#verdict-convergence", "data-status");
  assert(early !== "violated" && (await page.getAttribute("#verdict-convergence", "data-final")) === "false", `not red while the run goes on: ${early}`);
  await page.click("#crash-r0");
  const crashAt = Number(JSON.parse((await linkParams(page)).get("sim.faults"))[0].after);
  await playUntil(page, 3);
  const mark = page.locator("#fault-strip g.fault-mark.learner");
  await mark.dispatchEvent("click");
  assert((await page.getAttribute(".card[data-node='r0']", "class")).includes("crashed"), "at the crash: r0 is down");
  const index = Number(JSON.parse(await page.textContent("#event-details")).index);
  await page.$eval("#scrubber", (el, v) => { el.value = String(v); el.dispatchEvent(new Event("input", { bubbles: true })); }, index - 1);
  await page.waitForTimeout(50);
  assert(!(await page.getAttribute(".card[data-node='r0']", "class")).includes("crashed"), "one event before it: r0 is up");
  assert(await simTime(page) < 3, "the clock is rewound too");
  await page.click("#heal");
  const faults = JSON.parse((await linkParams(page)).get("sim.faults"));
  assert(faults.length === 1 && faults[0].fault.fault === "heal" && faults[0].after <= crashAt, `the crash after the branch point is dropped: ${JSON.stringify(faults)}`);
  assert((await page.getAttribute("#run-state", "data-state")) !== "rewound", "the branch is the live run");
  await page.selectOption("#speed", "4");
  await page.click("#play");
  await page.waitForSelector("#run-state[data-state='finished']", { timeout: 30000 });
  assert((await page.textContent("#run-state")).includes("finished at 10.000 s"), await page.textContent("#run-state"));
  assert((await page.getAttribute("#verdict-convergence", "data-final")) === "true", "final at the end");
});

await test("scrubbing a run of over 100,000 events stays fast", async (page) => {
  await open(page, "#/cap?n=7&r=4&w=4&sim.seed=1&sim.t=60000000");
  const len = Number((await page.textContent("#event-count")).replace(/\D+/g, ""));
  assert(len > 100000, `a long run: ${len} events`);
  const seeks = [];
  const totals = [];
  for (let i = 1; i <= 12; i++) {
    const position = Math.floor((len * ((i * 7919) % 97)) / 97);
    const total = await page.$eval("#scrubber", async (el, v) => {
      const start = performance.now();
      el.value = String(v);
      el.dispatchEvent(new Event("input", { bubbles: true }));
      await new Promise((r) => requestAnimationFrame(() => r()));
      return performance.now() - start;
    }, position);
    totals.push(total);
    seeks.push(Number(await page.getAttribute("#scrubber", "data-seek-ms")));
    const details = JSON.parse(await page.textContent("#event-details"));
    assert(details.index === Math.min(position, len - 1) || position >= len - 1, `shows event ${position}: ${details.index}`);
    const shown = await simTime(page);
    assert(Math.abs(shown - details.time / 1e6) < 0.0011, `the world is at the event's time: ${shown} s against ${details.time / 1e6}`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`     scrub over ${len} events: engine rewind median ${median(seeks).toFixed(1)} ms (max ${Math.max(...seeks).toFixed(1)}), to the next frame median ${median(totals).toFixed(1)} ms (max ${Math.max(...totals).toFixed(1)})`);
});

/** Everything a fresh page sends over the wire until `ready` holds: bytes per request as
 * transferred (encoded, with headers), from Chromium's own network log, cache off. */
async function transfers(page, hash, ready) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const urls = new Map();
  const sent = [];
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.responseReceived", (e) => urls.set(e.requestId, e.response.url));
  cdp.on("Network.loadingFinished", (e) => sent.push({ url: urls.get(e.requestId) ?? "?", bytes: e.encodedDataLength }));
  await page.goto(base + hash);
  await ready();
  await page.waitForTimeout(300); // a request still under way at that moment counts too
  await cdp.detach();
  return sent;
}

await test("every view's first load transfers at most 400 KiB: its own part's engine module and code, compressed", async (page) => {
  const limit = 400 * 1024;
  const views = ["", ...(await (async () => {
    await open(page);
    return page.locator("nav a").evaluateAll((as) => as.map((a) => a.getAttribute("href")).filter((h) => h !== "#/"));
  })())];
  const rows = [];
  for (const link of views) {
    const fresh = await context.newPage();
    const sent = await transfers(fresh, link.replace(/^#?/, "#"), async () => {
      await fresh.waitForSelector("main#view h2");
      await fresh.waitForFunction(() => !document.querySelector("main #loading"));
    });
    const total = sent.reduce((n, r) => n + r.bytes, 0);
    const modules = sent.filter((r) => r.url.endsWith(".wasm")).map((r) => r.url.split("/").pop().replace(/_bg-.*$/, ""));
    await fresh.close();
    assert(modules.length <= 1, `${link || "#/"} loaded ${modules.length} engine modules: ${modules}`);
    assert(link === "" || link.includes("map") || link.includes("choosing") || modules.length === 1, `${link} loaded no engine module`);
    rows.push(`${(link || "#/").padEnd(20)} ${(total / 1024).toFixed(1).padStart(6)} KiB${modules.length ? ` (module ${modules[0]})` : ""}`);
    assert(total <= limit, `${link || "#/"} transferred ${(total / 1024).toFixed(1)} KiB: ${sent.map((r) => `${r.url.split("/").pop()} ${r.bytes}`).join(", ")}`);
  }
  console.log(`     first load per view, everything transferred (brotli):\n       ${rows.join("\n       ")}`);
  // Moving on to another part's view fetches that part's module only; coming back fetches nothing.
  const fetched = [];
  page.on("request", (r) => r.url().endsWith(".wasm") && fetched.push(r.url().split("/").pop().replace(/_bg-.*$/, "")));
  await open(page, "#/ring");
  await page.click("nav a[data-section='locks']");
  await page.waitForSelector("#lock-timeline, main#view .frame");
  await page.click("nav a[data-section='counter']");
  await page.waitForSelector("main#view h2");
  await page.waitForFunction(() => !document.querySelector("main #loading"));
  assert(JSON.stringify(fetched) === JSON.stringify(["foundations", "locks"]), `modules fetched: ${fetched}`);
});

await test("at 10 Mbit/s a view shows a loading screen with progress until its module is here, and the module comes compressed", async (page) => {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  // 10 Mbit/s down, 5 up, 40 ms latency (bytes per second).
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 40, downloadThroughput: 1_250_000, uploadThroughput: 625_000 });
  const wasm = { id: null, encoding: null, transfer: 0, url: "" };
  cdp.on("Network.responseReceived", (e) => {
    if (e.response.url.endsWith(".wasm") && wasm.id === null) {
      Object.assign(wasm, { id: e.requestId, url: e.response.url });
      wasm.encoding = e.response.headers["content-encoding"] ?? e.response.headers["Content-Encoding"] ?? null;
    }
  });
  cdp.on("Network.loadingFinished", (e) => {
    if (e.requestId === wasm.id) wasm.transfer = e.encodedDataLength;
  });
  // The baseline, in the same run: the same page with everything uncompressed.
  const plain = await context.newPage();
  const plainCdp = await context.newCDPSession(plain);
  await plainCdp.send("Network.enable");
  await plainCdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await plainCdp.send("Network.setExtraHTTPHeaders", { headers: { "Accept-Encoding": "identity" } });
  await plainCdp.send("Network.emulateNetworkConditions", { offline: false, latency: 40, downloadThroughput: 1_250_000, uploadThroughput: 625_000 });
  const plainStarted = Date.now();
  await plain.goto(base + "#/ring");
  await plain.waitForSelector("#add-node");
  await plain.click("#add-node");
  await plain.waitForFunction(() => Number(document.getElementById("moved")?.dataset.ring ?? 0) > 0);
  const plainInteractive = Date.now() - plainStarted;
  await plainCdp.detach();
  await plain.close();
  const sizes = [[1440, 900], [1024, 768], [390, 844]];
  const loads = sizes.flatMap((size) => [["zh", "正在加载模拟引擎", size], ["en", "Loading the simulation engine", size]]);
  for (const [lang, words, [width, height]] of loads) {
    await page.setViewportSize({ width, height });
    const started = Date.now();
    Object.assign(wasm, { id: null, encoding: null, transfer: 0 });
    await page.goto("about:blank"); // a new document: a hash change alone would keep the loaded module
    await page.goto(base + `#/ring?lang=${lang}`, { waitUntil: "commit" });
    await page.waitForSelector("main #loading progress");
    const screen = await page.textContent("main #loading");
    assert(screen.includes(words), `the loading screen in ${lang}: ${screen}`);
    assert((await page.locator("main#view h2").count()) === 0, "no view before its module");
    await page.waitForFunction(() => Number(document.getElementById("loading-progress")?.value ?? 0) > 0, null, { timeout: 20_000 });
    await page.screenshot({ path: join(shots, `loading-screen-10mbit-${lang}-${width}.png`) });
    const bytes = await page.textContent("#loading-bytes");
    assert(/^\d+\.\d \/ \d+\.\d MB$/.test(bytes), `progress against the decoded size: ${bytes}`);
    await page.waitForSelector("#add-node");
    await page.click("#add-node"); // interactive: the ring view answers a click
    await page.waitForFunction(() => Number(document.getElementById("moved")?.dataset.ring ?? 0) > 0);
    const interactive = Date.now() - started;
    const name = wasm.url.split("/").pop();
    const raw = statSync(join(dist, "assets", name)).size;
    assert(name.startsWith("foundations_bg-"), `the ring view loads the foundations module: ${name}`);
    assert(wasm.encoding === "br", `the module is sent brotli-compressed, got ${wasm.encoding}`);
    assert(wasm.transfer > 0 && wasm.transfer < raw / 3, `transfer ${wasm.transfer} B against ${raw} B raw`);
    if (lang === "en" && width === 1440) console.log(`     first load at 10 Mbit/s: module ${(raw / 1024).toFixed(1)} KiB raw, ${(wasm.transfer / 1024).toFixed(1)} KiB transferred (${wasm.encoding}); interactive after ${interactive} ms, against ${plainInteractive} ms uncompressed in this run (${(interactive / plainInteractive).toFixed(2)}×)`);
  }
  await cdp.detach();
});

await test("the failure detectors on the default seed: the fixed timeout cries wolf on GC pauses, phi accrual does not, and notices the crash later", async (page) => {
  await open(page, "#/failure-detector?sim.t=30000000");
  await page.waitForSelector("#fd-timeline svg");
  const count = (detector, kind) => page.locator(`#fd-timeline rect.suspected.${kind}[data-detector='${detector}']`).count();
  assert((await count("fixed", "false")) === 5, `five false suspicions by the fixed timeout: ${await count("fixed", "false")}`);
  assert((await count("phi", "false")) === 0, "none by phi accrual");
  assert((await count("fixed", "true")) === 1 && (await count("phi", "true")) === 1, "both suspect the crashed target");
  const row = (d) => page.locator(`#fd-measured tr[data-detector='${d}'] td`).allTextContents();
  assert(JSON.stringify(await row("fixed")) === JSON.stringify(["timeout 500 ms", "490 ms", "5"]), JSON.stringify(await row("fixed")));
  assert(JSON.stringify(await row("phi")) === JSON.stringify(["phi ≥ 8", "2450 ms", "0"]), JSON.stringify(await row("phi")));
  assert((await page.getAttribute("#verdict-crash_detected", "data-status")) === "holds", "the crash was detected");
  assert((await page.getAttribute("#run-state", "data-state")) === "finished", await page.getAttribute("#run-state", "data-state"));
  // A longer timeout stops the false alarms, and pays for it at the crash.
  await page.selectOption("#fd-timeout", "1000");
  await page.goto(`${base}#/failure-detector?timeout=1000&sim.t=30000000&lang=zh`);
  await page.waitForSelector("#fd-timeline svg");
  assert((await count("fixed", "false")) < 5, `fewer false alarms at 1 s: ${await count("fixed", "false")}`);
  const fixed = await row("fixed");
  assert(fixed[0] === "超时 1000 ms" && Number.parseInt(fixed[1]) > 490, JSON.stringify(fixed));
  assert((await page.textContent("#verdict-crash_detected .detail")).includes("固定超时"), await page.textContent("#verdict-crash_detected .detail"));
});

await test("each of the chapter's toggles shows its failure on the view's default seed and settings", async (page) => {
  const status = (property) => page.getAttribute(`#verdict-${property}`, "data-status");
  // The dual write: on the outbox's default lossy link it loses a message; the outbox does not.
  await open(page, "#/transactions?protocol=outbox&dual=1&sim.t=20000000");
  await page.waitForSelector("#verdict-delivered");
  assert((await status("delivered")) === "violated", `dual write: ${await page.textContent("#verdict-delivered")}`);
  assert((await page.textContent("#verdict-delivered")).includes("never arrived: [7]"), await page.textContent("#verdict-delivered"));
  await page.uncheck("#txn-dual");
  await page.waitForFunction(() => !new URLSearchParams(location.hash.split("?")[1]).has("dual"));
  await page.goto(`${base}#/transactions?protocol=outbox&sim.t=20000000`);
  await page.waitForSelector("#verdict-delivered");
  assert((await status("delivered")) === "holds", "the outbox delivers every committed order over the same link");
  assert((await page.inputValue("#txn-loss")) === "10", "the outbox's default link loses 10%");
  // The chapter's FIFO, beside LRU and a real FIFO on the default workload: LRU's hit ratio, exactly.
  await open(page, "#/caching");
  await page.fill("#cache-length", "50000");
  await page.check("#policy-fifo");
  await page.check("#policy-chapter-fifo");
  await page.click("#cache-compare");
  await page.waitForFunction(() => document.querySelector("#policy-legend")?.textContent.startsWith("50000/50000"), null, { timeout: 30000 });
  const ratio = async (label) => (await page.textContent("#policy-legend")).match(new RegExp(`${label} ([\\d.]+)%`))?.[1];
  assert((await ratio("the chapter's FIFO")) === (await ratio("LRU")) && (await ratio("FIFO")) !== (await ratio("LRU")), await page.textContent("#policy-legend"));
  // Cache-aside's delete-the-key race (the default story): a stale fill; the versioned fix holds.
  await open(page, "#/caching?sim.t=22000000");
  await page.waitForSelector("#verdict-fresh_reads");
  assert((await status("fresh_reads")) === "violated", `cache-aside: ${await page.textContent("#verdict-fresh_reads")}`);
  // Write-behind: nothing is lost before the scripted crash at 10.5 s, acknowledged writes after it.
  await open(page, "#/caching?story=write-behind&sim.t=10000000");
  await page.waitForSelector("#verdict-no_lost_writes");
  assert((await status("no_lost_writes")) !== "violated", `before the crash: ${await page.textContent("#verdict-no_lost_writes")}`);
  await open(page, "#/caching?story=write-behind&sim.t=22000000");
  await page.waitForSelector("#verdict-no_lost_writes");
  assert((await status("no_lost_writes")) === "violated", `after the crash: ${await page.textContent("#verdict-no_lost_writes")}`);
});

await test("the CAP view names who wrote each value, and the event list names the nodes", async (page) => {
  await open(page, "#/cap?sim.seed=1&sim.t=2000000");
  const values = await page.locator(".replica text.value").allTextContents();
  assert(values.length > 0 && values.every((v) => /^[a-z]=(∅|c\d+·\d+|\{.*\})$/.test(v)), `values in words: ${values.join(" ")}`);
  assert(!values.join(" ").match(/n\d+\.\d+/), `no engine value ids: ${values.join(" ")}`);
  const line = await page.textContent("#events div:last-child");
  assert(/ (r|c)\d+ → (r|c)\d+ /.test(line) || / (r|c)\d+ /.test(line), `nodes by name: ${line}`);
  assert(!/from=\d|to=\d|node=\d/.test(await page.textContent("#events")), "no numeric node ids in the event list");
  await page.goto(base + "#/locks?sim.seed=1&sim.t=2000000&lang=zh");
  await page.waitForSelector("#verdicts .verdict");
  const detail = await page.textContent("#verdict-mutual_exclusion .detail");
  assert(/次写入被接受/.test(detail), `the checker speaks Chinese: ${detail}`);
});

// What a playing run redraws is updated in place, not replaced: the element under a learner's
// pointer (a card, a link, a lane, a chart) is still the same element frames later, so a hover's
// tooltip, a press or a text selection on it survive.
await test("while a run plays, every view's pictures are updated in place, not replaced", async (page) => {
  const views = [
    ["counter", ".card[data-node='r0']"],
    ["coordination", "#election-ring svg"],
    ["failure-detector", "#fd-timeline svg"],
    ["locks", ".card[data-node='c0']", "#lock-timeline svg"],
    ["cap", "line.link[data-link='r0-r1']", "#cap-history svg"],
    ["caching", "#db-chart"],
    ["transactions?protocol=saga", "#txn-lanes svg", "#txn-grid-box table", ".card[data-node='payment']"],
    // Without the storm: a broker crash empties the lanes on purpose ("the broker is down"), and
    // on a busy machine the first look can come late enough for the window to hold it.
    ["queues?storm=0", "#mq-counters .card[data-counter='acked']", ".card[data-node='consumer-1']", "#mq-lanes .mq-lane[data-queue='tasks']"],
    ["balancing", ".card[data-node='b']", "#lb-health-timeline svg", "#lb-measured tr[data-metric='lb.m.p99']"],
    ["availability", ".card[data-node='service']", "#ha-calls", "#ha-measured tr[data-metric='ha.m.ok']"],
    ["ids?generator=segment", ".ids-card[data-node='gen-1']", "#ids-measured tr[data-metric='minted']", "#ids-stream ol"],
  ];
  for (const [view, ...selectors] of views) {
    await open(page, `#/${view}${view.includes("?") ? "&" : "?"}sim.seed=1`);
    await page.click("#play");
    await page.waitForFunction(() => Number(document.querySelector("#sim-time").textContent.match(/([\d.]+) s/)[1]) > 0.6, null, { timeout: 20000 });
    const kept = await page.evaluate((sels) => { window.__kept = sels.map((s) => document.querySelector(s)); return window.__kept.map((e) => e !== null); }, selectors);
    assert(kept.every(Boolean), `${view}: found ${JSON.stringify(kept)} for ${selectors.join(" | ")}`);
    const t0 = await simTime(page);
    await page.waitForFunction((t) => Number(document.querySelector("#sim-time").textContent.match(/([\d.]+) s/)[1]) > t + 0.3, t0, { timeout: 20000 });
    const alive = await page.evaluate(() => window.__kept.map((e) => e.isConnected));
    assert(alive.every(Boolean), `${view}: replaced while playing: ${JSON.stringify(alive)} for ${selectors.join(" | ")}`);
    await page.click("#play");
  }
});

// Every view in both languages, at a desk (1440×900), a projector (1024×768) and a phone
// (390×844), light and dark: kept in tests/screenshots/matrix/ for a person to look at, and
// checked for what a person would see at once: text under 12 px, a page that scrolls sideways,
// English sentences in the Chinese verdicts.
await test("every view in English and Chinese, at three sizes, light and dark: legible, nothing clipped", async (page) => {
  const dir = join(shots, "matrix");
  mkdirSync(dir, { recursive: true });
  const views = [["home", ""], ["counter", "counter?sim.t=3000000"], ["ring", "ring"], ["cap", "cap?sim.t=3000000"], ["locks", "locks?sim.t=3000000"], ["exercise-1", "exercise-1"], ["coordination", "coordination?sim.t=3000000"], ["failure-detector", "failure-detector?sim.t=21000000"], ["caching", "caching?sim.t=3000000"], ["exercise-3", "exercise-3"], ["transactions", "transactions?sim.t=3000000"], ["queues", "queues?sim.t=1500000&msg=100004"], ["exercise-2", "exercise-2"], ["balancing", "balancing?sim.t=30000000"], ["exercise-4", "exercise-4?page=2"], ["availability", "availability?story=retry-storm&sim.t=20000000"], ["ids", "ids?story=same-worker&sim.t=3000000"], ["exercise-5", "exercise-5?page=4"]];
  const sizes = [[1440, 900], [1024, 768], [390, 844]];
  const problems = [];
  for (const [name, hash] of views) {
    for (const lang of ["en", "zh"]) {
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.goto(`${base}#/${hash}${hash.includes("?") ? "&" : "?"}lang=${lang}`);
      await page.waitForSelector("main#view h2");
      await page.waitForTimeout(400);
      const raw = await page.evaluate(() => {
        const words = new Set();
        const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const el = n.parentElement;
          if (!el || el.closest("#events, #event-details, .details, code, title, .wrong, .txn-event")) continue;
          for (const m of n.textContent.matchAll(/\b[a-z]+_[a-z_]+\b/g)) words.add(m[0]);
        }
        return [...words];
      });
      if (raw.length) problems.push(`${name} ${lang}: field names shown as labels: ${raw.join(", ")}`);
      if (lang === "zh") {
        const verdicts = (await page.locator(".verdict .detail").allTextContents()).join(" | ");
        const english = verdicts.match(/\b[a-z]{4,}\s+[a-z]{4,}\b/i);
        if (english) problems.push(`${name} zh: English in a verdict: "${english[0]}" in ${verdicts.slice(0, 200)}`);
      }
      for (const [w, h] of sizes) {
        await page.setViewportSize({ width: w, height: h });
        for (const scheme of ["light", "dark"]) {
          await page.emulateMedia({ colorScheme: scheme });
          await page.waitForTimeout(150);
          const found = await page.evaluate(() => {
            const small = new Set();
            const main = document.querySelector("main");
            const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
              const el = n.parentElement;
              if (!el || !n.textContent.trim() || el.closest("title")) continue;
              if (el.getBoundingClientRect().width === 0 || getComputedStyle(el).visibility === "hidden") continue;
              let size = parseFloat(getComputedStyle(el).fontSize);
              if (el instanceof SVGElement) {
                const m = el.getScreenCTM();
                if (m) size *= Math.hypot(m.a, m.b);
              }
              if (size < 11.9) small.add(`${el.tagName.toLowerCase()}.${el.getAttribute("class") ?? ""} ${size.toFixed(1)} px "${n.textContent.trim().slice(0, 20)}"`);
            }
            return { small: [...small], sideways: document.documentElement.scrollWidth - window.innerWidth };
          });
          const where = `${name} ${lang} ${w}×${h} ${scheme}`;
          if (found.small.length) problems.push(`${where}: text under 12 px: ${found.small.slice(0, 4).join("; ")}`);
          if (found.sideways > 1) problems.push(`${where}: the page scrolls sideways by ${found.sideways} px`);
          await keepScreenshot(page, join(dir, `${name}-${lang}-${w}x${h}-${scheme}.png`), where);
        }
      }
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  assert(problems.length === 0, `${problems.length} problem(s):\n     ${problems.join("\n     ")}`);
});

await context.close();
rmSync(profile, { recursive: true, force: true });
server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
