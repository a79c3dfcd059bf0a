// @generated from spec/requirements.toml and the section headings of
// spec/fastcgi-1.0.md by conformance/src/requirements/generate.rs; do not edit.
// Regenerate after changing the spec with:
//     FCGI_WRITE_IDS=1 cargo test -p fcgi-conformance --test requirement_ids
// (the same test, without the variable, fails while this file is stale).

use super::{Level, Party, Requirement};

/// A numbered section or appendix of the annotated spec
/// (`spec/fastcgi-1.0.md`), ordered as the spec is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// §1 Introduction
    S1,
    /// §2 Initial Process State
    S2,
    /// §2.1 Argument list
    S2_1,
    /// §2.2 File descriptors
    S2_2,
    /// §2.3 Environment variables
    S2_3,
    /// §2.4 Other state
    S2_4,
    /// §3 Protocol Basics
    S3,
    /// §3.1 Notation
    S3_1,
    /// §3.2 Accepting Transport Connections
    S3_2,
    /// §3.3 Records
    S3_3,
    /// §3.4 Name-Value Pairs
    S3_4,
    /// §3.5 Closing Transport Connections
    S3_5,
    /// §4 Management Record Types
    S4,
    /// §4.1 FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT
    S4_1,
    /// §4.2 FCGI_UNKNOWN_TYPE
    S4_2,
    /// §5 Application Record Types
    S5,
    /// §5.1 FCGI_BEGIN_REQUEST
    S5_1,
    /// §5.2 Name-Value Pair Stream: FCGI_PARAMS
    S5_2,
    /// §5.3 Byte Streams: FCGI_STDIN, FCGI_DATA, FCGI_STDOUT, FCGI_STDERR
    S5_3,
    /// §5.4 FCGI_ABORT_REQUEST
    S5_4,
    /// §5.5 FCGI_END_REQUEST
    S5_5,
    /// §6 Roles
    S6,
    /// §6.1 Role Protocols
    S6_1,
    /// §6.2 Responder
    S6_2,
    /// §6.3 Authorizer
    S6_3,
    /// §6.4 Filter
    S6_4,
    /// §7 Errors
    S7,
    /// §8 Types and Constants
    S8,
    /// §9 References
    S9,
    /// Appendix A. Table: Properties of the record types
    AppendixA,
    /// Appendix B. Typical Protocol Message Flow
    AppendixB,
}

impl Section {
    /// Every section, in the spec's order.
    pub const ALL: &'static [Section] = &[
        Section::S1,
        Section::S2,
        Section::S2_1,
        Section::S2_2,
        Section::S2_3,
        Section::S2_4,
        Section::S3,
        Section::S3_1,
        Section::S3_2,
        Section::S3_3,
        Section::S3_4,
        Section::S3_5,
        Section::S4,
        Section::S4_1,
        Section::S4_2,
        Section::S5,
        Section::S5_1,
        Section::S5_2,
        Section::S5_3,
        Section::S5_4,
        Section::S5_5,
        Section::S6,
        Section::S6_1,
        Section::S6_2,
        Section::S6_3,
        Section::S6_4,
        Section::S7,
        Section::S8,
        Section::S9,
        Section::AppendixA,
        Section::AppendixB,
    ];

    /// The form case IDs and requirement IDs use: `3.3`, `4`, `A`.
    pub const fn short(self) -> &'static str {
        match self {
            Section::S1 => "1",
            Section::S2 => "2",
            Section::S2_1 => "2.1",
            Section::S2_2 => "2.2",
            Section::S2_3 => "2.3",
            Section::S2_4 => "2.4",
            Section::S3 => "3",
            Section::S3_1 => "3.1",
            Section::S3_2 => "3.2",
            Section::S3_3 => "3.3",
            Section::S3_4 => "3.4",
            Section::S3_5 => "3.5",
            Section::S4 => "4",
            Section::S4_1 => "4.1",
            Section::S4_2 => "4.2",
            Section::S5 => "5",
            Section::S5_1 => "5.1",
            Section::S5_2 => "5.2",
            Section::S5_3 => "5.3",
            Section::S5_4 => "5.4",
            Section::S5_5 => "5.5",
            Section::S6 => "6",
            Section::S6_1 => "6.1",
            Section::S6_2 => "6.2",
            Section::S6_3 => "6.3",
            Section::S6_4 => "6.4",
            Section::S7 => "7",
            Section::S8 => "8",
            Section::S9 => "9",
            Section::AppendixA => "A",
            Section::AppendixB => "B",
        }
    }

    /// How text names it, as `Display` writes it: `§3.3`, `appendix A`.
    pub const fn name(self) -> &'static str {
        match self {
            Section::S1 => "§1",
            Section::S2 => "§2",
            Section::S2_1 => "§2.1",
            Section::S2_2 => "§2.2",
            Section::S2_3 => "§2.3",
            Section::S2_4 => "§2.4",
            Section::S3 => "§3",
            Section::S3_1 => "§3.1",
            Section::S3_2 => "§3.2",
            Section::S3_3 => "§3.3",
            Section::S3_4 => "§3.4",
            Section::S3_5 => "§3.5",
            Section::S4 => "§4",
            Section::S4_1 => "§4.1",
            Section::S4_2 => "§4.2",
            Section::S5 => "§5",
            Section::S5_1 => "§5.1",
            Section::S5_2 => "§5.2",
            Section::S5_3 => "§5.3",
            Section::S5_4 => "§5.4",
            Section::S5_5 => "§5.5",
            Section::S6 => "§6",
            Section::S6_1 => "§6.1",
            Section::S6_2 => "§6.2",
            Section::S6_3 => "§6.3",
            Section::S6_4 => "§6.4",
            Section::S7 => "§7",
            Section::S8 => "§8",
            Section::S9 => "§9",
            Section::AppendixA => "appendix A",
            Section::AppendixB => "appendix B",
        }
    }

    /// The heading's words, e.g. `Records` for §3.3.
    pub const fn title(self) -> &'static str {
        match self {
            Section::S1 => "Introduction",
            Section::S2 => "Initial Process State",
            Section::S2_1 => "Argument list",
            Section::S2_2 => "File descriptors",
            Section::S2_3 => "Environment variables",
            Section::S2_4 => "Other state",
            Section::S3 => "Protocol Basics",
            Section::S3_1 => "Notation",
            Section::S3_2 => "Accepting Transport Connections",
            Section::S3_3 => "Records",
            Section::S3_4 => "Name-Value Pairs",
            Section::S3_5 => "Closing Transport Connections",
            Section::S4 => "Management Record Types",
            Section::S4_1 => "FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT",
            Section::S4_2 => "FCGI_UNKNOWN_TYPE",
            Section::S5 => "Application Record Types",
            Section::S5_1 => "FCGI_BEGIN_REQUEST",
            Section::S5_2 => "Name-Value Pair Stream: FCGI_PARAMS",
            Section::S5_3 => "Byte Streams: FCGI_STDIN, FCGI_DATA, FCGI_STDOUT, FCGI_STDERR",
            Section::S5_4 => "FCGI_ABORT_REQUEST",
            Section::S5_5 => "FCGI_END_REQUEST",
            Section::S6 => "Roles",
            Section::S6_1 => "Role Protocols",
            Section::S6_2 => "Responder",
            Section::S6_3 => "Authorizer",
            Section::S6_4 => "Filter",
            Section::S7 => "Errors",
            Section::S8 => "Types and Constants",
            Section::S9 => "References",
            Section::AppendixA => "Table: Properties of the record types",
            Section::AppendixB => "Typical Protocol Message Flow",
        }
    }
}

