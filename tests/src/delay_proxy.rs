//! A TCP proxy that delays each direction of a link: every chunk read is
//! written on after a one-way delay (plus jitter), in the order it came,
//! at most 64 chunks in flight each way. Connection set-up is not delayed.
//! This kernel has no netem, so a WAN's latency comes from here.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How a link delays, each way.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Delay {
    /// One-way delay.
    pub one_way: Duration,
    /// Each chunk's delay is `one_way ± jitter`, at random (never letting a
    /// chunk overtake the one before it).
    pub jitter: Duration,
}

/// A running proxy; stops accepting, and cuts what it carries, when dropped.
#[derive(Debug)]
pub struct DelayProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl DelayProxy {
    /// Listens on `listen` (port 0 for any) and carries each connection to
    /// `to`, delayed by `delay` each way.
    ///
    /// # Panics
    ///
    /// When it cannot listen.
    pub async fn start(listen: SocketAddr, to: SocketAddr, delay: Delay) -> DelayProxy {
        let listener = TcpListener::bind(listen).await.expect("the proxy listens");
        let addr = listener.local_addr().expect("a bound address");
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            let mut seed = u64::from(addr.port()) | 1;
            while let Ok((inbound, _)) = listener.accept().await {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                links.spawn(carry(inbound, to, delay, seed));
            }
        });
        DelayProxy { addr, task }
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every link.
        self.task.abort();
    }
}

/// Carries one connection both ways until either side closes.
async fn carry(inbound: TcpStream, to: SocketAddr, delay: Delay, seed: u64) {
    let Ok(outbound) = TcpStream::connect(to).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    // Each way ends on its own (a half-close passes on as one); the link
    // goes when both have.
    tokio::join!(
        one_way(in_read, out_write, delay, seed),
        one_way(out_read, in_write, delay, seed ^ 0x9e37_79b9_7f4a_7c15)
    );
}

/// Chunks in flight each way: beyond that the reader stops reading, so a
/// stalled receiver stalls the sender, as on a real link.
const IN_FLIGHT: usize = 64;

/// Reads chunks from `from` and writes each to `to` once its delay is up.
async fn one_way(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Delay,
    mut seed: u64,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT);
    let writer = async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                // Dropping the receiver stops the reader too.
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    let reader = async move {
        let mut last = Instant::now();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // xorshift: jitter needs no more than that.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let jitter = delay.jitter.as_secs_f64() * ((seed % 2001) as f64 / 1000.0 - 1.0);
            let this = delay.one_way.as_secs_f64() + jitter;
            let at = (Instant::now() + Duration::from_secs_f64(this.max(0.0))).max(last);
            last = at;
            if tx.send((at, buf[..n].to_vec())).await.is_err() {
                return;
            }
        }
    };
    // The reader ending (EOF) lets the writer drain what is in flight.
    let (_, ()) = tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_arrive_whole_in_order_and_late() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = server.local_addr().unwrap();
        let delay = Delay {
            one_way: Duration::from_millis(40),
            jitter: Duration::from_millis(10),
        };
        let proxy = DelayProxy::start("127.0.0.1:0".parse().unwrap(), to, delay).await;
        let echo = tokio::spawn(async move {
            let (mut s, _) = server.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                s.write_all(&buf[..n]).await.unwrap();
            }
        });
        let mut client = TcpStream::connect(proxy.addr).await.unwrap();
        let sent: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let started = Instant::now();
        let (mut r, mut w) = client.split();
        let write = async {
            for chunk in sent.chunks(1000) {
                w.write_all(chunk).await.unwrap();
            }
        };
        let read = async {
            let mut got = vec![0u8; sent.len()];
            r.read_exact(&mut got).await.unwrap();
            got
        };
        let ((), got) = tokio::join!(write, read);
        assert!(got == sent, "every byte back, in order");
        // There and back: at least two one-way delays less their jitter.
        assert!(started.elapsed() >= Duration::from_millis(60));
        drop(client);
        echo.await.unwrap();
    }
}
