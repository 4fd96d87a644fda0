//! The methods a manager answers over a session: their names, the capability each needs, and their JSON bodies.
//!
//! Requests and responses carry JSON (UTF-8) bodies; every type here is what
//! one method's body decodes to, shared by the manager that answers and the
//! app that asks, so the two cannot drift apart. Fields added later are
//! optional, so an older app reads a newer manager's answer. See
//! `docs/protocol.md` §10.

pub mod ethereum;
pub mod host;
pub mod info;
pub mod logs;
pub mod reading;
pub mod services;

/// Every capability a manager may offer, in the order the docs list them.
pub const CAPABILITIES: &[&str] = &["info", "host", "ethereum", "services", "logs"];

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