/// R-2.1-1 (SHOULD, web-server, §2.1): Unless configured otherwise, the web server starts the application with a one-element argument list holding the last path component of the executable.
pub const R_2_1_1: Requirement = Requirement {
    id: "R-2.1-1",
    section: Section::S2_1,
    level: Level::Should,
    party: Party::WebServer,
    derived: false,
    summary: "Unless configured otherwise, the web server starts the application with a one-element argument list holding the last path component of the executable.",
};

/// R-2.1-2 (MAY, web-server, §2.1): The web server may let the operator choose a different application name or a longer argument list.
pub const R_2_1_2: Requirement = Requirement {
    id: "R-2.1-2",
    section: Section::S2_1,
    level: Level::May,
    party: Party::WebServer,
    derived: false,
    summary: "The web server may let the operator choose a different application name or a longer argument list.",
};

/// R-2.2-1 (MUST, web-server, §2.2): When the application starts, its only open descriptor is the listening socket created by the web server, on descriptor 0 (FCGI_LISTENSOCK_FILENO, the same number as STDIN_FILENO).
pub const R_2_2_1: Requirement = Requirement {
    id: "R-2.2-1",
    section: Section::S2_2,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "When the application starts, its only open descriptor is the listening socket created by the web server, on descriptor 0 (FCGI_LISTENSOCK_FILENO, the same number as STDIN_FILENO).",
};

/// R-2.2-2 (MUST, web-server, §2.2): Descriptors 1 and 2 (standard output and standard error) are closed when the application starts.
pub const R_2_2_2: Requirement = Requirement {
    id: "R-2.2-2",
    section: Section::S2_2,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "Descriptors 1 and 2 (standard output and standard error) are closed when the application starts.",
};

/// R-2.2-3 (MAY, application, §2.2): An application can tell FastCGI from CGI start-up by calling getpeername on descriptor 0: it fails with ENOTCONN under FastCGI.
pub const R_2_2_3: Requirement = Requirement {
    id: "R-2.2-3",
    section: Section::S2_2,
    level: Level::May,
    party: Party::Application,
    derived: false,
    summary: "An application can tell FastCGI from CGI start-up by calling getpeername on descriptor 0: it fails with ENOTCONN under FastCGI.",
};

/// R-2.2-4 (MUST, application, §2.2, derived): The application takes the transport (Unix-domain or TCP) from the listening socket it was given and works with either.
pub const R_2_2_4: Requirement = Requirement {
    id: "R-2.2-4",
    section: Section::S2_2,
    level: Level::Must,
    party: Party::Application,
    derived: true,
    summary: "The application takes the transport (Unix-domain or TCP) from the listening socket it was given and works with either.",
};

/// R-2.3-1 (MAY, web-server, §2.3): The web server may pass parameters to the application in environment variables; version 1.0 defines one, FCGI_WEB_SERVER_ADDRS.
pub const R_2_3_1: Requirement = Requirement {
    id: "R-2.3-1",
    section: Section::S2_3,
    level: Level::May,
    party: Party::WebServer,
    derived: false,
    summary: "The web server may pass parameters to the application in environment variables; version 1.0 defines one, FCGI_WEB_SERVER_ADDRS.",
};

/// R-2.3-2 (MAY, web-server, §2.3): The web server may pass further parameters through environment variables and may let the operator bind others such as PATH.
pub const R_2_3_2: Requirement = Requirement {
    id: "R-2.3-2",
    section: Section::S2_3,
    level: Level::May,
    party: Party::WebServer,
    derived: false,
    summary: "The web server may pass further parameters through environment variables and may let the operator bind others such as PATH.",
};

/// R-2.4-1 (MAY, web-server, §2.4): The web server may let the operator set other initial process state: priority, user and group IDs, root directory, working directory.
pub const R_2_4_1: Requirement = Requirement {
    id: "R-2.4-1",
    section: Section::S2_4,
    level: Level::May,
    party: Party::WebServer,
    derived: false,
    summary: "The web server may let the operator set other initial process state: priority, user and group IDs, root directory, working directory.",
};

/// R-3.1-1 (MUST, both, §3.1): Every structure is a sequence of single bytes sent in declaration order with no gaps; a number split into ...B1/B0 (or B3..B0) parts is big-endian.
pub const R_3_1_1: Requirement = Requirement {
    id: "R-3.1-1",
    section: Section::S3_1,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "Every structure is a sequence of single bytes sent in declaration order with no gaps; a number split into ...B1/B0 (or B3..B0) parts is big-endian.",
};

/// R-3.2-1 (MUST, application, §3.2): The application obtains transport connections by accepting on the socket at FCGI_LISTENSOCK_FILENO.
pub const R_3_2_1: Requirement = Requirement {
    id: "R-3.2-1",
    section: Section::S3_2,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "The application obtains transport connections by accepting on the socket at FCGI_LISTENSOCK_FILENO.",
};

/// R-3.2-2 (MUST, application, §3.2): If FCGI_WEB_SERVER_ADDRS is bound, the application checks each accepted peer's IP address against the list at once and closes the connection if it is absent, including when the peer is not TCP/IP.
pub const R_3_2_2: Requirement = Requirement {
    id: "R-3.2-2",
    section: Section::S3_2,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "If FCGI_WEB_SERVER_ADDRS is bound, the application checks each accepted peer's IP address against the list at once and closes the connection if it is absent, including when the peer is not TCP/IP.",
};

/// R-3.2-3 (MAY, application, §3.2): The application may hold several transport connections open at the same time, but is not required to.
pub const R_3_2_3: Requirement = Requirement {
    id: "R-3.2-3",
    section: Section::S3_2,
    level: Level::May,
    party: Party::Application,
    derived: false,
    summary: "The application may hold several transport connections open at the same time, but is not required to.",
};

/// R-3.2-4 (MUST, web-server, §3.2): When FCGI_WEB_SERVER_ADDRS is bound, its value is a comma-separated list of IPv4 addresses, each four decimal numbers from 0 to 255 joined by dots.
pub const R_3_2_4: Requirement = Requirement {
    id: "R-3.2-4",
    section: Section::S3_2,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "When FCGI_WEB_SERVER_ADDRS is bound, its value is a comma-separated list of IPv4 addresses, each four decimal numbers from 0 to 255 joined by dots.",
};

/// R-3.3-1 (MUST, both, §3.3): The version byte of every record is FCGI_VERSION_1 (1).
pub const R_3_3_1: Requirement = Requirement {
    id: "R-3.3-1",
    section: Section::S3_3,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "The version byte of every record is FCGI_VERSION_1 (1).",
};

/// R-3.3-2 (MUST, both, §3.3): contentLength is a 16-bit big-endian count, 0 to 65535, of the content bytes that follow the header.
pub const R_3_3_2: Requirement = Requirement {
    id: "R-3.3-2",
    section: Section::S3_3,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "contentLength is a 16-bit big-endian count, 0 to 65535, of the content bytes that follow the header.",
};

/// R-3.3-3 (MUST, both, §3.3): paddingLength (0 to 255) counts padding bytes after the content; a receiver reads and discards them without looking at their values.
pub const R_3_3_3: Requirement = Requirement {
    id: "R-3.3-3",
    section: Section::S3_3,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "paddingLength (0 to 255) counts padding bytes after the content; a receiver reads and discards them without looking at their values.",
};

