//! The capture file formats: classic pcap (either byte order, micro- or
//! nanosecond timestamps) and pcapng, read with the `pcap-parser` crate,
//! one frame at a time from any reader.

use std::io::Read;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, Linktype, PcapBlockOwned, PcapError, PcapNGReader};

/// Largest block read at once: a pcapng block or a pcap frame past it
/// ends the reading with an error (tcpdump's largest snaplen is 262144).
pub const MAX_BLOCK: usize = 1 << 20;

/// Interfaces a pcapng section may describe before the rest are refused.
pub const MAX_INTERFACES: usize = 1024;

/// Which capture format a file's first bytes name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Classic pcap (libpcap's own format).
    Pcap {
        /// Timestamps in nanoseconds (magic `a1b23c4d`) rather than microseconds.
        nanos: bool,
        /// Written big-endian.
        big_endian: bool,
    },
    /// pcapng (a Section Header Block first).
    PcapNg,
}

impl Kind {
    /// The format's name as the dump writes it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pcap { .. } => "pcap",
            Kind::PcapNg => "pcapng",
        }
    }
}

/// The capture format named by the magic number at the start of `first`
/// (at least 4 bytes), if any.
pub fn sniff(first: &[u8]) -> Option<Kind> {
    let magic: [u8; 4] = first.get(..4)?.try_into().ok()?;
    Some(match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => Kind::Pcap {
            nanos: false,
            big_endian: false,
        },
        [0xa1, 0xb2, 0xc3, 0xd4] => Kind::Pcap {
            nanos: false,
            big_endian: true,
        },
        [0x4d, 0x3c, 0xb2, 0xa1] => Kind::Pcap {
            nanos: true,
            big_endian: false,
        },
        [0xa1, 0xb2, 0x3c, 0x4d] => Kind::Pcap {
            nanos: true,
            big_endian: true,
        },
        [0x0a, 0x0d, 0x0d, 0x0a] => Kind::PcapNg,
        _ => return None,
    })
}

/// A capture timestamp: nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timestamp(pub i64);

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// When it was captured.
    pub time: Timestamp,
    /// Its link type (the `LINKTYPE_*` number).
    pub link: i32,
    /// The bytes captured (at most the snapshot length).
    pub data: &'a [u8],
    /// The frame's length on the wire: more than `data` when cut to the snaplen.
    pub orig_len: u32,
    /// Digits after the seconds' point its timestamp carries (6 or 9).
    pub digits: u8,
}

/// What the reader saw of the file as a whole.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Frames read.
    pub frames: u64,
    /// Link types of the frames, in the order first seen.
    pub link_types: Vec<i32>,
    /// Digits after the seconds' point that the timestamps carry (6 or 9).
    pub digits: u8,
    /// Why reading stopped before the end of the file, if it did: the
    /// file is cut inside a block, or a block is malformed.
    pub damaged: Option<String>,
    /// Packets left out, with why (an unknown interface, a block too long).
    pub left_out: Vec<String>,
}

/// One pcapng interface: its link type and clock.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: i32,
    /// Timestamp units per second.
    units: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset: i64,
}

/// Nanoseconds since the epoch for `ticks` units of `units` per second.
fn nanos(ticks: u64, units: u64, offset_secs: i64) -> Timestamp {
    let units = u128::from(units.max(1));
    let ns = u128::from(ticks) * 1_000_000_000 / units;
    let ns = i64::try_from(ns).unwrap_or(i64::MAX);
    Timestamp(ns.saturating_add(offset_secs.saturating_mul(1_000_000_000)))
}

/// A reader whose every read fills the buffer unless the input ends:
/// pcap-parser reads the file header with one read, and a pipe or a
/// chained reader may hand out less.
struct Full<R>(R);

