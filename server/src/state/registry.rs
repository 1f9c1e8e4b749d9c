//! The user registry: which sessions are connected and what they are called.
//!
//! The original app kept `users[uuid] = {username}` in a global dict. This is
//! that dict as a type of its own, so a shared store (Redis, say) can replace
//! the in-memory one later by offering the same methods, without touching the
//! handlers. It knows nothing about Socket.IO or presence.

use std::collections::HashMap;
use std::sync::Mutex;

use shared::events::{OnlineUser, SessionId};

use crate::state::arrival::Arrival;
use crate::state::lookalike::look;

/// A stored name and the arrival position of the identify that set it.
#[derive(Debug, Clone)]
struct Named {
    name: String,
    arrival: Arrival,
}

/// What an identify changed, so the caller can tell presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameChange {
    /// The session had no name before.
    First,
    /// The session was called something else.
    Renamed { previous: String },
    /// Same name again: nothing for presence to say.
    Unchanged,
    /// A later identify from the same socket was already applied; this older
    /// one is acknowledged but changes nothing (as if applied, then overwritten).
    Superseded,
}

/// Why the registry refused to store a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The session already disconnected (an identify raced its disconnect).
    #[error("this session is no longer connected")]
    NotConnected,
    /// The change was not allowed (the socket's rename limit).
    #[error("this name change was not allowed now")]
    ChangeRefused,
}

/// In-memory registry of connected sessions and their names.
///
/// A session is connected from [`Registry::connect`] to [`Registry::disconnect`];
/// only connected sessions can be named, so a late identify cannot leave a
/// ghost user behind after its socket is gone.
#[derive(Debug, Default)]
pub struct Registry {
    sessions: Mutex<HashMap<SessionId, Option<Named>>>,
}

impl Registry {
    /// Records a new, still unnamed session.
    pub fn connect(&self, id: SessionId) {
        self.lock().insert(id, None);
    }

    /// Stores `users[id] = {username}`; re-identifying renames. `arrival` is
    /// the event's position on its socket: the newest identify wins even when
    /// handlers finish out of order.
    pub fn identify(
        &self,
        id: &SessionId,
        name: &str,
        arrival: Arrival,
    ) -> Result<NameChange, RegistryError> {
        self.identify_gated(id, name, arrival, || true)
    }

    /// [`Registry::identify`], but a change that shows in presence (a first
    /// name or a rename) happens only if `may_change` says so, asked under
    /// the lock and only for such a change; otherwise nothing changes and
    /// the answer is [`RegistryError::ChangeRefused`].
    pub fn identify_gated(
        &self,
        id: &SessionId,
        name: &str,
        arrival: Arrival,
        may_change: impl FnOnce() -> bool,
    ) -> Result<NameChange, RegistryError> {
        let mut sessions = self.lock();
        let slot = sessions.get_mut(id).ok_or(RegistryError::NotConnected)?;
        let change = match slot {
            Some(current) if current.arrival > arrival => return Ok(NameChange::Superseded),
            None => NameChange::First,
            Some(current) if current.name == name => {
                // The common case (a page re-sending its name): no new string.
                current.arrival = arrival;
                return Ok(NameChange::Unchanged);
            }
            Some(current) => NameChange::Renamed {
                previous: current.name.clone(),
            },
        };
        if !may_change() {
            return Err(RegistryError::ChangeRefused);
        }
        *slot = Some(Named {
            name: name.to_owned(),
            arrival,
        });
        Ok(change)
    }

    /// Forgets the session; returns its name if it had one.
    pub fn disconnect(&self, id: &SessionId) -> Option<String> {
        self.lock().remove(id).flatten().map(|named| named.name)
    }

    /// The name a session chose, if any.
    pub fn username(&self, id: &SessionId) -> Option<String> {
        self.lock()
            .get(id)
            .and_then(|slot| slot.as_ref().map(|named| named.name.clone()))
    }

    /// Every identified session, with each name's look-alike key.
    ///
    /// Not on any presence path (the presence book keeps its own key per
    /// stored name), so the keys are computed here, after the lock.
    pub fn online(&self) -> Vec<OnlineUser> {
        let named: Vec<(SessionId, String)> = self
            .lock()
            .iter()
            .filter_map(|(id, slot)| slot.as_ref().map(|named| (id.clone(), named.name.clone())))
            .collect();
        named
            .into_iter()
            .map(|(id, name)| OnlineUser {
                id,
                look: look(&name),
                name,
            })
            .collect()
    }

    /// Whether a session is connected (`Some`) and its name if it has one.
    pub fn lookup(&self, id: &SessionId) -> Option<Option<String>> {
        self.lock()
            .get(id)
            .map(|slot| slot.as_ref().map(|named| named.name.clone()))
    }

    /// Every connected session (a shared-mode resync).
    pub fn sessions(&self) -> Vec<SessionId> {
        self.lock().keys().cloned().collect()
    }

    /// How many sessions have a name.
    pub fn identified(&self) -> usize {
        self.lock().values().filter(|slot| slot.is_some()).count()
    }

    /// How many sessions are connected (named or not).
    pub fn connected(&self) -> usize {
        self.lock().len()
    }

    /// A poisoned lock only means another thread panicked mid-update of a
    /// plain map; the map itself is still valid, so keep serving.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Option<Named>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> SessionId {
        SessionId(s.to_owned())
    }

    #[test]
    fn identify_rename_disconnect() {
        let registry = Registry::default();
        registry.connect(id("a"));
        assert_eq!(
            registry.identify(&id("a"), "Ada", Arrival(1)),
            Ok(NameChange::First)
        );
        assert_eq!(
            registry.identify(&id("a"), "Ada", Arrival(2)),
            Ok(NameChange::Unchanged)
        );
        assert_eq!(
            registry.identify(&id("a"), "Grace", Arrival(3)),
            Ok(NameChange::Renamed {
                previous: "Ada".into()
            })
        );
        assert_eq!(registry.username(&id("a")).as_deref(), Some("Grace"));
        assert_eq!(registry.disconnect(&id("a")).as_deref(), Some("Grace"));
        assert!(registry.online().is_empty());
    }

    #[test]
    fn an_older_identify_finishing_late_does_not_win() {
        let registry = Registry::default();
        registry.connect(id("a"));
        assert_eq!(
            registry.identify(&id("a"), "Grace", Arrival(2)),
            Ok(NameChange::First)
        );
        assert_eq!(
            registry.identify(&id("a"), "Ada", Arrival(1)),
            Ok(NameChange::Superseded)
        );
        assert_eq!(registry.username(&id("a")).as_deref(), Some("Grace"));
    }

    #[test]
    fn unnamed_sessions_are_not_online_and_late_identify_is_refused() {
        let registry = Registry::default();
        registry.connect(id("a"));
        assert!(registry.online().is_empty());
        assert_eq!(registry.connected(), 1);
        assert_eq!(registry.disconnect(&id("a")), None);
        assert_eq!(
            registry.identify(&id("a"), "Ada", Arrival(1)),
            Err(RegistryError::NotConnected)
        );
        assert!(registry.online().is_empty());
    }

    #[test]
    fn online_users_carry_their_look_alike_key() {
        let registry = Registry::default();
        for (s, name) in [("a", "Ada"), ("b", "\u{0410}da"), ("c", "Bob")] {
            registry.connect(id(s));
            registry.identify(&id(s), name, Arrival(1)).unwrap();
        }
        let mut online = registry.online();
        online.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(online[0].look, look("Ada"));
        assert_eq!(online[1].look, online[0].look);
        assert_ne!(online[2].look, online[0].look);
    }
}
