//! `make demo`: a phone and a laptop, each with its own store on disk, edit the same calendar
//! offline — including a concurrent edit of one field and an edit racing a delete — then sync,
//! converge, and print the result and the conflict log.
//!
//! Usage: `almanac-example-two-devices [directory]` (default: a fresh temporary directory).

use std::path::PathBuf;

use almanac_core::crdt::FieldPath;
use almanac_core::sync::SessionConfig;
use almanac_core::sync::transport::sync_in_process;
use almanac_core::{Result, SpaceId, Store, Value};

fn main() {
    if let Err(error) = run() {
        eprintln!("demo failed: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("almanac-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let phone = Store::open(dir.join("phone.almanac"))?;
    let laptop = Store::open(dir.join("laptop.almanac"))?;
    println!("Stores in {}", dir.display());
    println!("  phone  replica {}", phone.replica_id());
    println!("  laptop replica {}\n", laptop.replica_id());

    // Online: the phone creates two events and both devices sync.
    phone
        .transaction(SPACE)
        .set("events", "standup", "title", "Standup")
        .set("events", "standup", "location", "Room 1")
        .set("events", "lunch", "title", "Lunch with Sam")
        .set_member("events", "lunch", "attendees", "mailto:sam@example.com", "status", "accepted")
        .commit()?;
    sync(&phone, &laptop)?;
    println!(
        "Both devices have {} events. Now both go offline.\n",
        laptop.records(SPACE, "events")?.len()
    );

    // Offline on the phone: rename standup, change lunch's place.
    phone.transaction(SPACE).set("events", "standup", "title", "Daily standup").commit()?;
    phone.transaction(SPACE).set("events", "lunch", "location", "Café Bleu").commit()?;
    // Offline on the laptop: rename standup differently, move it, and delete lunch.
    laptop
        .transaction(SPACE)
        .set("events", "standup", "title", "Team sync")
        .set("events", "standup", "location", "Room 4")
        .commit()?;
    laptop.transaction(SPACE).delete("events", "lunch").commit()?;
    println!("Offline edits:");
    println!("  phone:  standup.title = \"Daily standup\"; lunch.location = \"Café Bleu\"");
    println!(
        "  laptop: standup.title = \"Team sync\", standup.location = \"Room 4\"; delete lunch\n"
    );

    let (sent, received) = sync(&phone, &laptop)?;
    println!("Synced: phone sent {sent} bytes, laptop sent {received} bytes.\n");

    for (name, store) in [("phone", &phone), ("laptop", &laptop)] {
        println!("On the {name}:");
        for event in store.records(SPACE, "events")? {
            let shown: Vec<String> =
                event.values().iter().map(|(f, v)| format!("{f} = {}", show(v))).collect();
            println!("  {}: {}", event.key.id, shown.join(", "));
        }
        for entry in store.conflicts()? {
            for field in &entry.fields {
                let candidates: Vec<String> = field.candidates.iter().map(show).collect();
                println!(
                    "  conflict {} {}: shows {}, also {}",
                    entry.key,
                    path(&field.path),
                    show(&field.shown),
                    candidates.join(", ")
                );
            }
            for edit in &entry.shadowed {
                println!(
                    "  deleted {} had a concurrent edit: {} = {}",
                    entry.key,
                    path(&edit.path),
                    show(&edit.entry.value)
                );
            }
        }
        println!();
    }
    let same = phone.delta_since(SPACE, &Default::default())?.records
        == laptop.delta_since(SPACE, &Default::default())?.records;
    println!("Converged: {}", if same { "yes, identical state on both devices" } else { "NO" });

    // The phone's user restores lunch: it comes back with the edit the delete had shadowed.
    phone.transaction(SPACE).restore("events", "lunch").commit()?;
    sync(&phone, &laptop)?;
    if let Some(lunch) = laptop.get(SPACE, "events", "lunch")? {
        let location = lunch.value("location").map_or_else(|| "-".to_owned(), show);
        println!("After restore on the phone, the laptop shows lunch at {location}.");
    }
    if !same {
        std::process::exit(2);
    }
    Ok(())
}

/// The space (a shared calendar, say) both devices hold.
const SPACE: &str = "team";

/// Exchanges deltas both ways; returns the bytes each side sent.
/// Runs the sync protocol between the two stores (as two devices would over a network: every
/// frame is encoded and checksummed); returns the bytes each side sent.
fn sync(a: &Store, b: &Store) -> Result<(usize, usize)> {
    b.join_space(SPACE)?;
    let config = |peer: &Store| {
        let mut config = SessionConfig::new(vec![SpaceId::new(SPACE)?]);
        config.expected_peer = Some(peer.replica_id());
        Ok::<_, almanac_core::Error>(config)
    };
    let (from_a, from_b) = sync_in_process(a, config(b)?, b, config(a)?)?;
    Ok((from_a.bytes_sent, from_b.bytes_sent))
}

fn show(value: &Value) -> String {
    match value {
        Value::Text(text) => format!("\"{text}\""),
        other => format!("{other:?}"),
    }
}

fn path(path: &FieldPath) -> String {
    match path {
        FieldPath::Register(name) | FieldPath::Min(name) | FieldPath::Max(name) => name.clone(),
        FieldPath::Member(field, key, member_field) => format!("{field}[{key}].{member_field}"),
    }
}
