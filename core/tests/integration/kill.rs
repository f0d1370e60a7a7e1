//! A child process commits in a loop and reports each acknowledged transaction; the parent kills
//! it with SIGKILL at random moments, many times, and checks that every acknowledged write is
//! there, that no transaction is half-applied, and that SQLite's integrity check passes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use almanac_core::Store;

const CHILD_ENV: &str = "ALMANAC_KILL_TEST_STORE";
const ROUNDS: usize = 30;

/// The child: commit transaction `n` (two records at once), then print `acked n`.
fn child_writer(path: &Path) {
    let store = Store::open(path).expect("child open");
    let mut n = store.records("s", "pairs").expect("count").len() / 2;
    loop {
        let id = format!("{n:07}");
        store
            .transaction("s")
            .set("pairs", &format!("{id}-a"), "n", n as i64)
            .set("pairs", &format!("{id}-b"), "n", n as i64)
            .set("meta", "last", "n", n as i64)
            .commit()
            .expect("child commit");
        println!("acked {n}");
        n += 1;
    }
}

/// A small xorshift generator: the test prints its seed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

#[test]
fn a_killed_writer_loses_no_acknowledged_transaction() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        child_writer(Path::new(&path));
        return;
    }
    let seed =
        std::env::var("ALMANAC_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
        });
    println!("kill test seed: {seed} (replay with ALMANAC_KILL_SEED={seed})");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("killed.almanac");
    let mut highest_acked: Option<i64> = None;
    let mut total_acked = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "kill::a_killed_writer_loses_no_acknowledged_transaction",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, acks) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("acked ").and_then(|n| n.parse::<i64>().ok()) {
                    let _ = sender.send(n);
                }
            }
        });
        // Wait for the first acknowledgement (the child is running), then kill at a random time.
        let first =
            acks.recv_timeout(Duration::from_secs(60)).expect("child never acknowledged a write");
        std::thread::sleep(Duration::from_millis(rng.next(40)));
        std::thread::sleep(Duration::from_micros(rng.next(1_000)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader");
        let acked: Vec<i64> = std::iter::once(first).chain(acks.try_iter()).collect();
        total_acked += acked.len();
        if let Some(last) = acked.last() {
            highest_acked = Some(highest_acked.map_or(*last, |h: i64| h.max(*last)));
        }

        let store = Store::open(&path).expect("reopen after kill");
        store.check_integrity().unwrap_or_else(|e| panic!("round {round}: {e}"));
        let last =
            store.get("s", "meta", "last").expect("read").and_then(|r| r.value("n")?.as_int());
        assert!(
            last >= highest_acked,
            "round {round}: acknowledged {highest_acked:?} but the store has {last:?}"
        );
        let pairs = store.records("s", "pairs").expect("read");
        assert_eq!(pairs.len() % 2, 0, "round {round}: a transaction was half-applied");
        for n in acked {
            for side in ["a", "b"] {
                assert!(
                    store.get("s", "pairs", &format!("{n:07}-{side}")).expect("read").is_some(),
                    "round {round}: lost acknowledged write {n}"
                );
            }
        }
    }
    assert!(total_acked >= ROUNDS);
}
