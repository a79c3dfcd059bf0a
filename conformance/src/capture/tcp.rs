//! TCP reassembly of one direction of a connection: segments in any order,
//! retransmitted or overlapping, become the byte stream the receiver read,
//! with the bytes the capture lacks named as a gap.
//!
//! Policy: bytes already delivered win over a later retransmission of the
//! same sequence range (the receiver had already read them); of two
//! out-of-order segments at the same sequence number the longer is kept.
//! Memory: out-of-order bytes are held up to [`MAX_OUT_OF_ORDER`] per
//! direction and up to a [`Budget`] shared by every connection; past either,
//! the missing bytes are taken as lost (a gap) and the stream goes on after
//! them. A gap never ends a direction: the bytes after it are handed on.

use std::collections::BTreeMap;

use super::packet::Segment;

/// Out-of-order bytes one direction may hold while it waits for a hole
/// to be filled.
pub const MAX_OUT_OF_ORDER: usize = 1 << 20;

/// Out-of-order bytes all directions together may hold.
pub const MAX_OUT_OF_ORDER_TOTAL: usize = 16 << 20;

/// What is left of the out-of-order allowance shared by every direction.
#[derive(Debug)]
pub struct Budget {
    left: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            left: MAX_OUT_OF_ORDER_TOTAL,
        }
    }
}

impl Budget {
    /// An allowance of `bytes` over every direction.
    pub fn new(bytes: usize) -> Self {
        Budget { left: bytes }
    }
}

/// Why bytes of a direction are missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapCause {
    /// Never captured: the direction ended (FIN, RST or the end of the
    /// capture) with a hole that no segment filled.
    NotCaptured,
    /// The frame carrying them was cut to the capture's snapshot length.
    Snaplen,
    /// More out-of-order bytes arrived past the hole than the dump holds
    /// ([`MAX_OUT_OF_ORDER`], or the shared [`Budget`]).
    BufferLimit,
}

impl GapCause {
    /// The cause as the JSON dump names it.
    pub fn code(self) -> &'static str {
        match self {
            GapCause::NotCaptured => "not_captured",
            GapCause::Snaplen => "snaplen",
            GapCause::BufferLimit => "buffer_limit",
        }
    }

    /// The cause in words.
    pub fn words(self) -> &'static str {
        match self {
            GapCause::NotCaptured => "not in the capture",
            GapCause::Snaplen => "cut off by the capture's snapshot length",
            GapCause::BufferLimit => "still missing when the out-of-order buffer filled",
        }
    }
}

/// What reassembly hands on, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// The next bytes of the stream.
    Bytes(Vec<u8>),
    /// `len` bytes missing at stream offset `at`; what follows goes on
    /// from `at + len`.
    Gap {
        /// Stream offset of the first missing byte.
        at: u64,
        /// Bytes missing (up to the next byte the capture has).
        len: u64,
        /// Why.
        cause: GapCause,
    },
    /// The sender closed its side (FIN) after every byte before it.
    Fin,
    /// The connection was reset (RST).
    Rst,
}

/// An out-of-order piece: captured bytes, then `missing` bytes cut off.
#[derive(Debug)]
struct Piece {
    data: Vec<u8>,
    missing: usize,
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Direction {
    /// Sequence number of stream byte 0.
    base: Option<u32>,
    /// Stream offset of the next byte to hand on.
    next: u64,
    pending: BTreeMap<u64, Piece>,
    pending_bytes: usize,
    fin_at: Option<u64>,
    /// A SYN was seen: the stream starts at its beginning.
    saw_syn: bool,
    /// Nothing more is handed on (after FIN or RST, or the capture's end).
    done: bool,
}

impl Direction {
    /// Whether the stream was seen from its SYN (else the capture started
    /// inside the connection, and byte 0 is the first byte captured).
    pub fn from_syn(&self) -> bool {
        self.saw_syn
    }

    /// Bytes handed on so far.
    pub fn delivered(&self) -> u64 {
        self.next
    }

    /// Whether the direction has ended (FIN, RST, or the capture's end).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Out-of-order bytes held.
    pub fn held(&self) -> usize {
        self.pending_bytes
    }

    /// The stream offset of sequence number `seq`, near the next byte
    /// (within 2 GiB either way, so sequence numbers may wrap).
    fn offset_of(&self, base: u32, seq: u32) -> i64 {
        let next_seq = base.wrapping_add(self.next as u32);
        let delta = seq.wrapping_sub(next_seq) as i32;
        self.next as i64 + i64::from(delta)
    }

