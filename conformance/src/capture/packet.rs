//! From a captured frame to its TCP segment: the link layer (Ethernet,
//! Linux cooked SLL and SLL2, raw IP, BSD loopback), IPv4 or IPv6, and
//! the TCP header, sliced with the `etherparse` crate. Frames cut to the
//! snapshot length keep what was captured and say how much is missing.

use std::net::{IpAddr, SocketAddr};

use etherparse::{EtherType, IpNumber, LaxNetSlice, LaxSlicedPacket, TcpSlice};

/// A TCP segment as captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Sequence number of the first payload byte (of the SYN, on a SYN).
    pub seq: u32,
    /// SYN flag.
    pub syn: bool,
    /// FIN flag.
    pub fin: bool,
    /// RST flag.
    pub rst: bool,
    /// The payload bytes captured.
    pub payload: &'a [u8],
    /// Payload bytes sent but not captured: the frame was cut to the
    /// snapshot length inside the payload.
    pub missing: usize,
}

/// Why a frame gives no TCP segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// A link type the dump does not decode.
    Link(i32),
    /// Not IPv4 or IPv6 (ARP, …).
    NotIp,
    /// IP, but not TCP (UDP, ICMP, …).
    NotTcp,
    /// A fragment of an IP datagram: TCP over loopback is never fragmented,
    /// and the dump does not put fragments together.
    Fragment,
    /// The headers are cut short or malformed (the words say which).
    Malformed(String),
}

const LINKTYPE_NULL: i32 = 0;
const LINKTYPE_ETHERNET: i32 = 1;
/// DLT_RAW as OpenBSD and others write it in pcap files.
const DLT_RAW_12: i32 = 12;
const DLT_RAW_14: i32 = 14;
const LINKTYPE_RAW: i32 = 101;
const LINKTYPE_LOOP: i32 = 108;
const LINKTYPE_LINUX_SLL: i32 = 113;
const LINKTYPE_IPV4: i32 = 228;
const LINKTYPE_IPV6: i32 = 229;
const LINKTYPE_LINUX_SLL2: i32 = 276;

/// Bytes of a Linux cooked header (tcpdump.org, LINKTYPE_LINUX_SLL); its
/// protocol type, an EtherType for IP, is at byte 14.
const SLL_LEN: usize = 16;
/// Bytes of a Linux cooked v2 header (LINKTYPE_LINUX_SLL2); its protocol
/// type is at byte 0. etherparse slices neither SLL2 nor SLL on the loopback
/// device (it refuses ARPHRD_LOOPBACK's protocol field), so both are read here:
/// two bytes, then etherparse from the EtherType on.
const SLL2_LEN: usize = 20;

/// The TCP segment in `data`, a frame of link type `link`.
pub fn segment(link: i32, data: &[u8]) -> Result<Segment<'_>, Skip> {
    let sliced = match link {
        LINKTYPE_ETHERNET => LaxSlicedPacket::from_ethernet(data)
            .map_err(|e| Skip::Malformed(format!("Ethernet header: {e}")))?,
        LINKTYPE_LINUX_SLL => cooked(data, SLL_LEN, 14)?,
        LINKTYPE_LINUX_SLL2 => cooked(data, SLL2_LEN, 0)?,
        LINKTYPE_RAW | DLT_RAW_12 | DLT_RAW_14 | LINKTYPE_IPV4 | LINKTYPE_IPV6 => ip(data)?,
        // A 4-byte address family (host order for NULL, network order for
        // LOOP); the IP version nibble says the rest.
        LINKTYPE_NULL | LINKTYPE_LOOP => ip(data
            .get(4..)
            .ok_or_else(|| Skip::Malformed("loopback header cut short".to_string()))?)?,
        other => return Err(Skip::Link(other)),
    };
    if let Some((e, layer)) = &sliced.stop_err {
        if sliced.net.is_none() {
            return Err(Skip::Malformed(format!("{layer}: {e}")));
        }
    }
    let (src, dst, payload, intended) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let ext = v4.extensions().auth.map_or(0, |a| a.slice().len());
            let intended = usize::from(h.total_len()).saturating_sub(h.slice().len() + ext);
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                v4.payload(),
                intended,
            )
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let intended =
                usize::from(h.payload_length()).saturating_sub(v6.extensions().slice().len());
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                v6.payload(),
                intended,
            )
        }
        _ => return Err(Skip::NotIp),
    };
    if payload.fragmented {
        return Err(Skip::Fragment);
    }
    if payload.ip_number != IpNumber::TCP {
        return Err(Skip::NotTcp);
    }
    let tcp = TcpSlice::from_slice(payload.payload)
        .map_err(|e| Skip::Malformed(format!("TCP header: {e}")))?;
    let header = tcp.header_slice().len();
    let missing = if payload.incomplete {
        intended.saturating_sub(header + tcp.payload().len())
    } else {
        0
    };
    Ok(Segment {
        src: SocketAddr::new(src, tcp.source_port()),
        dst: SocketAddr::new(dst, tcp.destination_port()),
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload: tcp.payload(),
        missing,
    })
}

