//! Writing the capture's dump: each FastCGI direction rendered by its
//! [`Renderer`], labelled with time and direction, then the notes and the
//! summary (docs/dump-format.md, *Captures*).

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;

use fcgi_proto::dump::{Format, Label, Renderer};

use super::file::Timestamp;
use super::tcp::{Direction, Out};

use super::*;

impl<W: Write> Dumper<W> {
    pub(super) fn json(&self) -> bool {
        self.options.render.format != Format::Text
    }

    pub(super) fn time(&self, t: Timestamp) -> String {
        seconds(t, self.first.unwrap_or(t), self.digits)
    }

    /// The dump's opening, before the first connection.
    pub(super) fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        let mut line = String::new();
        if self.json() {
            let _ = write!(
                line,
                "{{\n  \"schema\": \"{CAPTURE_SCHEMA}\",\n  \"format\": \"{}\",\n  \"records\": [",
                self.kind.name()
            );
        } else {
            let first = self.first.unwrap_or_default();
            let _ = writeln!(
                line,
                "capture {}, link type {}; times are seconds after the first packet ({}.{:09} Unix time)",
                self.kind.name(),
                self.links
                    .iter()
                    .map(|&l| file::link_name(l))
                    .collect::<Vec<_>>()
                    .join(", "),
                first.0.div_euclid(1_000_000_000),
                first.0.rem_euclid(1_000_000_000),
            );
        }
        self.write(line.as_bytes());
    }

    pub(super) fn announce(
        &mut self,
        number: usize,
        by: FoundBy,
        order: &[usize; 2],
        ends: [SocketAddr; 2],
        from_syn: bool,
        time: Timestamp,
    ) {
        self.start();
        if self.json() {
            return;
        }
        let (a, b) = match order.first() {
            Some(0) => (ends[0], ends[1]),
            _ => (ends[1], ends[0]),
        };
        let why = match by {
            FoundBy::Port(p) => format!("port {p}"),
            FoundBy::Content(d, t) => format!(
                "content: {} sent a {} header first",
                ends.get(d).copied().unwrap_or(a),
                t.name()
            ),
        };
        let line = format!(
            "{:>11}  connection {number}: {a} → {b}, FastCGI by {why}{}\n",
            self.time(time),
            if from_syn {
                ""
            } else {
                " (the capture starts inside this connection)"
            }
        );
        self.write(line.as_bytes());
    }

    pub(super) fn write(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.sink.write(bytes) {
            self.error = Some(e);
        }
    }

    /// Writes the rendered bytes in `self.buf`: as they are (text), or as
    /// members of the records array (JSON, one record a line).
    pub(super) fn flush_rendered(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if self.json() {
            let mut text = Vec::with_capacity(buf.len() + 16);
            for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                text.extend_from_slice(if self.json_records == 0 {
                    b"\n    "
                } else {
                    b",\n    "
                });
                text.extend_from_slice(line);
                self.json_records += 1;
            }
            self.write(&text);
        } else {
            self.write(&buf);
        }
        self.buf = buf;
        self.buf.clear();
    }

    pub(super) fn label(&self, s: usize, time: Timestamp) -> Label {
        let Some(st) = self.streams.get(s) else {
            return Label::default();
        };
        let t = self.time(time);
        Label {
            text: format!("{t:>11}  {} → {}", st.src, st.dst),
            json: format!("\"stream\":{s},\"time\":{t}"),
        }
    }

    /// A renderer for a stream's bytes from `offset` on.
    pub(super) fn renderer(&self, offset: u64) -> Renderer {
        let r = Renderer::new(self.options.render).starting_at(offset);
        if self.json() {
            r.records_only()
        } else {
            r
        }
    }

    pub(super) fn stream_event(&mut self, s: usize, time: Timestamp, o: Out) {
        match o {
            Out::Bytes(bytes) => {
                let label = self.label(s, time);
                let fresh = self.renderer(self.streams.get(s).map_or(0, |st| st.pos));
                let json = self.json();
                let offsets = self.options.render.offsets;
                let Some(st) = self.streams.get_mut(s) else {
                    return;
                };
                if st.end.is_some() {
                    return;
                }
                let at = st.pos;
                st.pos += bytes.len() as u64;
                if st.resyncing {
                    // Only a segment that starts with a header is a safe
                    // place to decode from again.
                    match plausible_header(&bytes) {
                        Some(t) => {
                            st.resyncing = false;
                            st.renderer = Some(fresh);
                            if !json {
                                let place = if offsets {
                                    format!(" at byte {at}")
                                } else {
                                    String::new()
                                };
                                let line = format!(
                                    "{}  RESUMED{place}: a segment starts with a {} header\n",
                                    label.text,
                                    t.name()
                                );
                                self.write(line.as_bytes());
                            }
                        }
                        None => {
                            st.skipped += bytes.len() as u64;
                            return;
                        }
                    }
                }
                let Some(r) = self.streams.get_mut(s).and_then(|st| st.renderer.as_mut()) else {
                    return;
                };
                r.set_label(label);
                let mut buf = std::mem::take(&mut self.buf);
                // Writing to a Vec cannot fail.
                let _ = r.push(&bytes, &mut buf);
                self.buf = buf;
                self.flush_rendered();
            }
            Out::Gap { at, len, cause } => {
                let label = self.label(s, time);
                let Some(st) = self.streams.get_mut(s) else {
                    return;
                };
                if st.end.is_some() {
                    return;
                }
                st.gap_count += 1;
                if st.gaps.len() < MAX_GAPS_KEPT {
                    st.gaps.push((at, len, cause, time));
                }
                st.pos = at + len;
                st.resyncing = true;
                if !self.json() {
                    let place = if self.options.render.offsets {
                        format!(" at byte {at}")
                    } else {
                        String::new()
                    };
                    let line = format!(
                        "{}  GAP {len} bytes missing{place} ({}); decoding resumes at a segment that starts with a FastCGI header\n",
                        label.text,
                        cause.words()
                    );
                    self.write(line.as_bytes());
                }
                // The bytes before the gap end here: a record they cut
                // short is said now.
                self.close_renderer(s, label);
            }
            Out::Fin => self.end_stream(s, "fin", time),
            Out::Rst => self.end_stream(s, "rst", time),
        }
    }

    /// Finishes the stream's current renderer (its `ERROR` line, if any)
    /// and adds its counts to the stream's.
    pub(super) fn close_renderer(&mut self, s: usize, label: Label) {
        let Some(mut r) = self.streams.get_mut(s).and_then(|st| st.renderer.take()) else {
            return;
        };
        r.set_label(label);
        let mut buf = std::mem::take(&mut self.buf);
        let summary = r.finish(&mut buf).ok();
        self.buf = buf;
        self.flush_rendered();
        if let (Some(st), Some(sum)) = (self.streams.get_mut(s), summary) {
            st.absorb(sum);
        }
    }

    /// Ends stream `s`: the renderer's last word (a record cut short),
    /// then the END line.
    pub(super) fn end_stream(&mut self, s: usize, why: &'static str, time: Timestamp) {
        let label = self.label(s, time);
        match self.streams.get_mut(s) {
            Some(st) if st.end.is_none() => st.end = Some((why, time)),
            _ => return,
        }
        self.close_renderer(s, label.clone());
        if self.json() {
            return;
        }
        let Some(st) = self.streams.get(s) else {
            return;
        };
        let mut line = format!("{}  END ", label.text);
        line.push_str(match why {
            "fin" => "(FIN)",
            "rst" => "(RST)",
            _ => "(capture ends)",
        });
        if self.options.render.offsets {
            let _ = write!(line, " {} bytes,", st.pos);
        }
        let _ = write!(
            line,
            " {} record{}",
            st.records,
            if st.records == 1 { "" } else { "s" }
        );
        if st.gap_count > 0 {
            let _ = write!(
                line,
                ", {} gap{}",
                st.gap_count,
                if st.gap_count == 1 { "" } else { "s" }
            );
        }
        if st.skipped > 0 {
            let _ = write!(line, ", {} bytes not decoded", st.skipped);
        }
        line.push_str(if st.clean() {
            ", clean\n"
        } else {
            ", not clean\n"
        });
        self.write(line.as_bytes());
    }

    /// The end of the capture: every open direction ends, then the summary.
    pub(super) fn end(mut self, seen: &file::Seen) -> Result<Outcome, CaptureError> {
        let last = self.last;
        for slot in 0..self.slots.len() {
            let outs: Vec<(usize, Vec<Out>)> = match self.slots.get_mut(slot) {
                Some(c) => (0..2)
                    .map(|d| {
                        let o = c
                            .dirs
                            .get_mut(d)
                            .map(|dir| dir.finish(&mut self.budget))
                            .unwrap_or_default();
                        (d, o)
                    })
                    .collect(),
                None => continue,
            };
            for (d, o) in outs {
                self.handle(slot, d, last, o);
            }
            if let Some(c) = self.slots.get_mut(slot) {
                if matches!(c.state, State::Undecided(_)) {
                    c.state = State::Ignored;
                    self.counts.too_short += 1;
                }
            }
        }
        for s in 0..self.streams.len() {
            self.end_stream(s, "capture_end", last);
        }
        if self.found.is_empty() {
            return Err(CaptureError::NoFastCgi(self.nothing_found(seen)));
        }
        let clean = self.streams.iter().all(Stream::clean);
        let notes = self.notes(seen);
        let mut text = String::new();
        if self.json() {
            self.trailer(&mut text, &notes, clean);
        } else {
            let unclean = self.streams.iter().filter(|s| !s.clean()).count();
            let _ = writeln!(
                text,
                "summary: {} FastCGI connection{}, {} streams, {}; {} packets ({} TCP)",
                self.found.len(),
                if self.found.len() == 1 { "" } else { "s" },
                self.streams.len(),
                if unclean == 0 {
                    "all clean".to_string()
                } else {
                    format!("{unclean} not clean")
                },
                self.counts.frames,
                self.counts.tcp
            );
            for n in &notes {
                let _ = writeln!(text, "note: {n}");
            }
        }
        self.write(text.as_bytes());
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        Ok(Outcome {
            connections: self.found.len(),
            clean,
        })
    }

    pub(super) fn notes(&self, seen: &file::Seen) -> Vec<String> {
        let c = &self.counts;
        let mut notes = Vec::new();
        if let Some(d) = &seen.damaged {
            notes.push(format!(
                "reading stopped early: {d}; the packets after it are not in the dump"
            ));
        }
        notes.extend(seen.left_out.iter().take(MAX_QUOTED).cloned());
        if c.malformed > 0 {
            notes.push(format!(
                "{} packets with headers cut short or malformed were skipped ({})",
                c.malformed,
                c.quoted.join("; ")
            ));
        }
        if c.fragments > 0 {
            notes.push(format!(
                "{} IP fragments were skipped (the dump does not put datagrams together)",
                c.fragments
            ));
        }
        if !c.other_links.is_empty() {
            notes.push(format!(
                "packets of link type {} were skipped (the dump decodes Ethernet, Linux cooked SLL/SLL2, raw IP and loopback)",
                c.other_links
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if c.untracked > 0 {
            notes.push(format!(
                "{} packets or connections were not followed: more than {MAX_CONNECTIONS} connections, or {MAX_OPEN_FASTCGI} FastCGI connections open at once",
                c.untracked
            ));
        }
        notes
    }

    pub(super) fn nothing_found(&self, seen: &file::Seen) -> String {
        let c = &self.counts;
        let mut s = format!(
            "no FastCGI connection in this {} capture ({} packets, {} TCP segments",
            self.kind.name(),
            c.frames,
            c.tcp
        );
        if c.not_fastcgi > 0 {
            let _ = write!(
                s,
                "; {} connections whose first bytes are not a FastCGI header",
                c.not_fastcgi
            );
        }
        if c.malformed > 0 {
            let _ = write!(
                s,
                "; {} packets whose headers did not decode ({})",
                c.malformed,
                c.quoted.join("; ")
            );
        }
        if c.too_short > 0 {
            let _ = write!(
                s,
                "; {} connections with under 8 bytes in either direction",
                c.too_short
            );
        }
        if !c.other_links.is_empty() {
            let _ = write!(
                s,
                "; link types not decoded: {}",
                c.other_links
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if let Some(d) = &seen.damaged {
            let _ = write!(s, "; reading stopped early: {d}");
        }
        s.push(')');
        if self.options.ports.is_empty() {
            s.push_str("; if the capture starts inside the connections, name the application's port with --port N");
        } else {
            s.push_str("; check the --port numbers, or leave them out to find FastCGI by content");
        }
        s
    }

    pub(super) fn trailer(&self, text: &mut String, notes: &[String], clean: bool) {
        use serde_json::{json, Value};
        let offsets = self.options.render.offsets;
        text.push_str(if self.json_records == 0 {
            "],\n"
        } else {
            "\n  ],\n"
        });
        let connections: Vec<Value> = self
            .found
            .iter()
            .enumerate()
            .map(|(i, (slot, by))| {
                let conn = self.slots.get(*slot);
                let streams: Vec<usize> = self
                    .streams
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.connection == i + 1)
                    .map(|(k, _)| k)
                    .collect();
                let (found_by, port, first_type) = match by {
                    FoundBy::Port(p) => ("port", Some(*p), None),
                    FoundBy::Content(_, t) => ("content", None, Some(t.name())),
                };
                json!({
                    "connection": i + 1,
                    "streams": streams,
                    "found_by": found_by,
                    "port": port,
                    "first_record_type": first_type,
                    "from_syn": conn.is_some_and(|c| c.dirs.iter().any(Direction::from_syn)),
                })
            })
            .collect();
        let streams: Vec<Value> = self
            .streams
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let error = s.error.as_ref().map(|e| {
                    json!({
                        "offset": offsets.then(|| e.offset()),
                        "section": e.section().to_string(),
                        "requirement": e.requirement().map(|r| r.id()),
                        "message": e.kind().to_string(),
                    })
                });
                let gaps: Vec<Value> = s
                    .gaps
                    .iter()
                    .map(|(at, len, cause, t)| {
                        json!({
                            "offset": offsets.then_some(*at),
                            "length": len,
                            "cause": cause.code(),
                            "time": Value::from(self.time(*t).parse::<f64>().unwrap_or(0.0)),
                        })
                    })
                    .collect();
                json!({
                    "stream": i,
                    "connection": s.connection,
                    "source": s.src.to_string(),
                    "destination": s.dst.to_string(),
                    "length": s.pos,
                    "decoded": s.decoded,
                    "records": s.records,
                    "error": error,
                    "gaps": gaps,
                    "gap_count": s.gap_count,
                    "end": s.end.map(|(why, _)| why),
                    "clean": s.clean(),
                })
            })
            .collect();
        let first = self.first.unwrap_or_default();
        let line = |v: &Vec<Value>| {
            v.iter()
                .map(|x| format!("    {x}"))
                .collect::<Vec<_>>()
                .join(",\n")
        };
        let _ = write!(
            text,
            "  \"connections\": [\n{}\n  ],\n  \"streams\": [\n{}\n  ],\n  \"packets\": {},\n  \"tcp_segments\": {},\n  \"first_packet_time\": {}.{:09},\n  \"link_types\": {},\n  \"notes\": {},\n  \"clean\": {clean}\n}}\n",
            line(&connections),
            line(&streams),
            self.counts.frames,
            self.counts.tcp,
            first.0.div_euclid(1_000_000_000),
            first.0.rem_euclid(1_000_000_000),
            json!(self.links),
            json!(notes),
        );
    }
}