impl<R: Read> Read for Full<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        // Each turn brings at least one byte or ends the loop.
        while n < buf.len() {
            match self.0.read(buf.get_mut(n..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if n == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(n)
    }
}

/// Reads every frame of a capture of `kind` from `input` and hands each to
/// `each`. Stops at the end of the file, or at the first block that is
/// cut short or malformed (said in [`Seen::damaged`]); fails only when
/// the file cannot be read or its header is not a capture header.
pub fn read(kind: Kind, input: impl Read, mut each: impl FnMut(Frame<'_>)) -> Result<Seen, String> {
    let input = Full(input);
    let mut reader: Box<dyn PcapReaderIterator + '_> = match kind {
        Kind::Pcap { .. } => Box::new(
            LegacyPcapReader::new(MAX_BLOCK, input)
                .map_err(|e| format!("the pcap file header is not valid ({e:?})"))?,
        ),
        Kind::PcapNg => Box::new(
            PcapNGReader::new(MAX_BLOCK, input)
                .map_err(|e| format!("the pcapng section header is not valid ({e:?})"))?,
        ),
    };
    let mut seen = Seen {
        digits: match kind {
            Kind::Pcap { nanos: true, .. } => 9,
            _ => 6,
        },
        ..Seen::default()
    };
    let mut legacy_link = 1i32;
    let mut interfaces: Vec<Interface> = Vec::new();
    // Each turn consumes a block or reads more of the file; a read that
    // brings nothing marks the reader exhausted, after which an incomplete
    // block is reported as UnexpectedEof, so the loop ends.
    let mut idle_refills = 0u32;
    loop {
        let at = reader.consumed();
        let (used, stop) = match reader.next() {
            Ok((used, block)) => {
                idle_refills = 0;
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_link = h.network.0;
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = u64::from(b.ts_usec);
                        let units = if seen.digits == 9 {
                            1_000_000_000
                        } else {
                            1_000_000
                        };
                        let ticks = u64::from(b.ts_sec) * units + frac;
                        seen.frames += 1;
                        push_link(&mut seen, legacy_link);
                        each(Frame {
                            time: nanos(ticks, units, 0),
                            link: legacy_link,
                            data: b.data,
                            orig_len: b.origlen,
                            digits: seen.digits,
                        });
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        if interfaces.len() < MAX_INTERFACES {
                            let units = idb.ts_resolution().unwrap_or(1_000_000);
                            if units > 1_000_000 {
                                seen.digits = 9;
                            }
                            interfaces.push(Interface {
                                link: idb.linktype.0,
                                units,
                                offset: idb.ts_offset(),
                            });
                        }
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        match usize::try_from(epb.if_id)
                            .ok()
                            .and_then(|i| interfaces.get(i))
                        {
                            Some(ifc) => {
                                let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                                seen.frames += 1;
                                push_link(&mut seen, ifc.link);
                                let len = usize::try_from(epb.caplen).unwrap_or(usize::MAX);
                                each(Frame {
                                    time: nanos(ticks, ifc.units, ifc.offset),
                                    link: ifc.link,
                                    data: epb.data.get(..len).unwrap_or(epb.data),
                                    orig_len: epb.origlen,
                                    digits: if ifc.units > 1_000_000 { 9 } else { 6 },
                                });
                            }
                            None => seen.left_out.push(format!(
                                "a packet names interface {} that no Interface Description Block described",
                                epb.if_id
                            )),
                        }
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => match interfaces.first() {
                        // A Simple Packet Block has no timestamp: it takes
                        // the capture's first instant.
                        Some(ifc) => {
                            seen.frames += 1;
                            push_link(&mut seen, ifc.link);
                            each(Frame {
                                time: Timestamp::default(),
                                link: ifc.link,
                                data: spb.data,
                                orig_len: spb.origlen,
                                digits: 6,
                            });
                        }
                        None => seen.left_out.push(
                            "a Simple Packet Block comes before any Interface Description Block"
                                .to_string(),
                        ),
                    },
                    // Statistics, name resolution, secrets, custom blocks:
                    // nothing the dump shows.
                    PcapBlockOwned::NG(_) => {}
                }
                (used, None)
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                let before = reader.data().len();
                if let Err(e) = reader.refill() {
                    return Err(format!("cannot read the capture ({e:?})"));
                }
                // A refill that brings nothing twice running: the reader
                // is stuck (a file that stops growing without an EOF).
                idle_refills = if reader.data().len() > before {
                    0
                } else {
                    idle_refills + 1
                };
                if idle_refills > 2 {
                    (0, Some("the file ends inside a block".to_string()))
                } else {
                    (0, None)
                }
            }
            Err(PcapError::UnexpectedEof) => (
                0,
                Some(format!(
                    "the file ends inside the block at byte {}",
                    reader.consumed()
                )),
            ),
            Err(PcapError::BufferTooSmall) => (
                0,
                Some(format!(
                    "the block at byte {} is longer than {MAX_BLOCK} bytes",
                    reader.consumed()
                )),
            ),
            Err(PcapError::ReadError) => return Err("cannot read the capture".to_string()),
            Err(e) => (
                0,
                Some(format!(
                    "the block at byte {} is malformed ({})",
                    at,
                    describe(&e)
                )),
            ),
        };
        if let Some(why) = stop {
            seen.damaged = Some(why);
            break;
        }
        if used > 0 {
            reader.consume(used);
        }
    }
    Ok(seen)
}

fn push_link(seen: &mut Seen, link: i32) {
    if !seen.link_types.contains(&link) {
        seen.link_types.push(link);
    }
}

/// A parser error in words, without the bytes it carries.
fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("{kind:?}")
        }
        PcapError::HeaderNotRecognized => "not a pcap or pcapng block".to_string(),
        other => format!("{other:?}"),
    }
}

/// The `LINKTYPE_*` name of the link types the dump decodes, else the number.
pub fn link_name(link: i32) -> String {
    match Linktype(link) {
        Linktype::NULL => "NULL".to_string(),
        Linktype::ETHERNET => "ETHERNET".to_string(),
        Linktype::RAW => "RAW".to_string(),
        Linktype::LOOP => "LOOP".to_string(),
        Linktype::LINUX_SLL => "LINUX_SLL".to_string(),
        Linktype::LINUX_SLL2 => "LINUX_SLL2".to_string(),
        Linktype::IPV4 => "IPV4".to_string(),
        Linktype::IPV6 => "IPV6".to_string(),
        _ => format!("LINKTYPE {link}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_pcap_magics_and_pcapng_are_recognised() {
        let le = [0xd4, 0xc3, 0xb2, 0xa1];
        assert_eq!(
            sniff(&le),
            Some(Kind::Pcap {
                nanos: false,
                big_endian: false
            })
        );
        assert_eq!(
            sniff(&[0xa1, 0xb2, 0x3c, 0x4d, 0]),
            Some(Kind::Pcap {
                nanos: true,
                big_endian: true
            })
        );
        assert_eq!(sniff(&[0x0a, 0x0d, 0x0d, 0x0a]), Some(Kind::PcapNg));
        assert_eq!(sniff(&[1, 1, 0, 1]), None);
        assert_eq!(sniff(&[0xd4, 0xc3]), None);
    }

    #[test]
    fn timestamps_of_any_resolution_become_nanoseconds() {
        assert_eq!(nanos(1_500_000, 1_000_000, 0), Timestamp(1_500_000_000));
        assert_eq!(nanos(3, 1_000_000_000, 2), Timestamp(2_000_000_003));
        // 2^-10 second units.
        assert_eq!(nanos(512, 1024, 0), Timestamp(500_000_000));
    }
}
