//! Unsigned-varint length-prefixed frames: how Waku's request/response
//! protocols (metadata, lightpush, filter, store, peer exchange) put one
//! protobuf on a stream, and the codec those that need nothing more share.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response;
use std::io;
use std::marker::PhantomData;

/// Reads exactly one frame of at most `max` bytes. Reads no further than the
/// frame: a peer that sends one frame and waits (nwaku does) is answered.
///
/// Cancel-safe: no; a frame half-read is lost with the stream.
pub(crate) async fn read_frame<T>(io: &mut T, max: usize) -> io::Result<Vec<u8>>
where
    T: AsyncRead + Unpin + Send,
{
    let len = unsigned_varint::aio::read_usize(&mut *io)
        .await
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the {max}-byte limit"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Writes one frame and flushes it.
pub(crate) async fn write_frame<T>(io: &mut T, bytes: &[u8]) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
{
    let mut prefix = unsigned_varint::encode::usize_buffer();
    io.write_all(unsigned_varint::encode::usize(bytes.len(), &mut prefix))
        .await?;
    io.write_all(bytes).await?;
    io.flush().await
}

/// Reads one frame of at most `max` bytes and decodes it as `M`.
pub(crate) async fn read_message<M, T>(io: &mut T, max: usize) -> io::Result<M>
where
    M: prost::Message + Default,
    T: AsyncRead + Unpin + Send,
{
    let bytes = read_frame(io, max).await?;
    M::decode(bytes.as_slice()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Encodes `message` and writes it as one frame.
pub(crate) async fn write_message<M, T>(io: &mut T, message: &M) -> io::Result<()>
where
    M: prost::Message,
    T: AsyncWrite + Unpin + Send,
{
    write_frame(io, &message.encode_to_vec()).await
}

/// The request/response codec of a protocol that sends one protobuf each
/// way: requests of at most `MAX_REQUEST` bytes, responses of at most
/// `MAX_RESPONSE` (store, filter subscribe, peer exchange).
#[derive(Debug)]
pub struct ProtobufCodec<Req, Resp, const MAX_REQUEST: usize, const MAX_RESPONSE: usize>(
    PhantomData<fn() -> (Req, Resp)>,
);

impl<Req, Resp, const A: usize, const B: usize> Default for ProtobufCodec<Req, Resp, A, B> {
    fn default() -> Self {
        ProtobufCodec(PhantomData)
    }
}

impl<Req, Resp, const A: usize, const B: usize> Clone for ProtobufCodec<Req, Resp, A, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Req, Resp, const A: usize, const B: usize> Copy for ProtobufCodec<Req, Resp, A, B> {}

impl<Req, Resp, const MAX_REQUEST: usize, const MAX_RESPONSE: usize> request_response::Codec
    for ProtobufCodec<Req, Resp, MAX_REQUEST, MAX_RESPONSE>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Default + Send + 'static,
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Resp;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Req>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_message(io, MAX_REQUEST).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Resp>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_message(io, MAX_RESPONSE).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Req,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_message(io, &request).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Resp,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_message(io, &response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;

    #[test]
    fn round_trip_and_limit() {
        futures::executor::block_on(async {
            let mut buf = Cursor::new(Vec::new());
            write_frame(&mut buf, &[7; 300]).await.unwrap();
            assert_eq!(&buf.get_ref()[..2], [0xac, 0x02]); // 300 as a varint
            buf.set_position(0);
            assert_eq!(read_frame(&mut buf, 300).await.unwrap(), vec![7; 300]);
            buf.set_position(0);
            let err = read_frame(&mut buf, 299).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        });
    }

    #[test]
    fn a_truncated_frame_is_an_error() {
        futures::executor::block_on(async {
            let mut buf = Cursor::new(vec![10u8, 1, 2, 3]);
            let err = read_frame(&mut buf, 100).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        });
    }
}
