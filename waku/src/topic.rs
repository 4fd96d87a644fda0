//! Pubsub topics (static sharding) and content topics (autosharding), 23/WAKU2-TOPICS
//! and 51/WAKU2-RELAY-SHARDING.

use sha2::{Digest, Sha256};
use std::fmt;

/// Shards a cluster is split into for autosharding (js-waku's fixed value,
/// and The Waku Network's).
pub const AUTOSHARD_COUNT: u16 = 8;

/// A gossipsub topic Waku relays on. Static sharding names them
/// `/waku/2/rs/<cluster>/<shard>`; older named topics are carried as they are.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PubsubTopic(String);

/// A cluster and shard, as static sharding names a pubsub topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    /// The cluster (1 is The Waku Network).
    pub cluster: u16,
    /// The shard within the cluster.
    pub shard: u16,
}

impl PubsubTopic {
    /// `/waku/2/rs/<cluster>/<shard>`.
    pub fn static_shard(shard: Shard) -> Self {
        PubsubTopic(format!("/waku/2/rs/{}/{}", shard.cluster, shard.shard))
    }

    /// A topic by name, as given (for named, pre-sharding topics).
    pub fn named(name: impl Into<String>) -> Self {
        PubsubTopic(name.into())
    }

    /// The cluster and shard, when this is a static-sharding topic.
    pub fn shard(&self) -> Option<Shard> {
        let rest = self.0.strip_prefix("/waku/2/rs/")?;
        let (cluster, shard) = rest.split_once('/')?;
        Some(Shard {
            cluster: cluster.parse().ok()?,
            shard: shard.parse().ok()?,
        })
    }

    /// The topic string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PubsubTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PubsubTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PubsubTopic({})", self.0)
    }
}

/// A content topic, `/{application}/{version}/{name}/{encoding}`, optionally
/// preceded by a generation (`/0/...`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContentTopic {
    /// The application: with `version`, what autosharding hashes.
    pub application: String,
    /// The application's version.
    pub version: String,
    /// The topic's name within the application.
    pub name: String,
    /// How payloads are encoded, e.g. `proto`.
    pub encoding: String,
}

/// Why a string is not a content topic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContentTopicError {
    /// Not four (or, with a generation, five) non-empty `/`-separated parts.
    #[error("content topic {0:?} is not /application/version/name/encoding")]
    Shape(String),
    /// A generation other than 0.
    #[error("content topic {0:?} has a generation other than 0")]
    Generation(String),
}

impl ContentTopic {
    /// Parses `/{application}/{version}/{name}/{encoding}` or `/0/...`.
    pub fn parse(s: &str) -> Result<Self, ContentTopicError> {
        let shape = || ContentTopicError::Shape(s.to_owned());
        let rest = s.strip_prefix('/').ok_or_else(shape)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let parts = match parts.len() {
            4 => &parts[..],
            5 if parts[0] == "0" => &parts[1..],
            5 => return Err(ContentTopicError::Generation(s.to_owned())),
            _ => return Err(shape()),
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(shape());
        }
        Ok(ContentTopic {
            application: parts[0].to_owned(),
            version: parts[1].to_owned(),
            name: parts[2].to_owned(),
            encoding: parts[3].to_owned(),
        })
    }

    /// The shard autosharding puts this topic on in `cluster`:
    /// `u64be(sha256(application ‖ version)[24..32]) mod AUTOSHARD_COUNT`.
    pub fn autoshard(&self, cluster: u16) -> Shard {
        let digest = Sha256::new()
            .chain_update(self.application.as_bytes())
            .chain_update(self.version.as_bytes())
            .finalize();
        let tail = u64::from_be_bytes(digest[24..32].try_into().expect("8 bytes"));
        Shard {
            cluster,
            shard: (tail % u64::from(AUTOSHARD_COUNT)) as u16,
        }
    }
}

impl fmt::Display for ContentTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "/{}/{}/{}/{}",
            self.application, self.version, self.name, self.encoding
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_shard_topics_round_trip() {
        let t = PubsubTopic::static_shard(Shard {
            cluster: 42,
            shard: 3,
        });
        assert_eq!(t.as_str(), "/waku/2/rs/42/3");
        assert_eq!(
            t.shard(),
            Some(Shard {
                cluster: 42,
                shard: 3
            })
        );
        assert_eq!(
            PubsubTopic::named("/waku/2/default-waku/proto").shard(),
            None
        );
        assert_eq!(PubsubTopic::named("/waku/2/rs/x/1").shard(), None);
    }

    // Shards computed by hand from sha256(application ‖ version), as js-waku
    // and nwaku compute them.
    #[test]
    fn autosharding_matches_js_waku_and_nwaku() {
        for (topic, shard) in [
            ("/toychat/2/huilong/proto", 3),
            ("/myapp/1/latest/proto", 0),
            ("/waku/2/content/test.js", 1),
            ("/app/1/name/proto", 4),
            ("/my-app/1/chat/proto", 5),
            ("/0/toychat/2/huilong/proto", 3),
        ] {
            let t = ContentTopic::parse(topic).unwrap();
            assert_eq!(t.autoshard(1), Shard { cluster: 1, shard }, "{topic}");
        }
    }

    #[test]
    fn bad_content_topics_say_why() {
        for bad in [
            "",
            "toychat/2/x/proto",
            "/toychat/2/x",
            "/a//b/c",
            "/a/1/b/c/d/e",
        ] {
            assert_eq!(
                ContentTopic::parse(bad),
                Err(ContentTopicError::Shape(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(
            ContentTopic::parse("/1/a/1/b/c"),
            Err(ContentTopicError::Generation("/1/a/1/b/c".into()))
        );
        assert_eq!(
            ContentTopic::parse("/nodepair/1/pair-00ff/proto")
                .unwrap()
                .to_string(),
            "/nodepair/1/pair-00ff/proto"
        );
    }
}
