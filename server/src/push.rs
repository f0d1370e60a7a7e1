//! Live push: which connection follows which space, and the spaces each has yet to be told
//! about. A round that changed spaces [`Pushes::publish`]es them; every other connection
//! following one of them finds it in its mailbox and sends `Changed` when it is idle (at once,
//! or right after its current round). Pending spaces are a set, so a burst of changes costs one
//! frame per connection, and a slow connection holds at most one entry per space it follows.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use almanac_core::SpaceId;
use tokio::sync::Notify;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here is a few set operations that cannot leave a set half-changed.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One connection's pending spaces.
#[derive(Default)]
struct Mailbox {
    pending: Mutex<BTreeSet<SpaceId>>,
    wake: Notify,
}

#[derive(Default)]
struct Followers {
    next_id: u64,
    by_space: HashMap<SpaceId, HashSet<u64>>,
    mailboxes: HashMap<u64, Arc<Mailbox>>,
}

/// Every connection's subscriptions.
#[derive(Default)]
pub struct Pushes {
    followers: Mutex<Followers>,
}

impl Pushes {
    /// A new connection, following nothing yet. Dropping the registration forgets it.
    pub fn register(self: &Arc<Self>) -> Registration {
        let mut followers = lock(&self.followers);
        followers.next_id += 1;
        let id = followers.next_id;
        let mailbox = Arc::new(Mailbox::default());
        followers.mailboxes.insert(id, Arc::clone(&mailbox));
        Registration { id, pushes: Arc::clone(self), mailbox }
    }

    /// Connection `id` follows `space` (it opened it in a round).
    pub fn follow(&self, id: u64, space: &SpaceId) {
        let mut followers = lock(&self.followers);
        followers.by_space.entry(space.clone()).or_default().insert(id);
    }

    /// Connection `id` stops following `space` (a later round was denied it); a pending push
    /// of it is dropped.
    pub fn unfollow(&self, id: u64, space: &SpaceId) {
        let mut followers = lock(&self.followers);
        if let Some(ids) = followers.by_space.get_mut(space) {
            ids.remove(&id);
            if ids.is_empty() {
                followers.by_space.remove(space);
            }
        }
        if let Some(mailbox) = followers.mailboxes.get(&id) {
            lock(&mailbox.pending).remove(space);
        }
    }

    /// `spaces` changed through connection `from`: tell every other follower.
    pub fn publish(&self, from: u64, spaces: &[SpaceId]) {
        let followers = lock(&self.followers);
        let mut woken: HashSet<u64> = HashSet::new();
        for space in spaces {
            for id in followers.by_space.get(space).into_iter().flatten() {
                if *id == from {
                    continue;
                }
                if let Some(mailbox) = followers.mailboxes.get(id) {
                    lock(&mailbox.pending).insert(space.clone());
                    if woken.insert(*id) {
                        mailbox.wake.notify_one();
                    }
                }
            }
        }
    }

    /// Every followed space may have changed (changes from other instances may have been
    /// missed): tell every follower of each.
    pub fn publish_everything(&self) {
        let spaces: Vec<SpaceId> = lock(&self.followers).by_space.keys().cloned().collect();
        self.publish(NOBODY, &spaces);
    }
}

/// The `from` of a change made elsewhere (another server instance): no connection of this
/// instance is excluded. Registration ids start at 1.
pub const NOBODY: u64 = 0;

/// A connection's place in [`Pushes`].
pub struct Registration {
    id: u64,
    pushes: Arc<Pushes>,
    mailbox: Arc<Mailbox>,
}

impl Registration {
    /// The connection's id (what [`Pushes::publish`] excludes).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The spaces changed since the last call, emptying the mailbox.
    pub fn take(&self) -> Vec<SpaceId> {
        std::mem::take(&mut *lock(&self.mailbox.pending)).into_iter().collect()
    }

    /// Waits until something is published for this connection (returns at once if something
    /// was published since the last wait).
    pub async fn published(&self) {
        self.mailbox.wake.notified().await;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut followers = lock(&self.pushes.followers);
        followers.mailboxes.remove(&self.id);
        followers.by_space.retain(|_, ids| {
            ids.remove(&self.id);
            !ids.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(id: &str) -> SpaceId {
        SpaceId::new(id).expect("space id")
    }

    #[test]
    fn followers_other_than_the_publisher_get_each_space_once() {
        let pushes = Arc::new(Pushes::default());
        let (a, b, c) = (pushes.register(), pushes.register(), pushes.register());
        for registration in [&a, &b] {
            pushes.follow(registration.id(), &space("work"));
        }
        pushes.follow(c.id(), &space("home"));
        pushes.publish(a.id(), &[space("work"), space("home")]);
        pushes.publish(a.id(), &[space("work")]);
        assert_eq!(a.take(), []);
        assert_eq!(b.take(), [space("work")]);
        assert_eq!(c.take(), [space("home")]);
        assert_eq!(b.take(), []);
        pushes.unfollow(b.id(), &space("work"));
        pushes.publish(a.id(), &[space("work")]);
        assert_eq!(b.take(), []);
        drop(c);
        assert!(!lock(&pushes.followers).by_space.contains_key(&space("home")));
    }
}
