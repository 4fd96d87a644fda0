//! The methods a manager answers over a session: their names, the capability each needs, and their JSON bodies.
//!
//! Requests and responses carry JSON (UTF-8) bodies; every type here is what
//! one method's body decodes to, shared by the manager that answers and the
//! app that asks, so the two cannot drift apart. Fields added later are
//! optional, so an older app reads a newer manager's answer. See
//! `docs/protocol.md` §10.
//!
//! A capability is one module here: its methods (`impl Method`), the list
//! of them as [`MethodInfo`]s (`METHODS`), its name (`CAPABILITY`) and, for
//! the window's TypeScript, the map of its methods' bodies (`Methods`) and,
//! if it pushes events, its kinds of stream (`STREAMS`) and their event
//! bodies (`Streams`). Naming the
//! module in `capabilities!` below (and under `streams from` if it pushes)
//! is all it takes to list it everywhere.

pub mod reading;

/// Declares each capability's module and gathers what they list: the names
/// ([`CAPABILITIES`]), every method ([`methods`]), and for TypeScript the
/// maps [`ManagerMethods`] and [`ManagerStreams`].
macro_rules! capabilities {
    ($($module:ident),* ; streams from $($streaming:ident),*) => {
        $(pub mod $module;)*

        /// Every capability a manager may offer, in the order the docs list them.
        pub const CAPABILITIES: &[&str] = &[$($module::CAPABILITY),*];

        /// Every method a manager may answer.
        pub fn methods() -> impl Iterator<Item = &'static MethodInfo> {
            std::iter::empty()$(.chain($module::METHODS.iter()))*
        }

        /// Every kind of stream a manager may push events on.
        pub fn streams() -> impl Iterator<Item = &'static StreamInfo> {
            std::iter::empty()$(.chain($streaming::STREAMS.iter()))*
        }

        /// Each method's name, with its request and response bodies: the
        /// window's TypeScript reads the types of a call from this map.
        /// Only a type; nothing of it is ever built.
        #[cfg(feature = "specta")]
        #[derive(Debug, serde::Serialize, specta::Type)]
        pub struct ManagerMethods {
            $(
                #[serde(flatten)]
                #[allow(missing_docs)]
                pub $module: $module::Methods,
            )*
        }

        /// Each stream's kind (the part of its name before any `:`), with
        /// its events' body. Only a type, for TypeScript.
        #[cfg(feature = "specta")]
        #[derive(Debug, serde::Serialize, specta::Type)]
        pub struct ManagerStreams {
            $(
                #[serde(flatten)]
                #[allow(missing_docs)]
                pub $streaming: $streaming::Streams,
            )*
        }
    };
}

capabilities! {
    info, host, ethereum, services, logs, alerts, validators;
    // Those that push events, each with a `Streams` type.
    streams from host, logs, alerts
}

/// The method called `name`, if a manager may answer one.
pub fn method(name: &str) -> Option<&'static MethodInfo> {
    methods().find(|m| m.name == name)
}

/// The kind of stream called `name` (`logs:geth.service` → the `logs`
/// kind), if a manager may push one.
pub fn stream(name: &str) -> Option<&'static StreamInfo> {
    let kind = stream_kind(name);
    streams().find(|s| s.kind == kind)
}

/// The kind of a stream: its name up to the first `:` (`logs:geth` → `logs`).
pub fn stream_kind(stream: &str) -> &str {
    stream.split_once(':').map_or(stream, |(kind, _)| kind)
}

/// One call in [`ManagerMethods`]: what the app sends and what comes back.
#[cfg(feature = "specta")]
#[derive(Debug, serde::Serialize, specta::Type)]
pub struct Call<Q, R> {
    /// The request body.
    pub request: Q,
    /// An OK response's body.
    pub response: R,
}

/// What answering a method does to a stream of events the app receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follows {
    /// Nothing: a plain question.
    Nothing,
    /// Starts (or changes) a stream that ends with the session: an app that
    /// wants it after reconnecting sends this request again.
    Starts,
    /// Stops what the method `starts` started for the same subject.
    Stops {
        /// The method whose stream this stops.
        starts: &'static str,
    },
}