/// A Linux cooked frame: a `len`-byte header with the EtherType at `at`.
fn cooked(data: &[u8], len: usize, at: usize) -> Result<LaxSlicedPacket<'_>, Skip> {
    let (Some(&[hi, lo]), Some(rest)) = (data.get(at..at + 2), data.get(len..)) else {
        return Err(Skip::Malformed("Linux cooked header cut short".to_string()));
    };
    Ok(LaxSlicedPacket::from_ether_type(
        EtherType(u16::from_be_bytes([hi, lo])),
        rest,
    ))
}

fn ip(data: &[u8]) -> Result<LaxSlicedPacket<'_>, Skip> {
    LaxSlicedPacket::from_ip(data).map_err(|e| Skip::Malformed(format!("IP header: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn v4_frame(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64)
            .tcp(41234, 9000, 1000, 65535)
            .psh();
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn an_ethernet_ipv4_segment_is_sliced() {
        let f = v4_frame(b"hello");
        let s = segment(LINKTYPE_ETHERNET, &f).unwrap();
        assert_eq!(s.src.to_string(), "127.0.0.1:41234");
        assert_eq!(s.dst.to_string(), "127.0.0.2:9000");
        assert_eq!((s.seq, s.payload, s.missing), (1000, &b"hello"[..], 0));
    }

    #[test]
    fn a_frame_cut_to_the_snaplen_says_how_many_payload_bytes_are_missing() {
        let f = v4_frame(b"0123456789");
        let cut = &f[..f.len() - 4];
        let s = segment(LINKTYPE_ETHERNET, cut).unwrap();
        assert_eq!((s.payload, s.missing), (&b"012345"[..], 4));
        // Cut inside the TCP header: no segment.
        assert!(matches!(
            segment(LINKTYPE_ETHERNET, &f[..14 + 20 + 10]),
            Err(Skip::Malformed(_))
        ));
    }

    #[test]
    fn sll2_raw_and_loopback_links_give_the_same_segment() {
        let mut ip = Vec::new();
        PacketBuilder::ipv6([0; 16], [0; 16], 64)
            .tcp(1, 2, 7, 100)
            .write(&mut ip, b"x")
            .unwrap();
        let raw = segment(LINKTYPE_RAW, &ip).unwrap();
        assert_eq!(raw.src.to_string(), "[::]:1");
        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend_from_slice(&[0; SLL2_LEN - 2]);
        sll2.extend_from_slice(&ip);
        assert_eq!(segment(LINKTYPE_LINUX_SLL2, &sll2).unwrap(), raw);
        let mut sll = vec![0, 0, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xdd];
        sll.extend_from_slice(&ip);
        assert_eq!(segment(LINKTYPE_LINUX_SLL, &sll).unwrap(), raw);
        let mut null = vec![30, 0, 0, 0];
        null.extend_from_slice(&ip);
        assert_eq!(segment(LINKTYPE_NULL, &null).unwrap(), raw);
        assert_eq!(segment(147, &ip), Err(Skip::Link(147)));
    }
}
