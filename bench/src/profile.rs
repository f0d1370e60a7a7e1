//! `profile <scenario> <system>`: one workload's hot part in a function of its own, for
//! `valgrind --tool=callgrind --toggle-collect='*profile_<scenario>*'` (instruction counts are
//! stable on these shared machines, unlike times). Setup runs outside the collected function.

use crate::data::{self, Event};
use crate::systems::almanac::Almanac;
use crate::systems::automerge::Automerge;
use crate::systems::loro::Loro;
use crate::systems::yrs::Yrs;
use crate::systems::{Calendar, Persist};

pub fn run(scenario: &str, system: &str) {
    match system {
        "almanac" => scenarios::<Almanac>(scenario),
        "automerge" => scenarios::<Automerge>(scenario),
        "yrs" => scenarios::<Yrs>(scenario),
        "loro" => scenarios::<Loro>(scenario),
        other => panic!("unknown system {other}"),
    }
}

fn scenarios<C: Calendar>(scenario: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let events = data::events(2_000, 1);
    match scenario {
        "commits" => {
            let mut c = C::create(dir.path(), "p", 1, Persist::Written);
            profile_commits(&mut c, &events);
        }
        "batch" => {
            let mut c = C::create(dir.path(), "p", 1, Persist::Written);
            profile_batch(&mut c, &events);
        }
        "overwrites" => {
            let mut c = C::create(dir.path(), "p", 1, Persist::Written);
            c.add_events(&events);
            profile_overwrites(&mut c, &events);
        }
        "merge" => {
            let mut a = C::create(dir.path(), "a", 1, Persist::Written);
            a.add_events(&events);
            let mut b = a.replicate(dir.path(), "b", 2, Persist::Written);
            C::sync(&mut a, &mut b);
            for n in 0..1_000 {
                a.set_field(&events[(n * 2 + 1) % events.len()].id, "title", &format!("A {n}"));
                b.set_field(&events[(n * 2) % events.len()].id, "location", &format!("B {n}"));
            }
            profile_merge(&mut a, &mut b);
        }
        "catch-up" => {
            // W5 itself: the standard 10,000-event calendar, 5,000 edits on each side (10% on
            // the same fields), the same toggle as `merge`.
            let events = data::events(10_000, 1);
            let mut a = C::create(dir.path(), "a", 1, Persist::Written);
            a.add_events(&events);
            let mut b = a.replicate(dir.path(), "b", 2, Persist::Written);
            C::sync(&mut a, &mut b);
            for n in 0..5_000 {
                let shared = n % 10 == 0;
                let i = if shared { n } else { (n * 2 + 1) % events.len() };
                a.set_field(&events[i].id, "title", &format!("A {n}"));
                let j = if shared { n } else { (n * 2 + 2) % events.len() };
                let field = if shared { "title" } else { "location" };
                b.set_field(&events[j].id, field, &format!("B {n}"));
            }
            profile_merge(&mut a, &mut b);
        }
        "field" => {
            // W6's one-field sync, on the 2,000-event calendar (W6 itself uses 100,000).
            let mut a = C::create(dir.path(), "a", 1, Persist::Written);
            a.add_events(&events);
            let mut b = a.replicate(dir.path(), "b", 2, Persist::Written);
            C::sync(&mut a, &mut b);
            // One one-field sync first, so the measured one is not the first after the join.
            a.set_field(&events[7].id, "title", "one field");
            C::sync(&mut a, &mut b);
            a.set_field(&events[8].id, "title", "another field");
            profile_field(&mut a, &mut b);
        }
        "join" => {
            let mut a = C::create(dir.path(), "a", 1, Persist::Written);
            a.add_events(&events);
            let mut b = C::create(dir.path(), "b", 2, Persist::Written);
            profile_join(&mut a, &mut b);
        }
        "view" => {
            // W4's warm month view on the standard 10,000-event calendar.
            let mut c = C::create(dir.path(), "v", 1, Persist::Written);
            c.add_events(&data::events(10_000, 1));
            let (from, to) = data::month(2026, 6);
            c.occurrences(from, to);
            profile_view(&mut c, from, to);
        }
        "view-large" => {
            // W4's warm month view on the large calendar (100,000 events over ten years,
            // compacted as W4 does), with the same toggle as `view`.
            let mut c = C::create(dir.path(), "v", 1, Persist::Written);
            for chunk in data::events(100_000, 10).chunks(10_000) {
                c.add_events(chunk);
            }
            c.compact();
            let (from, to) = data::month(2026, 6);
            c.occurrences(from, to);
            profile_view(&mut c, from, to);
        }
        other => {
            panic!(
                "unknown scenario {other} (commits, batch, overwrites, merge, catch-up, field, \
                 join, view, view-large)"
            )
        }
    }
    println!("{} {scenario}: done", C::NAME);
}

#[inline(never)]
fn profile_commits<C: Calendar>(c: &mut C, events: &[Event]) {
    for e in events {
        c.add_events(std::slice::from_ref(e));
    }
}

#[inline(never)]
fn profile_batch<C: Calendar>(c: &mut C, events: &[Event]) {
    c.add_events(events);
}

#[inline(never)]
fn profile_overwrites<C: Calendar>(c: &mut C, events: &[Event]) {
    for n in 0..2_000 {
        c.set_field(&events[(n * 7919) % events.len()].id, "title", &format!("value {n}"));
    }
}

#[inline(never)]
fn profile_merge<C: Calendar>(a: &mut C, b: &mut C) {
    C::sync(a, b);
}

#[inline(never)]
fn profile_join<C: Calendar>(a: &mut C, b: &mut C) {
    C::sync(a, b);
}

/// Two identical syncs would be folded into one symbol by the linker (as `profile_merge`
/// and `profile_join` are: use `--toggle-collect='*profile_join*'` for `merge`); the second,
/// empty sync keeps this one apart, and shows what a sync with nothing to send costs.
#[inline(never)]
fn profile_field<C: Calendar>(a: &mut C, b: &mut C) {
    C::sync(a, b);
    C::sync(a, b);
}

#[inline(never)]
fn profile_view<C: Calendar>(c: &mut C, from: jiff::Timestamp, to: jiff::Timestamp) {
    for _ in 0..5 {
        c.occurrences(from, to);
    }
}
