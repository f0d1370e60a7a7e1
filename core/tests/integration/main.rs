//! Integration tests of `almanac-core`, in one binary to keep link time down.

// Tests state their expectations with expect/panic; the library itself may not.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod calendar;
mod calendar_property;
mod contract;
mod convergence;
mod fixtures;
mod fuzz_corpus;
mod gc;
mod ics;
mod ics_lenient;
mod intents;
mod join_path;
mod kill;
mod layering;
mod notifications;
mod spaces;
mod storage;
mod support;
mod sync;