/// R-3.3-4 (SHOULD, both, §3.3): Senders pad records so that each one starts at a multiple of eight bytes from the start of the connection.
pub const R_3_3_4: Requirement = Requirement {
    id: "R-3.3-4",
    section: Section::S3_3,
    level: Level::Should,
    party: Party::Both,
    derived: false,
    summary: "Senders pad records so that each one starts at a multiple of eight bytes from the start of the connection.",
};

/// R-3.3-5 (MUST, both, §3.3): Request ID 0 (the null request ID) is reserved for management records; every application record carries a nonzero request ID.
pub const R_3_3_5: Requirement = Requirement {
    id: "R-3.3-5",
    section: Section::S3_3,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "Request ID 0 (the null request ID) is reserved for management records; every application record carries a nonzero request ID.",
};

/// R-3.3-6 (MUST, both, §3.3): A record is an 8-byte header (version, type, requestId, contentLength, paddingLength, reserved) followed by contentLength content bytes and paddingLength padding bytes.
pub const R_3_3_6: Requirement = Requirement {
    id: "R-3.3-6",
    section: Section::S3_3,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "A record is an 8-byte header (version, type, requestId, contentLength, paddingLength, reserved) followed by contentLength content bytes and paddingLength padding bytes.",
};

/// R-3.3-7 (SHOULD, both, §3.3, derived): The reserved header byte has no meaning: senders set it to zero and receivers ignore its value.
pub const R_3_3_7: Requirement = Requirement {
    id: "R-3.3-7",
    section: Section::S3_3,
    level: Level::Should,
    party: Party::Both,
    derived: true,
    summary: "The reserved header byte has no meaning: senders set it to zero and receivers ignore its value.",
};

/// R-3.3-8 (MUST, application, §3.3): A request ID becomes active when the application receives BEGIN_REQUEST for it and inactive when the application sends END_REQUEST for it; state is kept per transport connection.
pub const R_3_3_8: Requirement = Requirement {
    id: "R-3.3-8",
    section: Section::S3_3,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "A request ID becomes active when the application receives BEGIN_REQUEST for it and inactive when the application sends END_REQUEST for it; state is kept per transport connection.",
};

/// R-3.3-9 (MUST, application, §3.3): While a request ID is inactive the application ignores every record carrying it except FCGI_BEGIN_REQUEST.
pub const R_3_3_9: Requirement = Requirement {
    id: "R-3.3-9",
    section: Section::S3_3,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "While a request ID is inactive the application ignores every record carrying it except FCGI_BEGIN_REQUEST.",
};

/// R-3.3-10 (SHOULD, web-server, §3.3): The web server reuses request IDs and keeps them small so that applications can track them in a short array.
pub const R_3_3_10: Requirement = Requirement {
    id: "R-3.3-10",
    section: Section::S3_3,
    level: Level::Should,
    party: Party::WebServer,
    derived: false,
    summary: "The web server reuses request IDs and keeps them small so that applications can track them in a short array.",
};

/// R-3.3-11 (MAY, application, §3.3): An application may handle one request at a time and simply compare incoming request IDs with the current one.
pub const R_3_3_11: Requirement = Requirement {
    id: "R-3.3-11",
    section: Section::S3_3,
    level: Level::May,
    party: Party::Application,
    derived: false,
    summary: "An application may handle one request at a time and simply compare incoming request IDs with the current one.",
};

/// R-3.3-12 (MUST, both, §3.3): The value of a stream is the concatenation of the content of its records; a receiver gives the same result however the sender divided the bytes among non-empty records.
pub const R_3_3_12: Requirement = Requirement {
    id: "R-3.3-12",
    section: Section::S3_3,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "The value of a stream is the concatenation of the content of its records; a receiver gives the same result however the sender divided the bytes among non-empty records.",
};

/// R-3.3-13 (MUST, both, §3.3, derived): A discrete record (every management type, BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST) carries its whole meaning in one record and is never split.
pub const R_3_3_13: Requirement = Requirement {
    id: "R-3.3-13",
    section: Section::S3_3,
    level: Level::Must,
    party: Party::Both,
    derived: true,
    summary: "A discrete record (every management type, BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST) carries its whole meaning in one record and is never split.",
};

/// R-3.4-1 (MAY, both, §3.4): A name or value length of 0 to 127 may be sent as one byte whose high bit is clear.
pub const R_3_4_1: Requirement = Requirement {
    id: "R-3.4-1",
    section: Section::S3_4,
    level: Level::May,
    party: Party::Both,
    derived: false,
    summary: "A name or value length of 0 to 127 may be sent as one byte whose high bit is clear.",
};

/// R-3.4-2 (MUST, both, §3.4): A length above 127 is sent as four big-endian bytes with the high bit of the first byte set; the remaining 31 bits give the length, at most 2^31-1.
pub const R_3_4_2: Requirement = Requirement {
    id: "R-3.4-2",
    section: Section::S3_4,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "A length above 127 is sent as four big-endian bytes with the high bit of the first byte set; the remaining 31 bits give the length, at most 2^31-1.",
};

/// R-3.4-3 (MUST, both, §3.4): A receiver decodes a length in either form whatever its size, selecting the form by the high bit of its first byte (so the 4-byte form of a short length is accepted).
pub const R_3_4_3: Requirement = Requirement {
    id: "R-3.4-3",
    section: Section::S3_4,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "A receiver decodes a length in either form whatever its size, selecting the form by the high bit of its first byte (so the 4-byte form of a short length is accepted).",
};

/// R-3.4-4 (MUST, both, §3.4): A name-value pair is the name length, then the value length, then the name bytes, then the value bytes, with no separator or terminator.
pub const R_3_4_4: Requirement = Requirement {
    id: "R-3.4-4",
    section: Section::S3_4,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "A name-value pair is the name length, then the value length, then the name bytes, then the value bytes, with no separator or terminator.",
};

/// R-3.4-5 (MUST, both, §3.4): Names and values are uninterpreted bytes: any byte may appear and nothing is escaped.
pub const R_3_4_5: Requirement = Requirement {
    id: "R-3.4-5",
    section: Section::S3_4,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "Names and values are uninterpreted bytes: any byte may appear and nothing is escaped.",
};

/// R-3.4-6 (MUST, both, §3.4, derived): Pairs carried by a stream are decoded from the stream's value, so a pair (even a length) may straddle record boundaries; a value that ends inside a pair is malformed.
pub const R_3_4_6: Requirement = Requirement {
    id: "R-3.4-6",
    section: Section::S3_4,
    level: Level::Must,
    party: Party::Both,
    derived: true,
    summary: "Pairs carried by a stream are decoded from the stream's value, so a pair (even a length) may straddle record boundaries; a value that ends inside a pair is malformed.",
};

/// R-3.5-1 (MUST, application, §3.5): When the request's BEGIN_REQUEST did not set FCGI_KEEP_CONN, the application closes the transport connection once it has finished the request (after its END_REQUEST).
pub const R_3_5_1: Requirement = Requirement {
    id: "R-3.5-1",
    section: Section::S3_5,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "When the request's BEGIN_REQUEST did not set FCGI_KEEP_CONN, the application closes the transport connection once it has finished the request (after its END_REQUEST).",
};

/// R-3.5-2 (MAY, web-server, §3.5): The web server owns connection lifetime and may close a connection whenever no request is active on it.
pub const R_3_5_2: Requirement = Requirement {
    id: "R-3.5-2",
    section: Section::S3_5,
    level: Level::May,
    party: Party::WebServer,
    derived: false,
    summary: "The web server owns connection lifetime and may close a connection whenever no request is active on it.",
};