/// A method, the capability the manager must offer for it, and its bodies.
pub trait Method {
    /// The method name on the wire.
    const NAME: &'static str;
    /// The capability the manager lists in its HELLO when it answers this
    /// method; `None` for methods every manager answers.
    const CAPABILITY: Option<&'static str>;
    /// What the request body holds.
    type Request: serde::Serialize + serde::de::DeserializeOwned;
    /// What an OK response's body holds.
    type Response: serde::Serialize + serde::de::DeserializeOwned;
    /// What answering it does to a stream.
    const FOLLOWS: Follows = Follows::Nothing;
    /// What one follow (or unfollow) is of, among those of the same method
    /// and manager: the log source, say; empty when there is one of it.
    fn subject(_request: &Self::Request) -> String {
        String::new()
    }
}

/// A method as a value: what code that does not know its types (the app's
/// generic call, the manager's dispatch) needs of it.
#[derive(Clone, Copy, Debug)]
pub struct MethodInfo {
    /// [`Method::NAME`].
    pub name: &'static str,
    /// [`Method::CAPABILITY`].
    pub capability: Option<&'static str>,
    /// [`Method::FOLLOWS`].
    pub follows: Follows,
    subject: fn(&[u8]) -> Option<String>,
    response: fn(&[u8]) -> Result<Vec<u8>, BodyError>,
}

impl MethodInfo {
    /// `M` as a value.
    pub const fn of<M: Method>() -> Self {
        MethodInfo {
            name: M::NAME,
            capability: M::CAPABILITY,
            follows: M::FOLLOWS,
            subject: subject_of::<M>,
            response: response_of::<M>,
        }
    }

    /// An OK response's body checked against the method's type and written
    /// again in full (fields an older manager left out get their
    /// defaults): what code that passes answers on without knowing their
    /// type hands its caller, never the counterparty's bytes as they came.
    ///
    /// # Errors
    ///
    /// When the body is not this method's response.
    pub fn response(&self, body: &[u8]) -> Result<Vec<u8>, BodyError> {
        (self.response)(body)
    }

    /// The subject of a request with this body ([`Method::subject`]), or
    /// `None` when the body is not this method's request.
    pub fn subject(&self, body: &[u8]) -> Option<String> {
        (self.subject)(body)
    }
}

fn subject_of<M: Method>(body: &[u8]) -> Option<String> {
    decode_request::<M>(body).ok().map(|r| M::subject(&r))
}

fn response_of<M: Method>(body: &[u8]) -> Result<Vec<u8>, BodyError> {
    decode_response::<M>(body).map(|r| encode(&r))
}

/// A kind of stream a manager pushes events on, as a value: its name (the
/// part of a stream's name before any `:`) and its events' body.
#[derive(Clone, Copy, Debug)]
pub struct StreamInfo {
    /// The kind: `host`, `logs`.
    pub kind: &'static str,
    event: fn(&[u8]) -> Result<Vec<u8>, serde_json::Error>,
}

impl StreamInfo {
    /// Streams of `kind`, whose events' bodies are `T`s.
    pub const fn of<T: serde::Serialize + serde::de::DeserializeOwned>(kind: &'static str) -> Self {
        StreamInfo {
            kind,
            event: event_of::<T>,
        }
    }

    /// An event's body checked against the stream's type and written again
    /// in full (see [`MethodInfo::response`]).
    ///
    /// # Errors
    ///
    /// When the body is not this stream's event.
    pub fn event(&self, body: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
        (self.event)(body)
    }
}

fn event_of<T: serde::Serialize + serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::from_slice::<T>(body).map(|event| encode(&event))
}

/// A body that is not what the method's type says.
#[derive(Debug, thiserror::Error)]
#[error("the {method} body is not what NodePair expects: {source}")]
pub struct BodyError {
    /// The method.
    pub method: &'static str,
    /// What JSON decoding said.
    #[source]
    pub source: serde_json::Error,
}

