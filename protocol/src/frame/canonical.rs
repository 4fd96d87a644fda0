//! The data frames (request, response, event) in the one encoding every sender writes, read and written without prost's generic machinery.
//!
//! Requests, responses and events are almost all a session carries, and on
//! 1 KiB frames prost's decoding and encoding cost a tenth of the cipher.
//! This writes them exactly as prost does — the version, then the body
//! field, whose fields come in order, each once, defaults left out — and
//! reads that shape and nothing else: any other input (fields out of order
//! or repeated, unknown fields, other frame types, invalid UTF-8, a newer
//! version) is handed back for prost to decode, so what a frame decodes to,
//! and every error, is prost's. Tests hold both directions to prost's
//! output byte for byte.

use super::{Event, FRAME_VERSION, Frame, Request, Response};
use bytes::{Buf, Bytes};
use bytestring::ByteString;

/// Field keys: `(field number << 3) | wire type` (0 varint, 2 length-delimited).
mod key {
    pub(super) const VERSION: u8 = 1 << 3;
    pub(super) const REQUEST: u8 = (2 << 3) | 2;
    pub(super) const RESPONSE: u8 = (3 << 3) | 2;
    pub(super) const EVENT: u8 = (4 << 3) | 2;
    /// Field 1, 2 and 3 of a body, as varint or length-delimited.
    pub(super) const VARINT_1: u8 = 1 << 3;
    pub(super) const BYTES_1: u8 = (1 << 3) | 2;
    pub(super) const VARINT_2: u8 = 2 << 3;
    pub(super) const BYTES_2: u8 = (2 << 3) | 2;
    pub(super) const BYTES_3: u8 = (3 << 3) | 2;
}

/// A request, response or event, with its body's encoded length.
pub(super) struct Data {
    frame: Frame,
    /// The length of the body field's value (the request, response or event).
    inner: usize,
}

// The version is written, as one byte (prost leaves a 0 out).
const _: () = assert!(FRAME_VERSION > 0 && FRAME_VERSION < 0x80);

impl Data {
    /// Takes data frames; gives any other back.
    pub(super) fn new(frame: Frame) -> Result<Data, Frame> {
        let inner = match &frame {
            Frame::Request(r) => {
                varint_field(r.id) + bytes_field(r.method.len()) + bytes_field(r.body.len())
            }
            Frame::Response(r) => {
                varint_field(r.id) + varint_field(u64::from(r.status)) + bytes_field(r.body.len())
            }
            Frame::Event(e) => {
                bytes_field(e.stream.len()) + varint_field(e.seq) + bytes_field(e.body.len())
            }
            _ => return Err(frame),
        };
        Ok(Data { frame, inner })
    }

    /// The encoded length.
    pub(super) fn len(&self) -> usize {
        2 + 1 + varint_len(self.inner as u64) + self.inner
    }

    /// Appends the frame, encoded as prost would.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.len());
        out.extend_from_slice(&[key::VERSION, FRAME_VERSION as u8]);
        match &self.frame {
            Frame::Request(r) => {
                start(out, key::REQUEST, self.inner);
                put_varint_field(out, key::VARINT_1, r.id);
                put_bytes_field(out, key::BYTES_2, r.method.as_bytes());
                put_bytes_field(out, key::BYTES_3, &r.body);
            }
            Frame::Response(r) => {
                start(out, key::RESPONSE, self.inner);
                put_varint_field(out, key::VARINT_1, r.id);
                put_varint_field(out, key::VARINT_2, u64::from(r.status));
                put_bytes_field(out, key::BYTES_3, &r.body);
            }
            Frame::Event(e) => {
                start(out, key::EVENT, self.inner);
                put_bytes_field(out, key::BYTES_1, e.stream.as_bytes());
                put_varint_field(out, key::VARINT_2, e.seq);
                put_bytes_field(out, key::BYTES_3, &e.body);
            }
            _ => unreachable!("Data::new takes only data frames"),
        }
    }
}