/// R-3.5-3 (MUST, application, §3.5): After closing a connection or seeing it closed, the application goes back to accepting new connections: a closed connection does not stop it serving.
pub const R_3_5_3: Requirement = Requirement {
    id: "R-3.5-3",
    section: Section::S3_5,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "After closing a connection or seeing it closed, the application goes back to accepting new connections: a closed connection does not stop it serving.",
};

/// R-4.1-1 (MUST, application, §4.1): The application answers FCGI_GET_VALUES with one FCGI_GET_VALUES_RESULT record, request ID 0, holding name-value pairs with the values filled in.
pub const R_4_1_1: Requirement = Requirement {
    id: "R-4.1-1",
    section: Section::S4_1,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "The application answers FCGI_GET_VALUES with one FCGI_GET_VALUES_RESULT record, request ID 0, holding name-value pairs with the values filled in.",
};

/// R-4.1-2 (MUST, application, §4.1): Names the application does not recognise are left out of FCGI_GET_VALUES_RESULT.
pub const R_4_1_2: Requirement = Requirement {
    id: "R-4.1-2",
    section: Section::S4_1,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "Names the application does not recognise are left out of FCGI_GET_VALUES_RESULT.",
};

/// R-4.1-3 (MUST, application, §4.1): FCGI_MAX_CONNS and FCGI_MAX_REQS are answered as decimal ASCII counts ("1", "10") of concurrent connections and requests; FCGI_MPXS_CONNS as "0" (no multiplexing) or "1".
pub const R_4_1_3: Requirement = Requirement {
    id: "R-4.1-3",
    section: Section::S4_1,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "FCGI_MAX_CONNS and FCGI_MAX_REQS are answered as decimal ASCII counts (\"1\", \"10\") of concurrent connections and requests; FCGI_MPXS_CONNS as \"0\" (no multiplexing) or \"1\".",
};

/// R-4.1-4 (MUST, web-server, §4.1): The content of FCGI_GET_VALUES is a sequence of name-value pairs whose values are empty.
pub const R_4_1_4: Requirement = Requirement {
    id: "R-4.1-4",
    section: Section::S4_1,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "The content of FCGI_GET_VALUES is a sequence of name-value pairs whose values are empty.",
};

/// R-4.1-5 (MUST, application, §4.1): The application accepts FCGI_GET_VALUES at any moment, including before any request and while requests are active.
pub const R_4_1_5: Requirement = Requirement {
    id: "R-4.1-5",
    section: Section::S4_1,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "The application accepts FCGI_GET_VALUES at any moment, including before any request and while requests are active.",
};

/// R-4.1-6 (SHOULD, application, §4.1): GET_VALUES is answered by the FastCGI library layer without involving the application's request handler.
pub const R_4_1_6: Requirement = Requirement {
    id: "R-4.1-6",
    section: Section::S4_1,
    level: Level::Should,
    party: Party::Application,
    derived: false,
    summary: "GET_VALUES is answered by the FastCGI library layer without involving the application's request handler.",
};

/// R-4.1-7 (MUST, web-server, §4.1, derived): The web server treats a name missing from FCGI_GET_VALUES_RESULT as not known to the application, not as an error; the set of names is open-ended.
pub const R_4_1_7: Requirement = Requirement {
    id: "R-4.1-7",
    section: Section::S4_1,
    level: Level::Must,
    party: Party::WebServer,
    derived: true,
    summary: "The web server treats a name missing from FCGI_GET_VALUES_RESULT as not known to the application, not as an error; the set of names is open-ended.",
};

/// R-4.1-8 (MAY, web-server, §4.1): The web server may query the application's variables with FCGI_GET_VALUES, typically when it starts the application, to configure itself.
pub const R_4_1_8: Requirement = Requirement {
    id: "R-4.1-8",
    section: Section::S4_1,
    level: Level::May,
    party: Party::WebServer,
    derived: false,
    summary: "The web server may query the application's variables with FCGI_GET_VALUES, typically when it starts the application, to configure itself.",
};

/// R-4.2-1 (MUST, application, §4.2): A management record of a type the application does not understand is answered with FCGI_UNKNOWN_TYPE, request ID 0, whose body names that type.
pub const R_4_2_1: Requirement = Requirement {
    id: "R-4.2-1",
    section: Section::S4_2,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "A management record of a type the application does not understand is answered with FCGI_UNKNOWN_TYPE, request ID 0, whose body names that type.",
};

/// R-4.2-2 (MUST, both, §4.2): The FCGI_UNKNOWN_TYPE body is 8 bytes: the unrecognised type, then 7 reserved bytes.
pub const R_4_2_2: Requirement = Requirement {
    id: "R-4.2-2",
    section: Section::S4_2,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "The FCGI_UNKNOWN_TYPE body is 8 bytes: the unrecognised type, then 7 reserved bytes.",
};

/// R-4.2-3 (SHOULD, web-server, §4.2, derived): The web server accepts FCGI_UNKNOWN_TYPE as a normal answer to a management record it sent and keeps using the connection.
pub const R_4_2_3: Requirement = Requirement {
    id: "R-4.2-3",
    section: Section::S4_2,
    level: Level::Should,
    party: Party::WebServer,
    derived: true,
    summary: "The web server accepts FCGI_UNKNOWN_TYPE as a normal answer to a management record it sent and keeps using the connection.",
};

/// R-5.1-1 (MUST, both, §5.1): The FCGI_BEGIN_REQUEST body is 8 bytes: a 16-bit big-endian role, a flags byte, and 5 reserved bytes.
pub const R_5_1_1: Requirement = Requirement {
    id: "R-5.1-1",
    section: Section::S5_1,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "The FCGI_BEGIN_REQUEST body is 8 bytes: a 16-bit big-endian role, a flags byte, and 5 reserved bytes.",
};

/// R-5.1-2 (MUST, application, §5.1): Flag bit FCGI_KEEP_CONN (0x01) clear means the application closes the connection after answering this request; set means it leaves the connection open and the web server stays responsible for it.
pub const R_5_1_2: Requirement = Requirement {
    id: "R-5.1-2",
    section: Section::S5_1,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "Flag bit FCGI_KEEP_CONN (0x01) clear means the application closes the connection after answering this request; set means it leaves the connection open and the web server stays responsible for it.",
};

/// R-5.1-3 (MUST, application, §5.1): A BEGIN_REQUEST naming a role the application does not play is rejected with END_REQUEST whose protocolStatus is FCGI_UNKNOWN_ROLE.
pub const R_5_1_3: Requirement = Requirement {
    id: "R-5.1-3",
    section: Section::S5_1,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "A BEGIN_REQUEST naming a role the application does not play is rejected with END_REQUEST whose protocolStatus is FCGI_UNKNOWN_ROLE.",
};

/// R-5.1-4 (MUST, web-server, §5.1): Every request starts with an FCGI_BEGIN_REQUEST record from the web server, before any other record with that request ID.
pub const R_5_1_4: Requirement = Requirement {
    id: "R-5.1-4",
    section: Section::S5_1,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "Every request starts with an FCGI_BEGIN_REQUEST record from the web server, before any other record with that request ID.",
};

/// R-5.1-5 (MUST, both, §5.1): Role values are FCGI_RESPONDER = 1, FCGI_AUTHORIZER = 2, FCGI_FILTER = 3.
pub const R_5_1_5: Requirement = Requirement {
    id: "R-5.1-5",
    section: Section::S5_1,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "Role values are FCGI_RESPONDER = 1, FCGI_AUTHORIZER = 2, FCGI_FILTER = 3.",
};

