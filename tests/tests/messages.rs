//! The checkers' messages (check/message.rs) in both languages: the page's Chinese table has
//! exactly the engine's codes, each with the same placeholders, and every scenario's verdicts
//! speak in known codes (a debug build's `Message::english` panics on an unknown code or a
//! missing value, so running every scenario checks the values too).

use std::collections::BTreeSet;

use distlab_engine::check::message::{TEMPLATES, placeholders};
use distlab_engine::check::{Arg, Message};
use distlab_engine::scenario;

/// The `"code": "template",` lines of web/src/i18n/checks.ts.
fn chinese_table() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../web/src/i18n/checks.ts");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let body = &text[text.find("export const zh").expect("the zh table")..];
    let body = &body[..body.find("\n};").expect("the end of the zh table")];
    body.lines()
        .filter_map(|l| {
            let l = l.trim().strip_suffix(',')?;
            let (code, template) = l.split_once("\": \"")?;
            Some((code.strip_prefix('"')?.to_owned(), template.strip_suffix('"')?.to_owned()))
        })
        .collect()
}

#[test]
fn the_chinese_table_has_every_code_with_the_same_placeholders() {
    let zh = chinese_table();
    let engine: BTreeSet<&str> = TEMPLATES.iter().map(|(c, _)| *c).collect();
    let page: BTreeSet<&str> = zh.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(page.len(), zh.len(), "a code twice in checks.ts");
    assert_eq!(engine.difference(&page).collect::<Vec<_>>(), Vec::<&&str>::new(), "codes missing in checks.ts");
    assert_eq!(
        page.difference(&engine).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "codes checks.ts has and the engine does not"
    );
    for (code, en) in TEMPLATES {
        let (_, template) = zh.iter().find(|(c, _)| c == code).expect("checked above");
        let mut a = placeholders(en);
        let mut b = placeholders(template);
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "{code}: placeholders differ");
        assert!(
            !template.contains(": ") && !template.contains(". "),
            "{code}: ASCII punctuation in Chinese: {template}"
        );
    }
}

fn codes(m: &Message, out: &mut BTreeSet<String>) {
    out.insert(m.code.clone());
    for arg in m.args.values() {
        match arg {
            Arg::Text(_) => {}
            Arg::Message(m) => codes(m, out),
            Arg::List(ms) => ms.iter().for_each(|m| codes(m, out)),
        }
    }
}

#[test]
fn every_scenarios_verdicts_speak_in_known_codes() {
    let known: BTreeSet<&str> = TEMPLATES.iter().map(|(c, _)| *c).collect();
    let mut seen = BTreeSet::new();
    for spec in scenario::catalog() {
        for seed in 1..=3 {
            let run = distlab_tests::run_to_end(spec.name, &serde_json::json!({}), seed);
            for v in run.verdicts() {
                assert_eq!(v.detail, v.message.english(), "{} seed {seed}", spec.name);
                codes(&v.message, &mut seen);
            }
        }
    }
    let unknown: Vec<&String> = seen.iter().filter(|c| !known.contains(c.as_str())).collect();
    assert!(unknown.is_empty(), "unknown codes: {unknown:?}");
    assert!(seen.len() >= 20, "only {} codes seen: {seen:?}", seen.len());
}
