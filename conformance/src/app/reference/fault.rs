//! The reference application's deliberate defects ([`Fault`]), for the
//! suite's self-check, and the write-path hooks that carry some of them.

use std::collections::BTreeSet;

use fcgi_proto::encoder::{Encoder, Padding};

use crate::driver::{WriteHook, WriteOutcome};

/// One deliberate defect of the reference application, for the suite's
/// self-check: each breaks one rule the suite must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Fault {
    /// §5.3: END_REQUEST without the empty STDOUT record.
    NoStdoutEnd,
    /// §5.5: END_REQUEST with a 5-byte body.
    ShortEndRequest,
    /// §3.3: every record sent with version 2.
    BadVersion,
    /// §3.3: records not padded to a multiple of 8 (a SHOULD: warn).
    Unaligned,
    /// §4.1: GET_VALUES never answered.
    IgnoreGetValues,
    /// §4.1: unknown names answered with empty values.
    AnswerUnknownNames,
    /// §4: GET_VALUES_RESULT sent with request id 1.
    ManagementNonZeroId,
    /// §4.2: unknown record types not answered.
    IgnoreUnknownType,
    /// §5.1: an unknown role served as a Responder.
    ServeUnknownRole,
    /// §5.5: the connection dropped when a second request arrives while one is active.
    DropOnInterleave,
    /// §3.3: with two requests active, a response written under the other's id.
    WrongIdWhenInterleaved,
    /// §5.4: ABORT_REQUEST ignored.
    IgnoreAbort,
    /// §3.5: the connection kept open after a request without FCGI_KEEP_CONN.
    NoCloseWithoutKeepConn,
    /// §5.1: the connection closed after a request with FCGI_KEEP_CONN.
    CloseDespiteKeepConn,
    /// §5.5: an empty STDOUT record sent after END_REQUEST.
    RecordAfterEnd,
    /// §6.2: a CGI head line without a colon.
    BadCgiHead,
    /// §3.4: values longer than 127 bytes cut to 127 (a length-form bug).
    CutLongValues,
    /// §5.3: only the first 64 KiB of STDIN kept.
    CutLongStdin,
    /// §3.3: after a malformed record, the application stops accepting connections.
    DieOnMalformed,
    /// §5.5: every ABORT_REQUEST acknowledged with an END_REQUEST of its own, on top of the request's.
    DoubleEndOnAbort,
    /// §4: UNKNOWN_TYPE sent under the request id of the record it answers.
    UnknownTypeUnderRecordId,
    /// §3.5: the connection kept open after refusing an unknown role without FCGI_KEEP_CONN.
    NoCloseAfterUnknownRole,
    /// §6.3: an Authorizer's Variable- header sent whatever the status, not only with 200.
    VariablesOnDeny,
    /// §6.4: a Filter answered as a Responder once STDIN ends, without waiting for FCGI_DATA.
    FilterIgnoresData,
    /// §6.2: a STDERR record written as soon as BEGIN_REQUEST arrives, before PARAMS has ended.
    OutputBeforeParams,
    /// Appendix A: an empty STDIN record, a web server's type, sent back on BEGIN_REQUEST.
    WrongDirection,
    /// §4.1, §6.2: a GET_VALUES that comes while a request's PARAMS is
    /// open taken as the end of PARAMS: that request answered and ended at
    /// once (what php-fpm and php-cgi do), GET_VALUES left unanswered.
    GetValuesEndsParams,
    /// §3.5: 256 KiB kept for good on every connection accepted, so that
    /// memory grows with connections that closed (explore's memory check,
    /// R-3.5-3; no suite case looks for it).
    LeakPerConnection,
}

/// What [`Fault::LeakPerConnection`] keeps for each connection.
pub(super) const LEAK: usize = 256 << 10;

/// How the reference application pads: to 8 bytes, or not at all under [`Fault::Unaligned`].
pub(super) fn encoder_for(faults: &BTreeSet<Fault>) -> Encoder {
    if faults.contains(&Fault::Unaligned) {
        Encoder::default().with_padding(Padding::None)
    } else {
        Encoder::default()
    }
}

/// [`Fault::BadVersion`], on the driver's write path: every record sent
/// with version 2.
pub(super) struct BadVersion;

impl WriteHook for BadVersion {
    fn on_write(&mut self, bytes: &mut Vec<u8>) -> WriteOutcome {
        set_version(bytes, 2);
        WriteOutcome::Go
    }
}

/// Rewrites the version byte of every record in our own, well-formed output.
fn set_version(bytes: &mut [u8], v: u8) {
    let mut at = 0usize;
    while let Some(h) = bytes
        .get(at..)
        .and_then(fcgi_proto::record::Header::from_slice)
    {
        if let Some(b) = bytes.get_mut(at) {
            *b = v;
        }
        at += h.record_len();
    }
}