/// R-5.1-6 (MUST, web-server, §5.1, derived): The web server does not send FCGI_BEGIN_REQUEST for a request ID that is still active on that connection.
pub const R_5_1_6: Requirement = Requirement {
    id: "R-5.1-6",
    section: Section::S5_1,
    level: Level::Must,
    party: Party::WebServer,
    derived: true,
    summary: "The web server does not send FCGI_BEGIN_REQUEST for a request ID that is still active on that connection.",
};

/// R-5.1-7 (SHOULD, both, §5.1, derived): Flag bits other than FCGI_KEEP_CONN and the reserved body bytes are sent as zero and ignored on receipt.
pub const R_5_1_7: Requirement = Requirement {
    id: "R-5.1-7",
    section: Section::S5_1,
    level: Level::Should,
    party: Party::Both,
    derived: true,
    summary: "Flag bits other than FCGI_KEEP_CONN and the reserved body bytes are sent as zero and ignored on receipt.",
};

/// R-5.2-1 (MUST, web-server, §5.2): The FCGI_PARAMS stream is always sent and is terminated by an empty FCGI_PARAMS record.
pub const R_5_2_1: Requirement = Requirement {
    id: "R-5.2-1",
    section: Section::S5_2,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "The FCGI_PARAMS stream is always sent and is terminated by an empty FCGI_PARAMS record.",
};

/// R-5.2-2 (MUST, both, §5.2, derived): The FCGI_PARAMS stream value is a sequence of name-value pairs in no defined order; the receiver does not depend on their order.
pub const R_5_2_2: Requirement = Requirement {
    id: "R-5.2-2",
    section: Section::S5_2,
    level: Level::Must,
    party: Party::Both,
    derived: true,
    summary: "The FCGI_PARAMS stream value is a sequence of name-value pairs in no defined order; the receiver does not depend on their order.",
};

/// R-5.3-1 (MUST, both, §5.3): A stream that is sent at all (STDIN, DATA, STDOUT, and STDERR once begun) ends with one empty record of its type.
pub const R_5_3_1: Requirement = Requirement {
    id: "R-5.3-1",
    section: Section::S5_3,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "A stream that is sent at all (STDIN, DATA, STDOUT, and STDERR once begun) ends with one empty record of its type.",
};

/// R-5.3-2 (MUST, both, §5.3): FCGI_STDOUT and FCGI_STDERR flow only from application to web server; FCGI_STDIN and FCGI_DATA only from web server to application.
pub const R_5_3_2: Requirement = Requirement {
    id: "R-5.3-2",
    section: Section::S5_3,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "FCGI_STDOUT and FCGI_STDERR flow only from application to web server; FCGI_STDIN and FCGI_DATA only from web server to application.",
};

/// R-5.3-3 (MUST, both, §5.3): Byte streams carry arbitrary bytes; the record layer gives them no structure.
pub const R_5_3_3: Requirement = Requirement {
    id: "R-5.3-3",
    section: Section::S5_3,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "Byte streams carry arbitrary bytes; the record layer gives them no structure.",
};

/// R-5.4-1 (MUST, application, §5.4): After FCGI_ABORT_REQUEST for an active request the application ends that request promptly with FCGI_END_REQUEST (protocolStatus FCGI_REQUEST_COMPLETE plus an appStatus).
pub const R_5_4_1: Requirement = Requirement {
    id: "R-5.4-1",
    section: Section::S5_4,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "After FCGI_ABORT_REQUEST for an active request the application ends that request promptly with FCGI_END_REQUEST (protocolStatus FCGI_REQUEST_COMPLETE plus an appStatus).",
};

/// R-5.4-2 (SHOULD, application, §5.4): The END_REQUEST that answers an abort comes from the application's request handling, not as an automatic acknowledgement from the library.
pub const R_5_4_2: Requirement = Requirement {
    id: "R-5.4-2",
    section: Section::S5_4,
    level: Level::Should,
    party: Party::Application,
    derived: false,
    summary: "The END_REQUEST that answers an abort comes from the application's request handling, not as an automatic acknowledgement from the library.",
};

/// R-5.4-3 (MAY, web-server, §5.4): The web server sends FCGI_ABORT_REQUEST when the HTTP client goes away while its request is still running.
pub const R_5_4_3: Requirement = Requirement {
    id: "R-5.4-3",
    section: Section::S5_4,
    level: Level::May,
    party: Party::WebServer,
    derived: false,
    summary: "The web server sends FCGI_ABORT_REQUEST when the HTTP client goes away while its request is still running.",
};

/// R-5.4-4 (MAY, web-server, §5.4): A web server that does not multiplex may abort a request by closing its transport connection, which ends every request on that connection.
pub const R_5_4_4: Requirement = Requirement {
    id: "R-5.4-4",
    section: Section::S5_4,
    level: Level::May,
    party: Party::WebServer,
    derived: false,
    summary: "A web server that does not multiplex may abort a request by closing its transport connection, which ends every request on that connection.",
};

/// R-5.4-5 (SHOULD, web-server, §5.4): When the HTTP client closes its connection while the FastCGI request runs for it, the web server aborts the request, with FCGI_ABORT_REQUEST (R-5.4-3) or by closing the transport connection (R-5.4-4).
pub const R_5_4_5: Requirement = Requirement {
    id: "R-5.4-5",
    section: Section::S5_4,
    level: Level::Should,
    party: Party::WebServer,
    derived: false,
    summary: "When the HTTP client closes its connection while the FastCGI request runs for it, the web server aborts the request, with FCGI_ABORT_REQUEST (R-5.4-3) or by closing the transport connection (R-5.4-4).",
};

/// R-5.5-1 (MUST, both, §5.5): The FCGI_END_REQUEST body is 8 bytes: a 32-bit big-endian appStatus, a protocolStatus byte, and 3 reserved bytes.
pub const R_5_5_1: Requirement = Requirement {
    id: "R-5.5-1",
    section: Section::S5_5,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "The FCGI_END_REQUEST body is 8 bytes: a 32-bit big-endian appStatus, a protocolStatus byte, and 3 reserved bytes.",
};

/// R-5.5-2 (MUST, application, §5.5): An application that handles one request per connection rejects a second concurrent BEGIN_REQUEST on that connection with END_REQUEST protocolStatus FCGI_CANT_MPX_CONN.
pub const R_5_5_2: Requirement = Requirement {
    id: "R-5.5-2",
    section: Section::S5_5,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "An application that handles one request per connection rejects a second concurrent BEGIN_REQUEST on that connection with END_REQUEST protocolStatus FCGI_CANT_MPX_CONN.",
};

/// R-5.5-3 (MUST, application, §5.5): An application that rejects a new request because it has run out of some resource (database connections, say) rejects it with END_REQUEST protocolStatus FCGI_OVERLOADED.
pub const R_5_5_3: Requirement = Requirement {
    id: "R-5.5-3",
    section: Section::S5_5,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "An application that rejects a new request because it has run out of some resource (database connections, say) rejects it with END_REQUEST protocolStatus FCGI_OVERLOADED.",
};

/// R-5.5-4 (MUST, application, §5.5, derived): After sending END_REQUEST for a request ID the application sends no further records with that ID until a new BEGIN_REQUEST reuses it; the ID is inactive.
pub const R_5_5_4: Requirement = Requirement {
    id: "R-5.5-4",
    section: Section::S5_5,
    level: Level::Must,
    party: Party::Application,
    derived: true,
    summary: "After sending END_REQUEST for a request ID the application sends no further records with that ID until a new BEGIN_REQUEST reuses it; the ID is inactive.",
};

