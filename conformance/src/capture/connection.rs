//! Following the capture's TCP connections: each frame's segment to its
//! connection, reassembled per direction ([`super::tcp`]), and the
//! connections found to carry FastCGI by their first bytes or their port.

use std::io::Write;
use std::net::SocketAddr;

use super::file::{Frame, Timestamp};
use super::packet::{Segment, Skip};
use super::tcp::{Direction, Out};

use super::*;

impl<W: Write> Dumper<W> {
    pub(super) fn frame(&mut self, frame: Frame<'_>) {
        if self.error.is_some() {
            return;
        }
        self.counts.frames += 1;
        if self.first.is_none() {
            // The first frame's clock sets the times' digits for the dump.
            self.first = Some(frame.time);
            self.digits = frame.digits;
        }
        self.last = self.last.max(frame.time);
        if !self.links.contains(&frame.link) {
            self.links.push(frame.link);
        }
        match packet::segment(frame.link, frame.data) {
            Ok(seg) => {
                self.counts.tcp += 1;
                self.segment(frame.time, &seg);
            }
            Err(Skip::NotIp) => self.counts.not_ip += 1,
            Err(Skip::NotTcp) => self.counts.not_tcp += 1,
            Err(Skip::Fragment) => self.counts.fragments += 1,
            Err(Skip::Link(l)) => {
                if !self.counts.other_links.contains(&l) {
                    self.counts.other_links.push(l);
                }
            }
            Err(Skip::Malformed(why)) => {
                self.counts.malformed += 1;
                if self.counts.quoted.len() < MAX_QUOTED {
                    self.counts
                        .quoted
                        .push(format!("packet {}: {why}", self.counts.frames));
                }
            }
        }
    }

    pub(super) fn segment(&mut self, time: Timestamp, seg: &Segment<'_>) {
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let slot = match self.conns.get(&key) {
            // A SYN on the ports of a closed or ignored connection opens a
            // new connection (ports are used again in long captures).
            Some(&i)
                if seg.syn
                    && self
                        .slots
                        .get(i)
                        .is_some_and(|c| c.closed() || matches!(c.state, State::Ignored)) =>
            {
                self.retire(i);
                if let Some(c) = self.slots.get_mut(i) {
                    *c = Conn::new(seg);
                }
                i
            }
            Some(&i) => i,
            None => {
                if self.slots.len() >= MAX_CONNECTIONS {
                    self.counts.untracked += 1;
                    return;
                }
                self.slots.push(Conn::new(seg));
                let i = self.slots.len() - 1;
                self.conns.insert(key, i);
                i
            }
        };
        let Some(conn) = self.slots.get_mut(slot) else {
            return;
        };
        // A connection not dumped, or done with, holds nothing: its
        // out-of-order bytes would take the allowance of the others.
        if matches!(conn.state, State::Ignored | State::Done) {
            return;
        }
        let d = usize::from(conn.ends[0] != seg.src);
        let outs = match conn.dirs.get_mut(d) {
            Some(dir) => dir.segment(seg, &mut self.budget),
            None => return,
        };
        self.handle(slot, d, time, outs);
        // A reset ends both directions.
        if seg.rst {
            let other = 1 - d;
            let outs = match self.slots.get_mut(slot).and_then(|c| c.dirs.get_mut(other)) {
                Some(dir) => dir.reset(&mut self.budget),
                None => Vec::new(),
            };
            self.handle(slot, other, time, outs);
        }
        // By port, a connection is decided on its first segment, once that
        // segment (a SYN, usually) has been taken in.
        if let Some(State::Undecided(_)) = self.slots.get(slot).map(|c| &c.state) {
            if !self.options.ports.is_empty() {
                self.decide_by_port(slot, time);
            }
        }
    }

    /// Ends the streams of a connection whose ports are used again.
    pub(super) fn retire(&mut self, slot: usize) {
        let Some(conn) = self.slots.get(slot) else {
            return;
        };
        if let State::FastCgi(streams) = conn.state {
            let last = self.last;
            for s in streams {
                self.end_stream(s, "capture_end", last);
            }
            self.open_fastcgi = self.open_fastcgi.saturating_sub(1);
        }
    }

