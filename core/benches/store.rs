//! Benchmarks of the store (filled in below).
fn main() {}
