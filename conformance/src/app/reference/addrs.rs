//! FCGI_WEB_SERVER_ADDRS (§3.2): which peers the reference application serves.

use std::net::IpAddr;

use crate::target::Stream;

/// The addresses an FCGI_WEB_SERVER_ADDRS value lists (§3.2, R-3.2-4), as
/// OQ-5 resolves it: comma-separated, spaces around entries ignored, IPv6
/// allowed; an entry that is no address lets nobody in.
pub fn web_server_addrs(value: &str) -> Vec<IpAddr> {
    value
        .split(',')
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect()
}

/// Whether the peer of `stream` may be served under `list`: the list
/// applies to IP peers only (OQ-5), so a unix-socket peer always may.
pub(super) fn peer_listed(stream: &Stream, list: &[IpAddr]) -> bool {
    let Stream::Tcp(s) = stream else {
        return true;
    };
    match s.peer_addr().map(|a| a.ip()) {
        Ok(ip) => list
            .iter()
            .any(|l| *l == ip || ip.to_canonical() == *l || Some(*l) == ip_v4_mapped(ip)),
        Err(_) => false,
    }
}

/// The IPv4 address an IPv4-mapped IPv6 address stands for.
fn ip_v4_mapped(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    }
}