    pub(super) fn decide_by_port(&mut self, slot: usize, time: Timestamp) {
        let Some(conn) = self.slots.get(slot) else {
            return;
        };
        let ports = &self.options.ports;
        let by = conn
            .ends
            .iter()
            .rev()
            .map(SocketAddr::port)
            .find(|p| ports.contains(p));
        match by {
            Some(p) => self.found(slot, FoundBy::Port(p), time),
            None => {
                if let Some(c) = self.slots.get_mut(slot) {
                    c.state = State::Ignored;
                }
                self.counts.not_fastcgi += 1;
            }
        }
    }

    /// Passes reassembled events on, as the connection's state says.
    pub(super) fn handle(&mut self, slot: usize, d: usize, time: Timestamp, outs: Vec<Out>) {
        let Some(conn) = self.slots.get_mut(slot) else {
            return;
        };
        let decision = match &mut conn.state {
            State::Ignored | State::Done => return,
            State::FastCgi(streams) => {
                let s = streams.get(d).copied().unwrap_or(usize::MAX);
                for o in outs {
                    self.stream_event(s, time, o);
                }
                self.maybe_close(slot);
                return;
            }
            State::Undecided(held) => {
                for o in outs {
                    if let Out::Bytes(b) = &o {
                        if let Some(h) = conn.held.get_mut(d) {
                            *h += b.len();
                        }
                    }
                    held.push((time, d, o));
                }
                if self.options.ports.is_empty() && conn.held.get(d).copied().unwrap_or(0) >= 8 {
                    let mut first = Vec::with_capacity(8);
                    for (_, from, o) in held.iter() {
                        if let (true, Out::Bytes(b)) = (*from == d, o) {
                            let want = 8usize.saturating_sub(first.len());
                            first.extend(b.iter().take(want));
                        }
                    }
                    Some(plausible_header(&first))
                } else {
                    None
                }
            }
        };
        match decision {
            Some(Some(t)) => self.found(slot, FoundBy::Content(d, t), time),
            Some(None) => {
                conn.state = State::Ignored;
                self.counts.not_fastcgi += 1;
            }
            None if conn.closed() && self.options.ports.is_empty() => {
                conn.state = State::Ignored;
                self.counts.too_short += 1;
            }
            None => {}
        }
    }

    /// Starts dumping connection `slot`, and replays what it held.
    pub(super) fn found(&mut self, slot: usize, by: FoundBy, time: Timestamp) {
        if self.open_fastcgi >= MAX_OPEN_FASTCGI {
            if let Some(c) = self.slots.get_mut(slot) {
                c.state = State::Ignored;
            }
            self.counts.untracked += 1;
            return;
        }
        let Some(conn) = self.slots.get_mut(slot) else {
            return;
        };
        self.open_fastcgi += 1;
        let number = self.found.len() + 1;
        self.found.push((slot, by));
        let first = self.streams.len();
        let ends = conn.ends;
        // The direction towards the end that was found is listed first: the
        // web server's requests, then the application's answers.
        let towards = match by {
            FoundBy::Port(p) => usize::from(ends[0].port() == p),
            FoundBy::Content(d, _) => d,
        };
        let order = [towards, 1 - towards];
        let mut ids = [0usize; 2];
        for (k, &d) in order.iter().enumerate() {
            if let Some(id) = ids.get_mut(d) {
                *id = first + k;
            }
        }
        let held = std::mem::replace(&mut conn.state, State::FastCgi(ids));
        let from_syn = conn.dirs.iter().any(Direction::from_syn);
        for &d in &order {
            let (src, dst) = match d {
                0 => (ends[0], ends[1]),
                _ => (ends[1], ends[0]),
            };
            let r = self.renderer(0);
            self.streams.push(Stream::new(number, src, dst, r));
        }
        self.announce(number, by, &order, ends, from_syn, time);
        if let State::Undecided(events) = held {
            for (t, d, o) in events {
                let s = ids.get(d).copied().unwrap_or(first);
                self.stream_event(s, t, o);
            }
        }
        self.maybe_close(slot);
    }

    pub(super) fn maybe_close(&mut self, slot: usize) {
        let Some(conn) = self.slots.get(slot) else {
            return;
        };
        if let State::FastCgi(streams) = conn.state {
            if streams
                .iter()
                .all(|&s| self.streams.get(s).is_some_and(|st| st.end.is_some()))
                && conn.closed()
            {
                self.open_fastcgi = self.open_fastcgi.saturating_sub(1);
                if let Some(c) = self.slots.get_mut(slot) {
                    c.state = State::Done;
                }
            }
        }
    }
}
