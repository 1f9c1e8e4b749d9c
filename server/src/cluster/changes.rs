//! Reading the change stream and the state snapshot: Redis replies in,
//! typed changes out. No I/O, so it is tested without a Redis.

use shared::events::SessionId;

/// One entry of `{iss}:changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its number: the stream id is `<seq>-0`.
    pub seq: u64,
    pub session: SessionId,
    pub kind: ChangeKind,
}

/// What happened to the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// Joined, or renamed: shown under this name from now on.
    Named(String),
    /// Left presence.
    Left,
    /// Resumed on another node: `node` must close its stale socket.
    TakenFrom { node: String },
}

/// Why a reply could not be read (a script or Redis version we do not know).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected reply from redis: {0}")]
pub struct BadReply(pub String);

/// One `XRANGE` entry: its id and its field/value pairs, flat.
pub type RawEntry = (String, Vec<String>);

/// Reads `XRANGE` entries (written by the scripts: fields `o`, `i`, `n`).
pub fn parse_entries(entries: Vec<RawEntry>) -> Result<Vec<Change>, BadReply> {
    entries.into_iter().map(parse_entry).collect()
}

fn parse_entry((id, fields): RawEntry) -> Result<Change, BadReply> {
    let seq = id
        .strip_suffix("-0")
        .and_then(|seq| seq.parse().ok())
        .ok_or_else(|| BadReply(format!("stream id {id:?}")))?;
    let field = |name: &str| {
        fields
            .chunks_exact(2)
            .find(|pair| pair[0] == name)
            .map(|pair| pair[1].clone())
            .ok_or_else(|| BadReply(format!("entry {id} has no field {name}")))
    };
    let session = SessionId(field("i")?);
    let kind = match field("o")?.as_str() {
        "j" | "r" => ChangeKind::Named(field("n")?),
        "l" => ChangeKind::Left,
        "k" => ChangeKind::TakenFrom { node: field("n")? },
        other => return Err(BadReply(format!("entry {id} has op {other:?}"))),
    };
    Ok(Change { seq, session, kind })
}

/// The whole shared presence at one seq (the `state` script's reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub epoch: String,
    pub seq: u64,
    /// Named sessions in join order.
    pub members: Vec<(SessionId, String)>,
}

/// Reads `{epoch, seq, id1, name1, …}`.
pub fn parse_state(reply: Vec<String>) -> Result<State, BadReply> {
    let mut items = reply.into_iter();
    let (Some(epoch), Some(seq)) = (items.next(), items.next()) else {
        return Err(BadReply("state: too short".into()));
    };
    let seq = seq
        .parse()
        .map_err(|_| BadReply(format!("state: seq {seq:?}")))?;
    let rest: Vec<String> = items.collect();
    if !rest.len().is_multiple_of(2) {
        return Err(BadReply("state: odd member list".into()));
    }
    let members = rest
        .chunks_exact(2)
        .map(|pair| (SessionId(pair[0].clone()), pair[1].clone()))
        .collect();
    Ok(State {
        epoch,
        seq,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, fields: &[&str]) -> RawEntry {
        (id.into(), fields.iter().map(|f| f.to_string()).collect())
    }

    #[test]
    fn entries_become_changes() {
        let changes = parse_entries(vec![
            entry("7-0", &["o", "j", "i", "s1", "n", "Ada"]),
            entry("8-0", &["o", "r", "i", "s1", "n", "Grace"]),
            entry("9-0", &["o", "l", "i", "s1", "n", ""]),
            entry("10-0", &["o", "k", "i", "s2", "n", "node-a"]),
        ])
        .unwrap();
        let kinds: Vec<(u64, ChangeKind)> = changes.into_iter().map(|c| (c.seq, c.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (7, ChangeKind::Named("Ada".into())),
                (8, ChangeKind::Named("Grace".into())),
                (9, ChangeKind::Left),
                (
                    10,
                    ChangeKind::TakenFrom {
                        node: "node-a".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn foreign_entries_are_errors_not_guesses() {
        assert!(parse_entries(vec![entry("7-1", &["o", "j", "i", "s", "n", "A"])]).is_err());
        assert!(parse_entries(vec![entry("7-0", &["o", "x", "i", "s", "n", "A"])]).is_err());
        assert!(parse_entries(vec![entry("7-0", &["o", "j", "n", "A"])]).is_err());
    }

    #[test]
    fn state_in_join_order() {
        let state = parse_state(
            ["e", "12", "s1", "Ada", "s2", "Bob"]
                .map(String::from)
                .to_vec(),
        )
        .unwrap();
        assert_eq!(state.seq, 12);
        assert_eq!(state.members[1], (SessionId("s2".into()), "Bob".into()));
        assert!(parse_state(vec!["e".into(), "1".into(), "s1".into()]).is_err());
        assert!(parse_state(vec![]).is_err());
    }
}
