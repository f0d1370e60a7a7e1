//! Integration tests of `almanac-core`, in one binary to keep link time down.

mod contract;
mod convergence;
mod fixtures;
mod kill;
mod notifications;
mod storage;
mod support;
