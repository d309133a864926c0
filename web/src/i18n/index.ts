// Every visible string of the lab, in English and Chinese, one file per view (`common.ts` for
// what every view shares). A key missing in one language is a type error, so the two can never
// drift apart; `checks.ts` says the checkers' messages in Chinese.

import type { Verdict } from "../engine";
import { renderZh } from "./checks";
import * as common from "./common";
import * as home from "./home";
import * as exercises from "./exercises";
import * as counter from "./counter";
import * as detector from "./detector";
import * as ring from "./ring";
import * as cap from "./cap";
import * as locks from "./locks";
import * as election from "./election";
import * as cache from "./cache";
import * as txn from "./txn";
import * as mq from "./mq";
import * as exercise1 from "./exercise1";
import * as exercise2 from "./exercise2";
import * as exercise3 from "./exercise3";
import * as lb from "./lb";
import * as exercise4 from "./exercise4";
import * as ha from "./ha";
import * as ids from "./ids";
import * as exercise5 from "./exercise5";

const en = { ...common.en, ...home.en, ...exercises.en, ...counter.en, ...detector.en, ...ring.en, ...cap.en, ...locks.en, ...election.en, ...cache.en, ...txn.en, ...mq.en, ...exercise1.en, ...exercise2.en, ...exercise3.en, ...lb.en, ...exercise4.en, ...ha.en, ...ids.en, ...exercise5.en };

export type Key = keyof typeof en;

const zh: Record<Key, string> = { ...common.zh, ...home.zh, ...exercises.zh, ...counter.zh, ...detector.zh, ...ring.zh, ...cap.zh, ...locks.zh, ...election.zh, ...cache.zh, ...txn.zh, ...mq.zh, ...exercise1.zh, ...exercise2.zh, ...exercise3.zh, ...lb.zh, ...exercise4.zh, ...ha.zh, ...ids.zh, ...exercise5.zh };

export type Lang = "en" | "zh";

const tables: Record<Lang, Record<Key, string>> = { en, zh };

let current: Lang = "en";

export function setLang(lang: Lang): void {
  current = lang;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

export function lang(): Lang {
  return current;
}

/** Whether `name` is a key: for names that come from the engine (properties, actors, measurements). */
export function isKey(name: string): name is Key {
  return name in en;
}

/** The string for `key` in the current language, with `{name}` placeholders filled in. */
export function t(key: Key, params: Record<string, string | number> = {}): string {
  return tables[current][key].replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

/** A verdict's detail in the current language: the engine's English, or its message in Chinese. */
export function detail(v: Verdict): string {
  return current === "zh" ? renderZh(v.message) ?? v.detail : v.detail;
}
