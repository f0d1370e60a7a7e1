//! The accounts rules, the same on both backends: the first opener owns a space, shares decide
//! the others, and only members' devices count for the stability point.

use almanac_core::sync::Access;
use almanac_core::{ReplicaId, VersionVector};
use almanac_server::Error;
use almanac_server::accounts::{ShareChange, UserName};

use crate::support::{Backend, space};

async fn the_first_user_to_open_a_space_owns_it_and_shares_decide_the_others(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let accounts = backend.location(dir.path()).accounts().expect("accounts");
    for name in ["alice", "bob", "carol"] {
        accounts.add_user(&UserName::new(name).expect("name")).expect("add");
    }
    let bob = UserName::new("bob").expect("name");
    assert!(matches!(accounts.add_user(&bob), Err(Error::UserExists(_))));
    let work = space("work");
    let open =
        |user: &str| accounts.open_spaces(user, std::slice::from_ref(&work)).expect("open")[0];
    assert_eq!(open("alice"), Access::ReadWrite);
    assert_eq!(open("bob"), Access::Denied);
    assert_eq!(accounts.share(&work, "bob", true).expect("share"), ShareChange::Added);
    assert_eq!(open("bob"), Access::ReadOnly);
    assert_eq!(accounts.share(&work, "bob", false).expect("share"), ShareChange::Changed);
    assert_eq!(accounts.share(&work, "bob", false).expect("share"), ShareChange::Unchanged);
    assert_eq!(open("bob"), Access::ReadWrite);
    assert!(accounts.revoke(&work, "bob").expect("revoke"));
    assert!(!accounts.revoke(&work, "bob").expect("revoke"));
    assert_eq!(open("bob"), Access::Denied);
    assert_eq!(open("nobody"), Access::Denied);
    let both = [space("home"), work.clone(), space("home")];
    let answers = accounts.open_spaces("bob", &both).expect("open");
    assert_eq!(answers, [Access::ReadWrite, Access::Denied, Access::ReadWrite]);
    assert!(matches!(accounts.share(&work, "alice", true), Err(Error::OwnerShare { .. })));
    assert!(matches!(accounts.share(&work, "dave", true), Err(Error::UnknownUser(_))));
    assert!(matches!(accounts.share(&space("nothing"), "bob", true), Err(Error::UnknownSpace(_))));
    assert!(accounts.check().is_ok());
}

async fn only_members_devices_count_for_stability(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let accounts = backend.location(dir.path()).accounts().expect("accounts");
    for name in ["alice", "bob"] {
        accounts.add_user(&UserName::new(name).expect("name")).expect("add");
    }
    let work = space("work");
    accounts.open_spaces("alice", std::slice::from_ref(&work)).expect("open");
    accounts.share(&work, "bob", true).expect("share");
    let (a, b) = (ReplicaId::from_bytes([1; 16]), ReplicaId::from_bytes([2; 16]));
    let vector: VersionVector = [(a, 3)].into_iter().collect();
    accounts.record_seen("alice", a, &[(work.clone(), vector.clone())]).expect("seen");
    accounts.record_seen("bob", b, &[(work.clone(), VersionVector::new())]).expect("seen");
    assert_eq!(accounts.last_seen(&work, "alice", a).expect("read"), Some(vector));
    // Keyed by user: bob's device cannot be read (or overwritten) as alice's replica.
    assert_eq!(accounts.last_seen(&work, "bob", a).expect("read"), None);
    let a_minute_ago = now_secs() - 60;
    assert_eq!(accounts.seen_by_members(&work, a_minute_ago).expect("seen").len(), 2);
    // A device whose last round is older than the retirement period no longer counts.
    assert!(accounts.seen_by_members(&work, now_secs() + 60).expect("seen").is_empty());
    accounts.revoke(&work, "bob").expect("revoke");
    assert_eq!(accounts.seen_by_members(&work, a_minute_ago).expect("seen").len(), 1);
}

/// `device retire` (a lost phone): the device stops counting for stability at once, in every
/// space, and only that device of that user.
async fn a_retired_device_no_longer_counts_for_stability(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let accounts = backend.location(dir.path()).accounts().expect("accounts");
    accounts.add_user(&UserName::new("alice").expect("name")).expect("add");
    let (work, home) = (space("work"), space("home"));
    accounts.open_spaces("alice", &[work.clone(), home.clone()]).expect("open");
    let (phone, laptop) = (ReplicaId::from_bytes([1; 16]), ReplicaId::from_bytes([2; 16]));
    for device in [phone, laptop] {
        let seen = [(work.clone(), VersionVector::new()), (home.clone(), VersionVector::new())];
        accounts.record_seen("alice", device, &seen).expect("seen");
    }
    let a_minute_ago = now_secs() - 60;
    assert_eq!(accounts.seen_by_members(&work, a_minute_ago).expect("seen").len(), 2);
    assert_eq!(accounts.retire_device("alice", phone).expect("retire"), 2);
    for space in [&work, &home] {
        assert_eq!(accounts.seen_by_members(space, a_minute_ago).expect("seen").len(), 1);
    }
    assert_eq!(accounts.retire_device("alice", ReplicaId::from_bytes([9; 16])).expect("none"), 0);
    assert!(accounts.retire_device("nobody", phone).is_err());
    // Its next round counts it again (it has fetched the spaces again by then).
    accounts.record_seen("alice", phone, &[(work.clone(), VersionVector::new())]).expect("seen");
    assert_eq!(accounts.seen_by_members(&work, a_minute_ago).expect("seen").len(), 2);
}

fn now_secs() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(since.expect("clock").as_secs()).expect("seconds")
}

crate::on_both_backends!(
    the_first_user_to_open_a_space_owns_it_and_shares_decide_the_others,
    only_members_devices_count_for_stability,
    a_retired_device_no_longer_counts_for_stability,
);
