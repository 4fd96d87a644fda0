//! Which addresses a discovered record may make a node dial: on a public
//! network, none that point back into the machine or its local networks.
//!
//! A record found by discv5, peer exchange or a DNS tree is the word of
//! whoever published it. One that lists `127.0.0.1:22`, a link-local or a
//! private address would have every node that finds it connect into its own
//! machine or LAN. Such addresses are dialled only on a network made of them
//! (the `local` preset, tests), or when the operator allows it.

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `address` names a host on the public internet (or a DNS name,
/// which the operator's resolver answers).
pub fn is_public(address: &Multiaddr) -> bool {
    match address.iter().next() {
        Some(Protocol::Ip4(ip)) => public_v4(ip),
        Some(Protocol::Ip6(ip)) => public_v6(ip),
        Some(Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_) | Protocol::Dnsaddr(_)) => {
            true
        }
        _ => false,
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || o[0] == 0
        // 100.64.0.0/10, shared address space (carrier-grade NAT).
        || (o[0] == 100 && (o[1] & 0xc0) == 64)
        // 198.18.0.0/15, benchmarking.
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
        // 240.0.0.0/4, reserved.
        || o[0] >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        // 2001:db8::/32, documentation.
        || (s[0] == 0x2001 && s[1] == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_private_and_link_local_are_not_public() {
        for a in [
            "/ip4/127.0.0.1/tcp/22",
            "/ip4/10.1.2.3/tcp/60000",
            "/ip4/192.168.1.1/tcp/80",
            "/ip4/172.16.0.9/tcp/80",
            "/ip4/169.254.169.254/tcp/80",
            "/ip4/100.64.0.1/tcp/80",
            "/ip4/0.0.0.0/tcp/80",
            "/ip6/::1/tcp/22",
            "/ip6/fd00::1/tcp/22",
            "/ip6/fe80::1/tcp/22",
            "/ip6/::ffff:127.0.0.1/tcp/22",
            "/unix/tmp%2Fsock",
        ] {
            assert!(!is_public(&a.parse().unwrap()), "{a}");
        }
        for a in [
            "/ip4/203.0.114.7/tcp/60000",
            "/ip4/1.1.1.1/tcp/443/wss",
            "/ip6/2a01:4f8::1/tcp/60000",
            "/dns4/relay.example.org/tcp/60000",
        ] {
            assert!(is_public(&a.parse().unwrap()), "{a}");
        }
    }
}