/// R-5.5-5 (MUST, application, §5.5): The application ends every request it received BEGIN_REQUEST for with exactly one FCGI_END_REQUEST, unless the connection closes first.
pub const R_5_5_5: Requirement = Requirement {
    id: "R-5.5-5",
    section: Section::S5_5,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "The application ends every request it received BEGIN_REQUEST for with exactly one FCGI_END_REQUEST, unless the connection closes first.",
};

/// R-5.5-6 (MUST, both, §5.5): protocolStatus values are FCGI_REQUEST_COMPLETE = 0, FCGI_CANT_MPX_CONN = 1, FCGI_OVERLOADED = 2, FCGI_UNKNOWN_ROLE = 3.
pub const R_5_5_6: Requirement = Requirement {
    id: "R-5.5-6",
    section: Section::S5_5,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "protocolStatus values are FCGI_REQUEST_COMPLETE = 0, FCGI_CANT_MPX_CONN = 1, FCGI_OVERLOADED = 2, FCGI_UNKNOWN_ROLE = 3.",
};

/// R-5.5-7 (MUST, web-server, §5.5, derived): The web server takes FCGI_END_REQUEST as the end of the request, even if output streams were not terminated or it had not finished sending input.
pub const R_5_5_7: Requirement = Requirement {
    id: "R-5.5-7",
    section: Section::S5_5,
    level: Level::Must,
    party: Party::WebServer,
    derived: true,
    summary: "The web server takes FCGI_END_REQUEST as the end of the request, even if output streams were not terminated or it had not finished sending input.",
};

/// R-6.1-1 (MUST, both, §6.1): Role protocols use only application record types, all with the request's nonzero ID.
pub const R_6_1_1: Requirement = Requirement {
    id: "R-6.1-1",
    section: Section::S6_1,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "Role protocols use only application record types, all with the request's nonzero ID.",
};

/// R-6.1-2 (MUST, web-server, §6.1): Input streams of one request are sent one after the other, each finished before the next begins (PARAMS, then STDIN, then DATA for a Filter).
pub const R_6_1_2: Requirement = Requirement {
    id: "R-6.1-2",
    section: Section::S6_1,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "Input streams of one request are sent one after the other, each finished before the next begins (PARAMS, then STDIN, then DATA for a Filter).",
};

/// R-6.1-3 (MAY, application, §6.1): FCGI_STDOUT and FCGI_STDERR records of one request may be interleaved in any order.
pub const R_6_1_3: Requirement = Requirement {
    id: "R-6.1-3",
    section: Section::S6_1,
    level: Level::May,
    party: Party::Application,
    derived: false,
    summary: "FCGI_STDOUT and FCGI_STDERR records of one request may be interleaved in any order.",
};

/// R-6.1-4 (MAY, application, §6.1): FCGI_STDERR is optional: with nothing to report the application sends either no STDERR record or a single empty one.
pub const R_6_1_4: Requirement = Requirement {
    id: "R-6.1-4",
    section: Section::S6_1,
    level: Level::May,
    party: Party::Application,
    derived: false,
    summary: "FCGI_STDERR is optional: with nothing to report the application sends either no STDERR record or a single empty one.",
};

/// R-6.1-5 (MUST, both, §6.1): Every stream other than STDERR that a role calls for is sent with at least one record (the empty terminator), even when its value is empty.
pub const R_6_1_5: Requirement = Requirement {
    id: "R-6.1-5",
    section: Section::S6_1,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "Every stream other than STDERR that a role calls for is sent with at least one record (the empty terminator), even when its value is empty.",
};

/// R-6.1-6 (MAY, application, §6.1): The application may start writing output once every input but the last stream has ended, while the last input stream is still arriving, and not earlier.
pub const R_6_1_6: Requirement = Requirement {
    id: "R-6.1-6",
    section: Section::S6_1,
    level: Level::May,
    party: Party::Application,
    derived: false,
    summary: "The application may start writing output once every input but the last stream has ended, while the last input stream is still arriving, and not earlier.",
};

/// R-6.1-7 (MUST, both, §6.1): Textual values in FCGI_PARAMS carry no terminating NUL, the length excludes it, and a value contains no NUL byte.
pub const R_6_1_7: Requirement = Requirement {
    id: "R-6.1-7",
    section: Section::S6_1,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "Textual values in FCGI_PARAMS carry no terminating NUL, the length excludes it, and a value contains no NUL byte.",
};

/// R-6.1-8 (MUST, both, §6.1, derived): There is no non-parsed-header mode: the application sets the response status only through the CGI Status and Location headers, so the web server parses the response head itself.
pub const R_6_1_8: Requirement = Requirement {
    id: "R-6.1-8",
    section: Section::S6_1,
    level: Level::Must,
    party: Party::Both,
    derived: true,
    summary: "There is no non-parsed-header mode: the application sets the response status only through the CGI Status and Location headers, so the web server parses the response head itself.",
};

/// R-6.2-1 (MUST, both, §6.2): A Responder receives FCGI_PARAMS and then FCGI_STDIN, and answers with FCGI_STDOUT (and optionally FCGI_STDERR) followed by FCGI_END_REQUEST.
pub const R_6_2_1: Requirement = Requirement {
    id: "R-6.2-1",
    section: Section::S6_2,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "A Responder receives FCGI_PARAMS and then FCGI_STDIN, and answers with FCGI_STDOUT (and optionally FCGI_STDERR) followed by FCGI_END_REQUEST.",
};

/// R-6.2-2 (MUST, application, §6.2): The value of a Responder's FCGI_STDOUT is a CGI/1.1 response: header lines, an empty line, then the body.
pub const R_6_2_2: Requirement = Requirement {
    id: "R-6.2-2",
    section: Section::S6_2,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "The value of a Responder's FCGI_STDOUT is a CGI/1.1 response: header lines, an empty line, then the body.",
};

/// R-6.2-3 (MUST, web-server, §6.2): FCGI_STDIN carries at most CONTENT_LENGTH bytes, and fewer only when the HTTP client did not supply them.
pub const R_6_2_3: Requirement = Requirement {
    id: "R-6.2-3",
    section: Section::S6_2,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "FCGI_STDIN carries at most CONTENT_LENGTH bytes, and fewer only when the HTTP client did not supply them.",
};

/// R-6.2-4 (MUST, application, §6.2): A Responder finishes reading FCGI_PARAMS before writing FCGI_STDOUT or FCGI_STDERR, but may write before FCGI_STDIN has ended.
pub const R_6_2_4: Requirement = Requirement {
    id: "R-6.2-4",
    section: Section::S6_2,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "A Responder finishes reading FCGI_PARAMS before writing FCGI_STDOUT or FCGI_STDERR, but may write before FCGI_STDIN has ended.",
};

/// R-6.2-5 (MUST, application, §6.2): A Responder's END_REQUEST carries FCGI_REQUEST_COMPLETE and, as appStatus, the exit status a CGI program would have returned.
pub const R_6_2_5: Requirement = Requirement {
    id: "R-6.2-5",
    section: Section::S6_2,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "A Responder's END_REQUEST carries FCGI_REQUEST_COMPLETE and, as appStatus, the exit status a CGI program would have returned.",
};

/// R-6.2-6 (SHOULD, application, §6.2): A Responder performing an update compares the bytes received on FCGI_STDIN with CONTENT_LENGTH and abandons the update if they differ.
pub const R_6_2_6: Requirement = Requirement {
    id: "R-6.2-6",
    section: Section::S6_2,
    level: Level::Should,
    party: Party::Application,
    derived: false,
    summary: "A Responder performing an update compares the bytes received on FCGI_STDIN with CONTENT_LENGTH and abandons the update if they differ.",
};