/// Encodes a request or response body.
pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("API types always serialize")
}

/// Decodes `M`'s request body; an empty body reads as `{}`.
pub fn decode_request<M: Method>(body: &[u8]) -> Result<M::Request, BodyError> {
    let body = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|source| BodyError {
        method: M::NAME,
        source,
    })
}

/// Decodes `M`'s OK response body.
pub fn decode_response<M: Method>(body: &[u8]) -> Result<M::Response, BodyError> {
    serde_json::from_slice(body).map_err(|source| BodyError {
        method: M::NAME,
        source,
    })
}

/// The request body of methods that take no arguments: `{}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_listed_once_under_a_listed_capability() {
        let mut names: Vec<&str> = methods().map(|m| m.name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a method name is listed twice");
        for m in methods() {
            if let Some(c) = m.capability {
                assert!(CAPABILITIES.contains(&c), "{} needs unlisted {c}", m.name);
            }
            assert!(std::ptr::eq(method(m.name).unwrap(), m));
        }
        assert!(method("host.reboot").is_none());
    }

    #[test]
    fn every_stop_names_a_start_of_its_own_capability() {
        for m in methods() {
            if let Follows::Stops { starts } = m.follows {
                let start = method(starts).expect("it stops a listed method");
                assert_eq!(start.follows, Follows::Starts, "{}", m.name);
                assert_eq!(start.capability, m.capability, "{}", m.name);
            }
        }
    }

    #[test]
    fn a_follow_and_its_unfollow_name_the_same_subject() {
        let body = br#"{"source":"geth.service"}"#;
        let follow = method(logs::LogsFollow::NAME).unwrap();
        let unfollow = method(logs::LogsUnfollow::NAME).unwrap();
        assert_eq!(follow.subject(body).as_deref(), Some("geth.service"));
        assert_eq!(unfollow.subject(body), follow.subject(body));
        assert_eq!(
            method(host::HostFollow::NAME)
                .unwrap()
                .subject(b"{\"interval_ms\":2000}")
                .as_deref(),
            Some("")
        );
        // Not the method's request: no subject.
        assert_eq!(follow.subject(b"[1]"), None);
        assert_eq!(stream_kind("logs:geth.service"), "logs");
        assert_eq!(stream_kind(host::STREAM), "host");
    }

    #[test]
    fn answers_and_events_are_passed_on_only_as_their_type_and_in_full() {
        let health = method(host::Health::NAME).unwrap();
        assert!(health.response(b"{\"samples\":[]}").is_err());
        assert!(health.response(b"[]").is_err());
        // An older manager's answer without the later fields: written again
        // with their defaults.
        let old = br#"{"hostname":"h","os":"o","uptime_s":1,"cpus":1,"load":[0,0,0],
            "memory_total":1,"memory_used":1,"swap_total":0,"swap_used":0,"disks":[],
            "sample_interval_ms":5000,"samples":[]}"#;
        let full: serde_json::Value =
            serde_json::from_slice(&health.response(old).unwrap()).unwrap();
        assert_eq!(full["cpu_per_core"], serde_json::json!([]));
        assert_eq!(full["networks"], serde_json::json!([]));
        assert_eq!(full["kernel"], "");

        let logs = stream("logs:geth.service").unwrap();
        assert!(
            logs.event(br#"{"source":"s","lines":[null],"dropped_bytes":0}"#)
                .is_err()
        );
        assert!(
            logs.event(br#"{"source":"s","lines":[],"dropped_bytes":"5"}"#)
                .is_err()
        );
        let ok = logs
            .event(br#"{"source":"s","lines":["a"],"dropped_bytes":5}"#)
            .unwrap();
        assert!(String::from_utf8(ok).unwrap().contains("\"left_out\":0"));
        assert!(stream("host").is_some());
        assert!(
            stream("alerts").unwrap().event(b"{}").is_err(),
            "a change, typed"
        );
        assert!(stream("metrics").is_none());
    }
}
