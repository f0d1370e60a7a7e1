//! Change notifications: after each commit, local or remote, subscribers learn what changed.

use std::sync::{Arc, Mutex};

use almanac_core::{ChangeEvent, Origin, RecordKey, Store};

fn recorder(store: &Store) -> (Arc<Mutex<Vec<ChangeEvent>>>, almanac_core::Subscription) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let subscription = store.subscribe(move |event| sink.lock().expect("lock").push(event.clone()));
    (events, subscription)
}

#[test]
fn subscribers_learn_local_and_remote_changes_until_they_unsubscribe() {
    let dir = tempfile::tempdir().expect("dir");
    let phone = Store::open(dir.path().join("phone.almanac")).expect("phone");
    let laptop = Store::open(dir.path().join("laptop.almanac")).expect("laptop");
    let (phone_events, phone_subscription) = recorder(&phone);
    let (laptop_events, _laptop_subscription) = recorder(&laptop);

    phone
        .transaction("s")
        .set("events", "a", "title", "A")
        .set("calendars", "work", "name", "Work")
        .commit()
        .expect("tx");
    laptop.join_space("s").expect("join");
    laptop
        .apply(&phone.delta_since("s", &laptop.version_vector("s").expect("vv")).expect("delta"))
        .expect("apply");

    let both = vec![RecordKey::new("calendars", "work"), RecordKey::new("events", "a")];
    assert_eq!(
        *phone_events.lock().expect("lock"),
        [ChangeEvent { origin: Origin::Local, space: space(), records: both.clone() }]
    );
    assert_eq!(
        *laptop_events.lock().expect("lock"),
        [ChangeEvent { origin: Origin::Remote, space: space(), records: both }]
    );

    // Re-applying the same delta changes nothing and notifies nobody.
    laptop
        .apply(&phone.delta_since("s", &Default::default()).expect("delta"))
        .expect("apply again");
    assert_eq!(laptop_events.lock().expect("lock").len(), 1);

    drop(phone_subscription);
    phone.transaction("s").set("events", "a", "title", "B").commit().expect("tx");
    assert_eq!(phone_events.lock().expect("lock").len(), 1);
}

fn space() -> almanac_core::SpaceId {
    almanac_core::SpaceId::new("s").expect("space")
}