/// R-6.2-7 (MUST, web-server, §6.2): FCGI_PARAMS carries the CGI/1.1 meta-variables that a CGI program would find in its environment.
pub const R_6_2_7: Requirement = Requirement {
    id: "R-6.2-7",
    section: Section::S6_2,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "FCGI_PARAMS carries the CGI/1.1 meta-variables that a CGI program would find in its environment.",
};

/// R-6.3-1 (MUST, web-server, §6.3): An Authorizer response with status 200 grants access; its Variable-* headers become name-value pairs attached to the HTTP request for later CGI/FastCGI requests, and its other headers and body are ignored.
pub const R_6_3_1: Requirement = Requirement {
    id: "R-6.3-1",
    section: Section::S6_3,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "An Authorizer response with status 200 grants access; its Variable-* headers become name-value pairs attached to the HTTP request for later CGI/FastCGI requests, and its other headers and body are ignored.",
};

/// R-6.3-2 (MUST, web-server, §6.3, derived): An Authorizer receives request information on FCGI_PARAMS only; the HTTP request body is not delivered on FCGI_STDIN.
pub const R_6_3_2: Requirement = Requirement {
    id: "R-6.3-2",
    section: Section::S6_3,
    level: Level::Must,
    party: Party::WebServer,
    derived: true,
    summary: "An Authorizer receives request information on FCGI_PARAMS only; the HTTP request body is not delivered on FCGI_STDIN.",
};

/// R-6.3-3 (MUST, web-server, §6.3): FCGI_PARAMS sent to an Authorizer omit CONTENT_LENGTH, PATH_INFO, PATH_TRANSLATED and SCRIPT_NAME.
pub const R_6_3_3: Requirement = Requirement {
    id: "R-6.3-3",
    section: Section::S6_3,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "FCGI_PARAMS sent to an Authorizer omit CONTENT_LENGTH, PATH_INFO, PATH_TRANSLATED and SCRIPT_NAME.",
};

/// R-6.3-4 (MUST, web-server, §6.3): An Authorizer status other than 200 denies access, and the web server relays that status, the headers and the body to the HTTP client.
pub const R_6_3_4: Requirement = Requirement {
    id: "R-6.3-4",
    section: Section::S6_3,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "An Authorizer status other than 200 denies access, and the web server relays that status, the headers and the body to the HTTP client.",
};

/// R-6.3-5 (MAY, web-server, §6.3): After a 200 from an Authorizer the web server may run further access checks, including other Authorizers.
pub const R_6_3_5: Requirement = Requirement {
    id: "R-6.3-5",
    section: Section::S6_3,
    level: Level::May,
    party: Party::WebServer,
    derived: false,
    summary: "After a 200 from an Authorizer the web server may run further access checks, including other Authorizers.",
};

/// R-6.3-6 (MUST, application, §6.3): An Authorizer writes FCGI_STDOUT/FCGI_STDERR and END_REQUEST like a Responder; the CGI response status carries its decision.
pub const R_6_3_6: Requirement = Requirement {
    id: "R-6.3-6",
    section: Section::S6_3,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "An Authorizer writes FCGI_STDOUT/FCGI_STDERR and END_REQUEST like a Responder; the CGI response status carries its decision.",
};

/// R-6.4-1 (MUST, web-server, §6.4): A Filter receives FCGI_PARAMS, then FCGI_STDIN, then the file data on FCGI_DATA.
pub const R_6_4_1: Requirement = Requirement {
    id: "R-6.4-1",
    section: Section::S6_4,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "A Filter receives FCGI_PARAMS, then FCGI_STDIN, then the file data on FCGI_DATA.",
};

/// R-6.4-2 (MUST, web-server, §6.4): A Filter's FCGI_PARAMS include FCGI_DATA_LAST_MOD (file modification time, decimal seconds since 1970-01-01 UTC) and FCGI_DATA_LENGTH (file size in bytes).
pub const R_6_4_2: Requirement = Requirement {
    id: "R-6.4-2",
    section: Section::S6_4,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "A Filter's FCGI_PARAMS include FCGI_DATA_LAST_MOD (file modification time, decimal seconds since 1970-01-01 UTC) and FCGI_DATA_LENGTH (file size in bytes).",
};

/// R-6.4-3 (MUST, web-server, §6.4): FCGI_DATA carries at most FCGI_DATA_LENGTH bytes.
pub const R_6_4_3: Requirement = Requirement {
    id: "R-6.4-3",
    section: Section::S6_4,
    level: Level::Must,
    party: Party::WebServer,
    derived: false,
    summary: "FCGI_DATA carries at most FCGI_DATA_LENGTH bytes.",
};

/// R-6.4-4 (MUST, application, §6.4): A Filter finishes reading FCGI_STDIN before writing FCGI_STDOUT or FCGI_STDERR, but may write before FCGI_DATA has ended.
pub const R_6_4_4: Requirement = Requirement {
    id: "R-6.4-4",
    section: Section::S6_4,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "A Filter finishes reading FCGI_STDIN before writing FCGI_STDOUT or FCGI_STDERR, but may write before FCGI_DATA has ended.",
};

/// R-6.4-5 (MAY, application, §6.4): A Filter may answer from a cache keyed on FCGI_DATA_LAST_MOD without reading the FCGI_DATA content.
pub const R_6_4_5: Requirement = Requirement {
    id: "R-6.4-5",
    section: Section::S6_4,
    level: Level::May,
    party: Party::Application,
    derived: false,
    summary: "A Filter may answer from a cache keyed on FCGI_DATA_LAST_MOD without reading the FCGI_DATA content.",
};

/// R-6.4-6 (SHOULD, application, §6.4): A Filter compares bytes received on FCGI_STDIN and FCGI_DATA with CONTENT_LENGTH and FCGI_DATA_LENGTH; on a mismatch a query says data is missing and an update is abandoned.
pub const R_6_4_6: Requirement = Requirement {
    id: "R-6.4-6",
    section: Section::S6_4,
    level: Level::Should,
    party: Party::Application,
    derived: false,
    summary: "A Filter compares bytes received on FCGI_STDIN and FCGI_DATA with CONTENT_LENGTH and FCGI_DATA_LENGTH; on a mismatch a query says data is missing and an update is abandoned.",
};

/// R-6.4-7 (MUST, application, §6.4): A Filter ends with FCGI_STDOUT (optionally FCGI_STDERR), then END_REQUEST with FCGI_REQUEST_COMPLETE and a CGI-style exit status as appStatus.
pub const R_6_4_7: Requirement = Requirement {
    id: "R-6.4-7",
    section: Section::S6_4,
    level: Level::Must,
    party: Party::Application,
    derived: false,
    summary: "A Filter ends with FCGI_STDOUT (optionally FCGI_STDERR), then END_REQUEST with FCGI_REQUEST_COMPLETE and a CGI-style exit status as appStatus.",
};

/// R-7-1 (SHOULD, application, §7): An application that ends on purpose exits with status 0; a nonzero exit status means it crashed.
pub const R_7_1: Requirement = Requirement {
    id: "R-7-1",
    section: Section::S7,
    level: Level::Should,
    party: Party::Application,
    derived: false,
    summary: "An application that ends on purpose exits with status 0; a nonzero exit status means it crashed.",
};

/// R-7-2 (MAY, web-server, §7): The web server may ask an application to exit with SIGTERM and use SIGKILL if it is ignored.
pub const R_7_2: Requirement = Requirement {
    id: "R-7-2",
    section: Section::S7,
    level: Level::May,
    party: Party::WebServer,
    derived: false,
    summary: "The web server may ask an application to exit with SIGTERM and use SIGKILL if it is ignored.",
};