/// Bytes a varint of `v` takes.
#[inline]
fn varint_len(v: u64) -> usize {
    // 7 bits a byte; 0 takes one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes a varint field takes: none for 0, which proto3 leaves out.
#[inline]
fn varint_field(v: u64) -> usize {
    if v == 0 { 0 } else { 1 + varint_len(v) }
}

/// Bytes a length-delimited field of `len` bytes takes: none if empty.
#[inline]
fn bytes_field(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        1 + varint_len(len as u64) + len
    }
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The body field's key and length.
#[inline]
fn start(out: &mut Vec<u8>, key: u8, len: usize) {
    out.push(key);
    put_varint(out, len as u64);
}

#[inline]
fn put_varint_field(out: &mut Vec<u8>, key: u8, v: u64) {
    if v != 0 {
        out.push(key);
        put_varint(out, v);
    }
}

#[inline]
fn put_bytes_field(out: &mut Vec<u8>, key: u8, value: &[u8]) {
    if !value.is_empty() {
        out.push(key);
        put_varint(out, value.len() as u64);
        out.extend_from_slice(value);
    }
}

/// Decodes `bytes` if it is a data frame in the encoding [`encode`]
/// writes; otherwise gives it back untouched.
pub(super) fn decode(bytes: Bytes) -> Result<Frame, Bytes> {
    match read(&bytes) {
        Some(parts) => parts.into_frame(bytes),
        None => Err(bytes),
    }
}

/// What [`read`] found: the frame's scalars, and where its strings and
/// body lie in the input.
struct Parts {
    kind: u8,
    /// Request and response id, or event sequence number.
    number: u64,
    /// Response status.
    status: u32,
    /// Method or stream name.
    name: (usize, usize),
    body: (usize, usize),
}

impl Parts {
    /// The frame, or the input back if its method or stream name is not
    /// UTF-8 (an error prost's path reports).
    fn into_frame(self, bytes: Bytes) -> Result<Frame, Bytes> {
        let (start, end) = self.name;
        Ok(match self.kind {
            key::REQUEST => {
                let Ok(method) = std::str::from_utf8(&bytes[start..end]) else {
                    return Err(bytes);
                };
                Frame::Request(Request {
                    id: self.number,
                    method: method.to_owned(),
                    body: body(bytes, self.body),
                })
            }
            key::RESPONSE => Frame::Response(Response {
                id: self.number,
                status: self.status,
                body: body(bytes, self.body),
            }),
            _ => {
                let Ok(stream) = ByteString::try_from(bytes.slice(start..end)) else {
                    return Err(bytes);
                };
                Frame::Event(Event {
                    stream,
                    seq: self.number,
                    body: body(bytes, self.body),
                })
            }
        })
    }
}

/// The body, ending the frame: the input itself, cut to it, so taking it
/// costs no reference count.
#[inline(always)]
fn body(mut bytes: Bytes, (start, end): (usize, usize)) -> Bytes {
    if start == end {
        return Bytes::new();
    }
    bytes.truncate(end);
    bytes.advance(start);
    bytes
}

/// Reads a data frame in the canonical shape, or `None`.
fn read(bytes: &[u8]) -> Option<Parts> {
    let mut c = Cursor { buf: bytes, at: 0 };
    if c.eat(key::VERSION) {
        let version = u32::try_from(c.varint()?).ok()?;
        if version > FRAME_VERSION {
            return None;
        }
    }
    let kind = c.byte()?;
    let len = c.len()?;
    if c.at + len != bytes.len() {
        return None;
    }
    let mut parts = Parts {
        kind,
        number: 0,
        status: 0,
        name: (c.at, c.at),
        body: (c.at, c.at),
    };
    match kind {
        key::REQUEST => {
            if c.eat(key::VARINT_1) {
                parts.number = c.varint()?;
            }
            if c.eat(key::BYTES_2) {
                parts.name = c.slice()?;
            }
        }
        key::RESPONSE => {
            if c.eat(key::VARINT_1) {
                parts.number = c.varint()?;
            }
            if c.eat(key::VARINT_2) {
                // Over 16 bits is an error prost's path reports.
                parts.status = u32::from(u16::try_from(c.varint()?).ok()?);
            }
        }
        key::EVENT => {
            if c.eat(key::BYTES_1) {
                parts.name = c.slice()?;
            }
            if c.eat(key::VARINT_2) {
                parts.number = c.varint()?;
            }
        }
        _ => return None,
    }
    if c.eat(key::BYTES_3) {
        parts.body = c.slice()?;
    }
    if c.at != bytes.len() {
        return None;
    }
    Some(parts)
}

/// Reads a byte string left to right.
struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    #[inline]
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    /// Takes `key` if it comes next.
    #[inline]
    fn eat(&mut self, key: u8) -> bool {
        let next = self.buf.get(self.at) == Some(&key);
        self.at += usize::from(next);
        next
    }

    /// A varint as prost reads it: up to ten bytes, the tenth at most 1.
    #[inline(always)]
    fn varint(&mut self) -> Option<u64> {
        // Keys, lengths under 128 and small numbers: one byte, read here
        // without a call.
        match self.buf.get(self.at) {
            Some(&b) if b < 0x80 => {
                self.at += 1;
                Some(u64::from(b))
            }
            _ => self.long_varint(),
        }
    }

    fn long_varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            if i == 9 && b > 1 {
                return None;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Some(value);
            }
        }
        None
    }

    /// A length that fits in what is left.
    #[inline]
    fn len(&mut self) -> Option<usize> {
        let len = usize::try_from(self.varint()?).ok()?;
        (len <= self.buf.len() - self.at).then_some(len)
    }

    /// A length-delimited value: its start and end.
    #[inline]
    fn slice(&mut self) -> Option<(usize, usize)> {
        let len = self.len()?;
        let start = self.at;
        self.at += len;
        Some((start, self.at))
    }
}