    /// Takes in one segment sent in this direction.
    pub fn segment(&mut self, seg: &Segment<'_>, budget: &mut Budget) -> Vec<Out> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        if seg.syn && (self.base.is_none() || !self.saw_syn) && self.next == 0 {
            self.base = Some(seg.seq.wrapping_add(1));
            self.saw_syn = true;
        }
        let data_seq = seg.seq.wrapping_add(u32::from(seg.syn));
        let base = *self.base.get_or_insert(data_seq);
        let start = self.offset_of(base, data_seq);
        if seg.fin {
            let end = start + (seg.payload.len() + seg.missing) as i64;
            self.fin_at = Some(u64::try_from(end).unwrap_or(0));
        }
        if seg.rst {
            return self.reset(budget);
        }
        self.take(start, seg.payload, seg.missing, budget, &mut out);
        self.drain(budget, &mut out);
        self.check_fin(&mut out);
        out
    }

    /// Ends the direction on a reset of the connection (an RST sent either
    /// way): held bytes are handed on past their holes (each a gap), then
    /// [`Out::Rst`].
    pub fn reset(&mut self, budget: &mut Budget) -> Vec<Out> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        self.flush_holes(GapCause::NotCaptured, budget, &mut out);
        out.push(Out::Rst);
        self.done = true;
        out
    }

    /// Ends the direction at the end of the capture: held bytes are handed
    /// on past their holes, and bytes before a FIN never seen are a gap.
    pub fn finish(&mut self, budget: &mut Budget) -> Vec<Out> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        self.flush_holes(GapCause::NotCaptured, budget, &mut out);
        self.check_fin(&mut out);
        if !self.done {
            if let Some(fin) = self.fin_at.filter(|&f| f > self.next) {
                out.push(Out::Gap {
                    at: self.next,
                    len: fin - self.next,
                    cause: GapCause::NotCaptured,
                });
                self.next = fin;
                out.push(Out::Fin);
            }
        }
        self.done = true;
        out
    }

    /// Places the bytes of a segment starting at stream offset `start`.
    fn take(
        &mut self,
        start: i64,
        data: &[u8],
        missing: usize,
        budget: &mut Budget,
        out: &mut Vec<Out>,
    ) {
        // What the receiver already read is not read again.
        let next = self.next as i64;
        let (data, missing, start) = if start < next {
            let cut = usize::try_from(next - start).unwrap_or(usize::MAX);
            if cut >= data.len() {
                let lost_cut = cut - data.len();
                (&[][..], missing.saturating_sub(lost_cut), next)
            } else {
                (data.get(cut..).unwrap_or_default(), missing, next)
            }
        } else {
            (data, missing, start)
        };
        if data.is_empty() && missing == 0 {
            return;
        }
        let start = start as u64;
        if start == self.next {
            self.deliver(data, missing, out);
            return;
        }
        // Out of order: hold it, within the bounds.
        if let Some(held) = self.pending.get(&start) {
            if held.data.len() + held.missing >= data.len() + missing {
                return;
            }
        }
        let old = self.pending.get(&start).map_or(0, |p| p.data.len());
        let grow = data.len().saturating_sub(old);
        if self.pending_bytes + grow > MAX_OUT_OF_ORDER || grow > budget.left {
            // No room to wait for the hole to fill: take it as lost and go
            // on from the next byte held, or from this segment.
            match self.pending.first_key_value() {
                Some((&first, _)) if first < start => {
                    self.skip_to(first, GapCause::BufferLimit, out);
                    self.drain(budget, out);
                    // Each turn hands on at least one held piece.
                    let rest = i64::try_from(start).unwrap_or(i64::MAX);
                    self.take(rest, data, missing, budget, out);
                }
                _ => {
                    self.skip_to(start, GapCause::BufferLimit, out);
                    self.deliver(data, missing, out);
                    self.drain(budget, out);
                }
            }
            return;
        }
        budget.left -= grow;
        self.pending_bytes += grow;
        // The replaced piece's bytes were counted in `old`.
        self.pending.insert(
            start,
            Piece {
                data: data.to_vec(),
                missing,
            },
        );
    }

    /// Hands on in-order bytes, then the cut-off bytes after them as a gap.
    fn deliver(&mut self, data: &[u8], missing: usize, out: &mut Vec<Out>) {
        if !data.is_empty() {
            out.push(Out::Bytes(data.to_vec()));
            self.next += data.len() as u64;
        }
        if missing > 0 {
            out.push(Out::Gap {
                at: self.next,
                len: missing as u64,
                cause: GapCause::Snaplen,
            });
            self.next += missing as u64;
        }
    }

    /// Hands on every held piece that the stream has now reached.
    fn drain(&mut self, budget: &mut Budget, out: &mut Vec<Out>) {
        loop {
            let Some(entry) = self.pending.first_entry() else {
                return;
            };
            if *entry.key() > self.next {
                return;
            }
            let start = *entry.key();
            let piece = entry.remove();
            self.pending_bytes -= piece.data.len();
            budget.left += piece.data.len();
            let cut = usize::try_from(self.next - start).unwrap_or(usize::MAX);
            if cut >= piece.data.len() {
                let lost = piece.missing.saturating_sub(cut - piece.data.len());
                self.deliver(&[], lost, out);
            } else {
                let rest = piece.data.get(cut..).unwrap_or_default();
                self.deliver(rest, piece.missing, out);
            }
        }
    }

    fn check_fin(&mut self, out: &mut Vec<Out>) {
        if !self.done && self.fin_at.is_some_and(|f| f <= self.next) {
            out.push(Out::Fin);
            self.done = true;
        }
    }

    /// A hole up to `to` that will not be filled: a gap, and the stream
    /// goes on from `to`.
    fn skip_to(&mut self, to: u64, cause: GapCause, out: &mut Vec<Out>) {
        if to > self.next {
            out.push(Out::Gap {
                at: self.next,
                len: to - self.next,
                cause,
            });
            self.next = to;
        }
    }

    /// Hands on everything held, each hole before it a gap.
    fn flush_holes(&mut self, cause: GapCause, budget: &mut Budget, out: &mut Vec<Out>) {
        // Each turn hands on at least the first held piece.
        while let Some((&first, _)) = self.pending.first_key_value() {
            self.skip_to(first, cause, out);
            self.drain(budget, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn seg(seq: u32, payload: &[u8]) -> Segment<'_> {
        Segment {
            src: SocketAddr::from(([127, 0, 0, 1], 1)),
            dst: SocketAddr::from(([127, 0, 0, 1], 2)),
            seq,
            syn: false,
            fin: false,
            rst: false,
            payload,
            missing: 0,
        }
    }

    fn syn(seq: u32) -> Segment<'static> {
        Segment {
            syn: true,
            ..seg(seq, b"")
        }
    }

    /// Feeds segments, returning the bytes handed on and the other events.
    fn run(segs: &[Segment<'_>]) -> (Vec<u8>, Vec<Out>) {
        let mut d = Direction::default();
        let mut b = Budget::default();
        let mut bytes = Vec::new();
        let mut events = Vec::new();
        for s in segs {
            for o in d.segment(s, &mut b) {
                match o {
                    Out::Bytes(v) => bytes.extend(v),
                    other => events.push(other),
                }
            }
        }
        for o in d.finish(&mut b) {
            match o {
                Out::Bytes(v) => bytes.extend(v),
                other => events.push(other),
            }
        }
        assert_eq!(d.held(), 0);
        (bytes, events)
    }

    #[test]
    fn out_of_order_segments_are_put_back_in_order() {
        let (bytes, ev) = run(&[syn(99), seg(106, b"world"), seg(100, b"hello ")]);
        assert_eq!(bytes, b"hello world");
        assert!(ev.is_empty(), "{ev:?}");
    }

    #[test]
    fn retransmissions_and_overlaps_give_each_byte_once() {
        let (bytes, ev) = run(&[
            syn(0),
            seg(1, b"abcd"),
            seg(1, b"abcd"),   // whole retransmission
            seg(3, b"cdefgh"), // overlaps the delivered tail
            seg(13, b"mn"),    // ahead
            seg(10, b"jklm"),  // ahead, overlapping the held piece
            seg(9, b"i"),      // fills the hole
        ]);
        assert_eq!(bytes, b"abcdefghijklmn");
        assert!(ev.is_empty(), "{ev:?}");
    }

    #[test]
    fn sequence_numbers_wrap() {
        let (bytes, _) = run(&[
            syn(u32::MAX - 2),
            seg(u32::MAX - 1, b"ab"),
            seg(1, b"de"),
            seg(0, b"c"),
        ]);
        assert_eq!(bytes, b"abcde");
    }

    #[test]
    fn a_loss_is_a_gap_when_the_direction_ends_and_the_bytes_after_it_follow() {
        let fin = Segment {
            fin: true,
            ..seg(20, b"late")
        };
        let (bytes, ev) = run(&[syn(0), seg(1, b"0123"), seg(10, b"after"), fin]);
        assert_eq!(bytes, b"0123afterlate");
        assert_eq!(
            ev,
            vec![
                Out::Gap {
                    at: 4,
                    len: 5,
                    cause: GapCause::NotCaptured
                },
                Out::Gap {
                    at: 14,
                    len: 5,
                    cause: GapCause::NotCaptured
                },
                Out::Fin
            ]
        );
    }

    #[test]
    fn a_fin_after_every_byte_ends_the_stream_even_when_it_came_early() {
        let fin = Segment {
            fin: true,
            ..seg(5, b"")
        };
        let (bytes, ev) = run(&[syn(0), seg(3, b"cd"), fin, seg(1, b"ab")]);
        assert_eq!(bytes, b"abcd");
        assert_eq!(ev, vec![Out::Fin]);
    }

    #[test]
    fn snaplen_cut_bytes_are_a_gap_at_once() {
        let cut = Segment {
            missing: 100,
            ..seg(1, b"head")
        };
        let (bytes, ev) = run(&[syn(0), cut, seg(105, b"more")]);
        assert_eq!(bytes, b"headmore");
        assert_eq!(
            ev,
            vec![Out::Gap {
                at: 4,
                len: 100,
                cause: GapCause::Snaplen
            }]
        );
    }

    #[test]
    fn a_capture_that_starts_inside_a_connection_starts_at_the_first_byte_seen() {
        let mut d = Direction::default();
        let out = d.segment(&seg(5000, b"xy"), &mut Budget::default());
        assert_eq!(out, vec![Out::Bytes(b"xy".to_vec())]);
        assert!(!d.from_syn());
    }

    #[test]
    fn out_of_order_bytes_past_the_bound_take_the_hole_as_lost_and_go_on() {
        let big = vec![7u8; MAX_OUT_OF_ORDER / 2 + 1];
        let mut d = Direction::default();
        let mut b = Budget::default();
        d.segment(&syn(0), &mut b);
        assert!(d.segment(&seg(100, &big), &mut b).is_empty());
        // A second piece past a second hole: no room for it.
        let far = 100 + big.len() as u32 + 1;
        let out = d.segment(&seg(far, &big), &mut b);
        // Bytes shown by their length.
        let shown: Vec<String> = out
            .iter()
            .map(|o| match o {
                Out::Bytes(v) => format!("{} bytes", v.len()),
                other => format!("{other:?}"),
            })
            .collect();
        let gap = |at: usize, len: u64| {
            format!(
                "{:?}",
                Out::Gap {
                    at: at as u64,
                    len,
                    cause: GapCause::BufferLimit
                }
            )
        };
        // The first hole is given up; the second piece now fits and waits.
        assert_eq!(shown, vec![gap(0, 99), format!("{} bytes", big.len())]);
        assert_eq!(d.held(), big.len());
        let rest = d.finish(&mut b);
        assert_eq!(rest.len(), 2);
        assert_eq!(
            rest.first(),
            Some(&Out::Gap {
                at: 99 + big.len() as u64,
                len: 1,
                cause: GapCause::NotCaptured
            })
        );
        assert_eq!(d.held(), 0);
        assert_eq!(b.left, MAX_OUT_OF_ORDER_TOTAL);
        // The shared budget bounds many directions together.
        let mut b = Budget::new(10);
        let mut d = Direction::default();
        d.segment(&syn(0), &mut b);
        let out = d.segment(&seg(50, &[0; 11]), &mut b);
        assert_eq!(
            out,
            vec![
                Out::Gap {
                    at: 0,
                    len: 49,
                    cause: GapCause::BufferLimit
                },
                Out::Bytes(vec![0; 11])
            ]
        );
    }

    #[test]
    fn a_reset_ends_the_direction() {
        let rst = Segment {
            rst: true,
            ..seg(3, b"")
        };
        let (bytes, ev) = run(&[syn(0), seg(1, b"ab"), rst, seg(3, b"cd")]);
        assert_eq!(bytes, b"ab");
        assert_eq!(ev, vec![Out::Rst]);
    }
}
