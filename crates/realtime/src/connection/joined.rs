//! The channels one connection has joined: a short list kept as small as it is long.

use parley_protocol::ChannelName;

/// Each joined channel with the presence user id it was joined as. Most connections are in one
/// or two channels, and there are at most `PARLEY_MAX_SUBSCRIPTIONS` (100): a vector grown one
/// entry at a time costs 40 bytes per channel, where a `HashMap` of one entry allocates room for
/// four (about 190 bytes) on every idle connection; a search of a hundred entries is cheaper
/// than the hashing it replaces.
#[derive(Debug, Default)]
pub(super) struct Joined(Vec<(ChannelName, Option<String>)>);

impl Joined {
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The channel named `name` and its presence user id, when joined.
    pub(super) fn get(&self, name: &str) -> Option<&(ChannelName, Option<String>)> {
        self.0.iter().find(|(channel, _)| channel.as_str() == name)
    }

    /// Joins `channel` (or updates its user id); `true` when it was not joined before.
    pub(super) fn insert(&mut self, channel: ChannelName, user_id: Option<String>) -> bool {
        if let Some(entry) = self.0.iter_mut().find(|(c, _)| *c == channel) {
            entry.1 = user_id;
            return false;
        }
        self.0.reserve_exact(1);
        self.0.push((channel, user_id));
        true
    }

    /// Leaves the channel named `name`, returning it when it was joined.
    pub(super) fn remove(&mut self, name: &str) -> Option<(ChannelName, Option<String>)> {
        let at = self.0.iter().position(|(c, _)| c.as_str() == name)?;
        Some(self.0.swap_remove(at))
    }

    /// Keeps the channels `keep` says yes to.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&ChannelName, &Option<String>) -> bool) {
        self.0.retain(|(channel, user)| keep(channel, user));
    }

    /// Leaves every channel, yielding each.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = (ChannelName, Option<String>)> + '_ {
        self.0.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ChannelName {
        ChannelName::parse(s, 200).expect("a channel name")
    }

    #[test]
    fn joins_once_updates_leaves_and_drains() {
        let mut joined = Joined::default();
        assert!(joined.insert(name("a"), None));
        assert!(joined.insert(name("presence-b"), Some("1".into())));
        assert!(
            !joined.insert(name("presence-b"), Some("2".into())),
            "joined already"
        );
        assert_eq!(joined.len(), 2);
        assert!(joined.contains("a") && !joined.contains("c"));
        assert_eq!(
            joined.get("presence-b").and_then(|(_, u)| u.as_deref()),
            Some("2")
        );
        assert_eq!(joined.remove("a").map(|(c, _)| c), Some(name("a")));
        assert_eq!(joined.remove("a"), None, "left already");
        joined.insert(name("c"), None);
        joined.retain(|_, user| user.is_some());
        let left: Vec<_> = joined.drain().map(|(c, _)| c).collect();
        assert_eq!(left, vec![name("presence-b")]);
        assert_eq!(joined.len(), 0);
    }
}