/// R-7-3 (SHOULD, application, §7): Application-level errors are reported on FCGI_STDERR and in appStatus, and often to the user on FCGI_STDOUT.
pub const R_7_3: Requirement = Requirement {
    id: "R-7-3",
    section: Section::S7,
    level: Level::Should,
    party: Party::Application,
    derived: false,
    summary: "Application-level errors are reported on FCGI_STDERR and in appStatus, and often to the user on FCGI_STDOUT.",
};

/// R-7-4 (SHOULD, application, §7): Protocol errors and malformed FastCGI environment variables are logged (syslog on Unix); the application then continues or exits nonzero depending on severity.
pub const R_7_4: Requirement = Requirement {
    id: "R-7-4",
    section: Section::S7,
    level: Level::Should,
    party: Party::Application,
    derived: false,
    summary: "Protocol errors and malformed FastCGI environment variables are logged (syslog on Unix); the application then continues or exits nonzero depending on severity.",
};

/// R-8-1 (MUST, both, §8): Record type values are BEGIN_REQUEST 1, ABORT_REQUEST 2, END_REQUEST 3, PARAMS 4, STDIN 5, STDOUT 6, STDERR 7, DATA 8, GET_VALUES 9, GET_VALUES_RESULT 10, UNKNOWN_TYPE 11.
pub const R_8_1: Requirement = Requirement {
    id: "R-8-1",
    section: Section::S8,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "Record type values are BEGIN_REQUEST 1, ABORT_REQUEST 2, END_REQUEST 3, PARAMS 4, STDIN 5, STDOUT 6, STDERR 7, DATA 8, GET_VALUES 9, GET_VALUES_RESULT 10, UNKNOWN_TYPE 11.",
};

/// R-8-2 (MUST, both, §8): FCGI_HEADER_LEN is 8, and no later protocol version makes the header shorter.
pub const R_8_2: Requirement = Requirement {
    id: "R-8-2",
    section: Section::S8,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "FCGI_HEADER_LEN is 8, and no later protocol version makes the header shorter.",
};

/// R-8-3 (MUST, both, §8, derived): Type values 0 and above FCGI_MAXTYPE (11) are undefined in version 1; receiving one is not by itself a framing error.
pub const R_8_3: Requirement = Requirement {
    id: "R-8-3",
    section: Section::S8,
    level: Level::Must,
    party: Party::Both,
    derived: true,
    summary: "Type values 0 and above FCGI_MAXTYPE (11) are undefined in version 1; receiving one is not by itself a framing error.",
};

/// R-A-1 (MUST, both, appendix A): GET_VALUES, BEGIN_REQUEST, ABORT_REQUEST, PARAMS, STDIN and DATA are sent only by the web server; GET_VALUES_RESULT, UNKNOWN_TYPE, END_REQUEST, STDOUT and STDERR only by the application.
pub const R_A_1: Requirement = Requirement {
    id: "R-A-1",
    section: Section::AppendixA,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "GET_VALUES, BEGIN_REQUEST, ABORT_REQUEST, PARAMS, STDIN and DATA are sent only by the web server; GET_VALUES_RESULT, UNKNOWN_TYPE, END_REQUEST, STDOUT and STDERR only by the application.",
};

/// R-A-2 (MUST, both, appendix A): PARAMS, STDIN, DATA, STDOUT and STDERR are stream types; all other defined types are discrete.
pub const R_A_2: Requirement = Requirement {
    id: "R-A-2",
    section: Section::AppendixA,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "PARAMS, STDIN, DATA, STDOUT and STDERR are stream types; all other defined types are discrete.",
};

/// R-A-3 (MUST, both, appendix A): Records of the management types (GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE) carry the null request ID 0; records of the other defined types never do.
pub const R_A_3: Requirement = Requirement {
    id: "R-A-3",
    section: Section::AppendixA,
    level: Level::Must,
    party: Party::Both,
    derived: false,
    summary: "Records of the management types (GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE) carry the null request ID 0; records of the other defined types never do.",
};

/// R-B-1 (MAY, application, appendix B): An application multiplexing requests on one connection may finish them in any order and interleave their output records.
pub const R_B_1: Requirement = Requirement {
    id: "R-B-1",
    section: Section::AppendixB,
    level: Level::May,
    party: Party::Application,
    derived: false,
    summary: "An application multiplexing requests on one connection may finish them in any order and interleave their output records.",
};

impl Requirement {
    /// Every live requirement, in the order of spec/requirements.toml.
    pub const ALL: &'static [Requirement] = &[
        R_2_1_1,
        R_2_1_2,
        R_2_2_1,
        R_2_2_2,
        R_2_2_3,
        R_2_2_4,
        R_2_3_1,
        R_2_3_2,
        R_2_4_1,
        R_3_1_1,
        R_3_2_1,
        R_3_2_2,
        R_3_2_3,
        R_3_2_4,
        R_3_3_1,
        R_3_3_2,
        R_3_3_3,
        R_3_3_4,
        R_3_3_5,
        R_3_3_6,
        R_3_3_7,
        R_3_3_8,
        R_3_3_9,
        R_3_3_10,
        R_3_3_11,
        R_3_3_12,
        R_3_3_13,
        R_3_4_1,
        R_3_4_2,
        R_3_4_3,
        R_3_4_4,
        R_3_4_5,
        R_3_4_6,
        R_3_5_1,
        R_3_5_2,
        R_3_5_3,
        R_4_1_1,
        R_4_1_2,
        R_4_1_3,
        R_4_1_4,
        R_4_1_5,
        R_4_1_6,
        R_4_1_7,
        R_4_1_8,
        R_4_2_1,
        R_4_2_2,
        R_4_2_3,
        R_5_1_1,
        R_5_1_2,
        R_5_1_3,
        R_5_1_4,
        R_5_1_5,
        R_5_1_6,
        R_5_1_7,
        R_5_2_1,
        R_5_2_2,
        R_5_3_1,
        R_5_3_2,
        R_5_3_3,
        R_5_4_1,
        R_5_4_2,
        R_5_4_3,
        R_5_4_4,
        R_5_4_5,
        R_5_5_1,
        R_5_5_2,
        R_5_5_3,
        R_5_5_4,
        R_5_5_5,
        R_5_5_6,
        R_5_5_7,
        R_6_1_1,
        R_6_1_2,
        R_6_1_3,
        R_6_1_4,
        R_6_1_5,
        R_6_1_6,
        R_6_1_7,
        R_6_1_8,
        R_6_2_1,
        R_6_2_2,
        R_6_2_3,
        R_6_2_4,
        R_6_2_5,
        R_6_2_6,
        R_6_2_7,
        R_6_3_1,
        R_6_3_2,
        R_6_3_3,
        R_6_3_4,
        R_6_3_5,
        R_6_3_6,
        R_6_4_1,
        R_6_4_2,
        R_6_4_3,
        R_6_4_4,
        R_6_4_5,
        R_6_4_6,
        R_6_4_7,
        R_7_1,
        R_7_2,
        R_7_3,
        R_7_4,
        R_8_1,
        R_8_2,
        R_8_3,
        R_A_1,
        R_A_2,
        R_A_3,
        R_B_1,
    ];
}

/// IDs the spec has retired (`retired = true`): never reused, and no
/// constant, so code cannot name them.
pub const RETIRED: &[&str] = &[
    "R-4-1",
];
